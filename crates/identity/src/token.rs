//! Verification-link tokens: signed, expiring proofs that a link mailed to a contact's address on record was opened.
//!
//! A token is `base64url(payload) "." base64url(mac)`, both without padding,
//! so it fits in a URL path segment as is. The payload is a small versioned
//! JSON object naming the conversation, the contact, the address the link was
//! mailed to, the expiry and a random nonce; the MAC is HMAC-SHA256 over a
//! domain label and the payload segment exactly as it appears in the token,
//! checked in constant time *before* the payload is decoded or parsed.
//!
//! [`TokenIssuer::check`] answers "did we sign this and is it still fresh?".
//! Whether the conversation is waiting for this token, and whether it was
//! already used, is the conversation's business:
//! [`ConversationIdentity::redeem`](crate::conversation::ConversationIdentity::redeem).
//!
//! ```
//! use jiff::Timestamp;
//! use leakproof_identity::token::{SigningKey, TokenError, TokenIssuer};
//! use leakproof_identity::{ContactId, ConversationId};
//!
//! let issuer = TokenIssuer::new(SigningKey::from_bytes(&[7; 32])?);
//! let now: Timestamp = "2024-05-01T09:00:00Z".parse()?;
//! let conversation = ConversationId::from("conv-1");
//!
//! let issued = issuer.issue(&conversation, ContactId(512), "ada@example.com", now)?;
//! assert_eq!(issuer.check(&issued.token, now)?, issued.claims);
//!
//! let later = now + issuer.ttl();
//! assert!(matches!(issuer.check(&issued.token, later), Err(TokenError::Expired { .. })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::{ContactId, ConversationId};
use leakproof_config::{DEFAULT_LINK_TTL, SigningKeySource};

type HmacSha256 = Hmac<Sha256>;

/// The payload format version this build writes and accepts.
///
/// Bump it whenever the payload changes shape; tokens of any other version are
/// rejected with [`TokenError::UnsupportedVersion`] instead of being misread.
pub const TOKEN_VERSION: u32 = 2;

/// The shortest accepted signing key: HMAC-SHA256's full strength needs at
/// least as many key bytes as the hash has output bytes.
pub const MIN_KEY_LEN: usize = 32;

/// The longest string [`TokenIssuer::check`] looks at. Real tokens are a few
/// hundred characters; the bound caps the work a hostile link can cause and
/// keeps tokens well inside URL length limits.
pub const MAX_TOKEN_LEN: usize = 2048;

/// HMAC-SHA256 output length.
const MAC_LEN: usize = 32;

/// Prefixed to the MAC input so a MAC made with the same key for another
/// purpose can never pass as a verification-link signature.
const MAC_DOMAIN: &[u8] = b"leakproof verification link\0";

/// The secret that signs verification tokens.
///
/// Holds only the keyed HMAC state, never prints it, and is cheap to clone.
#[derive(Clone)]
pub struct SigningKey {
    /// HMAC-SHA256 already keyed; cloned for every signature.
    mac: HmacSha256,
}

impl SigningKey {
    /// A key from raw bytes, which must be at least [`MIN_KEY_LEN`] long.
    ///
    /// # Errors
    ///
    /// [`KeyError::TooShort`] for a shorter key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() < MIN_KEY_LEN {
            return Err(KeyError::TooShort { len: bytes.len() });
        }
        let mac = HmacSha256::new_from_slice(bytes).map_err(|_| KeyError::TooShort { len: bytes.len() })?;
        Ok(SigningKey { mac })
    }

    /// A fresh key of [`MIN_KEY_LEN`] bytes from the operating system's
    /// random source: tokens signed with it stop verifying when the process
    /// ends.
    ///
    /// # Errors
    ///
    /// [`KeyError::Random`] if the random source fails.
    pub fn random() -> Result<Self, KeyError> {
        let mut bytes = [0_u8; MIN_KEY_LEN];
        getrandom::fill(&mut bytes).map_err(KeyError::Random)?;
        SigningKey::from_bytes(&bytes)
    }

    /// The key a configuration's `verification.signing_key` names: a fresh
    /// random one, the base64 text of an environment variable, or a file's
    /// raw bytes.
    ///
    /// # Errors
    ///
    /// [`KeyError::Unavailable`] when the variable or file cannot be read or
    /// decoded (a file must be a regular file of at most
    /// [`KEY_LIMIT`](leakproof_config::files::KEY_LIMIT) bytes; nothing else is opened for
    /// reading, so this never blocks on a FIFO), [`KeyError::TooShort`] for a
    /// short key.
    pub fn load(source: &SigningKeySource) -> Result<Self, KeyError> {
        use base64::engine::general_purpose::STANDARD;
        match source {
            SigningKeySource::Ephemeral => SigningKey::random(),
            SigningKeySource::Env(name) => {
                let unavailable = |reason: &str| KeyError::Unavailable {
                    origin: format!("environment variable {name}"),
                    reason: reason.to_owned(),
                };
                let text = std::env::var(name).map_err(|_| unavailable("not set or not unicode"))?;
                let bytes = STANDARD
                    .decode(text.trim())
                    .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim()))
                    .map_err(|_| unavailable("not base64"))?;
                SigningKey::from_bytes(&bytes)
            }
            SigningKeySource::File(path) => {
                // A regular file of at most KEY_LIMIT bytes: a FIFO would block the caller and a
                // device such as /dev/zero would be read until memory runs out.
                let bytes = leakproof_config::files::read_regular(path, leakproof_config::files::KEY_LIMIT)
                    .map_err(|err| KeyError::Unavailable {
                    origin: format!("file {}", path.display()),
                    reason: err.to_string(),
                })?;
                SigningKey::from_bytes(&bytes)
            }
        }
    }

    /// The MAC of `payload_segment`, ready to finalize or verify.
    fn mac_over(&self, payload_segment: &str) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(MAC_DOMAIN);
        mac.update(payload_segment.as_bytes());
        mac
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// Why a signing key could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key has fewer than [`MIN_KEY_LEN`] bytes.
    #[error("signing key is {len} bytes long, at least {MIN_KEY_LEN} are required")]
    TooShort {
        /// The rejected key's length in bytes.
        len: usize,
    },
    /// The configured key source could not be read or decoded.
    #[error("failed to load the signing key from {origin}: {reason}")]
    Unavailable {
        /// Where the key was to come from.
        origin: String,
        /// What went wrong.
        reason: String,
    },
    /// The operating system's random source failed.
    #[error("failed to draw a random signing key from the operating system")]
    Random(#[source] getrandom::Error),
}

