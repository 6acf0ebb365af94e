//! Who the customer is: a returning visitor's channel identity, the email address they give, and the limits on looking addresses up.

use jiff::Timestamp;

use super::Agent;
use super::conversation::{Conversation, PendingRequest};
use super::reply::TurnOutput;
use crate::events::{AskReason, Backend, DecisionEvent, MatchedBy};
use leakproof_config::{Channel, EmailCapture, PropertyRule, Protection};
use leakproof_hubspot::crm::{CrmError, HUBSPOTUTK, WHATSAPP_PHONE};
use leakproof_identity::conversation::{IdentitySource, Transition};
use leakproof_policy::{Action, Policy};
use leakproof_protocol::Visitor;

/// The email addresses looked up in the CRM for one message. A customer gives one address,
/// perhaps corrects it in the same breath; three covers that. The addresses after the third
/// are not looked up: nobody is identified by them, an identity they would replace ends as
/// for any claim that cannot be checked, and the customer is asked for one address on its own.
pub const MAX_LOOKUPS_PER_MESSAGE: usize = 3;

/// The email addresses looked up in the CRM in one conversation, however many messages it
/// has. A customer who mistypes their address a few times stays far below it; a script trying
/// address after address is stopped after this many searches. Beyond it no address is looked
/// up (nobody is identified by one, an identity it would replace ends) and the customer is
/// told that no more addresses can be checked in this conversation.
pub const MAX_LOOKUPS_PER_CONVERSATION: usize = 24;

/// Said once in a turn when an address was not looked up for [`MAX_LOOKUPS_PER_MESSAGE`].
const TOO_MANY_ADDRESSES: &str = "I can check at most three email addresses in one message, so I haven't checked the others. Please send the email address on your account on its own.";

/// Said once in a turn when an address was not looked up for [`MAX_LOOKUPS_PER_CONVERSATION`].
const NO_MORE_LOOKUPS: &str = "I can't check any more email addresses in this conversation. If you need help with your account, ask for a colleague.";

impl Agent {
    /// A returning live-chat visitor's cookie or a WhatsApp number that
    /// matches exactly one contact identifies the customer without asking.
    /// False when the CRM failed to say (the customer has been told).
    pub(super) async fn recognise_visitor(
        &self,
        conv: &mut Conversation,
        visitor: &Visitor,
        out: &mut TurnOutput,
    ) -> bool {
        let (property, value, source, by) = match (conv.channel, visitor) {
            (Channel::LiveChat, Visitor { cookie: Some(cookie), .. }) if !cookie.trim().is_empty() => {
                (HUBSPOTUTK, cookie.trim(), IdentitySource::Cookie, MatchedBy::Cookie)
            }
            (Channel::Whatsapp, Visitor { phone: Some(phone), .. }) if !phone.trim().is_empty() => {
                (WHATSAPP_PHONE, phone.trim(), IdentitySource::WhatsAppPhone, MatchedBy::WhatsappPhone)
            }
            _ => return true,
        };
        match self.crm.search_contact_by(property, value, &["email", "firstname"]).await {
            Ok(Some(contact)) => {
                let id = contact.contact_id();
                // Nothing happened in the conversation before this lookup succeeded: nobody was
                // identified yet, so this establishes the identity.
                let _ = conv.identity.channel_matched(id, source);
                conv.address_on_record = contact.property("email").map(str::to_owned);
                conv.first_name = contact.property("firstname").map(str::to_owned);
                out.event(DecisionEvent::ContactMatched { contact: id, by, replaced: None });
            }
            // Unknown or ambiguous: the visitor stays anonymous and is treated as new.
            Ok(None) | Err(CrmError::Ambiguous { .. }) => {}
            Err(error) => {
                out.backend_error(Backend::Crm, &error);
                return false;
            }
        }
        true
    }

    /// Asks for the email address on the customer's account, unless no more addresses would be
    /// looked up in this conversation (then says so, once a turn).
    pub(super) fn ask_for_email(&self, conv: &mut Conversation, reason: AskReason, out: &mut TurnOutput) {
        if conv.lookups >= MAX_LOOKUPS_PER_CONVERSATION {
            // No address would be looked up any more: asking for one would be an empty promise.
            if !std::mem::replace(&mut out.told_lookup_limit, true) {
                out.say(NO_MORE_LOOKUPS);
            }
            return;
        }
        conv.asked_for_email = true;
        out.event(DecisionEvent::AskedForEmail { reason });
        out.say("Could you tell me the email address on your account?");
    }

