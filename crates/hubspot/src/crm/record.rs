//! Records and properties as HubSpot names and shapes them: record ids, the contact properties channels identify visitors by, and the shape of an email value.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// The id of a ticket or company record. HubSpot ids are numeric strings on
/// the wire; a number here keeps them cheap to compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub u64);

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for RecordId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RecordId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        leakproof_config::ids::numeric_id(deserializer).map(RecordId)
    }
}

/// The contact property holding a returning live-chat visitor's cookie.
pub const HUBSPOTUTK: &str = "hubspotutk";

/// The contact property holding the contact's WhatsApp number (E.164).
pub const WHATSAPP_PHONE: &str = "hs_whatsapp_phone_number";

/// Whether `email` is shaped like an address: one `@`, a non-empty local
/// part, a domain with a dot in it and no empty label, no spaces.
///
/// Deliberately loose beyond that: fixtures hold test addresses, and the
/// agent, not the fixture loader, decides what customers may type.
pub fn is_email_shaped(email: &str) -> bool {
    email_problem(email).is_none()
}

/// What is wrong with the shape of `email`, if anything: the reason
/// [`is_email_shaped`] gives `false`.
pub fn email_problem(email: &str) -> Option<&'static str> {
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("an address has no spaces");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Some("an address has one `@`");
    };
    if domain.contains('@') {
        return Some("an address has one `@`");
    }
    if local.is_empty() {
        return Some("nothing before the `@`");
    }
    if !domain.contains('.') || domain.split('.').any(str::is_empty) {
        return Some("the domain needs a dot between non-empty parts, as in `example.com`");
    }
    None
}
