//! Faulty agents for the harness's own tests (DESIGN §6): the reference agent with exactly one planted bug.
//!
//! Each [`Bug`] is a mistake a real engineer could make at one place of the
//! engine, the identity state or the token check; everything else about the
//! agent stays the reference agent. The harness must catch every one of them
//! with the right kind of finding (`tests/faulty_agents.rs` proves it runs
//! the shipped scenario suite against each).
//!
//! This module, the bugs and [`Agent::with_bug`](crate::agent::Agent::with_bug)
//! exist only with the `faulty-agents` cargo feature, which the crate's own
//! tests turn on and a release build never does.

/// One planted bug. Build an agent carrying it with
/// [`Agent::with_bug`](crate::agent::Agent::with_bug).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bug {
    /// Takes a matched identity for a verified one when deciding whether to share a
    /// value, so `verify_email` properties are shared after a mere email match
    /// (`Agent::view`). Caught as a **leak**.
    SharesVerifyAfterMatch,
    /// Never re-matches a customer who is already identified: a second address that
    /// matches another contact is ignored and the first contact's data is still
    /// shared (`Agent::email_given`). Caught as a **leak**.
    SharesPreviousIdentity,
    /// Skips the expiry check of verification tokens, so a link opened after
    /// `link_ttl` still verifies (`TokenIssuer::check`). Caught as a **leak** of
    /// the `verify_email` data shared afterwards.
    AcceptsExpiredLinks,
    /// Asks the policy whether the customer may *view* the property instead of
    /// *edit* it before an update, so non-editable properties and `verify_email`
    /// edits of a matched customer are written when no confirmation step re-checks
    /// (`Agent::update`). Caught as an **unauthorised write**.
    WritesWithoutEditPermission,
    /// Drops the last character of every value it writes, meant to strip a
    /// trailing full stop but done whether or not there is one, so the CRM gets a
    /// value the customer never gave (`Agent::write`). Caught as an
    /// **unauthorised write**.
    WritesUnrequestedValue,
    /// Mails the verification link to the address exactly as the customer typed
    /// it instead of the address on the contact record (`Agent::email_given`).
    /// Caught as a **misdirected verification**.
    MailsTypedAddress,
    /// On an `at_start` channel counts a customer as identified only once they typed
    /// an address (or opened a link), so a visitor already matched by cookie or
    /// WhatsApp number is asked for an email (`Agent::handle`). Caught as an
    /// **email-capture violation**.
    AsksCookieVisitorForEmail,
    /// Fails open when the CRM cannot be read: answers from the values it read
    /// earlier in the conversation, kept by property but not by contact, so after
    /// an identity replacement the previous contact's value is shown
    /// (`Agent::disclose`). Caught as a **leak**.
    DisclosesOnCrmError,
}

impl Bug {
    /// Every planted bug, in the order of the issue that asked for them.
    pub const ALL: [Bug; 8] = [
        Bug::SharesVerifyAfterMatch,
        Bug::SharesPreviousIdentity,
        Bug::AcceptsExpiredLinks,
        Bug::WritesWithoutEditPermission,
        Bug::WritesUnrequestedValue,
        Bug::MailsTypedAddress,
        Bug::AsksCookieVisitorForEmail,
        Bug::DisclosesOnCrmError,
    ];
}
