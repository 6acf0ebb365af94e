//! The reference customer agent: understands customers deterministically, asks the policy before every access, and talks to the CRM and mail service over HTTP.

/// Whether the agent (or token issuer) `$holder` carries the planted bug
/// `Bug::…` of a faulty agent: `planted!(self, Bug::AcceptsExpiredLinks)`.
///
/// Without the `faulty-agents` feature it is `false` and no bug exists: the
/// reference agent behaves exactly as written around it.
#[cfg(feature = "faulty-agents")]
macro_rules! planted {
    ($holder:expr, $($bug:ident)::+) => {
        $holder.bug == Some($crate::agent::faulty::$($bug)::+)
    };
}

/// Without the `faulty-agents` feature no bug is ever planted.
#[cfg(not(feature = "faulty-agents"))]
macro_rules! planted {
    ($holder:expr, $($bug:ident)::+) => {
        false
    };
}

pub(crate) use planted;

mod engine;
pub mod events;
#[cfg(feature = "faulty-agents")]
pub mod faulty;
pub mod render;
pub mod understand;

pub use engine::{
    Agent, AgentError, AgentSettings, Compiled, LinkOutcome, MAX_LOOKUPS_PER_CONVERSATION,
    MAX_LOOKUPS_PER_MESSAGE, MAX_MESSAGE_BYTES, Memo, Turn, Visitor, verification_link,
};
pub use events::DecisionEvent;
