//! Scenario files: one scripted conversation with an agent, the world it runs in, and what must happen.
//!
//! A scenario names the agent's configuration and the CRM fixtures (each a
//! path relative to the scenario file, or written inline), the channel and
//! visitor, faults to inject, and the steps: customer messages, link clicks,
//! clock advances, new conversations (a returning visit or a channel switch)
//! and fault changes, each with optional expectations about the agent's
//! answer. A `final` section states the CRM values expected at the end.
//!
//! Loading rejects unknown keys and every contradiction it can see before a
//! run (a conversation that was never started, an expectation that cannot
//! apply to its step, a property the configuration does not define) with an
//! error naming the file, line, column and field; errors inside a referenced
//! configuration or fixtures file name that file.
//!
//! A scenario file is input from whoever wrote it, and CI runs scenario files
//! from pull requests, so `leakproof run` keeps each one inside its *suite*
//! ([`Suite::of`]): for a relative path, the first directory it names
//! (`run scenarios/attacks/` runs in the suite `scenarios`); for any other
//! path, the directory given, or, for a scenario file given itself, the
//! directory that file is in. The `config` and
//! `fixtures` paths a scenario names, a signing-key file its configuration
//! names, and the scenario file itself must resolve, after symbolic links are
//! followed, inside that directory ([`Reach::Within`]); a path outside is an
//! error at the field that names it, and is not opened. `--allow-outside-suite`
//! ([`Reach::Anywhere`], also what [`load_file`] does) lifts the rule.
//!
//! The module, by concern:
//!
//! - `mod.rs`: the model ([`Scenario`], [`Step`], [`Action`], [`Expect`], …),
//!   how it serialises back to the file format, and the entry points
//!   ([`load_file`], [`load_file_within`], [`from_yaml_str`]);
//! - `raw`: the raw serde format, the file as written, shorthands included;
//! - `resolve`: a raw scenario made a [`Scenario`]: referenced files loaded,
//!   steps checked, every problem placed at its file, line and field;
//! - `suite`: suite containment, [`Reach`] and [`Suite`];
//! - `discover`: finding scenario files and the suite each belongs to
//!   ([`discover()`], [`discover_suites`]).
//!
//! ```
//! use std::path::Path;
//! use leakproof_harness::scenario::{Action, from_yaml_str};
//!
//! let scenario = from_yaml_str("city.yaml", r#"
//! config:
//!   agent: { name: Ava }
//!   properties:
//!     - { object: contact, property: city, label: city, view: { enabled: true, protection: match_email } }
//! fixtures:
//!   contacts:
//!     - { id: 101, email: maren.solberg@example.com, properties: { city: Kirkby Lonsdale } }
//! steps:
//!   - say: What's my city?
//!     expect: { asks_for_email: true, withholds: city }
//!   - say: maren.solberg@example.com
//!     expect: { reply_contains: Kirkby Lonsdale, discloses: city }
//! "#, Path::new("."))?;
//! assert_eq!(scenario.name, "city");
//! assert_eq!(scenario.steps[1].action, Action::Say("maren.solberg@example.com".into()));
//! assert_eq!(scenario.steps[1].expect.discloses[0].to_string(), "contact.city");
//!
//! let err = from_yaml_str("bad.yaml", "config: c.yaml\nfixtures: f.yaml\nsteps:\n  - wait: 0s\n", Path::new("."))
//!     .unwrap_err();
//! assert!(err.issues().iter().any(|issue| issue.field == "steps[0].wait"));
//! # Ok::<(), leakproof_config::yaml::LoadError>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use regex::{Regex, RegexBuilder};
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use leakproof_config::yaml::{Document, Issue, LoadError, Position};
use leakproof_config::{AgentConfig, Channel, ObjectType};
use leakproof_mocks::Fault;
use leakproof_protocol::Visitor;
use leakproof_world::{Fixtures, RecordRef};

