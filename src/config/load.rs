//! Reading a configuration from YAML, with every error placed at its file, line, column and setting.

use std::path::Path;

use super::validate::problems;
use super::{AgentConfig, ConfigError, SigningKeySource};
use crate::yaml::{Document, Problem};

/// Parses and validates the configuration in `document`.
pub fn parse(document: &Document) -> Result<AgentConfig, ConfigError> {
    let config: AgentConfig = document.parse()?;
    let found = problems(&config);
    if found.is_empty() { Ok(config) } else { Err(document.place(found)) }
}

/// Loads and validates the configuration in the file at `path`.
pub fn load_file(path: impl AsRef<Path>) -> Result<AgentConfig, ConfigError> {
    parse(&Document::read(path.as_ref())?)
}

/// Loads and validates a configuration from YAML (or JSON) text; `name`
/// appears in error messages where a file name would.
pub fn from_yaml_str(name: &str, text: &str) -> Result<AgentConfig, ConfigError> {
    parse(&Document::new(name, text))
}

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
        let checked = crate::files::stat(path).and_then(|metadata| {
            if !metadata.is_file() {
                crate::files::read_regular(path, crate::files::KEY_LIMIT).map(|_| ())
            } else if metadata.len() > crate::files::KEY_LIMIT {
                Err(crate::files::ReadError::TooLarge { limit: crate::files::KEY_LIMIT })
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
    crate::identity::token::SigningKey::load(source)
        .map(drop)
        .map_err(|error| document.place(vec![Problem::new("verification.signing_key", error.to_string())]))
}
