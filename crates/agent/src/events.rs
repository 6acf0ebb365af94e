//! Decision events: the typed trace of every access decision the agent makes, one list per turn.

use serde::{Deserialize, Serialize};

use leakproof_config::ObjectType;
use leakproof_identity::ContactId;
use leakproof_policy::Refusal;

/// Why the agent asked for the customer's email address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AskReason {
    /// The channel's setting is `at_start`.
    AtStart,
    /// A protected property or an update needs it (`when_needed`, email channel).
    Needed,
    /// The conversation is being handed to a human (`before_handoff`).
    BeforeHandoff,
    /// The customer said they are a returning customer.
    ReturningCustomer,
}

/// How a contact was matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// The customer typed an address that is on a contact record.
    Email,
    /// A returning live-chat visitor's cookie.
    Cookie,
    /// The WhatsApp sender's phone number.
    WhatsappPhone,
}

/// Why a value was not shared or an update not made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithheldReason {
    /// The property is not shared (view off), or not editable (edit off).
    NotShared,
    /// The property is not editable.
    NotEditable,
    /// The record is someone else's.
    OutOfScope,
    /// The customer has not given a matching email address yet.
    NeedsEmail,
    /// The customer has not opened a verification link yet.
    NeedsVerification,
    /// The admin's instructions say not to share it here.
    Instructions,
    /// The CRM holds no value for it.
    NoValue,
    /// The value the customer gave is not acceptable.
    InvalidValue,
    /// The customer declined the confirmation.
    Declined,
    /// The CRM or mail service failed.
    BackendError,
}

impl From<Refusal> for WithheldReason {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NotShared => WithheldReason::NotShared,
            Refusal::NotEditable => WithheldReason::NotEditable,
            Refusal::OutOfScope => WithheldReason::OutOfScope,
            Refusal::Instructions => WithheldReason::Instructions,
        }
    }
}

/// The service that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// The CRM.
    Crm,
    /// The mail service.
    Mail,
}

/// Why a verification link that was due was not mailed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Throttle {
    /// This conversation already sent a link to this address that still works.
    LinkLive,
    /// The address had [`MAILS_PER_ADDRESS_PER_HOUR`](crate::MAILS_PER_ADDRESS_PER_HOUR)
    /// mails in the last hour.
    Address,
    /// The conversation sent [`MAILS_PER_CONVERSATION`](crate::MAILS_PER_CONVERSATION)
    /// mails.
    Conversation,
}

/// One decision, as the harness snapshots it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "event")]
pub enum DecisionEvent {
    /// The agent asked for the customer's email address.
    AskedForEmail {
        /// Why.
        reason: AskReason,
    },
    /// The conversation's identity is now matched to this contact.
    ContactMatched {
        /// The contact.
        contact: ContactId,
        /// How.
        by: MatchedBy,
        /// The contact it replaced, whose access lapsed at once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaced: Option<ContactId>,
    },
    /// An address the customer gave matches no contact (never said to them
    /// in a verify flow).
    ContactNotMatched,
    /// A verification link was mailed to the contact's address on record.
    VerificationSent {
        /// The contact.
        contact: ContactId,
    },
    /// A verification link was due and no mail went, for a limit on mails (the customer is
    /// told what they are told when one goes).
    VerificationThrottled {
        /// The contact.
        contact: ContactId,
        /// Which limit.
        reason: Throttle,
    },
    /// The customer opened a valid link: verified for this contact.
    Verified {
        /// The contact.
        contact: ContactId,
    },
    /// A link was opened but verified nothing.
    VerificationRejected {
        /// Why, in words (expired, replayed, forged, …).
        reason: String,
    },
    /// A value was shared with the customer.
    Disclosed {
        /// The object.
        object: ObjectType,
        /// The property's internal name.
        property: String,
        /// The contact whose data it is.
        contact: ContactId,
        /// The ticket or company, for those objects.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        record: Option<u64>,
        /// The admin's instructions for the property.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        instructions: String,
    },
    /// A value was asked for and not shared.
    Withheld {
        /// The object.
        object: ObjectType,
        /// The property's internal name.
        property: String,
        /// Why.
        reason: WithheldReason,
    },
    /// A value was written to the CRM.
    Updated {
        /// The object.
        object: ObjectType,
        /// The property's internal name.
        property: String,
        /// The contact whose record it is.
        contact: ContactId,
        /// The ticket or company, for those objects.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        record: Option<u64>,
    },
    /// An update was asked for and not made.
    UpdateRefused {
        /// The object.
        object: ObjectType,
        /// The property's internal name.
        property: String,
        /// Why.
        reason: WithheldReason,
    },
    /// The conversation was handed to a human.
    HandedOff,
    /// The CRM or mail service failed; nothing was disclosed or written.
    BackendError {
        /// Which service.
        backend: Backend,
        /// What failed, without values or tokens.
        detail: String,
    },
}