mod discover;
mod raw;
mod resolve;
mod suite;

pub use discover::{SHARED_DIRS, ScenarioFile, discover, discover_suites};
pub use suite::{Reach, Suite};

/// When a scenario's clock starts unless it says otherwise: 2026-05-01T09:00:00Z.
/// A fixed moment, so that runs (and their snapshots) do not depend on the day.
pub const DEFAULT_START: Timestamp = Timestamp::constant(1_777_626_000, 0);

/// The longest single `wait` step. Longer than any link lifetime a
/// configuration accepts, so one step can expire any link; anything longer is
/// a typo for a shorter unit.
pub const MAX_WAIT: SignedDuration = SignedDuration::from_hours(24);

/// The conversation every scenario starts in; steps without `conversation:` act in it.
pub const MAIN_CONVERSATION: &str = "main";

/// One scenario, resolved: its configuration and fixtures loaded, its steps
/// checked against them.
///
/// Serialising a scenario (with serde) writes it back in the file format,
/// with the configuration and fixtures inline, so the output loads again as
/// the same scenario; [`Scenario::path`] and [`Step::position`] are not written.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Scenario {
    /// What reports call it: the `name:` key, or else the file's stem.
    pub name: String,
    /// What it is about, for people reading reports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The file it was loaded from (for [`from_yaml_str`], the name given).
    #[serde(skip)]
    pub path: PathBuf,
    /// Labels for selecting and grouping scenarios.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The agent's configuration.
    pub config: AgentConfig,
    /// The CRM world the mocks serve.
    pub fixtures: Fixtures,
    /// The channel of the main conversation (default `live_chat`).
    pub channel: Channel,
    /// Who the main conversation's customer is to the channel (default: anonymous).
    pub visitor: Visitor,
    /// The clock's value at the first step (default [`DEFAULT_START`]).
    pub start: Timestamp,
    /// Faults injected into the mocks before the first step.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<Fault>,
    /// What happens, in order.
    pub steps: Vec<Step>,
    /// What the CRM and the mailboxes must hold at the end.
    #[serde(rename = "final", skip_serializing_if = "Option::is_none")]
    pub final_state: Option<FinalState>,
}

/// One step of a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The conversation the step acts in: the `conversation:` key, or
    /// [`MAIN_CONVERSATION`]. A `new_conversation` step names the conversation
    /// it starts; `wait`, `inject` and `clear_faults` act on the whole world
    /// and have [`MAIN_CONVERSATION`].
    pub conversation: String,
    /// What happens.
    pub action: Action,
    /// What the agent must do in answer; empty when nothing is stated.
    pub expect: Expect,
    /// Where the step is written, for reports.
    pub position: Option<Position>,
}

/// What happens in a step.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `say: text`: the customer sends a message in the step's conversation.
    Say(String),
    /// `open_link: …`: the customer opens the verification link in a mail.
    OpenLink(LinkChoice),
    /// `wait: 16m`: the clock moves on; more than nothing, at most [`MAX_WAIT`].
    Wait(#[serde(serialize_with = "serialize_duration")] SignedDuration),
    /// `new_conversation: { name, channel?, visitor? }`: another conversation
    /// starts, a returning visit or a channel switch; later steps address it
    /// with `conversation: <name>`.
    NewConversation {
        /// How later steps address it; unique in the scenario.
        name: String,
        /// Its channel; `None` means the scenario's.
        #[serde(skip_serializing_if = "Option::is_none")]
        channel: Option<Channel>,
        /// Its visitor; `None` means the scenario's.
        #[serde(skip_serializing_if = "Option::is_none")]
        visitor: Option<Visitor>,
    },
    /// `inject: <fault>`: a fault is added to the mocks from this step on.
    Inject(Fault),
    /// `clear_faults: crm | mail | all`: the faults of a mock are removed.
    ClearFaults(FaultTarget),
}

