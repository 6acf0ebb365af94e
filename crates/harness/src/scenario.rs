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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use jiff::{SignedDuration, Timestamp};
use regex::{Regex, RegexBuilder};
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer, StrDeserializer, StringDeserializer};
use serde::de::{self, Deserializer, MapAccess, SeqAccess};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use leakproof_config::ids::ContactId;
use leakproof_config::yaml::{Document, Issue, LoadError, Locations, Position, Problem, ScalarText};
use leakproof_config::{self as config, AgentConfig, Channel, ObjectType};
use leakproof_mocks::Fault;
use leakproof_protocol::Visitor;
use leakproof_world::{
    self, Contact, Fixtures, GenerateOptions, MAX_CONTACTS, Record, RecordId, RecordRef, Visitors,
};

/// When a scenario's clock starts unless it says otherwise: 2026-05-01T09:00:00Z.
/// A fixed moment, so that runs (and their snapshots) do not depend on the day.
pub const DEFAULT_START: Timestamp = Timestamp::constant(1_777_626_000, 0);

/// The longest single `wait` step. Longer than any link lifetime a
/// configuration accepts, so one step can expire any link; anything longer is
/// a typo for a shorter unit.
pub const MAX_WAIT: SignedDuration = SignedDuration::from_hours(24);

/// The conversation every scenario starts in; steps without `conversation:` act in it.
pub const MAIN_CONVERSATION: &str = "main";

/// Directories that hold files shared by scenarios, not scenarios: [`discover`] skips them.
pub const SHARED_DIRS: [&str; 2] = ["configs", "fixtures"];

/// The longest accepted conversation name or tag, in characters.
const MAX_NAME_CHARS: usize = 100;

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

/// Where the files a scenario names may be.
///
/// A scenario file from somebody else (a pull request that CI runs) must not
/// be able to read the machine's files: `config: /etc/shadow` would put the
/// first line of that file into the error message. [`Reach::Within`] confines
/// every path a scenario names — `config`, `fixtures`, and a signing-key file
/// its configuration names — and the scenario file itself to one directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Any file the process can read.
    Anywhere,
    /// Only files inside this directory, after symbolic links are followed.
    Within(Suite),
}

/// A suite's root directory: what [`Reach::Within`] confines a scenario to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suite {
    /// The directory as given, for messages.
    shown: PathBuf,
    /// It made absolute, `..` removed without following links.
    lexical: PathBuf,
    /// It with symbolic links followed.
    canonical: PathBuf,
}

impl Suite {
    /// The suite whose root is the directory `dir`.
    ///
    /// # Errors
    ///
    /// When `dir` does not exist or cannot be resolved.
    pub fn new(dir: impl AsRef<Path>) -> std::io::Result<Suite> {
        let dir = dir.as_ref();
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        Ok(Suite { shown: dir.to_owned(), lexical: lexical(dir)?, canonical: dir.canonicalize()? })
    }

    /// The suite a path given to `leakproof run` stands for. A relative path
    /// belongs to the first directory it names: `scenarios/attacks/` and
    /// `scenarios/identity/x.yaml` are both in the suite `scenarios`, so their
    /// scenarios may name `../configs/default.yaml`, and nothing above
    /// `scenarios` (a checkout's `.git`, say). Any other path (absolute, or
    /// starting with `..`) is confined to itself: a directory is its own root,
    /// a file's root is the directory it is in. What a run is given is the
    /// command line's choice, never the scenario files'.
    ///
    /// # Errors
    ///
    /// When the directory does not exist or cannot be resolved.
    pub fn of(path: &Path) -> std::io::Result<Suite> {
        use std::path::Component;
        let mut components = path.components().skip_while(|c| matches!(c, Component::CurDir));
        if let Some(Component::Normal(first)) = components.next()
            && components.next().is_some()
        {
            return Suite::new(first);
        }
        if std::fs::metadata(path).is_ok_and(|metadata| metadata.is_dir()) {
            Suite::new(path)
        } else {
            Suite::new(path.parent().unwrap_or_else(|| Path::new(".")))
        }
    }

    /// The root directory, as given.
    pub fn root(&self) -> &Path {
        &self.shown
    }

