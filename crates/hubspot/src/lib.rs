//! HubSpot as Leakproof speaks it: the CRM v3 and transactional-email wire types, and the clients the agent reads, writes and mails with.
//!
//! - [`crm`]: wire types, the CRM client, and the HTTP transport both clients share
//!   (timeouts, bounded retries, typed errors carrying HubSpot's correlation id).
//! - [`mail`]: the transactional single-send client that mails verification links.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod crm;
pub mod mail;

/// The bearer token Leakproof's mocks accept unless told otherwise, and the one the
/// agent server uses when a session names none: shaped like a HubSpot private-app
/// token, so clients that check the shape accept it.
pub const DEFAULT_TOKEN: &str = "pat-na1-00000000-0000-4000-8000-000000000000";
