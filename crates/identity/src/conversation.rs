//! One conversation's identity state machine: who the customer is, how that was established, and which verification links are outstanding.
//!
//! ```text
//! anonymous ──(email typed, matches C)──▶ matched(C) ──(link for C opened in time)──▶ verified(C)
//!     └──(trusted channel identity of C)──▶ matched(C)
//! ```
//!
//! There is one current identity. An email matching *another* contact
//! replaces it at once: the previous contact's access lapses and its
//! outstanding links stop working. A link verifies only in the conversation
//! that sent it, only for the current contact, only once and only in time;
//! every rejection leaves the state exactly as it was.
//!
//! ```
//! use jiff::Timestamp;
//! use leakproof_identity::conversation::{ConversationIdentity, Transition};
//! use leakproof_identity::token::{SigningKey, TokenIssuer};
//! use leakproof_identity::{ContactId, ConversationId, Identity};
//!
//! let issuer = TokenIssuer::new(SigningKey::from_bytes(&[7; 32])?);
//! let now: Timestamp = "2024-05-01T09:00:00Z".parse()?;
//! let mut conversation = ConversationIdentity::new(ConversationId::from("conv-1"));
//!
//! // The customer types an address that matches contact 512's record.
//! let transition = conversation.email_matched(ContactId(512));
//! assert_eq!(transition, Transition::Established { contact: ContactId(512) });
//!
//! // The agent mails a link to the address on record, and the customer opens it.
//! let issued = conversation.start_verification(&issuer, ContactId(512), "ada@example.com", now)?;
//! let identity = conversation.redeem(&issuer, &issued.token, now)?;
//! assert_eq!(identity, Identity::Verified(ContactId(512)));
//!
//! // The same link a second time verifies nothing.
//! assert!(conversation.redeem(&issuer, &issued.token, now).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::token::{CheckedClaims, IssueError, IssuedToken, Nonce, TokenError, TokenIssuer};
use crate::{ContactId, ConversationId, Identity};

/// How the current identity was established.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentitySource {
    /// The customer typed an address that matches the contact's record.
    TypedEmail,
    /// A returning visitor's live-chat cookie points to the contact.
    Cookie,
    /// The WhatsApp sender's phone number matches the contact's record.
    #[serde(rename = "whatsapp_phone")]
    WhatsAppPhone,
    /// The customer opened a verification link mailed to the contact's address on record.
    VerificationLink,
}

impl fmt::Display for IdentitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdentitySource::TypedEmail => "typed email",
            IdentitySource::Cookie => "cookie",
            IdentitySource::WhatsAppPhone => "whatsapp phone",
            IdentitySource::VerificationLink => "verification link",
        })
    }
}

/// What a match did to the conversation's identity.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transition {
    /// The match named the current contact; nothing changed (a verified
    /// customer stays verified).
    Unchanged,
    /// An anonymous conversation now matches `contact`.
    Established {
        /// The newly matched contact.
        contact: ContactId,
    },
    /// Another contact replaced the current one; everything `previous` was
    /// allowed, and its outstanding links, lapsed.
    Replaced {
        /// The contact that lost access.
        previous: ContactId,
        /// The newly matched contact.
        current: ContactId,
    },
}

/// A verification link the conversation sent and is waiting for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingVerification {
    /// The contact the link verifies.
    pub contact: ContactId,
    /// The contact's address on record, where the link was mailed.
    pub address: String,
    /// When the link stops working.
    pub expires_at: Timestamp,
}

/// Why a verification link was not issued.
#[derive(Debug, thiserror::Error)]
pub enum StartVerificationError {
    /// Nobody is matched yet: there is no contact whose address could be used.
    #[error(
        "failed to start verification for contact {requested} in conversation {conversation}: no contact is matched yet"
    )]
    NotIdentified {
        /// The conversation.
        conversation: ConversationId,
        /// The contact verification was asked for.
        requested: ContactId,
    },
    /// Verification was asked for a contact other than the current one.
    #[error(
        "failed to start verification for contact {requested} in conversation {conversation}: the current contact is {current}"
    )]
    NotCurrentContact {
        /// The conversation.
        conversation: ConversationId,
        /// The contact verification was asked for.
        requested: ContactId,
        /// The conversation's current contact.
        current: ContactId,
    },
    /// The token could not be issued.
    #[error("failed to issue a verification token in conversation {conversation}")]
    Issue {
        /// The conversation.
        conversation: ConversationId,
        /// What went wrong.
        #[source]
        source: IssueError,
    },
}