    /// Why `path` (as the scenario wrote it: `written`) is not inside the
    /// suite, if it is not. Nothing outside is opened: a path that leaves the
    /// suite as written is refused before the file system is asked, and a
    /// path inside is resolved (symbolic links followed) and checked again.
    fn refuses(&self, written: &str, path: &Path) -> Option<String> {
        let outside = |shown: String| {
            Some(format!(
                "{shown} is outside the suite's directory {}: a scenario may only name files inside it \
                 (`--allow-outside-suite` allows others)",
                self.shown.display()
            ))
        };
        let Ok(absolute) = lexical(path) else { return outside(format!("{written:?}")) };
        if !absolute.starts_with(&self.lexical) {
            return outside(format!("{written:?}"));
        }
        match path.canonicalize() {
            // Not there: reading it says so.
            Err(_) => None,
            Ok(real) if real.starts_with(&self.canonical) => None,
            Ok(real) => outside(format!("{written:?} (a symbolic link to {})", real.display())),
        }
    }
}

/// `path` made absolute, with `.` and `..` resolved as written (links not followed).
fn lexical(path: &Path) -> std::io::Result<PathBuf> {
    use std::path::Component;
    let absolute = std::path::absolute(path)?;
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Ok(out)
}

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
    resolve(&document, path, base_dir, reach)
}

/// Loads a scenario from YAML (or JSON) text; `name` appears in error
/// messages where a file name would, and relative `config:` and `fixtures:`
/// paths are read from `base_dir`, wherever they lead.
pub fn from_yaml_str(name: &str, text: &str, base_dir: &Path) -> Result<Scenario, LoadError> {
    resolve(&Document::new(name, text), Path::new(name), base_dir, &Reach::Anywhere)
}

/// The scenario files among `paths`, in run order.
///
/// A file is taken as given, whatever its extension. A directory is searched
/// recursively for `*.yaml` and `*.yml` entries, sorted by path; directories
/// named `configs` or `fixtures` ([`SHARED_DIRS`]) hold files that scenarios
/// share, not scenarios, and are skipped, as are hidden entries (`.git`) and
/// symbolic links to directories. Every other `*.yaml` entry is listed, so
/// that loading it reports what is wrong with it: a FIFO, a device or a
/// dangling symbolic link is an unusable scenario file, never silently left
/// out. Paths are listed in the order given, each file once. A path that does
/// not exist is an error.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    Ok(discover_suites(paths)?.into_iter().map(|found| found.file).collect())
}

/// A scenario file [`discover_suites`] found, and the path given that led to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The scenario file.
    pub file: PathBuf,
    /// The path given: the directory searched, or the file itself. Its
    /// [`Suite::of`] is the suite the file belongs to.
    pub given: PathBuf,
}

/// The scenario files among `paths`, as [`discover`] lists them, each with the path given that led to it.
pub fn discover_suites(paths: &[PathBuf]) -> Result<Vec<Found>, LoadError> {
    let mut found = Vec::new();
    let mut seen = HashSet::new();
    for path in paths {
        let metadata = leakproof_config::files::stat(path)
            .map_err(|source| LoadError::Read { path: path.clone(), source: source.into() })?;
        let mut files = Vec::new();
        if metadata.is_dir() {
            walk(path, &mut files)?;
            files.sort();
        } else {
            files.push(path.clone());
        }
        for file in files {
            if seen.insert(file.clone()) {
                found.push(Found { file, given: path.clone() });
            }
        }
    }
    Ok(found)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let failed = |path: &Path| {
        let path = path.to_owned();
        move |source| LoadError::Read { path, source }
    };
    for entry in std::fs::read_dir(dir).map_err(failed(dir))? {
        let entry = entry.map_err(failed(dir))?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let file_type = entry.file_type().map_err(failed(&path))?;
        if file_type.is_dir() {
            if !SHARED_DIRS.contains(&name.as_ref()) {
                walk(&path, files)?;
            }
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
            // A link to a directory is skipped; to anything else (or nothing), it is a scenario file.
            && !(file_type.is_symlink() && path.is_dir())
        {
            files.push(path);
        }
    }
    Ok(())
}

/// A scenario as written, before its files are loaded and its steps checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    tags: Vec<String>,
    config: Source<AgentConfig>,
    fixtures: Source<InlineFixtures>,
    #[serde(default)]
    channel: Option<Channel>,
    #[serde(default)]
    visitor: Option<Visitor>,
    #[serde(default, deserialize_with = "start_time")]
    start: Option<Timestamp>,
    #[serde(default)]
    faults: Vec<Fault>,
    steps: Vec<RawStep>,
    #[serde(default, rename = "final")]
    final_state: Option<RawFinal>,
}

