//! Verification links: mailing one to the address on record, within the limits on mails, and opening one.

use jiff::Timestamp;
use url::Url;

use super::Agent;
use super::conversation::Conversation;
use super::reply::TurnOutput;
use crate::events::{Backend, DecisionEvent, Throttle};
use crate::throttle::MAILS_PER_CONVERSATION;
use leakproof_config::ObjectType;
use leakproof_hubspot::mail::VerificationMail;
use leakproof_identity::ConversationId;
use leakproof_identity::token::TokenError;

/// The reply when a verification link is due: the same words whether or not the
/// address the customer typed is on a record, so replies never tell which
/// addresses have an account.
const LINK_SENT: &str = "To keep your details safe, a verification link goes to the email address on file for your account. Open it, then come back here and I'll continue. If nothing arrives, check the address you gave.";

/// What opening a verification link did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkOutcome {
    /// Whether the conversation is now verified.
    pub verified: bool,
    /// What to show the person who opened it (no CRM values).
    pub message: String,
}

impl Agent {
    /// Mails a link for the current contact to its address on record. For a claim of an
    /// address no contact has, says the very same words and mails nothing.
    pub(super) async fn send_link(&self, conv: &mut Conversation, now: Timestamp, out: &mut TurnOutput) {
        let Some(contact) = conv.identity.contact() else {
            if let Some(claimed) = &conv.claimed {
                // Planted bug `EnumeratesAccounts`: tells the customer the address is unknown.
                if planted!(self, Bug::EnumeratesAccounts) {
                    out.say(format!("I couldn't find an account with {claimed}."));
                } else {
                    out.link_sent();
                }
            }
            return;
        };
        // Where whether an address has an account is secret, a link that cannot be sent is
        // told in the same words as one that was (an address no contact has mails nothing
        // either): the failure goes into the events only.
        let failed = |out: &mut TurnOutput, backend: Backend, error: &dyn std::fmt::Display| {
            if self.existence_secret {
                out.event(DecisionEvent::BackendError { backend, detail: error.to_string() });
                out.link_sent();
            } else {
                out.backend_error(backend, error);
            }
        };
        let address = match &conv.address_on_record {
            Some(address) => address.clone(),
            None => match self.crm.get(ObjectType::Contact, contact.0, &["email", "firstname"], &[]).await {
                Ok(record) => match record.property("email") {
                    Some(address) => {
                        conv.address_on_record = Some(address.to_owned());
                        address.to_owned()
                    }
                    None if self.existence_secret => return out.link_sent(),
                    None => {
                        return out.say("I can't verify you by email: there is no address on your account.");
                    }
                },
                Err(error) => return failed(out, Backend::Crm, &error),
            },
        };
        // The limits on mails: a link this conversation sent to this address still works, or
        // the conversation or the address had its share. No mail then, and the very words of
        // one that went: the reply tells nobody whether a mail was sent or held back.
        let live = conv.identity.pending().any(|(_, pending)| {
            pending.contact == contact
                && pending.address.eq_ignore_ascii_case(&address)
                && now < pending.expires_at
        });
        let throttled = if live {
            Some(Throttle::LinkLive)
        } else if conv.mails >= MAILS_PER_CONVERSATION {
            Some(Throttle::Conversation)
        } else if !self.mail_throttle.admit(self.mailer.base_url(), &address, now) {
            Some(Throttle::Address)
        } else {
            None
        };
        if let Some(reason) = throttled {
            out.event(DecisionEvent::VerificationThrottled { contact, reason });
            return out.link_sent();
        }
        let issued = match conv.identity.start_verification(&self.tokens, contact, &address, now) {
            Ok(issued) => issued,
            Err(error) => return failed(out, Backend::Mail, &error),
        };
        let Some(link) = verification_link(&self.config.verification.public_base_url, &issued.token) else {
            return failed(out, Backend::Mail, &"the public base URL cannot hold a link");
        };
        let mail = VerificationMail::new(address, link, issued.claims.nonce.to_string())
            .with_custom_property("agent_name", self.config.agent.name.as_str());
        conv.mails += 1;
        match self.mailer.send_verification(&mail).await {
            Ok(_) => {
                out.event(DecisionEvent::VerificationSent { contact });
                out.link_sent();
            }
            Err(error) => {
                // Told that it failed, the customer gets a new link when asking again.
                conv.identity.withdraw(issued.claims.nonce);
                failed(out, Backend::Mail, &error)
            }
        }
    }

