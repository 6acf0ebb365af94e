//! The policy path: one pure function deciding every access to CRM data.
//!
//! [`Policy::compile`] turns an [`AgentConfig`] into a table once; then
//! [`Policy::decide`] answers each request from that table with no I/O and
//! no allocation. Everything in the agent that reads or writes CRM data asks
//! here first; nothing else decides access.
//!
//! The table holds all the configuration says about access: per property
//! whether view and edit are on, the proof each needs, and whether the admin's
//! view instructions narrow sharing ("Never share the balance in chat", see
//! [`narrows_sharing`]): such a view is refused with [`Refusal::Instructions`]
//! where it would otherwise be allowed. Questions about the rules rather than
//! about one customer's request have their own functions: which proof an
//! action needs is [`Policy::protection`], with no identity made up to ask.
//!
//! ```
//! use leakproof_config::{from_yaml_str, ObjectType, Protection};
//! use leakproof_policy::identity::{ContactId, Identity};
//! use leakproof_policy::{Action, Decision, Policy, Request};
//!
//! let config = from_yaml_str("inline.yaml", r#"
//! agent: { name: Ava }
//! properties:
//!   - { object: contact, property: phone, label: phone,
//!       view: { enabled: true, protection: verify_email } }
//! "#).unwrap();
//! let policy = Policy::compile(&config).unwrap();
//! let phone = policy.property(ObjectType::Contact, "phone").unwrap();
//! let me = ContactId(7);
//!
//! assert_eq!(policy.decide(&Identity::Anonymous, Request::view(phone)), Decision::NeedsEmail);
//! assert_eq!(policy.decide(&Identity::Matched(me), Request::view(phone)), Decision::NeedsVerification);
//! assert_eq!(policy.decide(&Identity::Verified(me), Request::view(phone)), Decision::Allow);
//! assert_eq!(policy.protection(phone, Action::View), Some(Protection::VerifyEmail));
//! assert_eq!(policy.protection(phone, Action::Edit), None);
//! ```
//!
//! Instructions that narrow sharing refuse what the proof would have allowed:
//!
//! ```
//! use leakproof_config::{from_yaml_str, ObjectType};
//! use leakproof_policy::identity::{ContactId, Identity};
//! use leakproof_policy::{Decision, Policy, Refusal, Request};
//!
//! let config = from_yaml_str("inline.yaml", r#"
//! agent: { name: Ava }
//! properties:
//!   - { object: contact, property: points, label: points,
//!       view: { enabled: true, protection: match_email,
//!               instructions: "Never share the balance in chat." } }
//! "#).unwrap();
//! let policy = Policy::compile(&config).unwrap();
//! let points = policy.property(ObjectType::Contact, "points").unwrap();
//!
//! assert_eq!(policy.decide(&Identity::Anonymous, Request::view(points)), Decision::NeedsEmail);
//! assert_eq!(
//!     policy.decide(&Identity::Matched(ContactId(7)), Request::view(points)),
//!     Decision::Refuse(Refusal::Instructions),
//! );
//! ```

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod identity;

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::identity::{ContactId, Identity};
use leakproof_config::{
    AgentConfig, Channel, ConfigError, EmailCapture, ObjectType, PropertyRule, Protection, validate,
};

/// A property's index in a compiled [`Policy`]; look one up with [`Policy::property`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PropertyId(u32);

impl PropertyId {
    /// The property's position in the configuration's `properties` list.
    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// The id at position `index`; one past the configured properties is
    /// valid to build and refused by [`Policy::decide`].
    pub const fn from_index(index: u32) -> Self {
        PropertyId(index)
    }
}

/// Read or write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Read the value and share it with the customer.
    View,
    /// Change the value in the CRM.
    Edit,
}

/// Whose record a request is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subject {
    /// The customer's own contact, or a ticket or company associated with it:
    /// "what is *my* phone number".
    Own,
    /// The record of this contact, or one associated with it. In scope only
    /// when the identity is this contact.
    Contact(ContactId),
    /// A record associated with no contact of the customer: never in scope.
    Unassociated,
}

/// One access the agent wants to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Request {
    /// Read or write.
    pub action: Action,
    /// Which property.
    pub property: PropertyId,
    /// Whose record.
    pub subject: Subject,
}

