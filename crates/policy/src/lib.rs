//! The policy path: one pure function deciding every access to CRM data.
//!
//! [`Policy::compile`] turns an [`AgentConfig`] into a table once; then
//! [`Policy::decide`] answers each request from that table with no I/O and
//! no allocation. Everything in the agent that reads or writes CRM data asks
//! here first; nothing else decides access.
//!
//! ```
//! use leakproof_config::{from_yaml_str, ObjectType};
//! use leakproof_policy::identity::{ContactId, Identity};
//! use leakproof_policy::{Decision, Policy, Request};
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
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::NotShared => "not shared",
            Refusal::NotEditable => "not editable",
            Refusal::OutOfScope => "out of scope",
        })
    }
}

/// What one action on one property needs: closed, or open behind a proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gate {
    Closed,
    Open(Protection),
}

impl Gate {
    fn new(enabled: bool, protection: Protection) -> Gate {
        if enabled { Gate::Open(protection) } else { Gate::Closed }
    }
}

/// A property's two gates, side by side so one load answers a request.
#[derive(Clone, Copy, Debug)]
struct CompiledRule {
    view: Gate,
    edit: Gate,
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
    /// gets the same checks as one loaded from a file.
    pub fn compile(config: &AgentConfig) -> Result<Policy, ConfigError> {
        validate(config)?;
        let gates = config
            .properties
            .iter()
            .map(|rule| CompiledRule {
                view: Gate::new(rule.view.enabled, rule.view.protection),
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
    /// satisfies the property's protection. An unknown property is refused.
    #[inline]
    pub fn decide(&self, identity: &Identity, request: Request) -> Decision {
        let Some(rule) = self.gates.get(request.property.index()) else {
            return Decision::Refuse(match request.action {
                Action::View => Refusal::NotShared,
                Action::Edit => Refusal::NotEditable,
            });
        };
        let required = match (request.action, rule) {
            (Action::View, CompiledRule { view: Gate::Open(p), .. }) => *p,
            (Action::Edit, CompiledRule { edit: Gate::Open(p), .. }) => *p,
            (Action::View, _) => return Decision::Refuse(Refusal::NotShared),
            (Action::Edit, _) => return Decision::Refuse(Refusal::NotEditable),
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
            (Identity::Matched(_), Protection::MatchEmail) => Decision::Allow,
            (Identity::Matched(_), Protection::VerifyEmail) => Decision::NeedsVerification,
            (Identity::Verified(_), _) => Decision::Allow,
        }
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
