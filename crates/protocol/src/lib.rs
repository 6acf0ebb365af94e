//! The external agent protocol: the HTTP + JSON bodies an agent and the harness exchange.
//!
//! - `POST /v1/sessions` `{session_id, config, crm_base_url, crm_token, mail_base_url,
//!   mail_token, now}` → 204: a fresh world; the agent uses those base URLs with those
//!   bearer tokens. A session id is 1 to
//!   [`MAX_SESSION_ID_LEN`] characters of `A-Z a-z 0-9 . _ ~ -`, and neither `.`
//!   nor `..` ([`check_session_id`]); an id of a live session is not started
//!   again.
//! - `POST /v1/sessions/{session_id}/messages` `{conversation_id, channel, visitor, text, now}`
//!   → 200 `{replies: [{text}], events: [...]}`.
//! - `DELETE /v1/sessions/{session_id}` → 204: the session is over and its
//!   memory freed (404 if there is no such session). A harness ends each
//!   session it started this way; an agent that answers 404 or 405 simply
//!   keeps no sessions to end.
//! - The verification link is whatever URL the agent mailed; the reference
//!   agent serves `GET /v1/sessions/{session_id}/verify/{token}`.
//!
//! A session's time only moves forward: a `now` (a message's, or the
//! verification page's `x-leakproof-now` header or `now` query) earlier than the
//! latest the session was told is refused.
//!
//!
//! The reference agent's server (`leakproof_agent::server`) says which statuses it answers.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use url::Url;

use leakproof_config::Channel;

/// What a channel tells the agent about who is writing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Visitor {
    /// Live chat: the `hubspotutk` cookie of a returning visitor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    /// WhatsApp: the sender's number, E.164.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Facebook Messenger: the page-scoped id. Identifies nobody.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psid: Option<String>,
    /// Email: the `From` address. Only a claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_email: Option<String>,
}

/// The longest session id: ids become a path segment of every message and link.
pub const MAX_SESSION_ID_LEN: usize = 128;

/// Whether `id` can be a session id: 1 to [`MAX_SESSION_ID_LEN`] characters of
/// `A-Z a-z 0-9 . _ ~ -` (the characters a URL path segment carries unescaped),
/// and neither `.` nor `..`.
///
/// # Errors
///
/// The rule, for any other id.
pub fn check_session_id(id: &str) -> Result<(), String> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-');
    if !id.is_empty() && id.len() <= MAX_SESSION_ID_LEN && id.bytes().all(allowed) && id != "." && id != ".."
    {
        return Ok(());
    }
    Err(format!(
        "invalid session id: a session id is 1 to {MAX_SESSION_ID_LEN} characters of A-Z, a-z, 0-9, '.', '_', '~' \
         and '-', and not '.' or '..'"
    ))
}

/// `POST /v1/sessions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartSession {
    /// The session's id, chosen by the harness (see [`check_session_id`]).
    pub session_id: String,
    /// The agent configuration, as JSON (the YAML schema's JSON form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// The CRM the agent must use.
    pub crm_base_url: Url,
    /// The bearer token the CRM accepts. Absent (from harnesses before it was
    /// sent), the agent uses the token it was given otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crm_token: Option<String>,
    /// The mail service the agent must use.
    pub mail_base_url: Url,
    /// The bearer token the mail service accepts; absent, as `crm_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_token: Option<String>,
    /// The session's start time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<Timestamp>,
}

/// `POST /v1/sessions/{session_id}/messages`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerMessage {
    /// The conversation, chosen by the harness.
    pub conversation_id: String,
    /// The channel it arrives on.
    pub channel: Channel,
    /// What the channel knows about the sender.
    #[serde(default)]
    pub visitor: Visitor,
    /// What the customer wrote.
    pub text: String,
    /// The time, for expiry; the agent's own clock when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<Timestamp>,
}

/// One message the agent sends back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentReply {
    /// The text.
    pub text: String,
}

/// The answer to a customer message. `E` is the type of its events: the
/// reference agent's `DecisionEvent`s, or raw JSON for an agent whose events
/// are its own business.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentResponse<E = serde_json::Value> {
    /// The messages, in order.
    pub replies: Vec<AgentReply>,
    /// The decisions the agent reports (optional for external agents).
    #[serde(default = "Vec::new")]
    pub events: Vec<E>,
}
