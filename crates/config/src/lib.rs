//! The admin's configuration: which CRM properties the agent may show or edit, behind which proof.
//!
//! An [`AgentConfig`] is what an admin sets up in the customer agent's "Add CRM
//! data" screen, written as YAML. Load one with [`load_file`] or
//! [`from_yaml_str`]: both reject unknown keys, unknown values, duplicates and
//! contradictions with an error naming the file, line, column and setting.
//! [`lint`] then warns about settings that are legal but risky.
//!
//! ```
//! let yaml = r#"
//! agent: { name: Ava }
//! properties:
//!   - object: contact
//!     property: phone
//!     label: phone number
//!     view: { enabled: true, protection: verify_email }
//! "#;
//! let config = leakproof_config::from_yaml_str("inline.yaml", yaml).unwrap();
//! assert_eq!(config.properties[0].label, "phone number");
//! assert!(leakproof_config::lint(&config, None).is_empty());
//! ```

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod clock;
pub mod files;
pub mod ids;
mod lint;
mod load;
mod validate;
pub mod yaml;

use std::fmt;
use std::path::PathBuf;

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};
use url::Url;

pub use crate::yaml::{Document, Issue, LoadError as ConfigError, Position};
pub use lint::{Lint, LintKind, lint};
pub use load::{from_yaml_str, load_file, parse};
pub use validate::{MAX_INSTRUCTIONS_CHARS, MAX_NAME_CHARS, MAX_PROPERTIES, validate};

/// The default lifetime of a verification link.
pub const DEFAULT_LINK_TTL: SignedDuration = SignedDuration::from_mins(15);

/// The longest accepted link lifetime: a link is a bearer credential, and one
/// that lives for days is a credential sitting in a mailbox for days.
pub const MAX_LINK_TTL: SignedDuration = SignedDuration::from_hours(24);

/// Everything the admin configured for one customer agent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// How the agent presents itself.
    pub agent: AgentSettings,
    /// How verification links are made.
    #[serde(default)]
    pub verification: VerificationSettings,
    /// When the agent asks for the customer's email address, per messaging channel.
    #[serde(default)]
    pub email_capture: EmailCaptureSettings,
    /// The CRM properties the agent knows about, with their access rules.
    #[serde(default)]
    pub properties: Vec<PropertyRule>,
}

/// How the agent presents itself to customers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentSettings {
    /// The name the agent signs with ("Ava from Northwind").
    pub name: String,
}

/// How verification links are made and how long they stay valid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerificationSettings {
    /// How long a link stays valid after it is sent, e.g. `15m`, `1h 30m`.
    #[serde(default = "default_link_ttl", with = "link_ttl")]
    pub link_ttl: SignedDuration,
    /// The agent's public address; links are `{public_base_url}/verify/{token}`.
    #[serde(default = "default_public_base_url", with = "public_base_url")]
    pub public_base_url: Url,
    /// Where the HMAC key that signs links comes from.
    #[serde(default)]
    pub signing_key: SigningKeySource,
}

impl Default for VerificationSettings {
    fn default() -> Self {
        VerificationSettings {
            link_ttl: DEFAULT_LINK_TTL,
            public_base_url: default_public_base_url(),
            signing_key: SigningKeySource::default(),
        }
    }
}

fn default_link_ttl() -> SignedDuration {
    DEFAULT_LINK_TTL
}

fn default_public_base_url() -> Url {
    // A literal that always parses; `leakproof agent serve` listens here by default.
    Url::parse("http://127.0.0.1:8080").unwrap_or_else(|_| unreachable!("constant URL"))
}

/// Where the key that signs verification links comes from.
///
/// There is deliberately no way to write the key into the configuration file
/// itself: configuration files get committed, keys must not.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum SigningKeySource {
    /// A fresh random key per process: links die with the process. Right for
    /// tests and for a single agent process.
    #[default]
    Ephemeral,
    /// The key, base64-encoded, in this environment variable.
    Env(String),
    /// The key's raw bytes in this file.
    File(PathBuf),
}

/// When the agent asks for the customer's email address on each messaging channel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailCaptureSettings {
    /// Website live chat.
    #[serde(default)]
    pub live_chat: EmailCapture,
    /// WhatsApp.
    #[serde(default)]
    pub whatsapp: EmailCapture,
    /// Facebook Messenger.
    #[serde(default)]
    pub facebook_messenger: EmailCapture,
}

impl EmailCaptureSettings {
    /// The setting that applies on `channel`.
    ///
    /// The email channel has no setting of its own: the customer's `From`
    /// address is only a claim, so the agent asks for an address when a
    /// protected property or an update needs one, as with `when_needed`.
    pub const fn for_channel(&self, channel: Channel) -> EmailCapture {
        match channel {
            Channel::LiveChat => self.live_chat,
            Channel::Whatsapp => self.whatsapp,
            Channel::FacebookMessenger => self.facebook_messenger,
            Channel::Email => EmailCapture::WhenNeeded,
        }
    }
}

/// When the agent asks for the customer's email address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailCapture {
    /// Before answering anything.
    AtStart,
    /// Only when a protected property or an update needs it.
    #[default]
    WhenNeeded,
    /// Only when handing the conversation to a human.
    BeforeHandoff,
    /// Never; a customer may still volunteer it.
    Never,
}

impl EmailCapture {
    /// The setting's name as written in the configuration.
    pub const fn as_str(self) -> &'static str {
        match self {
            EmailCapture::AtStart => "at_start",
            EmailCapture::WhenNeeded => "when_needed",
            EmailCapture::BeforeHandoff => "before_handoff",
            EmailCapture::Never => "never",
        }
    }
}

