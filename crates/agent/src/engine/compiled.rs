//! A configuration compiled once for any number of agents: its policy, its understander and, for a harness, a memo of what messages meant.

use std::sync::{Arc, Mutex};

use crate::understand::{Intent, Understander};
use leakproof_config::{AgentConfig, ConfigError};
use leakproof_policy::Policy;

/// A configuration compiled for agents: its policy and the understander built on it.
/// Compiling costs tens of microseconds; agents of one configuration can share one.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub(super) config: Arc<AgentConfig>,
    pub(super) policy: Arc<Policy>,
    pub(super) understander: Arc<Understander>,
    pub(super) memo: Option<Arc<Memo>>,
}

impl Compiled {
    /// Compiles `config`.
    pub fn new(config: &AgentConfig) -> Result<Compiled, ConfigError> {
        let policy = Policy::compile(config)?;
        let understander = Understander::new(&policy);
        Ok(Compiled {
            config: Arc::new(config.clone()),
            policy: Arc::new(policy),
            understander: Arc::new(understander),
            memo: None,
        })
    }

    /// These compiled rules, remembering what each message read meant (up to
    /// [`Memo::CAPACITY`] messages, then forgetting them all): for a harness that replays one
    /// conversation several times. What a message means depends on its text alone, so the
    /// agents built on it answer exactly as without.
    pub fn remembering(self) -> Compiled {
        Compiled { memo: Some(Arc::default()), ..self }
    }

    /// The configuration compiled.
    pub fn config(&self) -> &AgentConfig {
        &self.config
    }
}

/// What messages meant, by their text, for [`Compiled::remembering`].
#[derive(Debug, Default)]
pub struct Memo(Mutex<rustc_hash::FxHashMap<Box<str>, Vec<Intent>>>);

impl Memo {
    /// How many messages a memo holds before it forgets them all.
    pub const CAPACITY: usize = 4096;

    /// What `text` means: remembered, or understood now and remembered.
    pub(super) fn read(&self, understander: &Understander, text: &str) -> Vec<Intent> {
        if let Some(intents) = self.0.lock().unwrap_or_else(|e| e.into_inner()).get(text) {
            return intents.clone();
        }
        let intents = understander.understand(text);
        let mut memo = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if memo.len() >= Memo::CAPACITY {
            memo.clear();
        }
        memo.insert(text.into(), intents.clone());
        intents
    }
}