impl Action {
    /// The key the action is written with, e.g. `open_link`.
    pub const fn keyword(&self) -> &'static str {
        match self {
            Action::Say(_) => "say",
            Action::OpenLink(_) => "open_link",
            Action::Wait(_) => "wait",
            Action::NewConversation { .. } => "new_conversation",
            Action::Inject(_) => "inject",
            Action::ClearFaults(_) => "clear_faults",
        }
    }
}

/// Which verification link a customer opens, and how.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkChoice {
    /// The mailbox the mail was sent to.
    pub mailbox: String,
    /// Which of that mailbox's mails.
    pub mail: MailChoice,
    /// Flip one character of the token before opening: a tampered link must verify nothing.
    pub tamper: bool,
}

/// Which mail of a mailbox.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MailChoice {
    /// The most recent one (`latest`, the default).
    #[default]
    Latest,
    /// The first one (`first`).
    First,
    /// The n-th, counted from 1 in the order received.
    Nth(usize),
}

/// Which mock's faults `clear_faults` removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultTarget {
    /// The mock CRM's.
    Crm,
    /// The mock mail server's.
    Mail,
    /// Both.
    All,
}

/// What a step expects of the agent. Every field is optional; a stated
/// expectation that does not hold fails the scenario.
///
/// On a `say` step everything but `link` applies, and "the reply" is every
/// message the agent sends in answer. On an `open_link` step only `link` and
/// the `reply_*` checks apply, and "the reply" is the page the link shows.
/// Other steps get no answer and take no expectations.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Expect {
    /// Texts the reply contains, compared without case.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reply_contains: Vec<String>,
    /// Texts the reply does not contain, compared without case.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reply_not_contains: Vec<String>,
    /// Regular expressions the reply matches; case-insensitive unless the
    /// pattern says `(?-i)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reply_matches: Vec<ReplyPattern>,
    /// Whether the agent asks for the customer's email address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub asks_for_email: Option<bool>,
    /// Whether a verification mail is sent in this step, and to whom.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_mail: Option<MailExpect>,
    /// Properties whose values the reply discloses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub discloses: Vec<PropertyRef>,
    /// Properties the agent withholds (asked for, not shown).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub withholds: Vec<PropertyRef>,
    /// Properties the agent writes to the CRM in this step.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub updates: Vec<UpdateExpect>,
    /// Whether the agent hands the conversation to a human.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hands_off: Option<bool>,
    /// Whether the link opened is accepted (`open_link` steps only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkExpect>,
}

impl Expect {
    /// Whether nothing is expected.
    pub fn is_empty(&self) -> bool {
        self == &Expect::default()
    }
}

/// A regular expression a reply must match, compiled when the scenario loads.
#[derive(Clone, Debug)]
pub struct ReplyPattern {
    source: String,
    regex: Regex,
}

impl ReplyPattern {
    /// Compiles `pattern`, case-insensitive unless it says `(?-i)`.
    pub fn new(pattern: &str) -> Result<Self, regex::Error> {
        // A generous limit that still keeps a pasted monster from slowing every load.
        let regex = RegexBuilder::new(pattern).case_insensitive(true).size_limit(1 << 20).build()?;
        Ok(ReplyPattern { source: pattern.to_owned(), regex })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    /// The compiled expression.
    pub fn regex(&self) -> &Regex {
        &self.regex
    }
}

impl PartialEq for ReplyPattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Serialize for ReplyPattern {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

/// Whether a verification mail is expected in a step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MailExpect {
    /// `{ to: address }`: one is sent to this address.
    Sent {
        /// The recipient.
        to: String,
    },
    /// `none`: no verification mail is sent.
    NotSent,
}

/// A configured CRM property, as scenarios name it: `city` (a contact
/// property), `ticket.hs_pipeline_stage`, `company.domain`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PropertyRef {
    /// The CRM object.
    pub object: ObjectType,
    /// HubSpot's internal property name.
    pub property: String,
}

