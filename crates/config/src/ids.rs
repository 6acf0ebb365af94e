//! The ids of CRM contacts and of conversations, as HubSpot and the channels write them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A CRM contact's record id.
///
/// HubSpot object ids are numeric strings on the wire (`"512"`); keeping them
/// as a `u64` makes an identity `Copy` and comparing two of them free, which
/// the allocation-free policy path relies on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContactId(pub u64);

impl fmt::Display for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The error for a contact id that is not a HubSpot numeric id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to parse contact id {0:?}: expected a decimal number")]
pub struct ContactIdError(pub String);

impl FromStr for ContactId {
    type Err = ContactIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ContactIdError(s.to_owned()));
        }
        s.parse().map(ContactId).map_err(|_| ContactIdError(s.to_owned()))
    }
}

impl Serialize for ContactId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl schemars::JsonSchema for ContactId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ContactId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A CRM record id: a decimal number, written as a string.",
            "type": "string",
            "pattern": "^[0-9]+$"
        })
    }
}

impl<'de> Deserialize<'de> for ContactId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        numeric_id(deserializer).map(ContactId)
    }
}

/// A HubSpot object id written as a number (`512`, in YAML) or a numeric
/// string (`"512"`, on the wire).
pub fn numeric_id<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    struct IdVisitor;
    impl serde::de::Visitor<'_> for IdVisitor {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a numeric record id such as 512 or \"512\"")
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v)
                .map_err(|_| E::custom(format_args!("invalid record id {v}: ids are not negative")))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<u64, E> {
            v.parse::<ContactId>().map(|id| id.0).map_err(E::custom)
        }
    }
    deserializer.deserialize_any(IdVisitor)
}

/// A conversation's id, as given by the channel or by the harness.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConversationId(pub String);

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ConversationId {
    fn from(value: &str) -> Self {
        ConversationId(value.to_owned())
    }
}