/// Settings given by path (relative to the scenario file) or written inline.
enum Source<T> {
    Path(String),
    Inline(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Source<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SourceVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> de::Visitor<'de> for SourceVisitor<T> {
            type Value = Source<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a path to a file, or the settings written here as a mapping")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Source<T>, E> {
                Ok(Source::Path(v.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Source<T>, A::Error> {
                // Through the same map access, so positions and field paths
                // inside inline settings stay those of the scenario file.
                T::deserialize(MapAccessDeserializer::new(map)).map(Source::Inline)
            }
        }
        deserializer.deserialize_any(SourceVisitor(PhantomData))
    }
}

/// Inline fixtures: the world written out, or `generate:` to have it made.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InlineFixtures {
    #[serde(default)]
    generate: Option<Generate>,
    #[serde(default)]
    contacts: Option<Vec<Contact>>,
    #[serde(default)]
    tickets: Option<Vec<Record>>,
    #[serde(default)]
    companies: Option<Vec<Record>>,
    #[serde(default)]
    visitors: Option<Visitors>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Generate {
    seed: u64,
    contacts: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    #[serde(default)]
    conversation: Option<String>,
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
    expect: Option<RawExpect>,
}

/// `open_link: address` or `open_link: { mailbox, mail?, tamper? }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLink {
    mailbox: String,
    #[serde(default)]
    mail: MailChoice,
    #[serde(default)]
    tamper: bool,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNewConversation {
    name: String,
    #[serde(default)]
    channel: Option<Channel>,
    #[serde(default)]
    visitor: Option<Visitor>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    #[serde(default, deserialize_with = "one_or_many")]
    reply_contains: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    reply_not_contains: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    reply_matches: Vec<String>,
    #[serde(default)]
    asks_for_email: Option<bool>,
    #[serde(default)]
    verification_mail: Option<MailExpect>,
    #[serde(default, deserialize_with = "one_or_many")]
    discloses: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    withholds: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    updates: Vec<RawUpdate>,
    #[serde(default)]
    hands_off: Option<bool>,
    #[serde(default)]
    link: Option<LinkExpect>,
}

impl RawExpect {
    /// The keys given, in field order.
    fn given(&self) -> Vec<&'static str> {
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
struct RawUpdate {
    property: String,
    #[serde(default)]
    value: Option<ScalarText>,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFinal {
    #[serde(default)]
    crm: Vec<RawFinalRecord>,
    #[serde(default)]
    mails: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFinalRecord {
    object: ObjectType,
    id: RecordId,
    #[serde(default)]
    properties: BTreeMap<String, ScalarText>,
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
    T: Read<'de>,
{
    struct PresentVisitor<T>(PhantomData<T>);
    impl<'de, T: Read<'de>> de::Visitor<'de> for PresentVisitor<T> {
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
trait Read<'de>: Sized {
    fn read<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>;
}

impl<'de> Read<'de> for String {
    fn read<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ScalarText::deserialize(deserializer).map(|text| text.0)
    }
}

impl<'de> Read<'de> for RawLink {
    fn read<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        RawLink::shorthand_or_full(deserializer)
    }
}

impl<'de> Read<'de> for RawUpdate {
    fn read<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        RawUpdate::shorthand_or_full(deserializer)
    }
}

macro_rules! read_by_deserialize {
    ($($t:ty),*) => {$(
        impl<'de> Read<'de> for $t {
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
    T: Read<'de>,
{
    struct ManyVisitor<T>(PhantomData<T>);
    impl<'de, T: Read<'de>> de::Visitor<'de> for ManyVisitor<T> {
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
            Vec::<Wrapped<T>>::deserialize(SeqAccessDeserializer::new(seq))
                .map(|items| items.into_iter().map(|item| item.0).collect())
        }
    }
    deserializer.deserialize_any(ManyVisitor(PhantomData))
}

/// A list element read with [`Read`].
struct Wrapped<T>(T);

impl<'de, T: Read<'de>> Deserialize<'de> for Wrapped<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::read(deserializer).map(Wrapped)
    }
}

// ---------------------------------------------------------------------------
// Resolving: loading the referenced files and checking the steps.

/// The problems found so far: this document's (placed at the end) and those
/// of the files it references (placed already).
struct Findings<'a> {
    document: &'a Document,
    locations: Locations,
    problems: Vec<Problem>,
    foreign: Vec<Issue>,
}

impl Findings<'_> {
    fn problem(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(field, message));
    }

    /// The issues of validating settings written inline under `prefix`.
    fn inline(&mut self, prefix: &str, err: LoadError) {
        for issue in err.issues() {
            self.problem(format!("{prefix}.{}", issue.field), issue.message.clone());
        }
    }

    /// An error loading a referenced file: its issues name that file; a file
    /// that cannot be read is reported where the scenario names it.
    fn referenced(&mut self, field: &str, err: LoadError) {
        match err {
            LoadError::Read { path, source } => {
                self.problem(field, format!("failed to read {}: {source}", path.display()))
            }
            LoadError::Invalid(issues) => self.foreign.extend(issues),
        }
    }

    fn position(&self, field: &str) -> Option<Position> {
        self.locations.find(field)
    }

    /// `list[index]`, or `list` itself when it was written as one value
    /// (`discloses: city`), which has no `[0]` to point at.
    fn item(&self, list: &str, index: usize) -> String {
        let item = format!("{list}[{index}]");
        if self.position(&item) == self.position(list) { list.to_owned() } else { item }
    }

    fn finish(self) -> Result<(), LoadError> {
        if self.problems.is_empty() && self.foreign.is_empty() {
            return Ok(());
        }
        let Findings { document, locations, problems, foreign } = self;
        let own = problems.into_iter().map(|problem| Issue {
            source: document.name().to_owned(),
            position: locations.find(&problem.field),
            field: problem.field,
            message: problem.message,
        });
        Err(LoadError::Invalid(own.chain(foreign).collect()))
    }
}

