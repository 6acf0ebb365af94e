//! Changing a value: the policy's decision on an edit, the read-back the customer confirms, and the CRM write, told exactly as it went.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::Agent;
use super::conversation::{Conversation, PendingRequest};
use super::reply::{TurnOutput, singular};
use crate::events::{Backend, DecisionEvent, WithheldReason};
use leakproof_config::{ObjectType, PropertyRule};
use leakproof_policy::{Action, Decision, PropertyId, Refusal, Request, Subject};

impl Agent {
    /// Asks the policy about an update and acts on its decision.
    pub(super) async fn update(
        &self,
        conv: &mut Conversation,
        property: PropertyId,
        value: String,
        now: Timestamp,
        out: &mut TurnOutput,
    ) {
        let Some(rule) = self.policy.rule(property).cloned() else { return };
        let refused = |reason| DecisionEvent::UpdateRefused {
            object: rule.object,
            property: rule.property.clone(),
            reason,
        };
        // Planted bug `WritesWithoutEditPermission`: asks about viewing, as `view` does.
        let action =
            if planted!(self, Bug::WritesWithoutEditPermission) { Action::View } else { Action::Edit };
        let mut decision =
            self.policy.decide(&conv.policy_identity(), Request { action, property, subject: Subject::Own });
        // Planted bug `WritesWithoutEditPermission`, continued: view instructions that narrow
        // sharing say nothing of writes, so their refusal (only ever where the view would
        // otherwise be allowed) is taken for an allow.
        if planted!(self, Bug::WritesWithoutEditPermission)
            && decision == Decision::Refuse(Refusal::Instructions)
        {
            decision = Decision::Allow;
        }
        match decision {
            Decision::Allow => {
                if let Err(why) = validate_value(&rule, &value) {
                    out.event(refused(WithheldReason::InvalidValue));
                    out.say(format!("I can't use that as your {}: {why}.", rule.label));
                    return;
                }
                if rule.edit.confirm {
                    // Planted bug `WritesBeforeConfirmation`: writes now, then asks all the same.
                    if planted!(self, Bug::WritesBeforeConfirmation) {
                        self.store(conv, &rule, &value, out).await;
                    }
                    conv.confirming = Some((property, value.clone()));
                    out.reply_confirm(&rule.label, &value);
                } else {
                    self.write(conv, &rule, &value, out).await;
                }
            }
            Decision::NeedsEmail => self.needs_email(
                conv,
                PendingRequest::Update(property, value),
                refused(WithheldReason::NeedsEmail),
                &rule,
                out,
            ),
            Decision::NeedsVerification => {
                out.event(refused(WithheldReason::NeedsVerification));
                conv.queue(PendingRequest::Update(property, value));
                self.send_link(conv, now, out).await;
            }
            Decision::Refuse(refusal) => {
                out.event(refused(refusal.into()));
                out.say(format!(
                    "I'm sorry, I can't change your {} here. A colleague can help with that.",
                    rule.label
                ));
            }
        }
    }

    /// The customer answered a read-back with yes (`yes`) or no: a yes writes the value, if the
    /// policy still allows the edit; without a read-back waiting it is acknowledged.
    pub(super) async fn confirmation_answered(
        &self,
        conv: &mut Conversation,
        yes: bool,
        out: &mut TurnOutput,
    ) {
        let Some((property, value)) = conv.confirming.take() else {
            if yes {
                out.say("Great. What else can I help you with?");
            } else {
                out.say("No problem. Anything else I can help with?");
            }
            return;
        };
        let Some(rule) = self.policy.rule(property).cloned() else { return };
        if !yes {
            out.event(DecisionEvent::UpdateRefused {
                object: rule.object,
                property: rule.property.clone(),
                reason: WithheldReason::Declined,
            });
            out.say(format!("Okay, I've left your {} as it was.", rule.label));
            return;
        }
        // Ask again: the identity may have changed since the question.
        let decision = self.policy.decide(&conv.policy_identity(), Request::edit(property));
        if decision != Decision::Allow {
            out.event(DecisionEvent::UpdateRefused {
                object: rule.object,
                property: rule.property.clone(),
                reason: withheld_reason(decision),
            });
            out.say(format!("I can't change your {} right now.", rule.label));
            return;
        }
        self.write(conv, &rule, &value, out).await;
    }

    /// Writes one value to the current contact's record (or its single
    /// associated ticket or company) and tells the customer.
    async fn write(&self, conv: &mut Conversation, rule: &PropertyRule, value: &str, out: &mut TurnOutput) {
        if let Some(written) = self.store(conv, rule, value, out).await {
            // Planted bug `DeniesAppliedWrite`: the change landed, the customer is told it did not.
            if planted!(self, Bug::DeniesAppliedWrite) {
                out.say(format!("Sorry, I couldn't update your {} right now.", rule.label));
                return;
            }
            if !out.reply.is_empty() {
                out.reply.push_paragraph();
            }
            out.reply.push_text(format!("Done: your {} is now ", rule.label));
            out.reply.push_value(written);
            out.reply.push_text(".");
        }
    }

