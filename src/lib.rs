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
//! The workspace's crates are its architecture; this crate is the command line
//! and re-exports each under the name it goes by here.
//!
//! - [`config`] (`leakproof-config`): the admin's configuration; YAML loading
//!   with located errors, validation, and lints for risky settings. Also
//!   [`files`] (reading the files people name: regular files only, with a size
//!   limit), [`yaml`] (errors placed at file, line, column and field) and
//!   [`clock`] (the injected clock).
//! - [`policy`] (`leakproof-policy`): `Policy::compile` once, `Policy::decide`
//!   per access; pure and allocation-free, with no async and no I/O. Its
//!   [`policy::identity`] holds the identity values it decides on.
//! - [`identity`] (`leakproof-identity`): who the customer has proven to be in
//!   a conversation, and the signed, single-use verification-link tokens.
//! - [`crm`] and [`mail`] (`leakproof-hubspot`): HubSpot's CRM v3 and
//!   transactional-email wire types and clients.
//! - [`world`] (`leakproof-world`): the CRM world (contacts, tickets, companies,
//!   known visitors), from YAML or generated with canary values.
//! - [`mocks`] (`leakproof-mocks`): mock HubSpot CRM and mail servers
//!   (wiremock) with fault injection and a log of every request.
//! - [`protocol`] (`leakproof-protocol`): the external agent protocol's bodies.
//! - [`agent`] (`leakproof-agent`): the reference customer agent
//!   (understanding, the conversation engine, decision events, channel
//!   rendering) and the server that puts it behind the protocol.
//! - [`harness`] (`leakproof-harness`): scenario files, the runner, the oracle,
//!   the twin-world check, expectations, reports and the fuzzer, with
//!   [`generate`] (proptest strategies and generated worlds and
//!   conversations). It does not depend on the agent crate: it drives every
//!   agent through [`harness::target::AgentUnderTest`].
//! - [`reference`]: the in-process reference agent (and, for the harness's own
//!   tests, the faulty agents) as agents under test.
//! - [`cli`]: the `leakproof` command line.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod cli;
pub mod reference;

pub use leakproof_agent as agent;
pub use leakproof_config as config;
pub use leakproof_config::{clock, files, yaml};
pub use leakproof_harness as harness;
pub use leakproof_harness::generate;
pub use leakproof_hubspot::{crm, mail};
pub use leakproof_identity as identity;
pub use leakproof_mocks as mocks;
pub use leakproof_policy as policy;
pub use leakproof_protocol as protocol;
pub use leakproof_world as world;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{AgentConfig, Channel, ConfigError, EmailCapture, ObjectType, PropertyRule, Protection};
pub use identity::{
    ContactId, ConversationId, ConversationIdentity, Identity, IdentitySource, IssuedToken, SigningKey,
    TokenClaims, TokenError, TokenIssuer, Transition,
};
pub use policy::{Action, Decision, Policy, PropertyId, Refusal, Request, Subject};