/// A channel customers reach the agent on.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Website live chat; returning visitors carry a cookie.
    LiveChat,
    /// WhatsApp; the customer's phone number is known.
    Whatsapp,
    /// Facebook Messenger; a page-scoped id, no identity.
    FacebookMessenger,
    /// Email; the `From` address is only a claim.
    Email,
}

impl Channel {
    /// Every channel, in a fixed order.
    pub const ALL: [Channel; 4] =
        [Channel::LiveChat, Channel::Whatsapp, Channel::FacebookMessenger, Channel::Email];

    /// The messaging channels that have an email-capture setting.
    pub const MESSAGING: [Channel; 3] = [Channel::LiveChat, Channel::Whatsapp, Channel::FacebookMessenger];

    /// The channel's name as written in configurations and the protocol.
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::LiveChat => "live_chat",
            Channel::Whatsapp => "whatsapp",
            Channel::FacebookMessenger => "facebook_messenger",
            Channel::Email => "email",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The CRM object a property belongs to.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ObjectType {
    /// The customer's own contact record.
    Contact,
    /// A support ticket associated with the contact.
    Ticket,
    /// The company associated with the contact.
    Company,
}

impl ObjectType {
    /// The object's singular name, as in `contact.phone`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ObjectType::Contact => "contact",
            ObjectType::Ticket => "ticket",
            ObjectType::Company => "company",
        }
    }
}

impl fmt::Display for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The proof of identity a property requires.
///
/// Ordered by strength: `MatchEmail < VerifyEmail`. Defaults to the strongest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// The address the customer typed matches the contact record. Proves only
    /// that the customer knows an address.
    MatchEmail,
    /// The customer opened a link sent to the address on the contact record.
    /// Proves control of the mailbox.
    #[default]
    VerifyEmail,
}

impl Protection {
    /// The level's name as written in the configuration.
    pub const fn as_str(self) -> &'static str {
        match self {
            Protection::MatchEmail => "match_email",
            Protection::VerifyEmail => "verify_email",
        }
    }
}

impl fmt::Display for Protection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The access rules for one CRM property.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropertyRule {
    /// The CRM object the property belongs to.
    pub object: ObjectType,
    /// HubSpot's internal property name, e.g. `address`, `hs_pipeline_stage`.
    pub property: String,
    /// How customers refer to it, e.g. "billing address".
    pub label: String,
    /// Other names customers use for it.
    #[serde(default)]
    pub synonyms: Vec<String>,
    /// Whether and behind which proof the agent may read and share it.
    #[serde(default)]
    pub view: ViewRule,
    /// Whether and behind which proof the agent may change it.
    #[serde(default)]
    pub edit: EditRule,
}

impl PropertyRule {
    /// `object.property`, e.g. `contact.phone`: how reports name the property.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.object, self.property)
    }
}

/// "Show property": the rule for reading and sharing a property.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewRule {
    /// The agent may read and share the property. Off unless turned on.
    #[serde(default)]
    pub enabled: bool,
    /// The proof needed before sharing; the strongest level unless set.
    #[serde(default)]
    pub protection: Protection,
    /// When and how to use the data. Followed only where it narrows sharing.
    #[serde(default)]
    pub instructions: String,
}

/// "Edit property": the rule for updating a property in the CRM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditRule {
    /// The agent may update the property. Off unless turned on.
    #[serde(default)]
    pub enabled: bool,
    /// The proof needed before writing; the strongest level unless set.
    #[serde(default)]
    pub protection: Protection,
    /// When and how to make changes. Followed only where it narrows editing.
    #[serde(default)]
    pub instructions: String,
    /// Repeat the new value and ask the customer to confirm before writing.
    #[serde(default = "default_confirm")]
    pub confirm: bool,
}

impl Default for EditRule {
    fn default() -> Self {
        EditRule {
            enabled: false,
            protection: Protection::default(),
            instructions: String::new(),
            confirm: true,
        }
    }
}

fn default_confirm() -> bool {
    true
}

/// Serde for link lifetimes: friendly (`15m`, `1h 30m`) or ISO 8601 (`PT15M`)
/// text, strictly positive and at most [`MAX_LINK_TTL`].
mod link_ttl {
    use jiff::SignedDuration;
    use serde::{Deserialize, Deserializer, Serializer, de};

    use super::MAX_LINK_TTL;

    pub fn serialize<S: Serializer>(ttl: &SignedDuration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{ttl:#}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SignedDuration, D::Error> {
        let text = String::deserialize(deserializer)?;
        let ttl: SignedDuration = text.trim().parse().map_err(|_| {
            de::Error::custom(format_args!(
                "invalid duration {text:?}: write it in hours, minutes or seconds, like `15m` or `1h 30m`"
            ))
        })?;
        if ttl <= SignedDuration::ZERO {
            return Err(de::Error::custom(format_args!(
                "invalid duration {text:?}: a link must stay valid for some time"
            )));
        }
        if ttl > MAX_LINK_TTL {
            return Err(de::Error::custom(format_args!(
                "invalid duration {text:?}: at most {MAX_LINK_TTL:#} is accepted"
            )));
        }
        Ok(ttl)
    }
}

/// Serde for the public base URL: an absolute `http` or `https` URL.
mod public_base_url {
    use serde::{Deserialize, Deserializer, Serializer, de};
    use url::Url;

    pub fn serialize<S: Serializer>(url: &Url, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(url.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Url, D::Error> {
        let text = String::deserialize(deserializer)?;
        let url = Url::parse(&text)
            .map_err(|err| de::Error::custom(format_args!("invalid URL {text:?}: {err}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(de::Error::custom(format_args!("invalid URL {text:?}: links must be http or https")));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(de::Error::custom(format_args!(
                "invalid URL {text:?}: a base URL takes no query or fragment"
            )));
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests;