fn resolve(document: &Document, path: &Path, base_dir: &Path, reach: &Reach) -> Result<Scenario, LoadError> {
    let raw: RawScenario = document.parse()?;
    let mut found =
        Findings { document, locations: document.locate(), problems: Vec::new(), foreign: Vec::new() };

    let name = match raw.name {
        Some(name) => {
            if let Some(why) = name_problem(&name) {
                found.problem("name", format!("invalid name {name:?}: {why}"));
            }
            name
        }
        None => path
            .file_stem()
            .map_or_else(|| document.name().to_owned(), |stem| stem.to_string_lossy().into_owned()),
    };
    for (index, tag) in raw.tags.iter().enumerate() {
        if let Some(why) = name_problem(tag) {
            found.problem(format!("tags[{index}]"), format!("invalid tag {tag:?}: {why}"));
        }
    }

    let config = resolve_config(raw.config, base_dir, reach, &mut found);
    let fixtures = resolve_fixtures(raw.fixtures, config.as_ref(), base_dir, reach, &mut found);

    if raw.steps.is_empty() {
        found.problem("steps", "no steps: a scenario needs at least one, such as `- say: hello`");
    }
    let mut conversations = vec![MAIN_CONVERSATION.to_owned()];
    let steps: Vec<Step> = raw
        .steps
        .into_iter()
        .enumerate()
        .filter_map(|(index, step)| {
            resolve_step(index, step, config.as_ref(), &mut conversations, &mut found)
        })
        .collect();

    let final_state = raw.final_state.map(|raw| resolve_final(raw, fixtures.as_ref(), &mut found));

    found.finish()?;
    // Without problems, both were loaded.
    let (Some(config), Some(fixtures)) = (config, fixtures) else {
        return Err(document.place(vec![Problem::new("config", "the configuration could not be loaded")]));
    };
    Ok(Scenario {
        name,
        description: raw.description,
        path: path.to_owned(),
        tags: raw.tags,
        config,
        fixtures,
        channel: raw.channel.unwrap_or(Channel::LiveChat),
        visitor: raw.visitor.unwrap_or_default(),
        start: raw.start.unwrap_or(DEFAULT_START),
        faults: raw.faults,
        steps,
        final_state,
    })
}

/// Why `name` cannot name a scenario, tag or conversation, if it cannot.
fn name_problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return Some("a name needs words".to_owned());
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Some(format!("{chars} characters long; at most {MAX_NAME_CHARS} are accepted"));
    }
    if name.chars().any(char::is_control) {
        return Some("it contains control characters".to_owned());
    }
    None
}

fn resolve_path(
    field: &str,
    path: &str,
    base_dir: &Path,
    reach: &Reach,
    found: &mut Findings<'_>,
) -> Option<PathBuf> {
    if path.trim().is_empty() {
        found.problem(field, format!("empty path: name the {field} file, or write the {field} here"));
        return None;
    }
    let joined = base_dir.join(path);
    if let Reach::Within(suite) = reach
        && let Some(why) = suite.refuses(path, &joined)
    {
        found.problem(field, why);
        return None;
    }
    Some(joined)
}

