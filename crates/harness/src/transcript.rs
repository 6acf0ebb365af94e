//! What a run observed: each step as the customer and the harness saw it, and the mocks' logs. The oracle judges from this and nothing else.

use std::ops::Range;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use leakproof_config::Channel;
use leakproof_mocks::{CapturedMail, RecordedRequest, Write};
use leakproof_protocol::Visitor;

/// Everything observable about one run of a scenario.
#[derive(Clone, Debug, Default, Serialize, schemars::JsonSchema)]
pub struct Observed {
    /// The steps, in order.
    pub entries: Vec<Entry>,
    /// Every request the mock CRM received, in order.
    pub crm_requests: Vec<RecordedRequest>,
    /// Every write (PATCH) the mock CRM received, applied or not, in order.
    pub writes: Vec<Write>,
    /// Every mail the mock mail service captured, in order.
    pub mails: Vec<CapturedMail>,
    /// Every request the mock mail service received, in order. Left out of reports: the
    /// mails hold what they sent.
    #[serde(skip)]
    pub mail_requests: Vec<RecordedRequest>,
    /// The requests the mocks refused unserved because their logs were full: a run with
    /// any cannot be judged from its logs, and fails.
    #[serde(skip_serializing_if = "is_zero")]
    pub unlogged: usize,
    /// The session id the harness started the agent with; a conversation's id is it, a
    /// slash and the conversation's name. The harness's own text, never CRM data.
    pub session: String,
}

/// One step, observed.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Entry {
    /// The step's number in the scenario, from 1.
    pub step: usize,
    /// The scenario's line of the step, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The scenario's clock when the step ran.
    #[schemars(with = "String")]
    pub at: Timestamp,
    /// What happened.
    #[serde(flatten)]
    pub what: Occurrence,
    /// The CRM requests received during the step: indexes into [`Observed::crm_requests`].
    #[serde(skip)]
    pub crm: Range<usize>,
    /// The writes received during the step: indexes into [`Observed::writes`].
    #[serde(skip)]
    pub writes: Range<usize>,
    /// The mails captured during the step: indexes into [`Observed::mails`].
    #[serde(skip)]
    pub mails: Range<usize>,
}

/// What a step did, as observed from outside the agent.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Occurrence {
    /// The customer wrote, and the agent answered.
    Turn(Turn),
    /// The customer opened a verification link.
    LinkOpened(LinkOpened),
    /// A step could not be carried out (no such mail, an agent that does not answer).
    Failed {
        /// The conversation, when the step had one.
        #[serde(skip_serializing_if = "Option::is_none")]
        conversation: Option<String>,
        /// Why.
        reason: String,
    },
    /// The clock moved on.
    Waited {
        /// By how much.
        #[serde(with = "humane")]
        #[schemars(with = "String")]
        by: Duration,
    },
    /// A conversation began: a returning visit or a switch of channel.
    ConversationStarted {
        /// Its name in the scenario.
        conversation: String,
        /// Its channel.
        channel: Channel,
        /// Who the channel says is writing.
        visitor: Visitor,
    },
    /// Faults were injected into or cleared from the mocks.
    Faults {
        /// What changed, in words.
        change: String,
    },
}

/// One customer message and the agent's answer.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Turn {
    /// The conversation's name in the scenario.
    pub conversation: String,
    /// The channel.
    pub channel: Channel,
    /// What the customer wrote.
    pub customer: String,
    /// The agent's messages, in order.
    pub replies: Vec<String>,
    /// The decision events the agent reported, if it reports any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<serde_json::Value>>,
    /// How long the agent took to answer.
    #[serde(skip)]
    pub latency: Duration,
}

impl Turn {
    /// The replies as one text.
    pub fn reply_text(&self) -> String {
        self.replies.join("\n")
    }

    /// Whether the agent reported an event named `name`; `None` when it reports no events.
    pub fn reported(&self, name: &str) -> Option<bool> {
        self.events
            .as_ref()
            .map(|events| events.iter().any(|e| e.get("event").and_then(|v| v.as_str()) == Some(name)))
    }
}

/// A verification link, opened.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct LinkOpened {
    /// The mailbox it was found in.
    pub mailbox: String,
    /// The mail it was found in: an index into [`Observed::mails`].
    pub mail: usize,
    /// Whether the harness changed a character of its token first.
    pub tampered: bool,
    /// The HTTP status answered (for the in-process agent, 200 when it verified and 410 when not).
    pub status: u16,
    /// What the page said.
    pub message: String,
}

impl LinkOpened {
    /// Whether the agent accepted the link.
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

mod humane {
    use std::time::Duration;

    use serde::Serializer;

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        let secs = duration.as_secs();
        let text = if secs.is_multiple_of(3600) && secs > 0 {
            format!("{}h", secs / 3600)
        } else if secs.is_multiple_of(60) && secs > 0 {
            format!("{}m", secs / 60)
        } else {
            format!("{}s", secs)
        };
        serializer.serialize_str(&text)
    }
}

fn is_zero(count: &usize) -> bool {
    *count == 0
}