/// A token's 16 random bytes: what makes each link unique and single use.
///
/// Shown as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Nonce([u8; 16]);

impl Nonce {
    /// A nonce with the given bytes. Each issued token needs a distinct one;
    /// use [`Nonce::random`] unless a test needs fixed values.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Nonce(bytes)
    }

    /// A nonce from the operating system's random source.
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut bytes = [0_u8; 16];
        getrandom::fill(&mut bytes)?;
        Ok(Nonce(bytes))
    }

    /// The nonce's bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nonce({self})")
    }
}

/// The error for text that is not 32 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("failed to parse nonce {0:?}: expected 32 hex digits")]
pub struct NonceError(pub String);

impl FromStr for Nonce {
    type Err = NonceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error = || NonceError(s.to_owned());
        let digits = s.as_bytes();
        if digits.len() != 32 {
            return Err(error());
        }
        let mut bytes = [0_u8; 16];
        for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
            let &[high, low] = pair else { return Err(error()) };
            let high = hex_value(high).ok_or_else(error)?;
            let low = hex_value(low).ok_or_else(error)?;
            *byte = (high << 4) | low;
        }
        Ok(Nonce(bytes))
    }
}

/// The value of one hex digit, either case.
fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

impl Serialize for Nonce {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Nonce {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What a valid token says: all of it is covered by the signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    /// The conversation the link was sent from; it verifies nothing elsewhere.
    pub conversation: ConversationId,
    /// The contact the customer claims to be.
    pub contact: ContactId,
    /// The contact's address on record that the link was mailed to.
    pub address: String,
    /// When the token was issued: at any earlier time it verifies nothing.
    pub issued_at: Timestamp,
    /// The first instant at which the token no longer verifies.
    pub expires_at: Timestamp,
    /// Makes the token unique, so it can be used once.
    pub nonce: Nonce,
}

/// A freshly signed token and what it claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// The text to put in the link, safe as a URL path segment.
    pub token: String,
    /// What [`TokenIssuer::check`] will return for `token` until it expires.
    pub claims: TokenClaims,
}

/// The payload as written into a token. Short keys keep links short.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    v: u32,
    conv: ConversationId,
    contact: ContactId,
    addr: String,
    iat: Timestamp,
    exp: Timestamp,
    nonce: Nonce,
}

/// Reads only the version, so a payload of another version is reported as
/// such rather than as an unknown field.
#[derive(Deserialize)]
struct VersionProbe {
    v: u64,
}

