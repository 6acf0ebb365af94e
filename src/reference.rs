//! The reference agent in this process as an agent under test, and, for the harness's own tests, the faulty agents.
//!
//! This is where the command line joins the two sides the workspace keeps
//! apart: the harness knows agents only through [`AgentUnderTest`], and this
//! module implements it for [`leakproof_agent::Agent`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use url::Url;

use leakproof_agent::{Agent, Compiled};
use leakproof_config::AgentConfig;
use leakproof_harness::target::{
    AgentSession, AgentUnderTest, Answer, Message, Opened, SessionStart, Target, TargetError,
};
use leakproof_hubspot::crm::{CrmSettings, RetryPolicy, Sleeper};
use leakproof_hubspot::mail::MailSettings;
use leakproof_identity::{ConversationId, SigningKey};

/// The reference agent, in this process (the fast path).
pub fn target() -> Target {
    Target::new(Reference)
}

/// A reference agent with `bug` planted, with a fresh memory that all its sessions (and the
/// target's clones) share.
#[cfg(feature = "faulty-agents")]
pub fn faulty(bug: leakproof_agent::faulty::Bug) -> Target {
    Target::new(Faulty { bug, memory: leakproof_agent::faulty::Memory::default() })
}

/// The reference agent in this process.
struct Reference;

#[async_trait]
impl AgentUnderTest for Reference {
    fn name(&self) -> String {
        "the reference agent (in process)".to_owned()
    }

    /// The reference agent answers the same world the same way every time.
    fn known_deterministic(&self) -> bool {
        true
    }

    fn twin_by_default(&self) -> bool {
        true
    }

    async fn start(&self, start: SessionStart<'_>) -> Result<Box<dyn AgentSession>, TargetError> {
        Ok(Box::new(Local(local_agent(&start)?)))
    }
}

/// A reference agent with a planted bug.
#[cfg(feature = "faulty-agents")]
struct Faulty {
    /// The planted bug.
    bug: leakproof_agent::faulty::Bug,
    /// What the agent remembers beyond a session
    /// ([`CarriesIntoNextSession`](leakproof_agent::faulty::Bug::CarriesIntoNextSession)).
    memory: leakproof_agent::faulty::Memory,
}

#[cfg(feature = "faulty-agents")]
#[async_trait]
impl AgentUnderTest for Faulty {
    fn name(&self) -> String {
        format!("the faulty agent `{:?}`", self.bug)
    }

    fn twin_by_default(&self) -> bool {
        true
    }

    fn renewed(&self) -> Option<Target> {
        Some(faulty(self.bug))
    }

    async fn start(&self, start: SessionStart<'_>) -> Result<Box<dyn AgentSession>, TargetError> {
        let agent = local_agent(&start)?.plant(self.bug).with_memory(self.memory.clone());
        Ok(Box::new(Local(agent)))
    }
}

/// A session of an agent in this process.
struct Local(Agent);

#[async_trait]
impl AgentSession for Local {
    async fn say(&self, message: Message<'_>) -> Result<Answer, TargetError> {
        let conversation = ConversationId::from(message.conversation);
        let turn =
            self.0.handle(&conversation, message.channel, message.visitor, message.text, message.now).await;
        let events = turn.events.iter().map(serde_json::to_value).collect::<Result<Vec<_>, _>>();
        Ok(Answer { replies: turn.replies, events: events.ok() })
    }

    async fn open_link(&self, link: &Url, now: Timestamp) -> Result<Opened, TargetError> {
        let token = link.path_segments().and_then(|mut s| s.next_back()).unwrap_or_default();
        let outcome = self.0.open_link(token, now).await;
        Ok(Opened { status: if outcome.verified { 200 } else { 410 }, message: outcome.message })
    }
}

/// Retries without waiting: the harness's clock is injected, so the in-process
/// agent makes every attempt its retry policy allows, without spending real
/// time between them.
struct NoBackoff;

impl Sleeper for NoBackoff {
    fn sleep(&self, _delay: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::task::yield_now())
    }
}

/// The clients of an in-process reference agent served by the mocks: short timeouts and
/// backoff, since the mocks answer at once or fail on purpose.
fn reference_clients(start: &SessionStart<'_>) -> (CrmSettings, MailSettings) {
    let retry = RetryPolicy {
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        ..RetryPolicy::default()
    };
    let crm = CrmSettings {
        timeout: Duration::from_millis(750),
        retry: retry.clone(),
        ..CrmSettings::new(start.crm.base_url.clone(), start.crm.token)
    };
    let mail = MailSettings {
        timeout: Duration::from_millis(750),
        retry,
        ..MailSettings::new(start.mail.base_url.clone(), start.mail.token, 1)
    };
    (crm, mail)
}

thread_local! {
    /// The configuration this thread compiled last: a harness runs one world several times
    /// (the twin check's replays) and many worlds of one configuration (a scenario suite).
    static COMPILED: std::cell::RefCell<Option<Compiled>> = const { std::cell::RefCell::new(None) };
}

/// An in-process reference agent for the session's configuration, sending to the mocks with
/// the session's in-process transport, its configuration compiled once per thread and
/// configuration.
fn local_agent(start: &SessionStart<'_>) -> Result<Agent, TargetError> {
    let (crm, mail) = reference_clients(start);
    let in_process = |error: String| TargetError::InProcess(error.into());
    let signing_key = SigningKey::random().map_err(|e| in_process(format!("no signing key: {e}")))?;
    let compiled = compiled(start.config).map_err(|e| in_process(e.to_string()))?;
    let agent = Agent::with_compiled(&compiled, crm, mail, signing_key, start.http)
        .map_err(|e| in_process(e.to_string()))?;
    Ok(agent.with_sleeper(Arc::new(NoBackoff)))
}

fn compiled(config: &AgentConfig) -> Result<Compiled, leakproof_config::ConfigError> {
    COMPILED.with_borrow_mut(|cached| match cached {
        Some(compiled) if compiled.config() == config => Ok(compiled.clone()),
        _ => {
            let compiled = Compiled::new(config)?.remembering();
            *cached = Some(compiled.clone());
            Ok(compiled)
        }
    })
}
