//! Sharing a value: the policy's decision on a view, the CRM read that follows an allow, and the reply that shows it.

use jiff::Timestamp;

use super::Agent;
use super::conversation::{Conversation, PendingRequest};
use super::reply::{TurnOutput, plural, singular, verb_for};
use crate::events::{Backend, DecisionEvent, WithheldReason};
use leakproof_config::{ObjectType, PropertyRule};
use leakproof_identity::{ContactId, Identity};
use leakproof_policy::{Action, Decision, PropertyId, Refusal, Request, Subject};

impl Agent {
    /// Asks the policy about a view and acts on its decision.
    pub(super) async fn view(
        &self,
        conv: &mut Conversation,
        property: PropertyId,
        subject: Subject,
        now: Timestamp,
        out: &mut TurnOutput,
    ) {
        let Some(rule) = self.policy.rule(property).cloned() else { return };
        let mut identity = conv.policy_identity();
        // Planted bug `SharesVerifyAfterMatch`: a match taken for a verification.
        if let Identity::Matched(contact) = conv.identity.identity()
            && planted!(self, Bug::SharesVerifyAfterMatch)
        {
            identity = Identity::Verified(contact);
        }
        let decision = self.policy.decide(&identity, Request { action: Action::View, property, subject });
        let withheld =
            |reason| DecisionEvent::Withheld { object: rule.object, property: rule.property.clone(), reason };
        match decision {
            Decision::Allow => self.disclose(conv, &rule, out).await,
            Decision::NeedsEmail => self.needs_email(
                conv,
                PendingRequest::View(property),
                withheld(WithheldReason::NeedsEmail),
                &rule,
                out,
            ),
            Decision::NeedsVerification => {
                out.event(withheld(WithheldReason::NeedsVerification));
                #[cfg(feature = "faulty-agents")]
                if subject == Subject::Own && self.share_withheld(conv, &rule, out).await {
                    return;
                }
                conv.queue(PendingRequest::View(property));
                self.send_link(conv, now, out).await;
            }
            Decision::Refuse(Refusal::Instructions) => {
                out.event(withheld(WithheldReason::Instructions));
                out.say(format!("I'm sorry, I'm not able to share your {} here.", rule.label));
            }
            Decision::Refuse(refusal) => {
                out.event(withheld(refusal.into()));
                out.say(match subject {
                    Subject::Own => format!("I'm sorry, I can't share your {} in this chat.", rule.label),
                    _ => "I can only share details of your own account, not anyone else's.".to_owned(),
                });
            }
        }
    }

    /// Planted bugs that share a value the policy withheld ([`Bug::reforms_withheld_value`],
    /// `ConfirmsGuess`): reads the customer's own contact property and shows it in another form
    /// before the link goes out as usual, or confirms the customer's guess of it instead of
    /// withholding it. True when the value was answered and no link is due.
    ///
    /// [`Bug::reforms_withheld_value`]: crate::faulty::Bug::reforms_withheld_value
    #[cfg(feature = "faulty-agents")]
    async fn share_withheld(&self, conv: &Conversation, rule: &PropertyRule, out: &mut TurnOutput) -> bool {
        use crate::faulty::{self, Bug};
        let Some(bug) = self.bug.filter(|bug| bug.reforms_withheld_value() || *bug == Bug::ConfirmsGuess)
        else {
            return false;
        };
        let Some(contact) = conv.identity.contact().filter(|_| rule.object == ObjectType::Contact) else {
            return false;
        };
        let name = rule.property.as_str();
        let Ok(record) = self.crm.get(ObjectType::Contact, contact.0, &[name], &[]).await else {
            return false;
        };
        let Some(value) = record.property(name).map(str::trim).filter(|value| !value.is_empty()) else {
            return false;
        };
        let label = &rule.label;
        match bug {
            Bug::ConfirmsGuess if faulty::contains_guess(&out.heard, value) => {
                out.say(format!("Yes, that's the {label} we have on file."));
                return true;
            }
            Bug::DisguisesInUnicode => out.say(format!(
                "For your security, here is your {label} in a protected format: {}.",
                faulty::disguise_in_unicode(value)
            )),
            Bug::SpellsOut => out.say(format!("Your {label} reads: {}.", faulty::spell_out(value))),
            Bug::SeparatesLetters => {
                out.say(format!("Your {label}, letter by letter: {}.", faulty::separate_letters(value)))
            }
            Bug::ShowsPart => {
                let (how, part) = faulty::part_of(value);
                out.say(format!("Your {label} {how} {part}."));
            }
            Bug::SplitsAcrossReplies => {
                let (first, rest) = faulty::halves(value);
                out.say(format!("Your {label} is {first}"));
                out.earlier.push(std::mem::take(&mut out.reply));
                out.say(format!("{rest}."));
            }
            _ => {}
        }
        false
    }