/// Why a token was not issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The operating system's random source failed to provide a nonce.
    #[error("failed to draw a random token nonce from the operating system")]
    Random(#[source] getrandom::Error),
    /// `now + ttl` is outside the range of a timestamp.
    #[error("failed to compute a token expiry: {now} plus {ttl} is out of range")]
    ExpiryOutOfRange {
        /// The issue time.
        now: Timestamp,
        /// The configured time to live.
        ttl: SignedDuration,
    },
    /// The payload could not be serialised.
    #[error("failed to encode a token payload")]
    Encode(#[source] serde_json::Error),
    /// The conversation id or the address is so long that the token would
    /// exceed [`MAX_TOKEN_LEN`] and never pass [`TokenIssuer::check`].
    #[error("failed to issue a token: it would be {len} characters long, more than {MAX_TOKEN_LEN}")]
    TooLong {
        /// The length the token would have had.
        len: usize,
    },
}

/// Why a token verifies nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The text does not have the shape of a token.
    #[error("malformed verification token: {reason}")]
    Malformed {
        /// What is wrong with the shape.
        reason: &'static str,
    },
    /// The signature does not match the payload: forged, tampered with or truncated.
    #[error("verification token signature does not match its contents")]
    BadSignature,
    /// A correctly signed token of a format version this build does not read.
    #[error("verification token has unsupported format version {version}, expected {TOKEN_VERSION}")]
    UnsupportedVersion {
        /// The version the token names.
        version: u64,
    },
    /// The time it is checked at is before the token was issued: the clock
    /// was set back, or the token is opened at a time that never saw it.
    #[error("verification token was issued at {issued_at}, later than now")]
    NotYetIssued {
        /// When it was issued.
        issued_at: Timestamp,
    },
    /// The token's time to live has passed.
    #[error("verification token expired at {expired_at}")]
    Expired {
        /// The conversation it was issued in. The signature is checked before
        /// expiry, so this is authentic: the rejection can be reported there.
        conversation: ConversationId,
        /// When it stopped being valid.
        expired_at: Timestamp,
    },
    /// The token was already redeemed once.
    #[error("verification token {nonce} was already used")]
    Replayed {
        /// The token's nonce.
        nonce: Nonce,
    },
    /// The token was issued in another conversation.
    #[error("verification token was issued for conversation {issued_for}, not {presented_in}")]
    WrongConversation {
        /// The conversation the token names.
        issued_for: ConversationId,
        /// The conversation it was presented in.
        presented_in: ConversationId,
    },
    /// The token names a contact other than the conversation's current one.
    #[error("verification token is for contact {claimed}, but the conversation's current contact is {}", display_contact(.current.as_ref()))]
    WrongContact {
        /// The contact the token names.
        claimed: ContactId,
        /// The conversation's current contact, if any.
        current: Option<ContactId>,
    },
    /// The token names another address than the one its link was mailed to.
    #[error(
        "verification token for contact {contact} names a different address than the one its link was sent to"
    )]
    WrongAddress {
        /// The contact the token names.
        contact: ContactId,
    },
    /// A valid token the conversation never issued or no longer waits for
    /// (for example, its contact was replaced by another one).
    #[error("conversation {conversation} is not waiting for verification token {nonce}")]
    NotPending {
        /// The conversation it was presented in.
        conversation: ConversationId,
        /// The token's nonce.
        nonce: Nonce,
    },
}

fn display_contact(contact: Option<&ContactId>) -> String {
    contact.map_or_else(|| "nobody (anonymous)".to_owned(), ContactId::to_string)
}

/// Claims that [`TokenIssuer::check_claims`] accepted. Only that check makes one, so holding
/// one proves the signature and expiry were checked: claims from anywhere else cannot be
/// redeemed without a signature
/// ([`ConversationIdentity::redeem_checked`](crate::conversation::ConversationIdentity::redeem_checked)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedClaims(TokenClaims);

impl CheckedClaims {
    /// The claims.
    pub fn claims(&self) -> &TokenClaims {
        &self.0
    }

    pub(crate) fn into_claims(self) -> TokenClaims {
        self.0
    }
}

/// Issues and checks verification-link tokens with one key and one time to live.
#[derive(Debug, Clone)]
pub struct TokenIssuer {
    key: SigningKey,
    ttl: SignedDuration,
    /// A faulty agent's issuer skips the expiry check.
    #[cfg(feature = "faulty-agents")]
    accepts_expired: bool,
}

impl TokenIssuer {
    /// An issuer signing with `key`, whose tokens live [`DEFAULT_LINK_TTL`].
    pub fn new(key: SigningKey) -> Self {
        TokenIssuer {
            key,
            ttl: DEFAULT_LINK_TTL,
            #[cfg(feature = "faulty-agents")]
            accepts_expired: false,
        }
    }

    /// The same issuer, skipping the expiry check: a faulty agent's planted bug, so the
    /// harness's tests can show it is caught. Only with the `faulty-agents` feature.
    #[cfg(feature = "faulty-agents")]
    #[must_use]
    pub fn accepting_expired(self) -> Self {
        TokenIssuer { accepts_expired: true, ..self }
    }

    /// Whether this issuer skips the expiry check (never, without `faulty-agents`).
    fn accepts_expired(&self) -> bool {
        #[cfg(feature = "faulty-agents")]
        return self.accepts_expired;
        #[cfg(not(feature = "faulty-agents"))]
        false
    }