impl fmt::Display for PropertyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.object, self.property)
    }
}

impl Serialize for PropertyRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// An expected CRM write: `phone`, or `{ property: phone, value: "+44 …" }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UpdateExpect {
    /// The property written.
    pub property: PropertyRef,
    /// The value written, when it matters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// What opening a link must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkExpect {
    /// The conversation is verified.
    Accepted,
    /// Nothing is verified (expired, replayed, tampered, …).
    Rejected,
}

/// What must hold when the last step is done.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FinalState {
    /// Records and the values their named properties must have.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub crm: Vec<FinalRecord>,
    /// How many mails the mock mail server received in all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mails: Option<usize>,
}

/// The expected end values of some properties of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalRecord {
    /// The record; it exists in the fixtures.
    pub record: RecordRef,
    /// Property (internal name) → expected value, as text.
    pub properties: BTreeMap<String, String>,
}

impl Serialize for FinalRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("object", &self.record.object())?;
        map.serialize_entry("id", &self.record.id())?;
        map.serialize_entry("properties", &self.properties)?;
        map.end()
    }
}

impl Serialize for Step {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if self.conversation != MAIN_CONVERSATION
            && matches!(self.action, Action::Say(_) | Action::OpenLink(_))
        {
            map.serialize_entry("conversation", &self.conversation)?;
        }
        let keyword = self.action.keyword();
        match &self.action {
            Action::Say(text) => map.serialize_entry(keyword, text)?,
            Action::OpenLink(link) => map.serialize_entry(keyword, link)?,
            Action::Wait(duration) => map.serialize_entry(keyword, &format!("{duration:#}"))?,
            Action::NewConversation { name, channel, visitor } => {
                #[derive(Serialize)]
                struct NewConversation<'a> {
                    name: &'a str,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    channel: &'a Option<Channel>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    visitor: &'a Option<Visitor>,
                }
                map.serialize_entry(keyword, &NewConversation { name, channel, visitor })?
            }
            Action::Inject(fault) => map.serialize_entry(keyword, fault)?,
            Action::ClearFaults(target) => map.serialize_entry(keyword, target)?,
        }
        if !self.expect.is_empty() {
            map.serialize_entry("expect", &self.expect)?;
        }
        map.end()
    }
}

impl Serialize for MailChoice {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            MailChoice::Latest => serializer.serialize_str("latest"),
            MailChoice::First => serializer.serialize_str("first"),
            MailChoice::Nth(n) => serializer.serialize_u64(*n as u64),
        }
    }
}

impl<'de> Deserialize<'de> for MailChoice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MailChoiceVisitor;
        impl de::Visitor<'_> for MailChoiceVisitor {
            type Value = MailChoice;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`latest`, `first` or a mail's number, counted from 1")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MailChoice, E> {
                match v.trim() {
                    "latest" => Ok(MailChoice::Latest),
                    "first" => Ok(MailChoice::First),
                    other => other.parse().map(MailChoice::Nth).map_err(|_| {
                        E::custom(format_args!(
                            "invalid mail {v:?}: write `latest`, `first` or a mail's number, counted from 1"
                        ))
                    }),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<MailChoice, E> {
                usize::try_from(v).map(MailChoice::Nth).map_err(|_| E::custom("mail number too large"))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<MailChoice, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom(format_args!("invalid mail {v}: mails are counted from 1")))
                    .and_then(|v| self.visit_u64(v))
            }
        }
        deserializer.deserialize_any(MailChoiceVisitor)
    }
}