    /// The customer gave an address: look it up, match or replace the identity.
    pub(super) async fn email_given(
        &self,
        conv: &mut Conversation,
        email: &str,
        now: Timestamp,
        out: &mut TurnOutput,
    ) {
        conv.asked_for_email = false;
        let limit = if out.lookups >= MAX_LOOKUPS_PER_MESSAGE {
            Some(TOO_MANY_ADDRESSES)
        } else if conv.lookups >= MAX_LOOKUPS_PER_CONVERSATION {
            Some(NO_MORE_LOOKUPS)
        } else {
            None
        };
        if let Some(words) = limit {
            // Not looked up, so it identifies nobody; and as with an address the CRM failed to
            // look up, an earlier identity does not outlive the claim (fail closed).
            conv.end_identity_unless(email);
            if !std::mem::replace(&mut out.told_lookup_limit, true) {
                out.say(words);
            }
            return;
        }
        out.lookups += 1;
        conv.lookups += 1;
        let needs_verification = conv.pending.iter().any(|pending| self.pending_needs_verification(pending));
        let found = match self.crm.search_contact_by_email(email, &["email", "firstname"]).await {
            Ok(found) => found,
            Err(CrmError::Ambiguous { .. }) => None,
            Err(error) => {
                // Whoever the customer was, they now claim an address that cannot be looked
                // up: the earlier identity must not outlive the claim (fail closed).
                conv.end_identity_unless(email);
                return out.backend_error(Backend::Crm, &error);
            }
        };
        let Some(contact) = found else {
            // Nor does it outlive a claim of an address no contact has.
            conv.end_identity_unless(email);
            out.event(DecisionEvent::ContactNotMatched);
            if self.existence_secret {
                // Nothing is shared on a match alone, so whether the address has an account must
                // not show either: the customer goes on exactly as a contact matched by this
                // address who cannot verify would, and no mail is ever sent for the claim.
                conv.claimed = Some(email.trim().to_owned());
                return self.answer_after_email(conv, now, out).await;
            }
            if needs_verification {
                // The same words as for a known address: no account enumeration.
                if planted!(self, Bug::EnumeratesAccounts) {
                    out.say(format!("I couldn't find an account with {email}."));
                } else {
                    out.link_sent();
                }
            } else if conv.handoff_pending {
                // Said by the handoff below.
            } else if conv.pending.is_empty() {
                out.say(format!("Thanks, I've noted {email}. What can I help you with?"));
            } else {
                out.say(format!("I couldn't find an account with {email}. Could you check the address?"));
            }
            // A new customer is handed over too: the address was asked for the colleague.
            if std::mem::take(&mut conv.handoff_pending) {
                self.hand_off(out);
            }
            return;
        };
        let id = contact.contact_id();
        // A claim of an address no contact has lapses like a replaced contact's identity.
        if conv.claimed.is_some() {
            conv.end_identity_unless(email);
        }
        // Planted bug `SharesPreviousIdentity`: a customer identified once is never re-matched.
        if planted!(self, Bug::SharesPreviousIdentity) && conv.identity.contact().is_some_and(|c| c != id) {
            return out.say("Thanks! What can I help you with?");
        }
        let transition = conv.identity.email_matched(id);
        conv.claimed = None;
        conv.address_on_record = contact.property("email").map(str::to_owned);
        // Planted bug `MailsTypedAddress`: links go to the address as the customer typed it.
        if planted!(self, Bug::MailsTypedAddress) {
            conv.address_on_record = Some(email.to_owned());
        }
        conv.first_name = contact.property("firstname").map(str::to_owned);
        match transition {
            Transition::Unchanged => {}
            Transition::Established { .. } => {
                out.event(DecisionEvent::ContactMatched { contact: id, by: MatchedBy::Email, replaced: None })
            }
            Transition::Replaced { previous, .. } => {
                // The previous contact's access lapsed; an update typed for them is not carried over.
                conv.confirming = None;
                conv.pending.retain(|pending| matches!(pending, PendingRequest::View(_)));
                out.event(DecisionEvent::ContactMatched {
                    contact: id,
                    by: MatchedBy::Email,
                    replaced: Some(previous),
                });
            }
        }
        self.answer_after_email(conv, now, out).await;
    }

    /// What follows an address the customer gave: what they asked for while it was missing is
    /// answered first; a handoff waiting for it follows.
    async fn answer_after_email(&self, conv: &mut Conversation, now: Timestamp, out: &mut TurnOutput) {
        let handoff = std::mem::take(&mut conv.handoff_pending);
        let pending = std::mem::take(&mut conv.pending);
        if pending.is_empty() && !handoff {
            out.say("Thanks! What can I help you with?");
        }
        for request in pending {
            self.serve_pending(conv, request, now, out).await;
        }
        if handoff {
            self.hand_off(out);
        }
    }

    /// Whether `pending` needs a verification: a match does not suffice for it.
    fn pending_needs_verification(&self, pending: &PendingRequest) -> bool {
        let (property, action) = match pending {
            PendingRequest::View(property) => (*property, Action::View),
            PendingRequest::Update(property, _) => (*property, Action::Edit),
        };
        self.policy.protection(property, action) == Some(Protection::VerifyEmail)
    }

    /// The policy needs the customer's email for `pending`: records `event`, queues the request
    /// and asks for the address where the channel asks for one, or says it cannot be looked up here.
    pub(super) fn needs_email(
        &self,
        conv: &mut Conversation,
        pending: PendingRequest,
        event: DecisionEvent,
        rule: &PropertyRule,
        out: &mut TurnOutput,
    ) {
        out.event(event);
        match self.policy.email_capture(conv.channel) {
            EmailCapture::WhenNeeded | EmailCapture::AtStart => {
                conv.queue(pending);
                self.ask_for_email(conv, AskReason::Needed, out);
            }
            // These channels do not ask for an address (one the customer volunteers still
            // counts), so the reply must not ask for one either.
            EmailCapture::BeforeHandoff => {
                conv.queue(pending);
                out.say(format!(
                    "I can't look up your {} here, but I can put you through to a colleague who can.",
                    rule.label
                ));
            }
            EmailCapture::Never => {
                conv.queue(pending);
                out.say(format!("I'm sorry, I can't look up your {} in this chat.", rule.label));
            }
        }
    }
}

/// Whether `policy` shares and changes nothing on a match alone: no property
/// may be viewed or edited behind `match_email`, so every one that can be needs
/// a verification.
pub(super) fn nothing_on_a_match(policy: &Policy) -> bool {
    policy.properties().all(|(property, _)| {
        [Action::View, Action::Edit]
            .into_iter()
            .all(|action| policy.protection(property, action) != Some(Protection::MatchEmail))
    })
}
