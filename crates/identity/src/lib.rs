//! Who a customer has proven to be in a conversation, and the signed, single-use verification-link tokens that prove it.
//!
//! - [`conversation`]: a conversation's identity as a state machine (anonymous,
//!   matched by a typed address or a channel, verified by an opened link).
//! - [`token`]: signing keys and the HMAC-signed tokens verification links carry.
//!
//! The identity values the policy decides on ([`Identity`], [`ContactId`]) are
//! the policy crate's, re-exported here.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod conversation;
pub mod token;

use leakproof_config::yaml::Problem;
use leakproof_config::{AgentConfig, ConfigError, Document, SigningKeySource};

pub use conversation::{ConversationIdentity, IdentitySource, StartVerificationError, Transition};
pub use leakproof_policy::identity::{ContactId, ContactIdError, ConversationId, Identity};
pub use token::{CheckedClaims, IssuedToken, Nonce, SigningKey, TokenClaims, TokenError, TokenIssuer};

/// Checks that the signing key `config` names can be loaded now, as `leakproof
/// agent serve` will load it: the environment variable is set and holds a
/// long enough base64 key, or the file is a regular file holding one (a
/// relative path is read from the current directory). An error is placed at
/// `verification.signing_key` in `document`.
///
/// Loading a configuration does not do this (a scenario's configuration is
/// never given its key, and reading files it names is not a loader's
/// business); `leakproof config check` does.
pub fn check_signing_key(config: &AgentConfig, document: &Document) -> Result<(), ConfigError> {
    let source = &config.verification.signing_key;
    if let SigningKeySource::File(path) = source {
        // Refused here before it is read: a FIFO would block the read, a device never end it.
        let checked = leakproof_config::files::stat(path).and_then(|metadata| {
            if !metadata.is_file() {
                leakproof_config::files::read_regular(path, leakproof_config::files::KEY_LIMIT).map(|_| ())
            } else if metadata.len() > leakproof_config::files::KEY_LIMIT {
                Err(leakproof_config::files::ReadError::TooLarge {
                    limit: leakproof_config::files::KEY_LIMIT,
                })
            } else {
                Ok(())
            }
        });
        if let Err(error) = checked {
            let message = format!("failed to load the signing key from file {}: {error}", path.display());
            return Err(document.place(vec![Problem::new("verification.signing_key", message)]));
        }
    }
    if matches!(source, SigningKeySource::Ephemeral) {
        return Ok(());
    }
    SigningKey::load(source)
        .map(drop)
        .map_err(|error| document.place(vec![Problem::new("verification.signing_key", error.to_string())]))
}
