//! The agent under test, behind one trait: the harness drives every agent through [`AgentUnderTest`], and speaks the HTTP protocol to any agent at a URL ([`Target::remote`]).
//!
//! The harness never links an agent: an agent in the caller's process (the
//! `leakproof` command line's reference agent) comes in as an implementation
//! of the trait, so nothing here can read an agent's state or call its code.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use reqwest::StatusCode;
use url::Url;

use leakproof_config::{AgentConfig, Channel};
use leakproof_hubspot::crm::HttpClient;
use leakproof_protocol::{AgentResponse, CustomerMessage, StartSession, Visitor};

/// An agent the harness can test: it starts one session per scenario run.
///
/// Implement it for an agent in this process; [`Target::remote`] implements it
/// for any agent speaking the HTTP protocol.
#[async_trait]
pub trait AgentUnderTest: Send + Sync + 'static {
    /// How reports name the agent: "the agent at http://…".
    fn name(&self) -> String;

    /// Whether the agent is known to answer the same world the same way every time. Any
    /// other agent's determinism is tested before the twin check trusts a difference (its
    /// base world is run twice).
    fn known_deterministic(&self) -> bool {
        false
    }

    /// Whether runs against this agent get the twin check unless told otherwise: worth it
    /// when a replay costs microseconds, as in process.
    fn twin_by_default(&self) -> bool {
        false
    }

    /// The same agent, remembering nothing of the sessions it served before; `None` when
    /// it is what it is (an agent over HTTP).
    fn renewed(&self) -> Option<Target> {
        None
    }

    /// Whether the agent is given one base URL for the CRM and the mail service (HubSpot
    /// serves both from one host): its worlds serve both mocks on one server.
    fn single_host(&self) -> bool {
        false
    }

    /// The base URL of an agent over HTTP, for the command that replays a failure.
    fn url(&self) -> Option<&Url> {
        None
    }

    /// Starts a session for one run on a fresh world.
    async fn start(&self, start: SessionStart<'_>) -> Result<Box<dyn AgentSession>, TargetError>;
}

/// One agent's session, started for one run of one scenario. Dropping it ends the session.
#[async_trait]
pub trait AgentSession: Send + Sync {
    /// Sends one customer message.
    async fn say(&self, message: Message<'_>) -> Result<Answer, TargetError>;

    /// Opens a verification link as the customer's browser would.
    async fn open_link(&self, link: &Url, now: Timestamp) -> Result<Opened, TargetError>;
}

/// What a session starts with: a fresh world the mocks serve.
#[derive(Clone, Copy)]
pub struct SessionStart<'a> {
    /// The id the session is known by; conversation ids begin with it.
    pub session_id: &'a str,
    /// The admin's configuration the agent must enforce.
    pub config: &'a AgentConfig,
    /// The mock CRM.
    pub crm: Backend<'a>,
    /// The mock mail service.
    pub mail: Backend<'a>,
    /// A transport to both mocks in this process, with no socket: an agent in this process
    /// sends with it (a URL that is not the mocks' fails instead of reaching the network).
    pub http: &'a HttpClient,
    /// The harness's clock at the start.
    pub now: Timestamp,
}

/// A service the agent must use: where it is and the bearer token it accepts.
#[derive(Clone, Copy, Debug)]
pub struct Backend<'a> {
    /// Its base URL, on loopback.
    pub base_url: &'a Url,
    /// The bearer token it accepts.
    pub token: &'a str,
}

/// One customer message.
#[derive(Clone, Copy, Debug)]
pub struct Message<'a> {
    /// The conversation it belongs to.
    pub conversation: &'a str,
    /// The channel it came on.
    pub channel: Channel,
    /// What the channel says about who is writing.
    pub visitor: &'a Visitor,
    /// What the customer wrote.
    pub text: &'a str,
    /// The harness's clock when it was sent.
    pub now: Timestamp,
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

