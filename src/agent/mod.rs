//! The reference customer agent: understands customers deterministically, asks the policy before every access, and talks to the CRM and mail service over HTTP.

mod engine;
pub mod events;
pub mod render;
pub mod understand;

pub use engine::{Agent, AgentError, AgentSettings, LinkOutcome, Turn, Visitor, verification_link};
pub use events::DecisionEvent;
