//! The raw serde format: a scenario file as written, before its files are loaded and its steps checked.
//!
//! Besides the derived mappings it reads the format's shorthands: one value
//! for a list (`discloses: city`), an address for `open_link`, a property for
//! an `updates` entry, and a key that must have a value when written (`say:`
//! with nothing after it is a mistake, not "no action").

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use jiff::Timestamp;
use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer, StrDeserializer, StringDeserializer};
use serde::de::{self, Deserializer, MapAccess, SeqAccess};

use leakproof_config::yaml::ScalarText;
use leakproof_config::{AgentConfig, Channel, ObjectType};
use leakproof_mocks::Fault;
use leakproof_protocol::Visitor;
use leakproof_world::{Contact, Record, RecordId, Visitors};

use super::{FaultTarget, LinkExpect, MailChoice, MailExpect};

/// A scenario as written, before its files are loaded and its steps checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScenario {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub(super) tags: Vec<String>,
    pub(super) config: PathOrInline<AgentConfig>,
    pub(super) fixtures: PathOrInline<InlineFixtures>,
    #[serde(default)]
    pub(super) channel: Option<Channel>,
    #[serde(default)]
    pub(super) visitor: Option<Visitor>,
    #[serde(default, deserialize_with = "start_time")]
    pub(super) start: Option<Timestamp>,
    #[serde(default)]
    pub(super) faults: Vec<Fault>,
    pub(super) steps: Vec<RawStep>,
    #[serde(default, rename = "final")]
    pub(super) final_state: Option<RawFinal>,
}

/// Settings given by path (relative to the scenario file) or written inline.
pub(super) enum PathOrInline<T> {
    Path(String),
    Inline(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for PathOrInline<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PathOrInlineVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> de::Visitor<'de> for PathOrInlineVisitor<T> {
            type Value = PathOrInline<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a path to a file, or the settings written here as a mapping")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<PathOrInline<T>, E> {
                Ok(PathOrInline::Path(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PathOrInline<T>, A::Error> {
                // Through the same map access, so positions and field paths
                // inside inline settings stay those of the scenario file.
                T::deserialize(MapAccessDeserializer::new(map)).map(PathOrInline::Inline)
            }
        }
        deserializer.deserialize_any(PathOrInlineVisitor(PhantomData))
    }
}

/// Inline fixtures: the world written out, or `generate:` to have it made.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InlineFixtures {
    #[serde(default)]
    pub(super) generate: Option<RawGenerate>,
    #[serde(default)]
    pub(super) contacts: Option<Vec<Contact>>,
    #[serde(default)]
    pub(super) tickets: Option<Vec<Record>>,
    #[serde(default)]
    pub(super) companies: Option<Vec<Record>>,
    #[serde(default)]
    pub(super) visitors: Option<Visitors>,
}

/// `generate: { seed, contacts }`: a world made from a seed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGenerate {
    pub(super) seed: u64,
    pub(super) contacts: usize,
}

/// One step as written: an action key, and the optional `conversation` and `expect`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStep {
    #[serde(default)]
    pub(super) conversation: Option<String>,
    #[serde(default, deserialize_with = "present")]
    say: Option<String>,
    #[serde(default, deserialize_with = "present")]
    open_link: Option<RawLink>,
    #[serde(default, deserialize_with = "present")]
    wait: Option<String>,
    #[serde(default, deserialize_with = "present")]
    new_conversation: Option<RawNewConversation>,
    #[serde(default, deserialize_with = "present")]
    inject: Option<Fault>,
    #[serde(default, deserialize_with = "present")]
    clear_faults: Option<FaultTarget>,
    #[serde(default)]
    pub(super) expect: Option<RawExpect>,
}

