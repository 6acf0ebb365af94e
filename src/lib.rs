//! # Leakproof
//!
//! Companies let an AI customer agent answer their customers on live chat,
//! WhatsApp, Facebook Messenger and email, with access to CRM data. Per
//! property an admin turns on *view* and *edit* and sets the proof of identity
//! each needs: **match email** (the customer typed the address on record) or
//! **verify email** (the customer opened a link sent to it).
//!
//! Leakproof holds both sides of that promise: a reference customer agent that
//! enforces it through one pure, fast policy function, and a harness that
//! replays conversations against any agent and proves that no CRM value leaks
//! and no record changes without the required proof.
//!
//! # Quick start
//!
//! ```
//! use leakproof::config::{from_yaml_str, ObjectType};
//! use leakproof::identity::{ContactId, Identity};
//! use leakproof::policy::{Decision, Policy, Request};
//!
//! let config = from_yaml_str("agent.yaml", r#"
//! agent: { name: Ava }
//! properties:
//!   - object: contact
//!     property: address
//!     label: billing address
//!     view: { enabled: true, protection: verify_email }
//!     edit: { enabled: false }
//! "#)?;
//! let policy = Policy::compile(&config)?;
//! let address = policy.property(ObjectType::Contact, "address").unwrap();
//!
//! // Typing the right address is not enough for a verify_email property…
//! let matched = Identity::Matched(ContactId(42));
//! assert_eq!(policy.decide(&matched, Request::view(address)), Decision::NeedsVerification);
//! // …and nothing makes a property editable whose edit is off.
//! let verified = Identity::Verified(ContactId(42));
//! assert!(!policy.decide(&verified, Request::edit(address)).is_allowed());
//! # Ok::<(), leakproof::config::ConfigError>(())
//! ```
//!
//! # Layout
//!
//! - [`agent`]: the reference customer agent: understanding, the conversation
//!   engine, decision events and channel rendering.
//! - [`config`]: the admin's configuration; YAML loading with located errors,
//!   validation, and lints for risky settings.
//! - [`crm`]: HubSpot CRM v3 wire types and the CRM client.
//! - [`mail`]: the transactional-email client that sends verification links.
//! - [`mocks`]: mock HubSpot CRM and mail servers (wiremock) with fault
//!   injection and a log of every request.
//! - [`fixtures`]: the CRM world (contacts, tickets, companies, known visitors),
//!   from YAML or generated with canary values.
//! - [`identity`]: who the customer has proven to be in a conversation, and
//!   the signed, single-use verification-link tokens that prove it.
//! - [`clock`]: the injected clock; tests and the harness move time by hand.
//! - [`policy`]: the policy path, `Policy::compile` once, `Policy::decide` per
//!   access; pure and allocation-free.
//! - [`generate`]: proptest strategies for configurations, identities and
//!   requests, and the generated worlds and conversations (a reference state
//!   machine of customer moves) that `leakproof fuzz` and the properties run.
//! - [`protocol`]: the external agent protocol (HTTP + JSON) and the server
//!   that puts the reference agent behind it.
//! - [`harness`]: the scenario harness: scenario files, the runner, the oracle
//!   (its text check reads values in any form, `harness::text`), the twin-world
//!   check (`harness::twin`: the same steps in a world whose secrets are
//!   replaced must look the same), values carried between sessions
//!   (`harness::sessions`), reports, and the fuzzer (`harness::fuzz`: cases,
//!   shrinking, liveness).
//! - [`files`]: reading the files people name: regular files only, with a
//!   size limit (a FIFO or `/dev/zero` named as a configuration is refused).
//! - [`yaml`]: reading the YAML files people write, with every error placed
//!   at its file, line, column and field.
//! - [`cli`]: the `leakproof` command line.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod agent;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crm;
pub mod files;
pub mod fixtures;
pub mod generate;
pub mod harness;
pub mod identity;
pub mod mail;
pub mod mocks;
pub mod policy;
pub mod protocol;
pub mod yaml;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{AgentConfig, Channel, ConfigError, EmailCapture, ObjectType, PropertyRule, Protection};
pub use identity::{
    ContactId, ConversationId, ConversationIdentity, Identity, IdentitySource, IssuedToken, SigningKey,
    TokenClaims, TokenError, TokenIssuer, Transition,
};
pub use policy::{Action, Decision, Policy, PropertyId, Refusal, Request, Subject};
