//! Who the customer has proven to be, per conversation: anonymous, matched or verified.
//!
//! The policy path only ever sees an [`Identity`] value; how a conversation
//! reaches one (a typed email, a returning visitor's cookie, an opened link)
//! is tracked by the conversation's own state (the `leakproof-identity` crate).

use std::fmt;

use serde::{Deserialize, Serialize};

pub use leakproof_config::ids::{ContactId, ContactIdError, ConversationId, numeric_id};

/// What the customer in a conversation has proven, as the policy path sees it.
///
/// The levels are ordered: `Anonymous < Matched(c) < Verified(c)` for the same
/// contact. More proof never reduces access (a property test of the policy).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "level", content = "contact")]
pub enum Identity {
    /// Nothing proven yet.
    Anonymous,
    /// The customer typed an address that matches this contact's record, or a
    /// trusted channel identity (a returning visitor's cookie) points to it.
    Matched(ContactId),
    /// The customer opened a verification link sent to this contact's address
    /// on record, in time, in this conversation.
    Verified(ContactId),
}

impl Identity {
    /// The contact this identity stands for, if any.
    pub const fn contact(self) -> Option<ContactId> {
        match self {
            Identity::Anonymous => None,
            Identity::Matched(contact) | Identity::Verified(contact) => Some(contact),
        }
    }

    /// Whether the customer has proven control of the contact's mailbox.
    pub const fn is_verified(self) -> bool {
        matches!(self, Identity::Verified(_))
    }
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identity::Anonymous => f.write_str("anonymous"),
            Identity::Matched(contact) => write!(f, "matched({contact})"),
            Identity::Verified(contact) => write!(f, "verified({contact})"),
        }
    }
}