/// The identity state of one conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationIdentity {
    id: ConversationId,
    identity: Identity,
    /// `None` exactly when anonymous.
    source: Option<IdentitySource>,
    /// Links sent and not yet redeemed, by nonce. Ordered so that `Debug`
    /// output is stable for snapshots.
    pending: BTreeMap<Nonce, PendingVerification>,
    /// Nonces of redeemed links: kept for the whole conversation so a replay
    /// is reported as such, even after the identity changed.
    used: BTreeSet<Nonce>,
}

impl ConversationIdentity {
    /// A conversation where nothing is proven yet.
    pub fn new(id: ConversationId) -> Self {
        ConversationIdentity {
            id,
            identity: Identity::Anonymous,
            source: None,
            pending: BTreeMap::new(),
            used: BTreeSet::new(),
        }
    }

    /// A conversation that starts matched to `contact` through a trusted
    /// channel identity (a returning visitor's cookie, a WhatsApp phone number).
    pub fn trusted(id: ConversationId, contact: ContactId, source: IdentitySource) -> Self {
        ConversationIdentity {
            identity: Identity::Matched(contact),
            source: Some(source),
            ..ConversationIdentity::new(id)
        }
    }

    /// Forgets who the customer is: back to anonymous, every pending link dead.
    /// Used links stay used. For when the customer names someone else and the
    /// agent cannot look them up: the previous identity must not outlive the claim.
    pub fn forget(&mut self) {
        self.identity = Identity::Anonymous;
        self.source = None;
        self.pending.clear();
    }

    /// The conversation's id.
    pub fn id(&self) -> &ConversationId {
        &self.id
    }

    /// What the customer has proven: the value the policy path decides on.
    pub fn identity(&self) -> Identity {
        self.identity
    }

    /// The current contact, if any.
    pub fn contact(&self) -> Option<ContactId> {
        self.identity.contact()
    }

    /// How the current identity was established; `None` while anonymous.
    pub fn source(&self) -> Option<IdentitySource> {
        self.source
    }

    /// Whether a contact is matched or verified. An identified visitor is
    /// never asked for an email address again.
    pub fn is_identified(&self) -> bool {
        self.identity != Identity::Anonymous
    }

    /// The links sent and still awaited, with their nonces, in nonce order
    /// (not the order they were sent in).
    pub fn pending(&self) -> impl Iterator<Item = (Nonce, &PendingVerification)> {
        self.pending.iter().map(|(nonce, pending)| (*nonce, pending))
    }

    /// The customer typed an address matching `contact`'s record.
    ///
    /// Matching the current contact changes nothing (a verified customer is
    /// not downgraded). Matching another contact replaces the identity with
    /// `matched(contact)` and drops the previous contact's pending links.
    pub fn email_matched(&mut self, contact: ContactId) -> Transition {
        self.matched(contact, IdentitySource::TypedEmail)
    }

    /// A trusted channel identity (`source`) mid-conversation points to
    /// `contact`, for example after a channel switch. Same rules as
    /// [`email_matched`](Self::email_matched).
    pub fn channel_matched(&mut self, contact: ContactId, source: IdentitySource) -> Transition {
        self.matched(contact, source)
    }

    fn matched(&mut self, contact: ContactId, source: IdentitySource) -> Transition {
        match self.identity.contact() {
            Some(current) if current == contact => Transition::Unchanged,
            Some(previous) => {
                self.identity = Identity::Matched(contact);
                self.source = Some(source);
                self.pending.retain(|_, pending| pending.contact == contact);
                Transition::Replaced { previous, current: contact }
            }
            None => {
                self.identity = Identity::Matched(contact);
                self.source = Some(source);
                self.pending.clear();
                Transition::Established { contact }
            }
        }
    }