    /// Writes one value to the current contact's record (or its single associated ticket or
    /// company) and records the event: the value written, or `None` when nothing was (the
    /// customer has been told why).
    async fn store(
        &self,
        conv: &mut Conversation,
        rule: &PropertyRule,
        value: &str,
        out: &mut TurnOutput,
    ) -> Option<String> {
        let contact = conv.identity.contact()?;
        let (object, id) = match rule.object {
            ObjectType::Contact => (ObjectType::Contact, contact.0),
            other => match self.crm.associated(contact, other).await {
                Ok(records) if records.len() == 1 => (other, records[0].0),
                Ok(_) => {
                    out.event(DecisionEvent::UpdateRefused {
                        object: other,
                        property: rule.property.clone(),
                        reason: WithheldReason::OutOfScope,
                    });
                    out.say(format!(
                        "I can't tell which {} to change; a colleague can help.",
                        singular(other)
                    ));
                    return None;
                }
                Err(error) => {
                    out.backend_error(Backend::Crm, &error);
                    return None;
                }
            },
        };
        // Planted bug `WritesUnrequestedValue`: "drops the trailing full stop" whether or not there is one.
        let value = if planted!(self, Bug::WritesUnrequestedValue) {
            let mut chars = value.chars();
            chars.next_back();
            chars.as_str()
        } else {
            value
        };
        let property = self.property_to_write(rule);
        let change = BTreeMap::from([(property.clone(), value.to_owned())]);
        let updated = DecisionEvent::Updated {
            object,
            property: rule.property.clone(),
            contact,
            record: (object != ObjectType::Contact).then_some(id),
        };
        match self.crm.update(object, id, &change).await {
            Ok(_) => {
                out.event(updated);
                Some(value.to_owned())
            }
            Err(error) if error.outcome_unknown() => {
                // The change may have landed: what the CRM holds now decides what the customer
                // is told, never a guess. Landed, it is a success like any other.
                match self.crm.get(object, id, &[property.as_str()], &[]).await {
                    Ok(record) if record.id() == id && record.property(&property) == Some(value) => {
                        out.event(updated);
                        Some(value.to_owned())
                    }
                    Ok(record) if record.id() == id => {
                        out.event(DecisionEvent::BackendError {
                            backend: Backend::Crm,
                            detail: error.to_string(),
                        });
                        out.event(DecisionEvent::UpdateRefused {
                            object,
                            property: rule.property.clone(),
                            reason: WithheldReason::BackendError,
                        });
                        out.say(format!(
                            "I can't reach your records to save that right now, and your {} has not been changed. Please try again in a little while.",
                            rule.label
                        ));
                        None
                    }
                    Ok(_) => {
                        let read = "the CRM returned another record than the one asked for";
                        out.unconfirmed_write(rule, &error, &read);
                        None
                    }
                    Err(read) => {
                        out.unconfirmed_write(rule, &error, &read);
                        None
                    }
                }
            }
            Err(error) => {
                out.backend_error(Backend::Crm, &error);
                None
            }
        }
    }

    /// The property an update of `rule` writes: its own.
    fn property_to_write(&self, rule: &PropertyRule) -> String {
        // Planted bug `WritesOtherProperty`: the value goes into the next editable property.
        #[cfg(feature = "faulty-agents")]
        if planted!(self, Bug::WritesOtherProperty)
            && let Some(next) = self.next_editable(rule)
        {
            return next;
        }
        rule.property.clone()
    }

    /// Planted bug `WritesOtherProperty`: the editable property of `rule`'s object that follows
    /// it in configuration order, wrapping round; `None` when it is the only one.
    #[cfg(feature = "faulty-agents")]
    fn next_editable(&self, rule: &PropertyRule) -> Option<String> {
        let rules: Vec<&PropertyRule> = self.policy.properties().map(|(_, rule)| rule).collect();
        let at = rules.iter().position(|r| r.object == rule.object && r.property == rule.property)?;
        let (before, after) = rules.split_at(at);
        after
            .iter()
            .skip(1)
            .chain(before)
            .find(|r| r.object == rule.object && r.edit.enabled)
            .map(|r| r.property.clone())
    }
}

impl TurnOutput {
    /// A write that failed with `write`, and may have landed, could not be read back either
    /// (`read`): the customer is told exactly that, neither that it was saved nor that it was not.
    fn unconfirmed_write(
        &mut self,
        rule: &PropertyRule,
        write: &dyn std::fmt::Display,
        read: &dyn std::fmt::Display,
    ) {
        for error in [write, read] {
            self.event(DecisionEvent::BackendError { backend: Backend::Crm, detail: error.to_string() });
        }
        let label = &rule.label;
        self.say(format!(
            "Your records didn't answer in time, so I can't confirm whether your {label} was changed. Please check with me again in a little while before changing it again."
        ));
    }

    /// Reads the new value back: "Just to confirm: change your X to V? …".
    fn reply_confirm(&mut self, label: &str, value: &str) {
        if !self.reply.is_empty() {
            self.reply.push_paragraph();
        }
        self.reply.push_text(format!("Just to confirm: change your {label} to "));
        self.reply.push_value(value);
        self.reply.push_text("? Please reply yes or no.");
    }
}

/// Why `value` is not acceptable for `rule`, if it is not.
fn validate_value(rule: &PropertyRule, value: &str) -> Result<(), String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("the new value is empty".to_owned());
    }
    if value.chars().count() > 500 {
        return Err("that is longer than 500 characters".to_owned());
    }
    if value.chars().any(char::is_control) {
        return Err("it contains control characters".to_owned());
    }
    let name = rule.property.as_str();
    if name.contains("email") && !leakproof_hubspot::crm::is_email_shaped(value) {
        return Err("that doesn't look like an email address".to_owned());
    }
    if name.contains("phone") {
        let digits = value.chars().filter(char::is_ascii_digit).count();
        let allowed = value.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
        if !allowed || !(7..=15).contains(&digits) {
            return Err("a phone number has 7 to 15 digits and only + - ( ) . or spaces besides".to_owned());
        }
    }
    Ok(())
}

/// Why a decision that is not `Allow` keeps a value back.
fn withheld_reason(decision: Decision) -> WithheldReason {
    match decision {
        Decision::Refuse(refusal) => refusal.into(),
        Decision::NeedsEmail => WithheldReason::NeedsEmail,
        Decision::NeedsVerification | Decision::Allow => WithheldReason::NeedsVerification,
    }
}