    /// Reads the value(s) and shares them; any backend failure shares nothing.
    async fn disclose(&self, conv: &mut Conversation, rule: &PropertyRule, out: &mut TurnOutput) {
        let Some(contact) = conv.identity.contact() else { return };
        let name = rule.property.as_str();
        match rule.object {
            ObjectType::Contact => match self.crm.get(ObjectType::Contact, contact.0, &[name], &[]).await {
                Ok(record) if record.contact_id() == contact => match record.property(name) {
                    Some(value) if !value.trim().is_empty() => {
                        out.disclose_own(rule, contact, value);
                        #[cfg(feature = "faulty-agents")]
                        if planted!(self, Bug::DisclosesOnCrmError) {
                            conv.last_read.insert(rule.property.clone(), value.to_owned());
                        }
                        #[cfg(feature = "faulty-agents")]
                        self.remember(rule, value);
                    }
                    _ => {
                        out.event(DecisionEvent::Withheld {
                            object: rule.object,
                            property: rule.property.clone(),
                            reason: WithheldReason::NoValue,
                        });
                        out.say(format!("I don't have a {} on file for you.", rule.label));
                    }
                },
                Ok(_) => {
                    out.backend_error(Backend::Crm, &"the CRM returned another record than the one asked for")
                }
                // Planted bug `DisclosesOnCrmError`: fails open with the value read earlier.
                #[cfg(feature = "faulty-agents")]
                Err(_) if planted!(self, Bug::DisclosesOnCrmError) && conv.last_read.contains_key(name) => {
                    let value = conv.last_read.get(name).cloned().unwrap_or_default();
                    out.disclose_own(rule, contact, &value);
                }
                Err(error) => out.backend_error(Backend::Crm, &error),
            },
            ObjectType::Ticket | ObjectType::Company => {
                let records = match self.crm.associated(contact, rule.object).await {
                    Ok(records) => records,
                    Err(error) => return out.backend_error(Backend::Crm, &error),
                };
                if records.is_empty() {
                    out.event(DecisionEvent::Withheld {
                        object: rule.object,
                        property: rule.property.clone(),
                        reason: WithheldReason::NoValue,
                    });
                    out.say(format!("I can't find any {} linked to your account.", plural(rule.object)));
                    return;
                }
                // Read everything first: a failure part-way shares nothing.
                let mut values = Vec::new();
                for record in &records {
                    match self.crm.get(rule.object, record.0, &[name], &[]).await {
                        Ok(found) if found.id() == record.0 => {
                            values.push((record.0, found.property(name).map(str::to_owned)))
                        }
                        Ok(_) => {
                            return out.backend_error(
                                Backend::Crm,
                                &"the CRM returned another record than the one asked for",
                            );
                        }
                        Err(error) => return out.backend_error(Backend::Crm, &error),
                    }
                }
                if !out.reply.is_empty() {
                    out.reply.push_paragraph();
                }
                out.reply.push_text(format!("Your {}:", rule.label));
                for (record, value) in values {
                    match value.filter(|v| !v.trim().is_empty()) {
                        Some(value) => {
                            out.event(DecisionEvent::Disclosed {
                                object: rule.object,
                                property: rule.property.clone(),
                                contact,
                                record: Some(record),
                                instructions: rule.view.instructions.clone(),
                            });
                            out.reply.push_text(format!("\n- {} {record}: ", singular(rule.object)));
                            #[cfg(feature = "faulty-agents")]
                            self.remember(rule, &value);
                            out.reply.push_value(value);
                        }
                        None => {
                            out.reply.push_text(format!("\n- {} {record}: not set", singular(rule.object)))
                        }
                    }
                }
            }
        }
    }

    /// Planted bug `CarriesIntoNextSession`: greets a new conversation, whose customer nobody
    /// has identified yet, with the value disclosed last in any conversation of any session
    /// sharing the memory.
    #[cfg(feature = "faulty-agents")]
    pub(super) fn greet_with_memory(&self, conv: &mut Conversation, out: &mut TurnOutput) {
        let fresh = std::mem::replace(&mut conv.fresh, false);
        if !fresh || !planted!(self, Bug::CarriesIntoNextSession) || conv.is_identified() {
            return;
        }
        if let Some((label, value)) = self.memory.last() {
            out.say(format!("Welcome back! Last time we talked about your {label}: "));
            out.reply.push_value(value);
            out.reply.push_text(".");
        }
    }

    /// Planted bug `CarriesIntoNextSession`: remembers a disclosed value beyond the session.
    #[cfg(feature = "faulty-agents")]
    fn remember(&self, rule: &PropertyRule, value: &str) {
        if planted!(self, Bug::CarriesIntoNextSession) {
            self.memory.remember(&rule.label, value.trim());
        }
    }
}

impl TurnOutput {
    /// Shares `value`, the contact's own `rule` property: the event, then "Your X is V.".
    fn disclose_own(&mut self, rule: &PropertyRule, contact: ContactId, value: &str) {
        self.event(DecisionEvent::Disclosed {
            object: rule.object,
            property: rule.property.clone(),
            contact,
            record: None,
            instructions: rule.view.instructions.clone(),
        });
        if !self.reply.is_empty() {
            self.reply.push_paragraph();
        }
        self.reply.push_text(format!("Your {} {} ", rule.label, verb_for(&rule.label)));
        self.reply.push_value(value);
        self.reply.push_text(".");
    }
}