/// Why the agent under test could not be driven.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The harness could not build its HTTP client.
    #[error("no HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The agent's base URL does not take a protocol path.
    #[error("{base} does not take the path {path}: {source}")]
    Path {
        /// The base URL.
        base: Url,
        /// The path.
        path: String,
        /// Why.
        #[source]
        source: url::ParseError,
    },
    /// The agent did not answer in time.
    #[error("{url} did not answer within {}s", timeout.as_secs())]
    Timeout {
        /// What was asked.
        url: Url,
        /// How long the harness waited.
        timeout: Duration,
    },
    /// Nothing listens at the agent's URL.
    #[error("could not connect to {url}")]
    Connect {
        /// What was asked.
        url: Url,
    },
    /// Any other failure of the exchange.
    #[error("{url}: {source}")]
    Http {
        /// What was asked.
        url: Url,
        /// Why it failed.
        #[source]
        source: reqwest::Error,
    },
    /// The agent refused to start the session.
    #[error("{url} answered {status} to the session start")]
    Refused {
        /// What was asked.
        url: Url,
        /// Its answer.
        status: StatusCode,
    },
    /// The agent answered a message with a status other than 200.
    #[error("{url} answered {status}")]
    Status {
        /// What was asked.
        url: Url,
        /// Its answer.
        status: StatusCode,
    },
    /// The agent's answer is not the protocol's response.
    #[error("{url} answered a body that is not the protocol's response: {source}")]
    Body {
        /// What was asked.
        url: Url,
        /// Why it is not.
        #[source]
        source: serde_json::Error,
    },
    /// The configuration could not be written as JSON.
    #[error("the configuration cannot be sent: {0}")]
    Config(#[source] serde_json::Error),
    /// An agent in this process failed; its own error, as it says it.
    #[error("{0}")]
    InProcess(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Which agent a run tests: a cheap handle, shared by every run and clone.
#[derive(Clone)]
pub struct Target(Arc<dyn AgentUnderTest>);

impl Target {
    /// The agent `agent`.
    pub fn new(agent: impl AgentUnderTest) -> Target {
        Target(Arc::new(agent))
    }

    /// An agent behind the HTTP protocol at this base URL.
    pub fn remote(base: Url) -> Target {
        Target::new(Remote { base, single_host: false })
    }

    /// An agent behind the HTTP protocol at this base URL, given one base URL for both
    /// mocks (see [`AgentUnderTest::single_host`]).
    pub fn remote_single_host(base: Url) -> Target {
        Target::new(Remote { base, single_host: true })
    }

    /// See [`AgentUnderTest::single_host`].
    pub fn single_host(&self) -> bool {
        self.0.single_host()
    }

    /// See [`AgentUnderTest::known_deterministic`].
    pub fn known_deterministic(&self) -> bool {
        self.0.known_deterministic()
    }

    /// See [`AgentUnderTest::twin_by_default`].
    pub fn twin_by_default(&self) -> bool {
        self.0.twin_by_default()
    }

    /// The same agent, remembering nothing of the sessions it served before (an agent over
    /// HTTP is what it is).
    pub fn renewed(&self) -> Target {
        self.0.renewed().unwrap_or_else(|| self.clone())
    }

    /// The base URL of an agent over HTTP.
    pub fn url(&self) -> Option<&Url> {
        self.0.url()
    }

    /// Starts a session for one run.
    pub async fn start(&self, start: SessionStart<'_>) -> Result<Box<dyn AgentSession>, TargetError> {
        self.0.start(start).await
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.name())
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Target").field(&self.0.name()).finish()
    }
}

/// How long the harness waits for an agent over HTTP to answer one request.
const REMOTE_TIMEOUT: Duration = Duration::from_secs(30);

/// An agent behind the HTTP protocol.
struct Remote {
    base: Url,
    /// Whether its worlds serve both mocks on one base URL.
    single_host: bool,
}

#[async_trait]
impl AgentUnderTest for Remote {
    fn name(&self) -> String {
        format!("the agent at {}", self.base)
    }

    fn url(&self) -> Option<&Url> {
        Some(&self.base)
    }

    fn single_host(&self) -> bool {
        self.single_host
    }

    async fn start(&self, start: SessionStart<'_>) -> Result<Box<dyn AgentSession>, TargetError> {
        let client =
            reqwest::Client::builder().timeout(REMOTE_TIMEOUT).build().map_err(TargetError::Client)?;
        let config = serde_json::to_value(start.config).map_err(TargetError::Config)?;
        let body = StartSession {
            session_id: start.session_id.to_owned(),
            config: Some(config),
            crm_base_url: start.crm.base_url.clone(),
            crm_token: Some(start.crm.token.to_owned()),
            mail_base_url: start.mail.base_url.clone(),
            mail_token: Some(start.mail.token.to_owned()),
            now: Some(start.now),
        };
        let url = join(&self.base, "v1/sessions")?;
        let response = client.post(url.clone()).json(&body).send().await.map_err(|e| describe(&url, e))?;
        if !response.status().is_success() {
            return Err(TargetError::Refused { url, status: response.status() });
        }
        Ok(Box::new(RemoteSession {
            client,
            base: self.base.clone(),
            session_id: start.session_id.to_owned(),
        }))
    }
}

/// A session of an agent over HTTP.
struct RemoteSession {
    /// The client, with a timeout per request.
    client: reqwest::Client,
    /// The agent's base URL.
    base: Url,
    /// The session started for this run.
    session_id: String,
}

#[async_trait]
impl AgentSession for RemoteSession {
    async fn say(&self, message: Message<'_>) -> Result<Answer, TargetError> {
        let url = join(&self.base, &format!("v1/sessions/{}/messages", self.session_id))?;
        let body = CustomerMessage {
            conversation_id: message.conversation.to_owned(),
            channel: message.channel,
            visitor: message.visitor.clone(),
            text: message.text.to_owned(),
            now: Some(message.now),
        };
        let response =
            self.client.post(url.clone()).json(&body).send().await.map_err(|e| describe(&url, e))?;
        let status = response.status();
        if status != StatusCode::OK {
            return Err(TargetError::Status { url, status });
        }
        let bytes = response.bytes().await.map_err(|e| describe(&url, e))?;
        // Events are the agent's own business: keep them as JSON, whatever their shape.
        let answer: AgentResponse<serde_json::Value> =
            serde_json::from_slice(&bytes).map_err(|source| TargetError::Body { url, source })?;
        let events = (!answer.events.is_empty()).then_some(answer.events);
        Ok(Answer { replies: answer.replies.into_iter().map(|r| r.text).collect(), events })
    }

    async fn open_link(&self, link: &Url, now: Timestamp) -> Result<Opened, TargetError> {
        let response = self
            .client
            .get(link.clone())
            .header("x-leakproof-now", now.to_string())
            .send()
            .await
            .map_err(|e| describe(link, e))?;
        let status = response.status().as_u16();
        let message = response.text().await.unwrap_or_default();
        Ok(Opened { status, message })
    }
}

impl Drop for RemoteSession {
    /// A remote session is ended with `DELETE /v1/sessions/{id}`, so the agent frees it: sent
    /// in the background on the current runtime (none, nothing is sent; the agent's idle
    /// timeout ends the session then). An agent that answers 404 or 405 keeps no sessions to
    /// end, which fails nothing; the answer is only logged at debug level.
    fn drop(&mut self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let Ok(url) = join(&self.base, &format!("v1/sessions/{}", self.session_id)) else { return };
        let client = self.client.clone();
        runtime.spawn(async move {
            match client.delete(url.clone()).send().await {
                Ok(response) => tracing::debug!(%url, status = %response.status(), "ended the session"),
                Err(error) => tracing::debug!(%url, %error, "failed to end the session"),
            }
        });
    }
}

fn join(base: &Url, path: &str) -> Result<Url, TargetError> {
    let mut base = base.clone();
    if !base.path().ends_with('/') {
        base.set_path(&format!("{}/", base.path()));
    }
    base.join(path).map_err(|source| TargetError::Path { base, path: path.to_owned(), source })
}

fn describe(url: &Url, error: reqwest::Error) -> TargetError {
    let url = url.clone();
    if error.is_timeout() {
        TargetError::Timeout { url, timeout: REMOTE_TIMEOUT }
    } else if error.is_connect() {
        TargetError::Connect { url }
    } else {
        TargetError::Http { url, source: error }
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