impl RawStep {
    /// The action keys of the step that are given, with the action each makes, taken out of it.
    pub(super) fn take_actions(&mut self) -> Vec<(&'static str, RawAction)> {
        let mut actions = Vec::new();
        if let Some(text) = self.say.take() {
            actions.push(("say", RawAction::Say(text)));
        }
        if let Some(link) = self.open_link.take() {
            actions.push(("open_link", RawAction::OpenLink(link)));
        }
        if let Some(wait) = self.wait.take() {
            actions.push(("wait", RawAction::Wait(wait)));
        }
        if let Some(new) = self.new_conversation.take() {
            actions.push(("new_conversation", RawAction::NewConversation(new)));
        }
        if let Some(fault) = self.inject.take() {
            actions.push(("inject", RawAction::Inject(fault)));
        }
        if let Some(target) = self.clear_faults.take() {
            actions.push(("clear_faults", RawAction::ClearFaults(target)));
        }
        actions
    }
}

/// The one action a step makes, as written.
pub(super) enum RawAction {
    Say(String),
    OpenLink(RawLink),
    Wait(String),
    NewConversation(RawNewConversation),
    Inject(Fault),
    ClearFaults(FaultTarget),
}

/// `open_link: address` or `open_link: { mailbox, mail?, tamper? }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLink {
    pub(super) mailbox: String,
    #[serde(default)]
    pub(super) mail: MailChoice,
    #[serde(default)]
    pub(super) tamper: bool,
}

impl RawLink {
    /// The shorthand (an address) or the mapping; the derived `Deserialize` reads only the mapping.
    fn shorthand_or_full<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LinkVisitor;
        impl<'de> de::Visitor<'de> for LinkVisitor {
            type Value = RawLink;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mailbox address, or `{ mailbox, mail, tamper }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawLink, E> {
                Ok(RawLink { mailbox: v.to_owned(), mail: MailChoice::Latest, tamper: false })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawLink, A::Error> {
                RawLink::deserialize(MapAccessDeserializer::new(map))
            }
        }
        deserializer.deserialize_any(LinkVisitor)
    }
}

/// `new_conversation: { name, channel?, visitor? }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNewConversation {
    pub(super) name: String,
    #[serde(default)]
    pub(super) channel: Option<Channel>,
    #[serde(default)]
    pub(super) visitor: Option<Visitor>,
}

/// A step's `expect:` as written.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawExpect {
    #[serde(default, deserialize_with = "one_or_many")]
    pub(super) reply_contains: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub(super) reply_not_contains: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub(super) reply_matches: Vec<String>,
    #[serde(default)]
    pub(super) asks_for_email: Option<bool>,
    #[serde(default)]
    pub(super) verification_mail: Option<MailExpect>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub(super) discloses: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub(super) withholds: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub(super) updates: Vec<RawUpdate>,
    #[serde(default)]
    pub(super) hands_off: Option<bool>,
    #[serde(default)]
    pub(super) link: Option<LinkExpect>,
}

impl RawExpect {
    /// The keys given, in field order.
    pub(super) fn given(&self) -> Vec<&'static str> {
        [
            ("reply_contains", !self.reply_contains.is_empty()),
            ("reply_not_contains", !self.reply_not_contains.is_empty()),
            ("reply_matches", !self.reply_matches.is_empty()),
            ("asks_for_email", self.asks_for_email.is_some()),
            ("verification_mail", self.verification_mail.is_some()),
            ("discloses", !self.discloses.is_empty()),
            ("withholds", !self.withholds.is_empty()),
            ("updates", !self.updates.is_empty()),
            ("hands_off", self.hands_off.is_some()),
            ("link", self.link.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, given)| given.then_some(key))
        .collect()
    }
}

/// `phone` or `{ property: phone, value: "+44 …" }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUpdate {
    pub(super) property: String,
    #[serde(default)]
    pub(super) value: Option<ScalarText>,
}