    /// The same issuer with tokens living `ttl`. A zero or negative `ttl`
    /// makes every token expire at once: it fails closed.
    #[must_use]
    pub fn with_ttl(self, ttl: SignedDuration) -> Self {
        TokenIssuer { ttl, ..self }
    }

    /// How long issued tokens stay valid.
    pub fn ttl(&self) -> SignedDuration {
        self.ttl
    }

    /// Signs a token for `contact` in `conversation`, to be mailed to
    /// `address` (the contact's address on record), with a random nonce.
    ///
    /// # Errors
    ///
    /// An [`IssueError`] if the random source fails, the expiry is out of
    /// range, or the token would exceed [`MAX_TOKEN_LEN`].
    pub fn issue(
        &self,
        conversation: &ConversationId,
        contact: ContactId,
        address: &str,
        now: Timestamp,
    ) -> Result<IssuedToken, IssueError> {
        let nonce = Nonce::random().map_err(IssueError::Random)?;
        self.issue_with_nonce(conversation, contact, address, now, nonce)
    }

    /// Like [`issue`](Self::issue) with a given nonce, for reproducible
    /// tokens in tests and seeded runs. The caller must never reuse a nonce
    /// with the same key.
    pub fn issue_with_nonce(
        &self,
        conversation: &ConversationId,
        contact: ContactId,
        address: &str,
        now: Timestamp,
        nonce: Nonce,
    ) -> Result<IssuedToken, IssueError> {
        let expires_at =
            now.checked_add(self.ttl).map_err(|_| IssueError::ExpiryOutOfRange { now, ttl: self.ttl })?;
        let payload = Payload {
            v: TOKEN_VERSION,
            conv: conversation.clone(),
            contact,
            addr: address.to_owned(),
            iat: now,
            exp: expires_at,
            nonce,
        };
        let json = serde_json::to_vec(&payload).map_err(IssueError::Encode)?;
        let payload_segment = URL_SAFE_NO_PAD.encode(json);
        let mac = self.key.mac_over(&payload_segment).finalize().into_bytes();
        let token = format!("{payload_segment}.{}", URL_SAFE_NO_PAD.encode(mac));
        if token.len() > MAX_TOKEN_LEN {
            return Err(IssueError::TooLong { len: token.len() });
        }
        let claims = TokenClaims {
            conversation: payload.conv,
            contact,
            address: payload.addr,
            issued_at: now,
            expires_at,
            nonce,
        };
        Ok(IssuedToken { token, claims })
    }

    /// Checks that `token` was signed by this issuer, is of the current
    /// format version, was issued at or before `now` and has not expired at
    /// `now` (`now >= expires_at` is expired), and returns its claims.
    ///
    /// A `now` before the token was issued is refused
    /// ([`TokenError::NotYetIssued`]): a clock set back must not reopen a link.
    ///
    /// Never panics, whatever the input. Single use and the binding to a
    /// conversation are checked by
    /// [`ConversationIdentity::redeem`](crate::conversation::ConversationIdentity::redeem).
    ///
    /// # Errors
    ///
    /// [`TokenError::Malformed`], [`TokenError::BadSignature`],
    /// [`TokenError::UnsupportedVersion`], [`TokenError::NotYetIssued`] or
    /// [`TokenError::Expired`].
    pub fn check_claims(&self, token: &str, now: Timestamp) -> Result<CheckedClaims, TokenError> {
        self.check(token, now).map(CheckedClaims)
    }

    /// [`TokenIssuer::check_claims`], giving the bare claims.
    ///
    /// # Errors
    ///
    /// As [`TokenIssuer::check_claims`].
    pub fn check(&self, token: &str, now: Timestamp) -> Result<TokenClaims, TokenError> {
        let payload = self.signed_payload(token)?;
        if now < payload.iat {
            return Err(TokenError::NotYetIssued { issued_at: payload.iat });
        }
        // Planted bug `AcceptsExpiredLinks`: the expiry is not checked.
        if now >= payload.exp && !self.accepts_expired() {
            return Err(TokenError::Expired { conversation: payload.conv, expired_at: payload.exp });
        }
        Ok(payload.into_claims())
    }

    /// The claims of a token whose signature and format check, expired or not: what a
    /// faulty agent's link page (planted bug `ShowsDataOnLinkPage`) reads. Only with the
    /// `faulty-agents` feature.
    #[cfg(feature = "faulty-agents")]
    pub fn claims_ignoring_expiry(&self, token: &str) -> Result<TokenClaims, TokenError> {
        self.signed_payload(token).map(Payload::into_claims)
    }