impl Request {
    /// Read `property` of the customer's own record.
    pub const fn view(property: PropertyId) -> Self {
        Request { action: Action::View, property, subject: Subject::Own }
    }

    /// Change `property` of the customer's own record.
    pub const fn edit(property: PropertyId) -> Self {
        Request { action: Action::Edit, property, subject: Subject::Own }
    }

    /// The same request about `subject`'s record.
    pub const fn of(self, subject: Subject) -> Self {
        Request { subject, ..self }
    }
}

/// The policy's answer to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "decision", content = "reason")]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// The customer must give an email address that matches their record first.
    NeedsEmail,
    /// The customer must open a link sent to the address on record first.
    NeedsVerification,
    /// Not possible whatever the customer proves.
    Refuse(Refusal),
}

impl Decision {
    /// Whether the access may happen now.
    pub const fn is_allowed(self) -> bool {
        matches!(self, Decision::Allow)
    }
}

/// Why a request is refused outright.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The property's view is off (or the property is not configured).
    NotShared,
    /// The property's edit is off (or the property is not configured).
    NotEditable,
    /// The record is not the customer's own nor associated with it.
    OutOfScope,
    /// The admin's view instructions narrow sharing (see [`narrows_sharing`]):
    /// the value is not shared in chat, though the customer has the proof its
    /// protection asks for. Only ever where the decision would otherwise be
    /// [`Decision::Allow`].
    Instructions,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::NotShared => "not shared",
            Refusal::NotEditable => "not editable",
            Refusal::OutOfScope => "out of scope",
            Refusal::Instructions => "withheld by the instructions",
        })
    }
}

/// The phrases that, found in a property's view instructions (in any case),
/// make them narrow sharing: see [`narrows_sharing`].
pub const NARROWING_PHRASES: [&str; 7] = [
    "never share",
    "never shared",
    "do not share",
    "don't share",
    "not be shared",
    "never disclose",
    "do not disclose",
];

/// Whether a property's view `instructions` forbid sharing it in chat: they
/// contain one of [`NARROWING_PHRASES`], in any case. Instructions are
/// followed only where they narrow what is shared; [`Policy::compile`] reads
/// them once, and [`Policy::decide`] refuses such a view with
/// [`Refusal::Instructions`].
pub fn narrows_sharing(instructions: &str) -> bool {
    let text = instructions.to_lowercase();
    NARROWING_PHRASES.iter().any(|phrase| text.contains(phrase))
}

/// What one action on one property needs: closed, open behind a proof, or
/// (views only) behind a proof and then withheld by the admin's instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gate {
    Closed,
    Open(Protection),
    Narrowed(Protection),
}

impl Gate {
    fn new(enabled: bool, protection: Protection) -> Gate {
        if enabled { Gate::Open(protection) } else { Gate::Closed }
    }

    /// A view's gate: narrowed where its instructions narrow sharing.
    fn view(rule: &PropertyRule) -> Gate {
        match Gate::new(rule.view.enabled, rule.view.protection) {
            Gate::Open(protection) if narrows_sharing(&rule.view.instructions) => Gate::Narrowed(protection),
            gate => gate,
        }
    }

    /// The proof the gate asks for, if it is not closed.
    const fn protection(self) -> Option<Protection> {
        match self {
            Gate::Closed => None,
            Gate::Open(protection) | Gate::Narrowed(protection) => Some(protection),
        }
    }
}

/// A property's two gates, side by side so one load answers a request.
#[derive(Clone, Copy, Debug)]
struct CompiledRule {
    view: Gate,
    edit: Gate,
}

impl CompiledRule {
    const fn gate(&self, action: Action) -> Gate {
        match action {
            Action::View => self.view,
            Action::Edit => self.edit,
        }
    }
}

/// A configuration compiled for deciding: build once, share freely, decide fast.
#[derive(Clone, Debug)]
pub struct Policy {
    gates: Box<[CompiledRule]>,
    rules: Box<[PropertyRule]>,
    by_name: HashMap<(ObjectType, String), PropertyId>,
    email_capture: [EmailCapture; Channel::ALL.len()],
}

