//! The external agent protocol: HTTP + JSON bodies, and the server that puts the reference agent behind it.
//!
//! - `POST /v1/sessions` `{session_id, config, crm_base_url, mail_base_url, now}` → 204:
//!   a fresh world; the agent uses those base URLs.
//! - `POST /v1/sessions/{session_id}/messages` `{conversation_id, channel, visitor, text, now}`
//!   → 200 `{replies: [{text}], events: [...]}`.
//! - The verification link is whatever URL the agent mailed; the reference
//!   agent serves `GET /v1/sessions/{session_id}/verify/{token}`.

mod server;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use url::Url;

#[cfg(feature = "faulty-agents")]
pub use server::faulty_router;
pub use server::{ServerOptions, router};

use crate::agent::{DecisionEvent, Visitor};
use crate::config::Channel;

/// `POST /v1/sessions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartSession {
    /// The session's id, chosen by the harness.
    pub session_id: String,
    /// The agent configuration, as JSON (the YAML schema's JSON form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// The CRM the agent must use.
    pub crm_base_url: Url,
    /// The mail service the agent must use.
    pub mail_base_url: Url,
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
/// reference agent's [`DecisionEvent`]s, or raw JSON for an agent whose events
/// are its own business.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentResponse<E = DecisionEvent> {
    /// The messages, in order.
    pub replies: Vec<AgentReply>,
    /// The decisions the agent reports (optional for external agents).
    #[serde(default = "Vec::new")]
    pub events: Vec<E>,
}