    /// The payload of `token` once its shape, signature and format version check.
    fn signed_payload(&self, token: &str) -> Result<Payload, TokenError> {
        let malformed = |reason| TokenError::Malformed { reason };
        if token.len() > MAX_TOKEN_LEN {
            return Err(malformed("longer than any issued token"));
        }
        let (payload_segment, mac_segment) =
            token.split_once('.').ok_or(malformed("missing the '.' between payload and signature"))?;
        if payload_segment.is_empty() {
            return Err(malformed("empty payload"));
        }
        if mac_segment.contains('.') {
            return Err(malformed("more than one '.'"));
        }

        // The signature first: nothing below reads bytes an attacker chose.
        let mac = URL_SAFE_NO_PAD.decode(mac_segment).map_err(|_| TokenError::BadSignature)?;
        if mac.len() != MAC_LEN {
            return Err(TokenError::BadSignature);
        }
        self.key.mac_over(payload_segment).verify_slice(&mac).map_err(|_| TokenError::BadSignature)?;

        let json = URL_SAFE_NO_PAD
            .decode(payload_segment)
            .map_err(|_| malformed("payload is not url-safe base64"))?;
        let probe: VersionProbe =
            serde_json::from_slice(&json).map_err(|_| malformed("payload has no format version"))?;
        if probe.v != u64::from(TOKEN_VERSION) {
            return Err(TokenError::UnsupportedVersion { version: probe.v });
        }
        serde_json::from_slice(&json).map_err(|_| malformed("payload fields do not parse"))
    }
}

