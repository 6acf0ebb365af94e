//! Reading a configuration from YAML, with every error placed at its file, line, column and setting.

use std::path::Path;

use super::validate::problems;
use super::{AgentConfig, ConfigError};
use crate::yaml::Document;

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
