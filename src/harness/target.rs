//! The agent under test: the reference agent in process, or any agent speaking the HTTP protocol.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use reqwest::StatusCode;
use url::Url;

use crate::agent::{Agent, Compiled, Visitor};
use crate::config::{AgentConfig, Channel};
use crate::crm::{CrmSettings, HttpClient, RetryPolicy, Sleeper};
use crate::identity::{ConversationId, SigningKey};
use crate::mail::MailSettings;
use crate::mocks::Mocks;
use crate::protocol::{AgentResponse, CustomerMessage, StartSession};

/// Which agent a run tests.
#[derive(Clone, Debug, Default)]
pub enum Target {
    /// The reference agent, in this process (the fast path).
    #[default]
    Reference,
    /// An agent behind the HTTP protocol at this base URL.
    Remote(Url),
    /// A reference agent with a planted bug, for the harness's own tests. Build it with
    /// [`Target::faulty`].
    #[cfg(feature = "faulty-agents")]
    Faulty {
        /// The planted bug.
        bug: crate::agent::faulty::Bug,
        /// What the agent remembers beyond a session
        /// ([`CarriesIntoNextSession`](crate::agent::faulty::Bug::CarriesIntoNextSession)):
        /// shared by every session this target starts, and by its clones.
        memory: crate::agent::faulty::Memory,
    },
}

#[cfg(feature = "faulty-agents")]
impl Target {
    /// A reference agent with `bug` planted, with a fresh memory that all its sessions share.
    pub fn faulty(bug: crate::agent::faulty::Bug) -> Target {
        Target::Faulty { bug, memory: crate::agent::faulty::Memory::default() }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Reference => f.write_str("the reference agent (in process)"),
            Target::Remote(url) => write!(f, "the agent at {url}"),
            #[cfg(feature = "faulty-agents")]
            Target::Faulty { bug, .. } => write!(f, "the faulty agent `{bug:?}`"),
        }
    }
}

impl Target {
    /// Whether the agent is known to answer the same world the same way every time: only the
    /// in-process reference agent. Any other agent's determinism is tested before the twin
    /// check trusts a difference (its base world is run twice).
    pub fn known_deterministic(&self) -> bool {
        matches!(self, Target::Reference)
    }

    /// The same agent, remembering nothing of the sessions it served before (a faulty agent's
    /// memory starts empty); an agent over HTTP is what it is.
    pub fn renewed(&self) -> Target {
        #[cfg(feature = "faulty-agents")]
        if let Target::Faulty { bug, .. } = self {
            return Target::faulty(*bug);
        }
        self.clone()
    }

    /// Whether runs against this agent get the twin check unless told otherwise: the agents in
    /// this process, whose replays cost microseconds. An agent over HTTP gets it with `--twin`.
    pub fn twin_by_default(&self) -> bool {
        !matches!(self, Target::Remote(_))
    }
}

/// The agent's answer to one message.
#[derive(Clone, Debug, Default)]
pub struct Answer {
    /// Its messages.
    pub replies: Vec<String>,
    /// Its decision events, if it reports any.
    pub events: Option<Vec<serde_json::Value>>,
}

/// What opening a link gave.
#[derive(Clone, Debug)]
pub struct Opened {
    /// The HTTP status (in process: 200 when verified, 410 when not).
    pub status: u16,
    /// The page's text.
    pub message: String,
}

/// One agent, started for one run of one scenario.
pub enum Session {
    /// In process.
    Local(Box<Agent>),
    /// Over HTTP.
    Remote {
        /// The client, with a timeout per request.
        client: reqwest::Client,
        /// The agent's base URL.
        base: Url,
        /// The session started for this run.
        session_id: String,
    },
}