impl Policy {
    /// Compiles `config`, validating it first: a configuration built in code
    /// gets the same checks as one loaded from a file. View instructions are
    /// read here, once: a view whose instructions narrow sharing
    /// ([`narrows_sharing`]) is refused by [`Policy::decide`] with
    /// [`Refusal::Instructions`].
    pub fn compile(config: &AgentConfig) -> Result<Policy, ConfigError> {
        validate(config)?;
        let gates = config
            .properties
            .iter()
            .map(|rule| CompiledRule {
                view: Gate::view(rule),
                edit: Gate::new(rule.edit.enabled, rule.edit.protection),
            })
            .collect();
        // Validation caps the list at MAX_PROPERTIES, so every index fits a u32.
        let by_name = config
            .properties
            .iter()
            .enumerate()
            .map(|(index, rule)| ((rule.object, rule.property.clone()), PropertyId(index as u32)))
            .collect();
        Ok(Policy {
            gates,
            rules: config.properties.clone().into_boxed_slice(),
            by_name,
            email_capture: Channel::ALL.map(|channel| config.email_capture.for_channel(channel)),
        })
    }

    /// Decides `request` for a customer who has proven `identity`.
    ///
    /// Pure and allocation-free. Checks, in order: the action is enabled for
    /// the property; the record is in the identity's scope; the identity
    /// satisfies the property's protection ([`Policy::protection`]); the
    /// admin's instructions do not narrow sharing of the property. An unknown
    /// property is refused.
    ///
    /// So [`Refusal::Instructions`] comes only where the answer would
    /// otherwise be [`Decision::Allow`]: a customer is asked for the same
    /// proof whether or not the instructions withhold the value.
    #[inline]
    pub fn decide(&self, identity: &Identity, request: Request) -> Decision {
        let closed = match request.action {
            Action::View => Refusal::NotShared,
            Action::Edit => Refusal::NotEditable,
        };
        let Some(rule) = self.gates.get(request.property.index()) else {
            return Decision::Refuse(closed);
        };
        let gate = rule.gate(request.action);
        let Some(required) = gate.protection() else {
            return Decision::Refuse(closed);
        };
        let in_scope = match request.subject {
            Subject::Own => true,
            Subject::Contact(contact) => identity.contact() == Some(contact),
            Subject::Unassociated => false,
        };
        if !in_scope {
            return Decision::Refuse(Refusal::OutOfScope);
        }
        match (identity, required) {
            (Identity::Anonymous, _) => Decision::NeedsEmail,
            (Identity::Matched(_), Protection::VerifyEmail) => Decision::NeedsVerification,
            (Identity::Matched(_), Protection::MatchEmail) | (Identity::Verified(_), _) => {
                if matches!(gate, Gate::Narrowed(_)) {
                    Decision::Refuse(Refusal::Instructions)
                } else {
                    Decision::Allow
                }
            }
        }
    }

    /// The proof `action` on `property` needs: `None` when the action is off
    /// (or the property is not configured), whoever asks.
    ///
    /// A question about the rules, not about one customer: with it nobody has
    /// to ask [`Policy::decide`] about a made-up identity. It agrees with
    /// `decide` for the customer's own record: an anonymous customer
    /// [`NeedsEmail`](Decision::NeedsEmail), a matched one is allowed under
    /// `match_email` and [`NeedsVerification`](Decision::NeedsVerification)
    /// under `verify_email`, a verified one is allowed; instructions that
    /// narrow sharing leave the proof as it is and turn those allows into
    /// [`Refusal::Instructions`]. Pure and allocation-free.
    #[inline]
    pub fn protection(&self, property: PropertyId, action: Action) -> Option<Protection> {
        self.gates.get(property.index())?.gate(action).protection()
    }

    /// The id of `object.property`, if it is configured.
    pub fn property(&self, object: ObjectType, property: &str) -> Option<PropertyId> {
        self.by_name.get(&(object, property.to_owned())).copied()
    }

    /// The configured rule behind `id`: its label, synonyms and instructions.
    pub fn rule(&self, id: PropertyId) -> Option<&PropertyRule> {
        self.rules.get(id.index())
    }

    /// Every configured property with its id, in configuration order.
    pub fn properties(&self) -> impl ExactSizeIterator<Item = (PropertyId, &PropertyRule)> {
        self.rules.iter().enumerate().map(|(index, rule)| (PropertyId(index as u32), rule))
    }

    /// How many properties are configured.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether no property is configured.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// When the agent asks for the customer's email on `channel`.
    pub fn email_capture(&self, channel: Channel) -> EmailCapture {
        self.email_capture[channel as usize]
    }
}
