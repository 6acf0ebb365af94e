//! The oracle's model of who the customer has claimed to be or verified as in a conversation, moved here from the oracle's one file as it was.
//!
//! - typing the address on record of contact C (in any case) claims C and
//!   replaces any other identity; an address after "of", "for", "about", …
//!   ("what is the city of ann@…") is a question about someone else and
//!   claims nothing;
//! - a live-chat cookie or a WhatsApp number that the fixtures give to C
//!   claims C from the first message;
//! - opening, in time and only once, an untampered link from a mail sent in
//!   the conversation to C's address on record, while C is still the
//!   conversation's identity and has not been replaced since, verifies C.

use leakproof_config::Protection;
use leakproof_config::ids::ContactId;
use leakproof_mocks::RecordedRequest;

use crate::crm_state::failed;

/// How far a contact has proven itself: what a property's protection asks of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Level {
    /// Typed the address on record, or named by the channel.
    Matched,
    /// Opened a link mailed to the address on record.
    Verified,
}

impl Level {
    /// Whether this level is enough for `protection`.
    pub(super) fn satisfies(self, protection: Protection) -> bool {
        match protection {
            Protection::MatchEmail => true,
            Protection::VerifyEmail => self == Level::Verified,
        }
    }

    /// The level, in words.
    pub(super) fn words(self) -> &'static str {
        match self {
            Level::Matched => "matched by email",
            Level::Verified => "verified",
        }
    }
}

/// The address a customer's message claims as their own, and whose it is.
#[derive(Clone, Copy, Debug)]
pub(super) struct Claim<'a> {
    /// The address, as typed.
    #[allow(dead_code)]
    pub address: &'a str,
    /// The contact whose address on record it is (any case), if any.
    pub contact: Option<ContactId>,
}

/// What one step's CRM requests show.
#[derive(Debug)]
pub(super) struct Lookups {
    trouble: bool,
}

impl Lookups {
    /// The lookups among `requests`, a step's CRM requests.
    pub(super) fn of(requests: &[RecordedRequest]) -> Self {
        Lookups { trouble: requests.iter().any(failed) }
    }

    /// Whether a request of the step failed: the agent may not have got what it asked for.
    pub(super) fn trouble(&self) -> bool {
        self.trouble
    }
}

/// Who the customer of one conversation is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Identity {
    identity: Option<(ContactId, Level)>,
    /// Counts changes of identity: a link mailed under an earlier one verifies nothing.
    epoch: usize,
    /// Set when the identity was claimed in a turn whose CRM requests failed:
    /// the agent could not confirm it, so asking for the address again is no
    /// violation. It holds the number of mails sent before that turn: a link
    /// mailed since may settle who this is, but not one mailed before, under an
    /// identity the agent may have dropped.
    unconfirmed_since: Option<usize>,
    /// Who the channel says is writing (a cookie or a WhatsApp number), if anyone.
    by_channel: Option<ContactId>,
}

impl Identity {
    /// A conversation whose channel's visitor data names `by_channel`, if anyone.
    pub(super) fn start(by_channel: Option<ContactId>) -> Self {
        Identity {
            identity: by_channel.map(|c| (c, Level::Matched)),
            epoch: 0,
            unconfirmed_since: None,
            by_channel,
        }
    }

    /// Which identity this is: a link mailed under an earlier one verifies nothing.
    pub(super) fn epoch(&self) -> usize {
        self.epoch
    }

    /// The contact the customer is, and how far they have proven it.
    pub(super) fn current(&self) -> Option<(ContactId, Level)> {
        self.identity
    }

    /// The contact the customer is, at any level.
    pub(super) fn contact(&self) -> Option<ContactId> {
        self.identity.map(|(contact, _)| contact)
    }

    /// Whether the visitor counts as identified for email capture.
    pub(super) fn identified(&self) -> bool {
        self.identity.is_some() && self.unconfirmed_since.is_none()
    }

    /// A customer's turn whose message's last claim is `claim` (if it has any), whose CRM
    /// requests `lookups` shows, and whose first mail (if it sent any) has index `first_mail`.
    pub(super) fn turn(&mut self, claim: Option<Claim<'_>>, lookups: &Lookups, first_mail: usize) {
        let backend_failed = lookups.trouble();
        let still_the_channels =
            self.epoch == 0 && self.by_channel.is_some_and(|c| self.contact() == Some(c));
        if claim.is_some() && backend_failed && still_the_channels {
            // The agent could not look the claim up, nor perhaps the channel's visitor: it
            // may go on as the channel's visitor or as no one, and may ask again.
            self.unconfirmed_since = Some(first_mail);
        } else if let Some(claim) = claim
            && self.contact() != claim.contact
        {
            // A claim of another address ends the previous identity's access; an
            // address no contact has leaves the customer unidentified.
            self.identity = claim.contact.map(|c| (c, Level::Matched));
            self.epoch += 1;
            // A claim the agent could not look up still ends the previous identity's
            // access, but the agent may ask for the address again.
            self.unconfirmed_since = backend_failed.then_some(first_mail);
        } else if claim.is_some() {
            // Typed again: looked up this time, or again not (then the agent may
            // still not know who this is, and may ask).
            self.unconfirmed_since = backend_failed.then_some(first_mail);
        }
    }

    /// The customer opened a valid link (untampered, the mail's first opening, in time) of
    /// mail `mail`, sent under identity `epoch` to the address on record of `recipient`.
    pub(super) fn link_opened(&mut self, recipient: ContactId, mail: usize, epoch: usize) {
        // Still the same identity, never replaced since the mail was sent.
        if self.contact() == Some(recipient) && self.epoch == epoch {
            self.identity = Some((recipient, Level::Verified));
            // A link mailed before the doubt may verify the visitor, or may be refused by
            // an agent that dropped them: either way it may still ask.
            if self.unconfirmed_since.is_some_and(|since| mail >= since) {
                self.unconfirmed_since = None;
            }
        }
    }
}