    /// Issues a verification token for the current contact and records it as
    /// pending. `address_on_record` is the contact record's email address,
    /// never one the customer typed; the caller mails the link there.
    ///
    /// Links whose expiry has passed at `now` are forgotten on the way.
    ///
    /// # Errors
    ///
    /// [`StartVerificationError::NotIdentified`] while anonymous,
    /// [`StartVerificationError::NotCurrentContact`] for another contact, and
    /// [`StartVerificationError::Issue`] if the token cannot be issued; the
    /// state is unchanged in every case.
    pub fn start_verification(
        &mut self,
        issuer: &TokenIssuer,
        contact: ContactId,
        address_on_record: &str,
        now: Timestamp,
    ) -> Result<IssuedToken, StartVerificationError> {
        match self.identity.contact() {
            None => {
                return Err(StartVerificationError::NotIdentified {
                    conversation: self.id.clone(),
                    requested: contact,
                });
            }
            Some(current) if current != contact => {
                return Err(StartVerificationError::NotCurrentContact {
                    conversation: self.id.clone(),
                    requested: contact,
                    current,
                });
            }
            Some(_) => {}
        }
        let issued = issuer
            .issue(&self.id, contact, address_on_record, now)
            .map_err(|source| StartVerificationError::Issue { conversation: self.id.clone(), source })?;
        self.pending.retain(|_, pending| now < pending.expires_at);
        self.pending.insert(
            issued.claims.nonce,
            PendingVerification {
                contact,
                address: issued.claims.address.clone(),
                expires_at: issued.claims.expires_at,
            },
        );
        Ok(issued)
    }

    /// Withdraws the pending link `nonce`, whose mail could not be sent: it verifies nothing
    /// any more (a send that failed late may still deliver it), and a new one may be mailed
    /// in its place. An unknown nonce changes nothing.
    pub fn withdraw(&mut self, nonce: Nonce) {
        self.pending.remove(&nonce);
    }

    /// The customer opened a verification link carrying `token` at `now`.
    ///
    /// On success the link is used up and the conversation becomes
    /// `verified(contact)`.
    ///
    /// # Errors
    ///
    /// Rejections, in the order checked: any
    /// [`TokenIssuer::check`] failure (malformed, forged, tampered, expired),
    /// [`TokenError::WrongConversation`], [`TokenError::Replayed`],
    /// [`TokenError::NotPending`], [`TokenError::WrongContact`],
    /// [`TokenError::WrongAddress`]. A rejection changes nothing.
    pub fn redeem(
        &mut self,
        issuer: &TokenIssuer,
        token: &str,
        now: Timestamp,
    ) -> Result<Identity, TokenError> {
        let claims = issuer.check_claims(token, now)?;
        self.redeem_checked(claims)
    }

    /// [`ConversationIdentity::redeem`] for claims that [`TokenIssuer::check_claims`]
    /// has just returned, so the signature is not checked twice; only that check makes
    /// [`CheckedClaims`], so no other claims can be redeemed here.
    ///
    /// # Errors
    ///
    /// As [`ConversationIdentity::redeem`], after the signature and expiry.
    pub fn redeem_checked(&mut self, checked: CheckedClaims) -> Result<Identity, TokenError> {
        let claims = checked.into_claims();
        if claims.conversation != self.id {
            return Err(TokenError::WrongConversation {
                issued_for: claims.conversation,
                presented_in: self.id.clone(),
            });
        }
        if self.used.contains(&claims.nonce) {
            return Err(TokenError::Replayed { nonce: claims.nonce });
        }
        let not_pending = || TokenError::NotPending { conversation: self.id.clone(), nonce: claims.nonce };
        let pending = self.pending.get(&claims.nonce).ok_or_else(not_pending)?;
        if pending.expires_at != claims.expires_at {
            // Same nonce, other token: not the link this conversation sent.
            return Err(not_pending());
        }
        let current = self.identity.contact();
        if pending.contact != claims.contact || current != Some(claims.contact) {
            return Err(TokenError::WrongContact { claimed: claims.contact, current });
        }
        if pending.address != claims.address {
            return Err(TokenError::WrongAddress { contact: claims.contact });
        }

        self.pending.remove(&claims.nonce);
        self.used.insert(claims.nonce);
        self.identity = Identity::Verified(claims.contact);
        self.source = Some(IdentitySource::VerificationLink);
        Ok(self.identity)
    }
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;
    use crate::token::SigningKey;
    use leakproof_config::clock::{Clock, ManualClock};