/// A signing-key file the configuration names must be inside the suite too:
/// an agent serving the scenario over HTTP reads it.
fn check_key_file(field: &str, config: &AgentConfig, reach: &Reach, found: &mut Findings<'_>) {
    if let (Reach::Within(suite), config::SigningKeySource::File(key)) =
        (reach, &config.verification.signing_key)
        && let Some(why) = suite.refuses(&key.display().to_string(), key)
    {
        found.problem(field, format!("the signing key file {why}"));
    }
}

fn resolve_config(
    source: Source<AgentConfig>,
    base_dir: &Path,
    reach: &Reach,
    found: &mut Findings<'_>,
) -> Option<AgentConfig> {
    match source {
        Source::Path(path) => {
            let path = resolve_path("config", &path, base_dir, reach, found)?;
            let config = config::load_file(path).map_err(|err| found.referenced("config", err)).ok()?;
            check_key_file("config", &config, reach, found);
            Some(config)
        }
        Source::Inline(config) => {
            if let Err(err) = config::validate(&config) {
                found.inline("config", err);
            }
            check_key_file("config.verification.signing_key", &config, reach, found);
            // Even with problems it says which properties exist, for checking the steps.
            Some(config)
        }
    }
}

fn resolve_fixtures(
    source: Source<InlineFixtures>,
    config: Option<&AgentConfig>,
    base_dir: &Path,
    reach: &Reach,
    found: &mut Findings<'_>,
) -> Option<Fixtures> {
    let inline = match source {
        Source::Path(path) => {
            let path = resolve_path("fixtures", &path, base_dir, reach, found)?;
            return leakproof_world::load_file(path).map_err(|err| found.referenced("fixtures", err)).ok();
        }
        Source::Inline(inline) => inline,
    };
    let InlineFixtures { generate, contacts, tickets, companies, visitors } = inline;
    let Some(generate) = generate else {
        let fixtures = Fixtures {
            contacts: contacts.unwrap_or_default(),
            tickets: tickets.unwrap_or_default(),
            companies: companies.unwrap_or_default(),
            visitors: visitors.unwrap_or_default(),
        };
        if let Err(err) = leakproof_world::validate(&fixtures) {
            found.inline("fixtures", err);
        }
        return Some(fixtures);
    };
    let written: Vec<&str> = [
        ("contacts", contacts.is_some()),
        ("tickets", tickets.is_some()),
        ("companies", companies.is_some()),
        ("visitors", visitors.is_some()),
    ]
    .into_iter()
    .filter_map(|(key, given)| given.then_some(key))
    .collect();
    if !written.is_empty() {
        found.problem(
            "fixtures.generate",
            format!(
                "`generate` makes the whole world, so `{}` cannot be written beside it: \
                 use one or the other",
                written.join("`, `")
            ),
        );
    }
    if generate.contacts == 0 || generate.contacts > MAX_CONTACTS {
        found.problem(
            "fixtures.generate.contacts",
            format!("{} contacts: generate from 1 to {MAX_CONTACTS}", generate.contacts),
        );
        return None;
    }
    let config = config?;
    Some(Fixtures::generate(generate.seed, &GenerateOptions::for_config(config, generate.contacts)))
}

/// The action keys of a step that are given, with the action each makes.
fn actions(step: &mut RawStep) -> Vec<(&'static str, RawAction)> {
    let mut actions = Vec::new();
    if let Some(text) = step.say.take() {
        actions.push(("say", RawAction::Say(text)));
    }
    if let Some(link) = step.open_link.take() {
        actions.push(("open_link", RawAction::OpenLink(link)));
    }
    if let Some(wait) = step.wait.take() {
        actions.push(("wait", RawAction::Wait(wait)));
    }
    if let Some(new) = step.new_conversation.take() {
        actions.push(("new_conversation", RawAction::NewConversation(new)));
    }
    if let Some(fault) = step.inject.take() {
        actions.push(("inject", RawAction::Inject(fault)));
    }
    if let Some(target) = step.clear_faults.take() {
        actions.push(("clear_faults", RawAction::ClearFaults(target)));
    }
    actions
}

enum RawAction {
    Say(String),
    OpenLink(RawLink),
    Wait(String),
    NewConversation(RawNewConversation),
    Inject(Fault),
    ClearFaults(FaultTarget),
}

const ACTION_KEYS: &str = "say, open_link, wait, new_conversation, inject or clear_faults";

