//! The reference customer agent: understands customers deterministically, asks the policy before every access, and talks to the CRM and mail service over HTTP.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

/// Whether the agent (or token issuer) `$holder` carries the planted bug
/// `Bug::…` of a faulty agent: `planted!(self, Bug::AcceptsExpiredLinks)`.
///
/// Without the `faulty-agents` feature it is `false` and no bug exists: the
/// reference agent behaves exactly as written around it.
#[cfg(feature = "faulty-agents")]
macro_rules! planted {
    ($holder:expr, $($bug:ident)::+) => {
        $holder.bug == Some($crate::faulty::$($bug)::+)
    };
}

/// Without the `faulty-agents` feature no bug is ever planted.
#[cfg(not(feature = "faulty-agents"))]
macro_rules! planted {
    ($holder:expr, $($bug:ident)::+) => {
        false
    };
}

mod engine;
pub mod events;
#[cfg(feature = "faulty-agents")]
pub mod faulty;
pub mod render;
pub mod understand;

pub mod server;
mod throttle;
pub mod trust;

pub use engine::{
    Agent, AgentError, AgentSettings, Compiled, LinkOutcome, MAX_LOOKUPS_PER_CONVERSATION,
    MAX_LOOKUPS_PER_MESSAGE, MAX_MESSAGE_BYTES, Memo, Turn, verification_link,
};
pub use events::DecisionEvent;
pub use leakproof_protocol::Visitor;
#[cfg(feature = "faulty-agents")]
pub use server::faulty_router;
pub use server::{DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_SESSIONS, NOW_HEADER, ServerOptions, router};
pub use throttle::{MAILS_PER_ADDRESS_PER_HOUR, MAILS_PER_CONVERSATION, MailThrottle};
pub use trust::{TrustedBackend, TrustedBackends, Untrusted};