impl Drop for Session {
    /// A remote session is ended with `DELETE /v1/sessions/{id}`, so the agent frees it: sent
    /// in the background on the current runtime (none, nothing is sent; the agent's idle
    /// timeout ends the session then). An agent that answers 404 or 405 keeps no sessions to
    /// end, which fails nothing; the answer is only logged at debug level.
    fn drop(&mut self) {
        let Session::Remote { client, base, session_id } = self else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let Ok(url) = join(base, &format!("v1/sessions/{session_id}")) else { return };
        let client = client.clone();
        runtime.spawn(async move {
            match client.delete(url.clone()).send().await {
                Ok(response) => tracing::debug!(%url, status = %response.status(), "ended the session"),
                Err(error) => tracing::debug!(%url, %error, "failed to end the session"),
            }
        });
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

/// How long the harness waits for an agent over HTTP to answer one request.
const REMOTE_TIMEOUT: Duration = Duration::from_secs(30);

/// Settings of the in-process agent: quick retries, so fault scenarios stay fast.
/// The clients of an in-process reference agent served by `mocks`: short timeouts and
/// backoff, since the mocks answer at once or fail on purpose.
fn reference_clients(mocks: &Mocks) -> (CrmSettings, MailSettings) {
    let retry = RetryPolicy {
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        ..RetryPolicy::default()
    };
    let crm = CrmSettings {
        timeout: Duration::from_millis(750),
        retry: retry.clone(),
        ..CrmSettings::new(mocks.crm.base_url(), mocks.crm.token())
    };
    let mail = MailSettings {
        timeout: Duration::from_millis(750),
        retry,
        ..MailSettings::new(mocks.mail.base_url(), mocks.mail.token(), 1)
    };
    (crm, mail)
}

thread_local! {
    /// The configuration this thread compiled last: a harness runs one world several times
    /// (the twin check's replays) and many worlds of one configuration (a scenario suite).
    static COMPILED: std::cell::RefCell<Option<Compiled>> = const { std::cell::RefCell::new(None) };
}

/// An in-process reference agent for `config`, served by `mocks`, its configuration compiled
/// once per thread and configuration.
fn local_agent(config: &AgentConfig, mocks: &Mocks, http: &HttpClient) -> Result<Agent, String> {
    let (crm, mail) = reference_clients(mocks);
    let signing_key = SigningKey::random().map_err(|e| format!("no signing key: {e}"))?;
    let compiled = COMPILED.with_borrow_mut(|cached| match cached {
        Some(compiled) if compiled.config() == config => Ok(compiled.clone()),
        _ => {
            let compiled = Compiled::new(config).map_err(|e| e.to_string())?.remembering();
            *cached = Some(compiled.clone());
            Ok::<_, String>(compiled)
        }
    })?;
    Agent::with_compiled(&compiled, crm, mail, signing_key, http).map_err(|e| e.to_string())
}

impl Session {
    /// Starts the agent of `target` for a fresh world served by `mocks`; an
    /// in-process agent sends with `http`.
    pub async fn start(
        target: &Target,
        session_id: &str,
        config: &AgentConfig,
        mocks: &Mocks,
        http: &HttpClient,
        now: Timestamp,
    ) -> Result<Session, String> {
        match target {
            Target::Reference => {
                let agent = local_agent(config, mocks, http)?;
                Ok(Session::Local(Box::new(agent.with_sleeper(Arc::new(NoBackoff)))))
            }
            #[cfg(feature = "faulty-agents")]
            Target::Faulty { bug, memory } => {
                let agent = local_agent(config, mocks, http)?.plant(*bug).with_memory(memory.clone());
                Ok(Session::Local(Box::new(agent.with_sleeper(Arc::new(NoBackoff)))))
            }
            Target::Remote(base) => {
                let client = reqwest::Client::builder()
                    .timeout(REMOTE_TIMEOUT)
                    .build()
                    .map_err(|e| format!("no HTTP client: {e}"))?;
                let config = serde_json::to_value(config).map_err(|e| e.to_string())?;
                let body = StartSession {
                    session_id: session_id.to_owned(),
                    config: Some(config),
                    crm_base_url: mocks.crm.base_url(),
                    mail_base_url: mocks.mail.base_url(),
                    now: Some(now),
                };
                let url = join(base, "v1/sessions")?;
                let response =
                    client.post(url.clone()).json(&body).send().await.map_err(|e| describe(&url, &e))?;
                if !response.status().is_success() {
                    return Err(format!("{url} answered {} to the session start", response.status()));
                }
                Ok(Session::Remote { client, base: base.clone(), session_id: session_id.to_owned() })
            }
        }
    }

    /// Sends one customer message.
    pub async fn say(
        &self,
        conversation: &str,
        channel: Channel,
        visitor: &Visitor,
        text: &str,
        now: Timestamp,
    ) -> Result<Answer, String> {
        match self {
            Session::Local(agent) => {
                let turn =
                    agent.handle(&ConversationId::from(conversation), channel, visitor, text, now).await;
                let events = turn.events.iter().map(serde_json::to_value).collect::<Result<Vec<_>, _>>();
                Ok(Answer { replies: turn.replies, events: events.ok() })
            }
            Session::Remote { client, base, session_id } => {
                let url = join(base, &format!("v1/sessions/{session_id}/messages"))?;
                let body = CustomerMessage {
                    conversation_id: conversation.to_owned(),
                    channel,
                    visitor: visitor.clone(),
                    text: text.to_owned(),
                    now: Some(now),
                };
                let response =
                    client.post(url.clone()).json(&body).send().await.map_err(|e| describe(&url, &e))?;
                let status = response.status();
                if status != StatusCode::OK {
                    return Err(format!("{url} answered {status}"));
                }
                let bytes = response.bytes().await.map_err(|e| describe(&url, &e))?;
                // Events are the agent's own business: keep them as JSON, whatever their shape.
                let answer: AgentResponse<serde_json::Value> = serde_json::from_slice(&bytes)
                    .map_err(|e| format!("{url} answered a body that is not the protocol's response: {e}"))?;
                let events = (!answer.events.is_empty()).then_some(answer.events);
                Ok(Answer { replies: answer.replies.into_iter().map(|r| r.text).collect(), events })
            }
        }
    }

    /// Opens a verification link as the customer's browser would.
    pub async fn open_link(&self, link: &Url, now: Timestamp) -> Result<Opened, String> {
        match self {
            Session::Local(agent) => {
                let token = link.path_segments().and_then(|mut s| s.next_back()).unwrap_or_default();
                let outcome = agent.open_link(token, now).await;
                Ok(Opened { status: if outcome.verified { 200 } else { 410 }, message: outcome.message })
            }
            Session::Remote { client, .. } => {
                let response = client
                    .get(link.clone())
                    .header("x-leakproof-now", now.to_string())
                    .send()
                    .await
                    .map_err(|e| describe(link, &e))?;
                let status = response.status().as_u16();
                let message = response.text().await.unwrap_or_default();
                Ok(Opened { status, message })
            }
        }
    }
}

fn join(base: &Url, path: &str) -> Result<Url, String> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base.join(path).map_err(|e| format!("{base} does not take the path {path}: {e}"))
}

fn describe(url: &Url, error: &reqwest::Error) -> String {
    if error.is_timeout() {
        format!("{url} did not answer within {}s", REMOTE_TIMEOUT.as_secs())
    } else if error.is_connect() {
        format!("could not connect to {url}")
    } else {
        format!("{url}: {error}")
    }
}

/// `link` with one character of its token (the last path segment) changed.
pub fn tamper(link: &Url) -> Url {
    let mut link = link.clone();
    let token = link.path_segments().and_then(|mut s| s.next_back()).unwrap_or_default().to_owned();
    let mut chars: Vec<char> = token.chars().collect();
    let middle = chars.len() / 2;
    if let Some(c) = chars.get_mut(middle) {
        *c = if *c == 'A' { 'B' } else { 'A' };
    }
    let tampered: String = chars.into_iter().collect();
    if let Ok(mut segments) = link.path_segments_mut() {
        segments.pop().push(&tampered);
    }
    link
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tampering_changes_exactly_one_character_of_the_token() {
        let link: Url = "http://127.0.0.1:8080/v1/sessions/s/verify/abcDEF.ghi".parse().unwrap();
        let tampered = tamper(&link);
        assert_eq!(tampered.as_str(), "http://127.0.0.1:8080/v1/sessions/s/verify/abcDEA.ghi");
        let link: Url = "http://x/verify/AAAA".parse().unwrap();
        assert_eq!(tamper(&link).as_str(), "http://x/verify/AABA");
    }

    #[test]
    fn paths_join_under_the_base_whether_or_not_it_ends_with_a_slash() {
        for base in ["http://h:1/agent", "http://h:1/agent/"] {
            let base: Url = base.parse().unwrap();
            assert_eq!(join(&base, "v1/sessions").unwrap().as_str(), "http://h:1/agent/v1/sessions");
        }
    }
}