    const ADA: ContactId = ContactId(512);
    const BOB: ContactId = ContactId(777);
    const ADA_ADDRESS: &str = "ada@example.com";
    const BOB_ADDRESS: &str = "bob@example.com";

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(SigningKey::from_bytes(&[7; 32]).unwrap())
    }

    fn clock() -> ManualClock {
        ManualClock::new("2024-05-01T09:00:00Z".parse().unwrap())
    }

    fn conversation(id: &str) -> ConversationIdentity {
        ConversationIdentity::new(ConversationId::from(id))
    }

    /// Conversation "conv-a", matched to Ada by typed email, with one link sent.
    fn awaiting_ada(clock: &ManualClock) -> (ConversationIdentity, IssuedToken) {
        let mut state = conversation("conv-a");
        assert_eq!(state.email_matched(ADA), Transition::Established { contact: ADA });
        let issued = state.start_verification(&issuer(), ADA, ADA_ADDRESS, clock.now()).unwrap();
        (state, issued)
    }

    /// Redeems `token` expecting a rejection, and checks nothing changed.
    fn assert_rejected(state: &mut ConversationIdentity, token: &str, now: Timestamp) -> TokenError {
        let before = state.clone();
        let error = state.redeem(&issuer(), token, now).expect_err("token should be rejected");
        assert_eq!(*state, before, "rejection ({error}) changed the state");
        error
    }

    #[test]
    fn new_conversation_is_anonymous() {
        let state = conversation("conv-a");
        assert_eq!(state.identity(), Identity::Anonymous);
        assert_eq!(state.source(), None);
        assert!(!state.is_identified());
        assert_eq!(state.id(), &ConversationId::from("conv-a"));
    }

    #[test]
    fn trusted_channel_identity_is_matched() {
        let state =
            ConversationIdentity::trusted(ConversationId::from("conv-a"), ADA, IdentitySource::Cookie);
        assert_eq!(state.identity(), Identity::Matched(ADA));
        assert_eq!(state.source(), Some(IdentitySource::Cookie));
        assert!(state.is_identified());
    }

    #[test]
    fn happy_path_verifies_the_contact() {
        let clock = clock();
        let (mut state, issued) = awaiting_ada(&clock);
        assert_eq!(state.identity(), Identity::Matched(ADA));
        assert_eq!(state.source(), Some(IdentitySource::TypedEmail));
        assert_eq!(issued.claims.address, ADA_ADDRESS);
        assert_eq!(state.pending().count(), 1);

        clock.advance(SignedDuration::from_mins(3));
        let identity = state.redeem(&issuer(), &issued.token, clock.now()).unwrap();
        assert_eq!(identity, Identity::Verified(ADA));
        assert_eq!(state.identity(), Identity::Verified(ADA));
        assert_eq!(state.source(), Some(IdentitySource::VerificationLink));
        assert_eq!(state.pending().count(), 0);
    }

    #[test]
    fn trusted_identity_can_be_verified() {
        let clock = clock();
        let mut state =
            ConversationIdentity::trusted(ConversationId::from("conv-a"), ADA, IdentitySource::WhatsAppPhone);
        let issued = state.start_verification(&issuer(), ADA, ADA_ADDRESS, clock.now()).unwrap();
        assert_eq!(state.redeem(&issuer(), &issued.token, clock.now()), Ok(Identity::Verified(ADA)));
    }

    #[test]
    fn forged_token_is_rejected() {
        let clock = clock();
        let (mut state, issued) = awaiting_ada(&clock);
        let attacker = TokenIssuer::new(SigningKey::from_bytes(&[9; 32]).unwrap());
        let forged = attacker
            .issue_with_nonce(state.id(), ADA, ADA_ADDRESS, clock.now(), issued.claims.nonce)
            .unwrap();
        assert_eq!(assert_rejected(&mut state, &forged.token, clock.now()), TokenError::BadSignature);
        assert_eq!(state.identity(), Identity::Matched(ADA));
    }

    #[test]
    fn tampered_token_is_rejected() {
        let clock = clock();
        let (mut state, issued) = awaiting_ada(&clock);
        let middle = issued.token.find('.').unwrap() / 2;
        let original = issued.token.as_bytes()[middle];
        let replacement = if original == b'A' { "B" } else { "A" };
        let mut tampered = issued.token.clone();
        tampered.replace_range(middle..=middle, replacement);
        assert_eq!(assert_rejected(&mut state, &tampered, clock.now()), TokenError::BadSignature);
        // The genuine link still works afterwards.
        assert!(state.redeem(&issuer(), &issued.token, clock.now()).is_ok());
    }

    #[test]
    fn truncated_tokens_are_rejected() {
        let clock = clock();
        let (mut state, issued) = awaiting_ada(&clock);
        let token = &issued.token;
        let dot = token.find('.').unwrap();
        for cut in [0, 5, dot - 1, dot, dot + 1, dot + 20, token.len() - 1] {
            assert_rejected(&mut state, &token[..cut], clock.now());
        }
        assert_eq!(state.identity(), Identity::Matched(ADA));
    }

    #[test]
    fn garbage_is_rejected() {
        let clock = clock();
        let (mut state, _) = awaiting_ada(&clock);
        for garbage in ["", ".", "hello", "a.b.c", "<script>", "../../etc/passwd", "\0"] {
            assert_rejected(&mut state, garbage, clock.now());
        }
    }

    #[test]
    fn expired_token_is_rejected_even_exactly_at_expiry() {
        let clock = clock();
        let (mut state, issued) = awaiting_ada(&clock);
        clock.set(issued.claims.expires_at);
        assert_eq!(
            assert_rejected(&mut state, &issued.token, clock.now()),
            TokenError::Expired {
                conversation: issued.claims.conversation.clone(),
                expired_at: issued.claims.expires_at
            }
        );
        clock.advance(SignedDuration::from_hours(2));
        assert!(matches!(
            assert_rejected(&mut state, &issued.token, clock.now()),
            TokenError::Expired { .. }
        ));
    }

    #[test]
    fn token_just_before_expiry_is_accepted() {
        let clock = clock();
        let (mut state, issued) = awaiting_ada(&clock);
        clock.advance(issuer().ttl() - SignedDuration::from_nanos(1));
        assert_eq!(state.redeem(&issuer(), &issued.token, clock.now()), Ok(Identity::Verified(ADA)));
    }

    #[test]
    fn replayed_token_is_rejected() {
        let clock = clock();
        let (mut state, issued) = awaiting_ada(&clock);
        state.redeem(&issuer(), &issued.token, clock.now()).unwrap();
        assert_eq!(
            assert_rejected(&mut state, &issued.token, clock.now()),
            TokenError::Replayed { nonce: issued.claims.nonce }
        );
        assert_eq!(state.identity(), Identity::Verified(ADA));
    }

    #[test]
    fn replay_is_detected_after_identity_changes() {
        let clock = clock();
        let (mut state, issued) = awaiting_ada(&clock);
        state.redeem(&issuer(), &issued.token, clock.now()).unwrap();
        let _ = state.email_matched(BOB);
        let _ = state.email_matched(ADA);
        assert_eq!(state.identity(), Identity::Matched(ADA));
        assert!(matches!(
            assert_rejected(&mut state, &issued.token, clock.now()),
            TokenError::Replayed { .. }
        ));
    }

    #[test]
    fn token_from_another_conversation_is_rejected() {
        let clock = clock();
        let (_, issued_in_a) = awaiting_ada(&clock);
        let mut in_b = conversation("conv-b");
        let _ = in_b.email_matched(ADA);
        let _ = in_b.start_verification(&issuer(), ADA, ADA_ADDRESS, clock.now()).unwrap();
        assert_eq!(
            assert_rejected(&mut in_b, &issued_in_a.token, clock.now()),
            TokenError::WrongConversation {
                issued_for: ConversationId::from("conv-a"),
                presented_in: ConversationId::from("conv-b"),
            }
        );
        assert_eq!(in_b.identity(), Identity::Matched(ADA));
    }

    #[test]
    fn token_after_identity_replacement_is_rejected() {
        let clock = clock();
        let (mut state, issued_for_ada) = awaiting_ada(&clock);
        assert_eq!(state.email_matched(BOB), Transition::Replaced { previous: ADA, current: BOB });
        assert_eq!(state.identity(), Identity::Matched(BOB));
        assert_eq!(state.pending().count(), 0, "Ada's link must be dropped");
        assert_eq!(
            assert_rejected(&mut state, &issued_for_ada.token, clock.now()),
            TokenError::NotPending {
                conversation: ConversationId::from("conv-a"),
                nonce: issued_for_ada.claims.nonce,
            }
        );
        // Typing Ada's address again does not revive her old link.
        let _ = state.email_matched(ADA);
        assert!(matches!(
            assert_rejected(&mut state, &issued_for_ada.token, clock.now()),
            TokenError::NotPending { .. }
        ));
    }

    #[test]
    fn replacement_drops_verified_access_at_once() {
        let clock = clock();
        let (mut state, issued) = awaiting_ada(&clock);
        state.redeem(&issuer(), &issued.token, clock.now()).unwrap();
        assert_eq!(state.email_matched(BOB), Transition::Replaced { previous: ADA, current: BOB });
        assert_eq!(state.identity(), Identity::Matched(BOB));
        assert_eq!(state.source(), Some(IdentitySource::TypedEmail));
    }

    #[test]
    fn token_naming_another_contact_is_rejected() {
        let clock = clock();
        let (mut state, issued) = awaiting_ada(&clock);
        // Correctly signed for this conversation and the pending nonce, but for Bob.
        let for_bob = issuer()
            .issue_with_nonce(state.id(), BOB, ADA_ADDRESS, clock.now(), issued.claims.nonce)
            .unwrap();
        assert_eq!(
            assert_rejected(&mut state, &for_bob.token, clock.now()),
            TokenError::WrongContact { claimed: BOB, current: Some(ADA) }
        );
        // A signed token for Bob the conversation never sent.
        let stray = issuer().issue(state.id(), BOB, BOB_ADDRESS, clock.now()).unwrap();
        assert!(matches!(
            assert_rejected(&mut state, &stray.token, clock.now()),
            TokenError::NotPending { .. }
        ));
        assert_eq!(state.identity(), Identity::Matched(ADA));
    }

    #[test]
    fn token_naming_another_address_is_rejected() {
        let clock = clock();
        let (mut state, issued) = awaiting_ada(&clock);
        let elsewhere = issuer()
            .issue_with_nonce(state.id(), ADA, "attacker@example.com", clock.now(), issued.claims.nonce)
            .unwrap();
        assert_eq!(
            assert_rejected(&mut state, &elsewhere.token, clock.now()),
            TokenError::WrongAddress { contact: ADA }
        );
    }

    #[test]
    fn token_for_an_anonymous_conversation_is_not_pending() {
        let clock = clock();
        let mut state = conversation("conv-a");
        let stray = issuer().issue(state.id(), ADA, ADA_ADDRESS, clock.now()).unwrap();
        assert!(matches!(
            assert_rejected(&mut state, &stray.token, clock.now()),
            TokenError::NotPending { .. }
        ));
        assert_eq!(state.identity(), Identity::Anonymous);
    }

    #[test]
    fn verified_customer_stays_verified_when_typing_own_email() {
        let clock = clock();
        let (mut state, issued) = awaiting_ada(&clock);
        state.redeem(&issuer(), &issued.token, clock.now()).unwrap();
        assert_eq!(state.email_matched(ADA), Transition::Unchanged);
        assert_eq!(state.channel_matched(ADA, IdentitySource::Cookie), Transition::Unchanged);
        assert_eq!(state.identity(), Identity::Verified(ADA));
        assert_eq!(state.source(), Some(IdentitySource::VerificationLink));
    }

    #[test]
    fn verification_only_for_the_current_contact() {
        let clock = clock();
        let mut state = conversation("conv-a");
        assert!(matches!(
            state.start_verification(&issuer(), ADA, ADA_ADDRESS, clock.now()),
            Err(StartVerificationError::NotIdentified { .. })
        ));
        let _ = state.email_matched(ADA);
        let error = state.start_verification(&issuer(), BOB, BOB_ADDRESS, clock.now()).unwrap_err();
        assert!(matches!(
            error,
            StartVerificationError::NotCurrentContact { requested: BOB, current: ADA, .. }
        ));
        assert_eq!(
            error.to_string(),
            "failed to start verification for contact 777 in conversation conv-a: the current contact is 512"
        );
        assert_eq!(state.pending().count(), 0);
    }

    #[test]
    fn several_links_each_work_once() {
        let clock = clock();
        let (mut state, first) = awaiting_ada(&clock);
        clock.advance(SignedDuration::from_mins(1));
        let second = state.start_verification(&issuer(), ADA, ADA_ADDRESS, clock.now()).unwrap();
        assert_eq!(state.pending().count(), 2);
        assert!(state.redeem(&issuer(), &second.token, clock.now()).is_ok());
        assert!(state.redeem(&issuer(), &first.token, clock.now()).is_ok());
        assert!(matches!(
            assert_rejected(&mut state, &first.token, clock.now()),
            TokenError::Replayed { .. }
        ));
    }

    #[test]
    fn expired_links_are_forgotten_when_a_new_one_is_sent() {
        let clock = clock();
        let (mut state, first) = awaiting_ada(&clock);
        clock.set(first.claims.expires_at);
        let second = state.start_verification(&issuer(), ADA, ADA_ADDRESS, clock.now()).unwrap();
        let pending: Vec<Nonce> = state.pending().map(|(nonce, _)| nonce).collect();
        assert_eq!(pending, vec![second.claims.nonce]);
    }

    #[test]
    fn sources_serialise_in_snake_case() {
        assert_eq!(serde_json::to_string(&IdentitySource::WhatsAppPhone).unwrap(), r#""whatsapp_phone""#);
        assert_eq!(IdentitySource::VerificationLink.to_string(), "verification link");
    }
}