fn resolve_step(
    index: usize,
    mut raw: RawStep,
    config: Option<&AgentConfig>,
    conversations: &mut Vec<String>,
    found: &mut Findings<'_>,
) -> Option<Step> {
    let at = |field: &str| format!("steps[{index}].{field}");
    let position = found.position(&format!("steps[{index}]"));

    let mut actions = actions(&mut raw);
    if actions.is_empty() {
        found.problem(format!("steps[{index}]"), format!("no action: a step does one of {ACTION_KEYS}"));
        return None;
    }
    if actions.len() > 1 {
        // Report at the key written last: the one that was added to a step that had its action.
        let mut written: Vec<(Option<Position>, &str)> =
            actions.iter().map(|(key, _)| (found.position(&at(key)), *key)).collect();
        written.sort();
        let keys: Vec<&str> = written.iter().map(|(_, key)| *key).collect();
        let last = keys.last().copied().unwrap_or("say");
        found.problem(
            at(last),
            format!(
                "one action per step, but this step has {}: write each as a step of its own",
                keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(" and ")
            ),
        );
        return None;
    }
    let (keyword, action) = actions.remove(0);

    let talks = matches!(action, RawAction::Say(_) | RawAction::OpenLink(_));
    let conversation = match raw.conversation {
        Some(name) if !talks => {
            let why = if keyword == "new_conversation" {
                "the conversation it starts is named by its `name`".to_owned()
            } else {
                format!("a `{keyword}` step acts on the whole world, not one conversation")
            };
            found.problem(at("conversation"), format!("`conversation` does not apply here: {why}"));
            name
        }
        Some(name) => {
            if !conversations.contains(&name) {
                found.problem(
                    at("conversation"),
                    format!(
                        "no conversation named {name:?} has started: start it with a `new_conversation` \
                         step first (started so far: {})",
                        conversations.join(", ")
                    ),
                );
            }
            name
        }
        None => MAIN_CONVERSATION.to_owned(),
    };

    let action = match action {
        RawAction::Say(text) => Action::Say(text),
        RawAction::OpenLink(RawLink { mailbox, mail, tamper }) => {
            if !leakproof_world::is_email_shaped(&mailbox) {
                found.problem(
                    at("open_link.mailbox"),
                    format!("invalid mailbox {mailbox:?}: write the email address the mail was sent to"),
                );
            }
            if mail == MailChoice::Nth(0) {
                found.problem(
                    at("open_link.mail"),
                    "mail 0: mails are counted from 1 (or write `first` or `latest`)",
                );
            }
            Action::OpenLink(LinkChoice { mailbox, mail, tamper })
        }
        RawAction::Wait(text) => match parse_wait(&text) {
            Ok(duration) => Action::Wait(duration),
            Err(why) => {
                found.problem(at("wait"), why);
                Action::Wait(SignedDuration::ZERO)
            }
        },
        RawAction::NewConversation(RawNewConversation { name, channel, visitor }) => {
            if let Some(why) = name_problem(&name) {
                found.problem(
                    at("new_conversation.name"),
                    format!("invalid conversation name {name:?}: {why}"),
                );
            } else if conversations.contains(&name) {
                found.problem(
                    at("new_conversation.name"),
                    format!("a conversation named {name:?} exists already: give the new one its own name"),
                );
            } else {
                conversations.push(name.clone());
            }
            Action::NewConversation { name, channel, visitor }
        }
        RawAction::Inject(fault) => Action::Inject(fault),
        RawAction::ClearFaults(target) => Action::ClearFaults(target),
    };
    let conversation = match &action {
        Action::NewConversation { name, .. } => name.clone(),
        _ => conversation,
    };

    let expect = match raw.expect {
        Some(expect) => resolve_expect(&at("expect"), keyword, expect, config, found),
        None => Expect::default(),
    };
    Some(Step { conversation, action, expect, position })
}

/// A `wait` duration: friendly (`16m`, `1h 30m`, `30s`) or ISO 8601
/// (`PT16M`), more than nothing and at most [`MAX_WAIT`].
fn parse_wait(text: &str) -> Result<SignedDuration, String> {
    let duration: SignedDuration = text.trim().parse().map_err(|_| {
        format!("invalid duration {text:?}: write it in hours, minutes or seconds, like `16m`, `2h` or `30s`")
    })?;
    if duration <= SignedDuration::ZERO {
        return Err(format!(
            "invalid duration {text:?}: a wait moves the clock forward by more than nothing"
        ));
    }
    if duration > MAX_WAIT {
        return Err(format!("invalid duration {text:?}: at most {MAX_WAIT:#} per step"));
    }
    Ok(duration)
}