    /// Opens a verification link: verifies the conversation it was issued in
    /// when everything checks out, and tells the opener in plain words.
    pub async fn open_link(&self, token: &str, now: Timestamp) -> LinkOutcome {
        #[cfg(feature = "faulty-agents")]
        if planted!(self, Bug::ShowsDataOnLinkPage) {
            let mut outcome = self.check_link(token, now).await;
            if let Some(shown) = self.data_for_link_page(token).await {
                outcome.message = format!("{} {shown}", outcome.message);
            }
            return outcome;
        }
        self.check_link(token, now).await
    }

    /// Planted bug `ShowsDataOnLinkPage`: "The {label} on file for this account is {value}." for
    /// the contact of a token whose signature checks (expired, used or not), by its first
    /// viewable contact property.
    #[cfg(feature = "faulty-agents")]
    async fn data_for_link_page(&self, token: &str) -> Option<String> {
        let claims = self.tokens.claims_ignoring_expiry(token).ok()?;
        let (_, rule) = self
            .policy
            .properties()
            .find(|(_, rule)| rule.object == ObjectType::Contact && rule.view.enabled)?;
        let name = rule.property.as_str();
        let record = self.crm.get(ObjectType::Contact, claims.contact.0, &[name], &[]).await.ok()?;
        let value = record.property(name).map(str::trim).filter(|value| !value.is_empty())?;
        Some(format!("The {} on file for this account is {value}.", rule.label))
    }

    /// Checks a link's token and redeems it in its conversation.
    async fn check_link(&self, token: &str, now: Timestamp) -> LinkOutcome {
        let rejected = |reason: String| LinkOutcome {
            verified: false,
            message: format!("This link can't be used: {reason}. Ask the assistant for a new one."),
        };
        let find = |id: &ConversationId| {
            let conversations = self.conversations.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            conversations.get(id).cloned()
        };
        let claims = match self.tokens.check_claims(token, now) {
            Ok(claims) => claims,
            Err(error) => {
                // An expired link is still ours (signed, checked): tell its conversation.
                // A forged or malformed one names nothing that can be trusted.
                if let TokenError::Expired { conversation, .. } = &error
                    && let Some(conversation) = find(conversation)
                {
                    let reason = error.to_string();
                    conversation.lock().await.queued.push(DecisionEvent::VerificationRejected { reason });
                }
                return rejected(error.to_string());
            }
        };
        let conversation = find(&claims.claims().conversation);
        let Some(conversation) = conversation else {
            return rejected("the conversation it belongs to is over".to_owned());
        };
        let mut conv = conversation.lock().await;
        // The signature and expiry were checked above; the rest of the checks follow.
        match conv.identity.redeem_checked(claims) {
            Ok(identity) => {
                if let Some(contact) = identity.contact() {
                    conv.queued.push(DecisionEvent::Verified { contact });
                }
                LinkOutcome {
                    verified: true,
                    message: "You're verified. Go back to the chat to continue.".to_owned(),
                }
            }
            Err(error) => {
                conv.queued.push(DecisionEvent::VerificationRejected { reason: error.to_string() });
                rejected(error.to_string())
            }
        }
    }
}

impl TurnOutput {
    /// Says that a verification link is on its way, once a turn: a turn that needs a link for
    /// two requests says it once.
    pub(super) fn link_sent(&mut self) {
        if !std::mem::replace(&mut self.told_link, true) {
            self.say(LINK_SENT);
        }
    }
}

/// The link for `token` under the agent's public base URL:
/// `{base}/verify/{token}`. Tokens are URL-safe base64, so nothing needs escaping.
pub fn verification_link(base: &Url, token: &str) -> Option<Url> {
    base.join(&format!("verify/{token}")).ok()
}
