//! Errors of a configuration that cannot be used, each naming file, line, column and setting.

use std::fmt;
use std::path::PathBuf;

/// A line and column in a source file, both counted from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// The line, from 1.
    pub line: usize,
    /// The column in characters, from 1.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One thing wrong with a configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// The file (or other source) the configuration came from.
    pub source: String,
    /// Where in the source, when known.
    pub position: Option<Position>,
    /// The setting, as a path: `properties[3].view.protection`.
    pub setting: String,
    /// What is wrong, in lowercase.
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(position) => write!(f, "{}:{position}: ", self.source)?,
            None => write!(f, "{}: ", self.source)?,
        }
        write!(f, "{}: {}", self.setting, self.message)
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("failed to read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file was read, but its content is not a usable configuration.
    #[error("{}", DisplayIssues(.0))]
    Invalid(Vec<Issue>),
}

impl ConfigError {
    /// The issues found, empty for a read error.
    pub fn issues(&self) -> &[Issue] {
        match self {
            ConfigError::Read { .. } => &[],
            ConfigError::Invalid(issues) => issues,
        }
    }
}

struct DisplayIssues<'a>(&'a [Issue]);

impl fmt::Display for DisplayIssues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, issue) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{issue}")?;
        }
        Ok(())
    }
}