fn resolve_expect(
    at: &str,
    keyword: &str,
    raw: RawExpect,
    config: Option<&AgentConfig>,
    found: &mut Findings<'_>,
) -> Expect {
    for key in raw.given() {
        let why = match keyword {
            "say" if key == "link" => Some("`link` applies only to `open_link` steps".to_owned()),
            "say" => None,
            "open_link" if key == "link" || key.starts_with("reply_") => None,
            "open_link" => Some(format!(
                "`{key}` cannot apply to an `open_link` step: opening a link gets no chat reply; \
                 state it on the next `say` step"
            )),
            _ => Some(format!("`{key}` cannot apply to a `{keyword}` step, which the agent does not answer")),
        };
        if let Some(why) = why {
            found.problem(format!("{at}.{key}"), why);
        }
    }

    for (key, texts) in
        [("reply_contains", &raw.reply_contains), ("reply_not_contains", &raw.reply_not_contains)]
    {
        for (index, text) in texts.iter().enumerate() {
            if text.trim().is_empty() {
                found.problem(
                    found.item(&format!("{at}.{key}"), index),
                    "empty text: every reply contains it",
                );
            }
        }
    }
    for (index, text) in raw.reply_not_contains.iter().enumerate() {
        if raw.reply_contains.iter().any(|other| other.to_lowercase() == text.to_lowercase()) {
            found.problem(
                found.item(&format!("{at}.reply_not_contains"), index),
                format!("{text:?} is also in `reply_contains`: no reply can satisfy both"),
            );
        }
    }

    let mut reply_matches = Vec::new();
    for (index, pattern) in raw.reply_matches.iter().enumerate() {
        match ReplyPattern::new(pattern) {
            Ok(pattern) => reply_matches.push(pattern),
            Err(err) => found.problem(
                found.item(&format!("{at}.reply_matches"), index),
                format!("invalid regular expression {pattern:?}: {}", regex_message(&err)),
            ),
        }
    }

    if let Some(MailExpect::Sent { to }) = &raw.verification_mail
        && !leakproof_world::is_email_shaped(to)
    {
        found.problem(format!("{at}.verification_mail.to"), format!("invalid address {to:?}"));
    }

    let mut properties = |key: &str, names: Vec<String>| -> Vec<PropertyRef> {
        names
            .iter()
            .enumerate()
            .filter_map(|(index, name)| {
                let field = found.item(&format!("{at}.{key}"), index);
                property_ref(&field, name, config, found)
            })
            .collect()
    };
    let discloses = properties("discloses", raw.discloses);
    let withholds = properties("withholds", raw.withholds);
    for (index, property) in withholds.iter().enumerate() {
        if discloses.contains(property) {
            found.problem(
                found.item(&format!("{at}.withholds"), index),
                format!("{property} is also in `discloses`: it cannot be both shown and withheld"),
            );
        }
    }
    let updates = raw
        .updates
        .into_iter()
        .enumerate()
        .filter_map(|(index, update)| {
            let field = found.item(&format!("{at}.updates"), index);
            // The shorthand `- phone` has no `property` key to point at.
            let written = format!("{field}.property");
            let property_field =
                if found.position(&written) == found.position(&field) { field } else { written };
            let property = property_ref(&property_field, &update.property, config, found)?;
            Some(UpdateExpect { property, value: update.value.map(|text| text.0) })
        })
        .collect();

    Expect {
        reply_contains: raw.reply_contains,
        reply_not_contains: raw.reply_not_contains,
        reply_matches,
        asks_for_email: raw.asks_for_email,
        verification_mail: raw.verification_mail,
        discloses,
        withholds,
        updates,
        hands_off: raw.hands_off,
        link: raw.link,
    }
}

/// The last line of a regex error (`unclosed group`), without the drawing above it.
fn regex_message(err: &regex::Error) -> String {
    match err {
        regex::Error::Syntax(text) => text
            .lines()
            .rev()
            .find_map(|line| line.trim().strip_prefix("error: "))
            .unwrap_or_else(|| text.lines().last().unwrap_or("syntax error"))
            .to_owned(),
        regex::Error::CompiledTooBig(_) => "the pattern is too large".to_owned(),
        other => other.to_string(),
    }
}