impl Payload {
    fn into_claims(self) -> TokenClaims {
        TokenClaims {
            conversation: self.conv,
            contact: self.contact,
            address: self.addr,
            issued_at: self.iat,
            expires_at: self.exp,
            nonce: self.nonce,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ADDRESS: &str = "ada@example.com";

    fn issuer() -> TokenIssuer {
        TokenIssuer::new(SigningKey::from_bytes(&[7; 32]).unwrap())
    }

    fn start() -> Timestamp {
        "2024-05-01T09:00:00Z".parse().unwrap()
    }

    fn conversation() -> ConversationId {
        ConversationId::from("conv-a")
    }

    fn issued() -> IssuedToken {
        issuer().issue(&conversation(), ContactId(512), ADDRESS, start()).unwrap()
    }

    /// Signs an arbitrary payload segment with the test key, to build tokens
    /// the issuer would never produce.
    fn sign_raw(payload_json: &str) -> String {
        let segment = URL_SAFE_NO_PAD.encode(payload_json);
        let mac = issuer().key.mac_over(&segment).finalize().into_bytes();
        format!("{segment}.{}", URL_SAFE_NO_PAD.encode(mac))
    }

    #[test]
    fn keys_load_from_their_configured_source() {
        let dir = std::env::temp_dir().join(format!("leakproof-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (long, short) = (dir.join("long.key"), dir.join("short.key"));
        std::fs::write(&long, [9_u8; 48]).unwrap();
        std::fs::write(&short, [9_u8; 8]).unwrap();

        let from_file = SigningKey::load(&SigningKeySource::File(long)).unwrap();
        let same = SigningKey::from_bytes(&[9_u8; 48]).unwrap();
        let token =
            TokenIssuer::new(from_file).issue(&conversation(), ContactId(1), ADDRESS, start()).unwrap();
        assert!(TokenIssuer::new(same).check(&token.token, start()).is_ok(), "the file's bytes are the key");

        assert_eq!(
            SigningKey::load(&SigningKeySource::File(short)).unwrap_err(),
            KeyError::TooShort { len: 8 }
        );
        let missing = SigningKey::load(&SigningKeySource::File(dir.join("absent.key"))).unwrap_err();
        assert!(matches!(missing, KeyError::Unavailable { .. }), "{missing}");
        let unset = SigningKeySource::Env("LEAKPROOF_TEST_KEY_THAT_IS_NEVER_SET".to_owned());
        assert!(matches!(SigningKey::load(&unset), Err(KeyError::Unavailable { .. })));
        assert!(SigningKey::load(&SigningKeySource::Ephemeral).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn issued_token_checks_and_returns_its_claims() {
        let issued = issued();
        let claims = issuer().check(&issued.token, start()).unwrap();
        assert_eq!(claims, issued.claims);
        assert_eq!(claims.conversation, conversation());
        assert_eq!(claims.contact, ContactId(512));
        assert_eq!(claims.address, ADDRESS);
        assert_eq!(claims.expires_at, start() + DEFAULT_LINK_TTL);
    }

    #[test]
    fn token_is_a_url_path_segment() {
        let token = issued().token;
        assert!(
            token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'),
            "{token}"
        );
        assert_eq!(token.matches('.').count(), 1);
    }

    #[test]
    fn each_token_gets_a_fresh_nonce() {
        let a = issued();
        let b = issued();
        assert_ne!(a.claims.nonce, b.claims.nonce);
        assert_ne!(a.token, b.token);
    }

    #[test]
    fn token_signed_with_another_key_is_rejected() {
        let other = TokenIssuer::new(SigningKey::from_bytes(&[8; 32]).unwrap());
        let forged = other.issue(&conversation(), ContactId(512), ADDRESS, start()).unwrap();
        assert_eq!(issuer().check(&forged.token, start()), Err(TokenError::BadSignature));
    }

    #[test]
    fn every_single_character_change_is_rejected() {
        let token = issued().token;
        for (index, original) in token.char_indices() {
            for replacement in ['A', 'x', '0', '-', '_', '.'] {
                if replacement == original {
                    continue;
                }
                let mut tampered = token.clone();
                tampered.replace_range(index..=index, &replacement.to_string());
                assert!(
                    issuer().check(&tampered, start()).is_err(),
                    "accepted {tampered} (position {index})"
                );
            }
        }
    }

    #[test]
    fn tampered_payload_is_a_bad_signature() {
        let token = issued().token;
        let mut tampered = token.clone();
        let first = if token.starts_with('e') { "f" } else { "e" };
        tampered.replace_range(0..1, first);
        assert_eq!(issuer().check(&tampered, start()), Err(TokenError::BadSignature));
    }

    #[test]
    fn truncated_tokens_are_rejected() {
        let token = issued().token;
        let dot = token.find('.').unwrap();
        for cut in [0, 1, dot / 2, dot, dot + 1, dot + 10, token.len() - 2, token.len() - 1] {
            let truncated = &token[..cut];
            assert!(issuer().check(truncated, start()).is_err(), "accepted truncation at {cut}");
        }
        // Cutting into the signature is a signature failure, not a shape one.
        assert_eq!(issuer().check(&token[..token.len() - 4], start()), Err(TokenError::BadSignature));
    }

    #[test]
    fn garbage_is_rejected() {
        for garbage in
            ["", ".", "..", "a.b", "not a token", "🦀.🦀", "eyJ2IjoxfQ", "eyJ2IjoxfQ.", ".AAAA", "%2E%2E"]
        {
            assert!(issuer().check(garbage, start()).is_err(), "accepted {garbage:?}");
        }
        let huge = "a".repeat(MAX_TOKEN_LEN + 1);
        assert!(matches!(issuer().check(&huge, start()), Err(TokenError::Malformed { .. })));
    }

    #[test]
    fn expiry_is_exclusive() {
        let issued = issued();
        let expires_at = issued.claims.expires_at;
        let just_before = expires_at - SignedDuration::from_nanos(1);
        assert!(issuer().check(&issued.token, just_before).is_ok());
        assert_eq!(
            issuer().check(&issued.token, expires_at),
            Err(TokenError::Expired {
                conversation: issued.claims.conversation.clone(),
                expired_at: expires_at
            })
        );
        assert!(matches!(
            issuer().check(&issued.token, expires_at + SignedDuration::from_mins(1)),
            Err(TokenError::Expired { .. })
        ));
    }

    #[test]
    fn a_token_opened_before_it_was_issued_is_refused() {
        let issued = issued();
        assert_eq!(issued.claims.issued_at, start());
        assert!(issuer().check(&issued.token, start()).is_ok(), "the issue time itself is fine");
        for earlier in
            [SignedDuration::from_nanos(1), SignedDuration::from_mins(1), SignedDuration::from_hours(48)]
        {
            assert_eq!(
                issuer().check(&issued.token, start() - earlier),
                Err(TokenError::NotYetIssued { issued_at: start() }),
                "{earlier:?} before"
            );
        }
    }

    #[test]
    fn key_files_are_read_only_when_regular_and_small() {
        let dir = tempfile::tempdir().unwrap();
        let large = dir.path().join("large.key");
        std::fs::write(&large, vec![7_u8; usize::try_from(leakproof_config::files::KEY_LIMIT).unwrap() + 1])
            .unwrap();
        let error = SigningKey::load(&SigningKeySource::File(large)).unwrap_err();
        assert!(error.to_string().contains("larger than the limit"), "{error}");
        let directory = SigningKey::load(&SigningKeySource::File(dir.path().to_owned())).unwrap_err();
        assert!(directory.to_string().contains("not a regular file"), "{directory}");
        #[cfg(unix)]
        {
            // A device is refused without being read; /dev/zero would never end.
            let zero = SigningKey::load(&SigningKeySource::File("/dev/zero".into())).unwrap_err();
            assert!(zero.to_string().contains("not a regular file"), "{zero}");
        }
    }

    #[test]
    fn ttl_is_configurable() {
        let short = issuer().with_ttl(SignedDuration::from_secs(30));
        let issued = short.issue(&conversation(), ContactId(512), ADDRESS, start()).unwrap();
        assert_eq!(issued.claims.expires_at, start() + SignedDuration::from_secs(30));
        assert!(matches!(
            short.check(&issued.token, start() + SignedDuration::from_secs(30)),
            Err(TokenError::Expired { .. })
        ));

        let closed = issuer().with_ttl(SignedDuration::ZERO);
        let issued = closed.issue(&conversation(), ContactId(512), ADDRESS, start()).unwrap();
        assert!(matches!(closed.check(&issued.token, start()), Err(TokenError::Expired { .. })));
    }

    #[test]
    fn other_versions_are_rejected_cleanly() {
        let v3 = sign_raw(
            r#"{"v":3,"conv":"conv-a","contact":"512","addr":"a@b","exp":"2030-01-01T00:00:00Z","nonce":"00000000000000000000000000000000","extra":true}"#,
        );
        assert_eq!(issuer().check(&v3, start()), Err(TokenError::UnsupportedVersion { version: 3 }));
        // Version 1 had no issue time: its tokens are of another version now.
        let v1 = sign_raw(
            r#"{"v":1,"conv":"conv-a","contact":"512","addr":"a@b","exp":"2030-01-01T00:00:00Z","nonce":"00000000000000000000000000000000"}"#,
        );
        assert_eq!(issuer().check(&v1, start()), Err(TokenError::UnsupportedVersion { version: 1 }));
        let unversioned = sign_raw(r#"{"conv":"conv-a"}"#);
        assert!(matches!(issuer().check(&unversioned, start()), Err(TokenError::Malformed { .. })));
        let not_json = sign_raw("not json");
        assert!(matches!(issuer().check(&not_json, start()), Err(TokenError::Malformed { .. })));
        let unknown_field = sign_raw(
            r#"{"v":2,"conv":"conv-a","contact":"512","addr":"a@b","iat":"2024-01-01T00:00:00Z","exp":"2030-01-01T00:00:00Z","nonce":"00000000000000000000000000000000","admin":true}"#,
        );
        assert!(matches!(issuer().check(&unknown_field, start()), Err(TokenError::Malformed { .. })));
    }

    #[test]
    fn fixed_nonce_gives_a_reproducible_token() {
        let nonce = Nonce::from_bytes([0xab; 16]);
        let a = issuer().issue_with_nonce(&conversation(), ContactId(512), ADDRESS, start(), nonce).unwrap();
        let b = issuer().issue_with_nonce(&conversation(), ContactId(512), ADDRESS, start(), nonce).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.claims.nonce, nonce);
    }

    #[test]
    fn oversized_claims_are_not_issued() {
        let long_address = "a".repeat(MAX_TOKEN_LEN);
        assert!(matches!(
            issuer().issue(&conversation(), ContactId(512), &long_address, start()),
            Err(IssueError::TooLong { .. })
        ));
    }

    /// The longest token is issued and checked; one character more is neither issued nor read.
    #[test]
    fn a_token_of_exactly_the_longest_length_is_issued_and_checked() {
        let issue = |local: usize| {
            let address = format!("{}@example.com", "a".repeat(local));
            issuer().issue_with_nonce(
                &conversation(),
                ContactId(512),
                &address,
                start(),
                Nonce::from_bytes([7; 16]),
            )
        };
        // Base64 grows by 4 characters per 3 bytes: some address length gives exactly the limit.
        let longest = (1..MAX_TOKEN_LEN)
            .find(|&local| issue(local).is_ok_and(|issued| issued.token.len() == MAX_TOKEN_LEN))
            .expect("an address length whose token is exactly MAX_TOKEN_LEN");
        let issued = issue(longest).unwrap();
        assert!(issuer().check(&issued.token, start()).is_ok());
        assert!(matches!(issue(longest + 3), Err(IssueError::TooLong { len }) if len == MAX_TOKEN_LEN + 4));
        // Longer than any issued token: refused before its signature is computed.
        for extra in ["A", "AAAA"] {
            let longer = format!("{extra}{}", issued.token);
            assert_eq!(
                issuer().check(&longer, start()),
                Err(TokenError::Malformed { reason: "longer than any issued token" })
            );
        }
    }

    /// A faulty agent's issuer skips the expiry check and nothing else; its link page reads
    /// the claims of any token whose signature checks, expired or not.
    #[cfg(feature = "faulty-agents")]
    #[test]
    fn a_faulty_issuer_accepts_expired_tokens_and_still_refuses_forged_ones() {
        let issued = issuer().issue(&conversation(), ContactId(512), ADDRESS, start()).unwrap();
        let later =
            start().checked_add(DEFAULT_LINK_TTL).unwrap().checked_add(SignedDuration::from_secs(1)).unwrap();
        assert!(matches!(issuer().check(&issued.token, later), Err(TokenError::Expired { .. })));
        let faulty = issuer().accepting_expired();
        assert_eq!(faulty.ttl(), issuer().ttl(), "only the expiry check changes");
        assert_eq!(faulty.check(&issued.token, later), Ok(issued.claims.clone()));
        assert_eq!(issuer().claims_ignoring_expiry(&issued.token), Ok(issued.claims.clone()));
        let forged = format!("{}A", issued.token);
        assert!(faulty.check(&forged, later).is_err());
        assert!(issuer().claims_ignoring_expiry(&forged).is_err());
        assert!(
            faulty.check(&issued.token, start().checked_sub(SignedDuration::from_secs(1)).unwrap()).is_err()
        );
    }

    #[test]
    fn expiry_overflow_is_an_error() {
        assert!(matches!(
            issuer().issue(&conversation(), ContactId(512), ADDRESS, Timestamp::MAX),
            Err(IssueError::ExpiryOutOfRange { .. })
        ));
    }

    #[test]
    fn short_keys_are_rejected() {
        assert_eq!(SigningKey::from_bytes(&[1; 31]).unwrap_err(), KeyError::TooShort { len: 31 });
        assert!(SigningKey::from_bytes(&[1; 32]).is_ok());
        assert!(SigningKey::from_bytes(&[1; 100]).is_ok());
        assert!(SigningKey::from_bytes(&[]).is_err());
    }

    #[test]
    fn debug_never_prints_the_key() {
        let key = SigningKey::from_bytes(&[0x5a; 32]).unwrap();
        let shown = format!("{key:?} {:?}", TokenIssuer::new(key.clone()));
        assert!(!shown.contains("90, 90"), "{shown}"); // 0x5a as decimal
        assert!(!shown.contains("5a"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn random_keys_differ() {
        let conversation = conversation();
        let a = TokenIssuer::new(SigningKey::random().unwrap());
        let b = TokenIssuer::new(SigningKey::random().unwrap());
        let issued = a.issue(&conversation, ContactId(1), ADDRESS, start()).unwrap();
        assert!(a.check(&issued.token, start()).is_ok());
        assert_eq!(b.check(&issued.token, start()), Err(TokenError::BadSignature));
    }

    #[test]
    fn nonce_shows_and_parses_as_hex() {
        let nonce = Nonce::from_bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 255]);
        assert_eq!(nonce.to_string(), "000102030405060708090a0b0c0d0eff");
        assert_eq!(format!("{nonce:?}"), "Nonce(000102030405060708090a0b0c0d0eff)");
        assert_eq!(nonce.to_string().parse::<Nonce>().unwrap(), nonce);
        // Either case, every digit: A-F are 10-15 as a-f are.
        let upper =
            Nonce::from_bytes([0xab, 0xcd, 0xef, 0xfa, 0xbc, 0xde, 0x0a, 0xf0, 1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!("ABCDEFFABCDE0AF00102030405060708".parse::<Nonce>().unwrap(), upper);
        assert_eq!("abcdeffabcde0af00102030405060708".parse::<Nonce>().unwrap(), upper);
        for bad in [
            "",
            "00",
            "+00102030405060708090a0b0c0d0eff",
            "g00102030405060708090a0b0c0d0ef",
            "é0102030405060708090a0b0c0d0eff",
        ] {
            assert!(bad.parse::<Nonce>().is_err(), "{bad}");
        }
    }

    #[test]
    fn error_messages_read_well() {
        let error = TokenError::WrongContact { claimed: ContactId(1), current: None };
        assert_eq!(
            error.to_string(),
            "verification token is for contact 1, but the conversation's current contact is nobody (anonymous)"
        );
        assert_eq!(
            KeyError::TooShort { len: 3 }.to_string(),
            "signing key is 3 bytes long, at least 32 are required"
        );
    }

    proptest! {
        #[test]
        fn check_never_panics_on_arbitrary_text(text in any::<String>()) {
            let _ = issuer().check(&text, start());
        }

        #[test]
        fn check_rejects_token_shaped_noise(
            payload in "[A-Za-z0-9_-]{0,200}",
            mac in "[A-Za-z0-9_-]{0,60}",
        ) {
            let token = format!("{payload}.{mac}");
            prop_assert!(issuer().check(&token, start()).is_err());
        }

        #[test]
        fn any_mutation_of_a_valid_token_is_rejected(
            edits in proptest::collection::vec((any::<proptest::sample::Index>(), 0_u8..3, any::<char>()), 1..4),
        ) {
            let issued = issued();
            let mut bytes: Vec<char> = issued.token.chars().collect();
            for (at, kind, ch) in edits {
                match kind {
                    0 if !bytes.is_empty() => {
                        let i = at.index(bytes.len());
                        bytes[i] = ch;
                    }
                    1 => {
                        let i = at.index(bytes.len() + 1);
                        bytes.insert(i, ch);
                    }
                    _ if !bytes.is_empty() => {
                        let i = at.index(bytes.len());
                        bytes.remove(i);
                    }
                    _ => {}
                }
            }
            let mutated: String = bytes.into_iter().collect();
            prop_assume!(mutated != issued.token);
            prop_assert!(issuer().check(&mutated, start()).is_err(), "accepted {}", mutated);
        }
    }
}
