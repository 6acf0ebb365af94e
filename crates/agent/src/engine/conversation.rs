//! One conversation's state: who the customer is, what waits for proof, and what the conversation has used of its limits.

#[cfg(feature = "faulty-agents")]
use std::collections::HashMap;
use std::sync::Arc;

use super::Agent;
use crate::events::DecisionEvent;
use leakproof_config::Channel;
use leakproof_identity::conversation::ConversationIdentity;
use leakproof_identity::{ContactId, ConversationId, Identity};
use leakproof_policy::PropertyId;

/// Something the customer asked for that waits for proof of identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum PendingRequest {
    View(PropertyId),
    Update(PropertyId, String),
}

/// One conversation's state.
#[derive(Debug)]
pub(super) struct Conversation {
    pub(super) identity: ConversationIdentity,
    pub(super) channel: Channel,
    /// The address on the current contact's record: where links go.
    pub(super) address_on_record: Option<String>,
    /// The customer's first name on record, for the email greeting.
    pub(super) first_name: Option<String>,
    /// Requests waiting for an email or a verification.
    pub(super) pending: Vec<PendingRequest>,
    /// An update waiting for the customer's yes or no.
    pub(super) confirming: Option<(PropertyId, String)>,
    /// Whether the last thing the agent asked was the customer's email.
    pub(super) asked_for_email: bool,
    /// A handoff waiting for the customer's email (`before_handoff`).
    pub(super) handoff_pending: bool,
    /// Events from outside a turn (an opened link), reported with the next turn.
    pub(super) queued: Vec<DecisionEvent>,
    /// The email addresses looked up in this conversation (see [`MAX_LOOKUPS_PER_CONVERSATION`](super::MAX_LOOKUPS_PER_CONVERSATION)).
    pub(super) lookups: usize,
    /// The verification mails this conversation sent (see [`MAILS_PER_CONVERSATION`](crate::MAILS_PER_CONVERSATION)).
    pub(super) mails: usize,
    /// Whether the visitor's channel identity (cookie, WhatsApp number) has been looked up; a
    /// lookup the CRM failed is tried again on the next turn.
    pub(super) visitor_looked_up: bool,
    /// An address no contact has that the customer gave as theirs, kept where account existence
    /// is secret ([`Agent::existence_secret`]): the conversation then goes on exactly as for a
    /// contact matched by that address who cannot verify, so nothing tells the two apart.
    pub(super) claimed: Option<String>,
    /// Planted bug `DisclosesOnCrmError`: the values read in this conversation, by property
    /// (not by contact), to answer from when the CRM fails.
    #[cfg(feature = "faulty-agents")]
    pub(super) last_read: HashMap<String, String>,
    /// Planted bug `CarriesIntoNextSession`: whether no turn was answered yet.
    #[cfg(feature = "faulty-agents")]
    pub(super) fresh: bool,
}

impl Conversation {
    /// A conversation nothing has happened in yet.
    fn new(id: &ConversationId, channel: Channel) -> Conversation {
        Conversation {
            identity: ConversationIdentity::new(id.clone()),
            channel,
            address_on_record: None,
            first_name: None,
            pending: Vec::new(),
            confirming: None,
            asked_for_email: false,
            handoff_pending: false,
            queued: Vec::new(),
            visitor_looked_up: false,
            lookups: 0,
            mails: 0,
            claimed: None,
            #[cfg(feature = "faulty-agents")]
            last_read: HashMap::new(),
            #[cfg(feature = "faulty-agents")]
            fresh: true,
        }
    }

    /// Queues `request` until the proof it needs arrives: each request once, and an update
    /// with the latest value the customer gave for that property.
    pub(super) fn queue(&mut self, request: PendingRequest) {
        self.pending.retain(|queued| match (queued, &request) {
            (PendingRequest::Update(queued, _), PendingRequest::Update(property, _)) => queued != property,
            (queued, request) => queued != request,
        });
        self.pending.push(request);
    }

    /// Whether the customer has said who they are: a contact is matched or verified, or they
    /// claim an address no contact has (see [`Conversation::claimed`]). An identified customer
    /// is not asked for an email again.
    pub(super) fn is_identified(&self) -> bool {
        self.identity.is_identified() || self.claimed.is_some()
    }

    /// The identity the policy decides on: a claim of an address no contact has counts as a
    /// match, which needs the same verification as any match and can never get it.
    pub(super) fn policy_identity(&self) -> Identity {
        match (&self.claimed, self.identity.identity()) {
            (Some(_), Identity::Anonymous) => Identity::Matched(UNKNOWN_CONTACT),
            (_, identity) => identity,
        }
    }

    /// The address the customer is known by: the one on the current contact's record, or the
    /// one they claim.
    pub(super) fn own_address(&self) -> Option<&str> {
        self.address_on_record.as_deref().or(self.claimed.as_deref())
    }

    /// Ends the conversation's identity (or its claim of an address no contact
    /// has) unless `email` is the customer's own address: the customer now claims
    /// to be someone else.
    pub(super) fn end_identity_unless(&mut self, email: &str) {
        let same = self.own_address().is_some_and(|a| a.eq_ignore_ascii_case(email.trim()));
        if !same && self.is_identified() {
            self.identity.forget();
            self.address_on_record = None;
            self.first_name = None;
            self.claimed = None;
            self.confirming = None;
            self.pending.retain(|pending| matches!(pending, PendingRequest::View(_)));
        }
    }
}

/// The contact id the policy is shown for a claim of an address no contact has: the policy
/// decides on the identity's level alone for the customer's own data, and nothing reads or
/// writes a record for a claim.
const UNKNOWN_CONTACT: ContactId = ContactId(0);

impl Agent {
    /// The state of conversation `id`, begun on `channel` at its first message.
    pub(super) fn conversation(
        &self,
        id: &ConversationId,
        channel: Channel,
    ) -> Arc<tokio::sync::Mutex<Conversation>> {
        let mut conversations = self.conversations.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        conversations
            .entry(id.clone())
            .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(Conversation::new(id, channel))))
            .clone()
    }
}