/// `city`, `contact.city`, `ticket.hs_pipeline_stage`: a property the configuration defines.
fn property_ref(
    field: &str,
    text: &str,
    config: Option<&AgentConfig>,
    found: &mut Findings<'_>,
) -> Option<PropertyRef> {
    let (object, property) = match text.trim().split_once('.') {
        None => (ObjectType::Contact, text.trim()),
        Some((object, property)) => {
            let object = match object {
                "contact" => ObjectType::Contact,
                "ticket" => ObjectType::Ticket,
                "company" => ObjectType::Company,
                _ => {
                    found.problem(
                        field,
                        format!(
                            "unknown object {object:?} in {text:?}: write `property` for a contact's, \
                             or put `contact.`, `ticket.` or `company.` before it"
                        ),
                    );
                    return None;
                }
            };
            (object, property)
        }
    };
    if !leakproof_world::is_internal_name(property) {
        found.problem(
            field,
            format!(
                "invalid property {text:?}: HubSpot internal names are lowercase letters, digits \
                 and underscores, such as `city` or `ticket.hs_pipeline_stage`"
            ),
        );
        return None;
    }
    let property = PropertyRef { object, property: property.to_owned() };
    if let Some(config) = config
        && !config.properties.iter().any(|rule| rule.object == object && rule.property == property.property)
    {
        let known: Vec<String> = config.properties.iter().map(|rule| rule.qualified_name()).collect();
        let known = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
        found.problem(field, format!("unknown property {property}: the configuration defines {known}"));
        return None;
    }
    Some(property)
}

fn resolve_final(raw: RawFinal, fixtures: Option<&Fixtures>, found: &mut Findings<'_>) -> FinalState {
    let mut crm = Vec::new();
    let mut seen: HashMap<RecordRef, usize> = HashMap::new();
    for (index, record) in raw.crm.into_iter().enumerate() {
        let at = |field: &str| format!("final.crm[{index}].{field}");
        let id = record.id.0;
        let reference = match record.object {
            ObjectType::Contact => RecordRef::Contact(ContactId(id)),
            ObjectType::Ticket => RecordRef::Ticket(RecordId(id)),
            ObjectType::Company => RecordRef::Company(RecordId(id)),
        };
        if let Some(fixtures) = fixtures
            && fixtures.values(reference).is_none()
        {
            found.problem(at("id"), format!("no {reference} in the fixtures"));
        }
        if let Some(first) = seen.insert(reference, index) {
            seen.insert(reference, first);
            found.problem(at("id"), format!("{reference} is listed already, in final.crm[{first}]"));
        }
        if record.properties.is_empty() {
            found.problem(at("properties"), "no properties: name the ones whose final values to check");
        }
        for name in record.properties.keys() {
            if !leakproof_world::is_internal_name(name) {
                found.problem(
                    at(&format!("properties.{name}")),
                    format!("invalid property name {name:?}: HubSpot internal names are lowercase letters, digits and underscores"),
                );
            }
        }
        let properties = record.properties.into_iter().map(|(name, value)| (name, value.0)).collect();
        crm.push(FinalRecord { record: reference, properties });
    }
    FinalState { crm, mails: raw.mails }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits() {
        assert_eq!(parse_wait("16m"), Ok(SignedDuration::from_mins(16)));
        assert_eq!(parse_wait(" 1h 30m "), Ok(SignedDuration::from_mins(90)));
        assert_eq!(parse_wait("PT30S"), Ok(SignedDuration::from_secs(30)));
        assert_eq!(parse_wait("24h"), Ok(MAX_WAIT));
        for bad in ["", "0m", "-1s", "24h 1s", "16", "a while"] {
            assert!(parse_wait(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reply_patterns_ignore_case_unless_told() {
        let pattern = ReplyPattern::new("kirkby lonsdale").unwrap();
        assert!(pattern.is_match("Your city is Kirkby Lonsdale."));
        assert!(!ReplyPattern::new("(?-i)kirkby").unwrap().is_match("Kirkby"));
        assert_eq!(pattern.as_str(), "kirkby lonsdale");
        let err = ReplyPattern::new("a{2,1}").unwrap_err();
        assert_eq!(regex_message(&err), "invalid repetition count range, the start must be <= the end");
        let err = ReplyPattern::new(r"\w{1000}{1000}").unwrap_err();
        assert_eq!(regex_message(&err), "the pattern is too large");
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

    #[test]
    fn names() {
        assert_eq!(name_problem("main"), None);
        assert!(name_problem(" ").is_some());
        assert!(name_problem("a\tb").is_some());
        assert!(name_problem(&"x".repeat(MAX_NAME_CHARS + 1)).is_some());
    }
}