impl Serialize for MailExpect {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            MailExpect::NotSent => serializer.serialize_str("none"),
            MailExpect::Sent { to } => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("to", to)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for MailExpect {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Sent {
            to: String,
        }
        struct MailExpectVisitor;
        impl<'de> de::Visitor<'de> for MailExpectVisitor {
            type Value = MailExpect;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`none` or `{ to: address }`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MailExpect, E> {
                if v.trim() == "none" {
                    Ok(MailExpect::NotSent)
                } else {
                    Err(E::custom(format_args!(
                        "invalid verification_mail {v:?}: write `none`, or `{{ to: address }}` for a mail sent"
                    )))
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MailExpect, A::Error> {
                Sent::deserialize(MapAccessDeserializer::new(map))
                    .map(|sent| MailExpect::Sent { to: sent.to })
            }
        }
        deserializer.deserialize_any(MailExpectVisitor)
    }
}

fn serialize_duration<S: Serializer>(duration: &SignedDuration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&format_args!("{duration:#}"))
}

// ---------------------------------------------------------------------------
// Loading.

/// Loads the scenario in the file at `path`, reading the files it names
/// wherever they are ([`Reach::Anywhere`]): for scenario files you trust. Relative
/// `config:` and `fixtures:` paths are read from the scenario file's
/// directory; an error in one of those files names that file.
pub fn load_file(path: impl AsRef<Path>) -> Result<Scenario, LoadError> {
    load_file_within(path, &Reach::Anywhere)
}

/// Loads the scenario in the file at `path`, as [`load_file`] does, with the
/// files it names (and the file itself) confined by `reach`. A path outside is
/// an error at the field that names it, and the file is not opened.
pub fn load_file_within(path: impl AsRef<Path>, reach: &Reach) -> Result<Scenario, LoadError> {
    let path = path.as_ref();
    if let Reach::Within(suite) = reach
        && let Some(why) = suite.refuses(&path.display().to_string(), path)
    {
        return Err(LoadError::Invalid(vec![Issue {
            source: path.display().to_string(),
            position: None,
            field: "(document)".to_owned(),
            message: why,
        }]));
    }
    let document = Document::read(path)?;
    let base_dir = path.parent().unwrap_or_else(|| Path::new(""));
    resolve::resolve(&document, path, base_dir, reach)
}

/// Loads a scenario from YAML (or JSON) text; `name` appears in error
/// messages where a file name would, and relative `config:` and `fixtures:`
/// paths are read from `base_dir`, wherever they lead.
pub fn from_yaml_str(name: &str, text: &str, base_dir: &Path) -> Result<Scenario, LoadError> {
    resolve::resolve(&Document::new(name, text), Path::new(name), base_dir, &Reach::Anywhere)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_patterns_ignore_case_unless_told() {
        let pattern = ReplyPattern::new("kirkby lonsdale").unwrap();
        assert!(pattern.is_match("Your city is Kirkby Lonsdale."));
        assert!(!ReplyPattern::new("(?-i)kirkby").unwrap().is_match("Kirkby"));
        assert_eq!(pattern.as_str(), "kirkby lonsdale");
    }

    #[test]
    fn small_values_serialise_as_written() {
        assert_eq!(json(&MailChoice::Latest), "\"latest\"");
        assert_eq!(json(&MailChoice::First), "\"first\"");
        assert_eq!(json(&MailChoice::Nth(2)), "2");
        assert_eq!(json(&MailExpect::NotSent), "\"none\"");
        assert_eq!(json(&MailExpect::Sent { to: "a@b.co".into() }), r#"{"to":"a@b.co"}"#);
        let phone = PropertyRef { object: ObjectType::Contact, property: "phone".into() };
        assert_eq!(json(&phone), "\"contact.phone\"");
        assert_eq!(json(&UpdateExpect { property: phone, value: None }), r#"{"property":"contact.phone"}"#);
        assert_eq!(json(&Action::Wait(SignedDuration::from_mins(90))), r#"{"wait":"1h 30m"}"#);
        assert_eq!(json(&Action::ClearFaults(FaultTarget::All)), r#"{"clear_faults":"all"}"#);
    }

    fn json<T: Serialize>(value: &T) -> String {
        serde_json::to_string(value).unwrap()
    }
}