impl RawUpdate {
    /// The shorthand (a property) or the mapping; the derived `Deserialize` reads only the mapping.
    fn shorthand_or_full<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UpdateVisitor;
        impl<'de> de::Visitor<'de> for UpdateVisitor {
            type Value = RawUpdate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a property, or `{ property, value }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawUpdate, E> {
                Ok(RawUpdate { property: v.to_owned(), value: None })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawUpdate, A::Error> {
                RawUpdate::deserialize(MapAccessDeserializer::new(map))
            }
        }
        deserializer.deserialize_any(UpdateVisitor)
    }
}

/// The `final:` section as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFinal {
    #[serde(default)]
    pub(super) crm: Vec<RawFinalRecord>,
    #[serde(default)]
    pub(super) mails: Option<usize>,
}

/// One record of `final.crm` as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFinalRecord {
    pub(super) object: ObjectType,
    pub(super) id: RecordId,
    #[serde(default)]
    pub(super) properties: BTreeMap<String, ScalarText>,
}

/// `start:` as an RFC 3339 time, with a message people can act on.
fn start_time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Timestamp>, D::Error> {
    let ScalarText(text) = ScalarText::deserialize(deserializer)?;
    text.trim().parse().map(Some).map_err(|_| {
        de::Error::custom(format_args!(
            "invalid start {text:?}: write an RFC 3339 time with its offset, such as `2026-05-01T09:00:00Z`"
        ))
    })
}

/// A key that must have a value when it is written: `say:` with nothing
/// after it is a mistake, not "no action".
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: ReadValue<'de>,
{
    struct PresentVisitor<T>(PhantomData<T>);
    impl<'de, T: ReadValue<'de>> de::Visitor<'de> for PresentVisitor<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a value")
        }
        fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
            Err(E::custom("expected a value, found an empty one"))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
            self.visit_none()
        }
        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
            T::read(deserializer).map(Some)
        }
    }
    deserializer.deserialize_option(PresentVisitor(PhantomData))
}

/// How a value is read inside [`present`] and [`one_or_many`]: text as
/// written, and the shorthands of `open_link` and `updates`.
trait ReadValue<'de>: Sized {
    fn read<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>;
}

impl<'de> ReadValue<'de> for String {
    fn read<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ScalarText::deserialize(deserializer).map(|text| text.0)
    }
}

impl<'de> ReadValue<'de> for RawLink {
    fn read<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        RawLink::shorthand_or_full(deserializer)
    }
}

impl<'de> ReadValue<'de> for RawUpdate {
    fn read<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        RawUpdate::shorthand_or_full(deserializer)
    }
}

macro_rules! read_by_deserialize {
    ($($t:ty),*) => {$(
        impl<'de> ReadValue<'de> for $t {
            fn read<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                <$t>::deserialize(deserializer)
            }
        }
    )*};
}
read_by_deserialize!(RawNewConversation, Fault, FaultTarget);

/// One value or a list of them: `reply_contains: Kirkby` is
/// `reply_contains: [Kirkby]`. Nothing (`~`) is an empty list.
fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: ReadValue<'de>,
{
    struct ManyVisitor<T>(PhantomData<T>);
    impl<'de, T: ReadValue<'de>> de::Visitor<'de> for ManyVisitor<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("one value or a list of them")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<T>, E> {
            T::read(StrDeserializer::<E>::new(v)).map(|item| vec![item])
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Vec<T>, E> {
            T::read(StringDeserializer::<E>::new(v.to_string())).map(|item| vec![item])
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Vec<T>, E> {
            T::read(StringDeserializer::<E>::new(v.to_string())).map(|item| vec![item])
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Vec<T>, E> {
            T::read(StringDeserializer::<E>::new(v.to_string())).map(|item| vec![item])
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Vec<T>, E> {
            T::read(StringDeserializer::<E>::new(v.to_string())).map(|item| vec![item])
        }
        fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Vec<T>, A::Error> {
            T::read(MapAccessDeserializer::new(map)).map(|item| vec![item])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Vec<T>, A::Error> {
            Vec::<ReadItem<T>>::deserialize(SeqAccessDeserializer::new(seq))
                .map(|items| items.into_iter().map(|item| item.0).collect())
        }
    }
    deserializer.deserialize_any(ManyVisitor(PhantomData))
}

/// A list element read with [`ReadValue`].
struct ReadItem<T>(T);

impl<'de, T: ReadValue<'de>> Deserialize<'de> for ReadItem<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::read(deserializer).map(ReadItem)
    }
}
