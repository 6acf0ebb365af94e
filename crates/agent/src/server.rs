//! The reference agent behind the HTTP protocol (axum): sessions, messages, and the verification-link endpoint.
//!
//! Every session's agent shares the server's one HTTP client (one connection
//! pool, no TLS setup per session). A session is refused before anything is
//! sent when it names a backend the server does not trust
//! ([`ServerOptions::trusted_backends`]); sessions end on `DELETE`, after
//! [`ServerOptions::idle_timeout`] without a request (measured on the server's
//! own monotonic clock, never the client's `now`), and there are never more
//! than [`ServerOptions::max_sessions`] at once.
//!
//! The reference server ([`router`]) answers:
//!
//! - 400 for a body or id it cannot use, 413 for a body over 2 MB;
//! - 403 for a session naming a CRM or mail service it does not trust with its
//!   credentials ([`TrustedBackends`]: loopback unless told otherwise);
//! - 404 for an unknown session, also one ended by `DELETE` or idle longer than
//!   its idle timeout;
//! - 409 for a session id already live;
//! - 503 with `Retry-After` when it already holds as many sessions as it may.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use serde::Deserialize;
use url::Url;

use crate::trust::{TrustedBackends, Untrusted};
use crate::{Agent, AgentSettings};
use leakproof_config::clock::{Clock, SystemClock};
use leakproof_config::{AgentConfig, SigningKeySource};
use leakproof_hubspot::crm::{CrmSettings, HttpClient};
use leakproof_hubspot::mail::MailSettings;
use leakproof_identity::ConversationId;
use leakproof_identity::token::SigningKey;
use leakproof_protocol::{AgentReply, AgentResponse, CustomerMessage, StartSession, check_session_id};

/// The header (or `now` query parameter) with which a harness tells the
/// verification endpoint what time it is, so expiry can be tested.
pub const NOW_HEADER: &str = "x-leakproof-now";

/// How many sessions a server holds at once unless told otherwise: a session
/// costs tens of kilobytes, so this stays within a few hundred megabytes.
pub const DEFAULT_MAX_SESSIONS: usize = 10_000;

/// How long a session lives without a request unless told otherwise: well past
/// the default link lifetime, so a customer who opens the mailed link late
/// still finds the session.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// How the server builds each session's agent.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// The configuration for sessions that send none.
    pub default_config: Option<AgentConfig>,
    /// Where the server is reachable; links are `{public_url}v1/sessions/{id}/verify/{token}`.
    pub public_url: Url,
    /// The bearer token for the CRM, for sessions whose start names none.
    pub crm_token: String,
    /// The bearer token for the mail service, for sessions whose start names none.
    pub mail_token: String,
    /// The transactional email template of the verification mail.
    pub email_id: i64,
    /// How long one CRM or mail request may take before the agent gives up on
    /// it (each retry gets as long again).
    pub backend_timeout: Duration,
    /// The key signing the links of sessions that send no configuration, loaded
    /// once from the server's own configuration. `None`: every session gets a
    /// fresh random key. Sessions that send their own configuration always do:
    /// a session cannot name the server's files or environment variables.
    pub signing_key: Option<SigningKey>,
    /// The backends a session may name: the server sends its tokens nowhere else.
    pub trusted_backends: TrustedBackends,
    /// The most sessions held at once; one more is answered 503.
    pub max_sessions: usize,
    /// How long a session lives without a request.
    pub idle_timeout: Duration,
}

impl ServerOptions {
    /// Options for a server reachable at `public_url`: no default configuration, the mocks'
    /// token for both backends, template 1, 5 s per backend request, fresh keys, loopback
    /// backends only, [`DEFAULT_MAX_SESSIONS`] and [`DEFAULT_IDLE_TIMEOUT`].
    pub fn new(public_url: Url) -> ServerOptions {
        ServerOptions {
            default_config: None,
            public_url,
            crm_token: leakproof_hubspot::DEFAULT_TOKEN.to_owned(),
            mail_token: leakproof_hubspot::DEFAULT_TOKEN.to_owned(),
            email_id: 1,
            backend_timeout: Duration::from_secs(5),
            signing_key: None,
            trusted_backends: TrustedBackends::default(),
            max_sessions: DEFAULT_MAX_SESSIONS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

/// What a session's clock says, and when it was last used.
struct SessionClock {
    /// The latest time this session was told (or took from the system clock): times only move
    /// forward from it.
    latest: Option<Timestamp>,
    /// When the session last served a request, on the server's monotonic clock.
    last_active: Instant,
}

struct Session {
    agent: Agent,
    clock: Mutex<SessionClock>,
}

impl Session {
    /// The time to act at: `told`, or (when the client says nothing) what `untold` makes of the
    /// session's latest time; recorded as the session's latest. Marks the session active.
    ///
    /// # Errors
    ///
    /// The session's latest time, when `told` is earlier: its clock never runs backwards.
    fn advance(
        &self,
        told: Option<Timestamp>,
        untold: impl FnOnce(Option<Timestamp>) -> Timestamp,
    ) -> Result<Timestamp, Timestamp> {
        let mut clock = lock(&self.clock);
        clock.last_active = Instant::now();
        let now = match (told, clock.latest) {
            (Some(told), Some(latest)) if told < latest => return Err(latest),
            (Some(told), _) => told,
            (None, latest) => {
                let now = untold(latest);
                latest.map_or(now, |latest| latest.max(now))
            }
        };
        clock.latest = Some(now);
        Ok(now)
    }

    fn idle_for(&self) -> Duration {
        lock(&self.clock).last_active.elapsed()
    }
}

struct ServerState {
    options: ServerOptions,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    /// The one client every session's agent sends with.
    http: Result<HttpClient, String>,
    /// The planted bug of every session's agent, when the server serves a faulty agent.
    #[cfg(feature = "faulty-agents")]
    bug: Option<crate::faulty::Bug>,
    /// What a faulty agent remembers beyond a session: one memory for every session served.
    #[cfg(feature = "faulty-agents")]
    memory: crate::faulty::Memory,
}

impl ServerState {
    fn new(options: ServerOptions) -> ServerState {
        ServerState {
            options,
            sessions: Mutex::default(),
            http: HttpClient::new().map_err(|error| error.to_string()),
            #[cfg(feature = "faulty-agents")]
            bug: None,
            #[cfg(feature = "faulty-agents")]
            memory: crate::faulty::Memory::default(),
        }
    }

    fn agent(&self, settings: AgentSettings) -> Result<Agent, String> {
        let http = self.http.as_ref().map_err(|error| format!("no HTTP client: {error}"))?;
        #[cfg(feature = "faulty-agents")]
        if let Some(bug) = self.bug {
            return Ok(Agent::with_bug_and_http(settings, bug, http)
                .map_err(|error| error.to_string())?
                .with_memory(self.memory.clone()));
        }
        Agent::with_http(settings, http).map_err(|error| error.to_string())
    }

    /// The live session `id`; a session idle too long is ended here.
    fn session(&self, id: &str) -> Option<Arc<Session>> {
        let mut sessions = lock(&self.sessions);
        let session = sessions.get(id)?;
        if session.idle_for() >= self.options.idle_timeout {
            sessions.remove(id);
            return None;
        }
        Some(Arc::clone(session))
    }
}

/// The protocol's routes, ready to serve.
pub fn router(options: ServerOptions) -> Router {
    routes(ServerState::new(options))
}

/// The protocol's routes, serving the reference agent with `bug` planted: an
/// external agent with a known flaw, for the harness's own tests. Its sessions
/// share one [`Memory`](crate::faulty::Memory), fresh for each router.
#[cfg(feature = "faulty-agents")]
pub fn faulty_router(options: ServerOptions, bug: crate::faulty::Bug) -> Router {
    routes(ServerState { bug: Some(bug), ..ServerState::new(options) })
}

fn routes(state: ServerState) -> Router {
    let state = Arc::new(state);
    Router::new()
        .route("/v1/sessions", post(start_session))
        .route("/v1/sessions/{session_id}", delete(end_session))
        .route("/v1/sessions/{session_id}/messages", post(message))
        .route("/v1/sessions/{session_id}/verify/{token}", get(verify))
        .with_state(state)
}

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

/// A body that is not what the route takes: 400, or the rejection's own status (413 for a
/// body over the limit, 415 for one that is not JSON).
fn rejected(rejection: &JsonRejection) -> Response {
    problem(rejection.status(), rejection.body_text())
}

async fn start_session(
    State(state): State<Arc<ServerState>>,
    body: Result<Json<StartSession>, JsonRejection>,
) -> Response {
    let Json(start) = match body {
        Ok(body) => body,
        Err(rejection) => return rejected(&rejection),
    };
    if let Err(rule) = check_session_id(&start.session_id) {
        return problem(StatusCode::BAD_REQUEST, rule);
    }
    // Before anything else is done with them: the server's tokens go to trusted hosts only.
    for (role, url) in [("CRM", &start.crm_base_url), ("mail", &start.mail_base_url)] {
        if let Err(refusal) = state.options.trusted_backends.check(role, url) {
            let status = match refusal {
                Untrusted::Scheme { .. } => StatusCode::BAD_REQUEST,
                Untrusted::Host { .. } => StatusCode::FORBIDDEN,
            };
            return problem(status, refusal.to_string());
        }
    }
    // A live id or a full server is refused before the configuration is compiled, so
    // refused starts cost the server next to nothing.
    if let Err(refusal) = admit(&state, &mut lock(&state.sessions), &start.session_id) {
        return *refusal;
    }
    let (mut config, server_key) = match &start.config {
        Some(json) => match leakproof_config::from_yaml_str("session config", &json.to_string()) {
            Ok(config) => (config, None),
            Err(error) => return problem(StatusCode::BAD_REQUEST, error.to_string()),
        },
        None => match &state.options.default_config {
            Some(config) => (config.clone(), state.options.signing_key.clone()),
            None => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "no configuration: send `config` or start the server with --config",
                );
            }
        },
    };
    if start.config.is_some() && config.verification.signing_key != SigningKeySource::Ephemeral {
        return problem(
            StatusCode::BAD_REQUEST,
            "a session's configuration cannot name a signing key (verification.signing_key must be \
             `ephemeral` or left out): a session that sends its own configuration gets a fresh key, \
             and the server's own key comes from its --config",
        );
    }
    let session_path = format!("v1/sessions/{}/", start.session_id);
    config.verification.public_base_url = match state.options.public_url.join(&session_path) {
        Ok(url) => url,
        Err(error) => return problem(StatusCode::BAD_REQUEST, format!("invalid session id: {error}")),
    };
    let signing_key = match server_key.map_or_else(SigningKey::random, Ok) {
        Ok(key) => key,
        Err(error) => return problem(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    };
    let settings = AgentSettings {
        config,
        crm: CrmSettings {
            timeout: state.options.backend_timeout,
            ..CrmSettings::new(
                start.crm_base_url,
                start.crm_token.unwrap_or_else(|| state.options.crm_token.clone()),
            )
        },
        mail: MailSettings {
            timeout: state.options.backend_timeout,
            ..MailSettings::new(
                start.mail_base_url,
                start.mail_token.unwrap_or_else(|| state.options.mail_token.clone()),
                state.options.email_id,
            )
        },
        signing_key,
    };
    let agent = match state.agent(settings) {
        Ok(agent) => agent,
        Err(error) => return problem(StatusCode::BAD_REQUEST, error),
    };
    let session = Arc::new(Session {
        agent,
        clock: Mutex::new(SessionClock { latest: start.now, last_active: Instant::now() }),
    });
    let mut sessions = lock(&state.sessions);
    // Checked again under the lock that inserts: another start may have taken the id or
    // the last place while this one compiled.
    if let Err(refusal) = admit(&state, &mut sessions, &start.session_id) {
        return *refusal;
    }
    sessions.insert(start.session_id, session);
    StatusCode::NO_CONTENT.into_response()
}

/// Whether a session `id` may start now: idle sessions are ended first, then a live id is
/// a 409 and a full server a 503 with `Retry-After`.
fn admit(
    state: &ServerState,
    sessions: &mut HashMap<String, Arc<Session>>,
    id: &str,
) -> Result<(), Box<Response>> {
    let idle_timeout = state.options.idle_timeout;
    sessions.retain(|_, session| session.idle_for() < idle_timeout);
    if sessions.contains_key(id) {
        return Err(Box::new(problem(
            StatusCode::CONFLICT,
            format!(
                "session {id} is already live: choose another id, or end it first with DELETE /v1/sessions/{id}"
            ),
        )));
    }
    if sessions.len() >= state.options.max_sessions {
        // The soonest a session can time out and free its place.
        let soonest = sessions.values().map(|s| idle_timeout.saturating_sub(s.idle_for())).min();
        let seconds = soonest.unwrap_or(idle_timeout).as_secs().saturating_add(1);
        let mut response = problem(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the server holds {} sessions, as many as it may: end one with DELETE /v1/sessions/{{id}} \
                 or try again later",
                sessions.len()
            ),
        );
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Err(Box::new(response));
    }
    Ok(())
}

async fn end_session(State(state): State<Arc<ServerState>>, Path(session_id): Path<String>) -> Response {
    if let Err(rule) = check_session_id(&session_id) {
        return problem(StatusCode::BAD_REQUEST, rule);
    }
    match lock(&state.sessions).remove(&session_id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => problem(StatusCode::NOT_FOUND, format!("no session {session_id}")),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

async fn message(
    State(state): State<Arc<ServerState>>,
    Path(session_id): Path<String>,
    body: Result<Json<CustomerMessage>, JsonRejection>,
) -> Response {
    let Json(message) = match body {
        Ok(body) => body,
        Err(rejection) => return rejected(&rejection),
    };
    if let Err(rule) = check_session_id(&session_id) {
        return problem(StatusCode::BAD_REQUEST, rule);
    }
    let Some(session) = state.session(&session_id) else {
        return problem(
            StatusCode::NOT_FOUND,
            format!(
                "no session {session_id} (never started, ended, or idle too long): start it with POST /v1/sessions"
            ),
        );
    };
    // Untold, the system clock: the agent's own time, but never before the session's latest.
    let now = match session.advance(message.now, |_| SystemClock.now()) {
        Ok(now) => now,
        Err(latest) => return problem(StatusCode::BAD_REQUEST, backwards(message.now, latest)),
    };
    let turn = session
        .agent
        .handle(
            &ConversationId(message.conversation_id),
            message.channel,
            &message.visitor,
            &message.text,
            now,
        )
        .await;
    Json(AgentResponse {
        replies: turn.replies.into_iter().map(|text| AgentReply { text }).collect(),
        events: turn.events,
    })
    .into_response()
}

fn backwards(told: Option<Timestamp>, latest: Timestamp) -> String {
    let told = told.map(|t| t.to_string()).unwrap_or_default();
    format!(
        "time {told} is earlier than this session's latest time {latest}: a session's clock never runs backwards"
    )
}

#[derive(Deserialize)]
struct VerifyQuery {
    now: Option<Timestamp>,
}

async fn verify(
    State(state): State<Arc<ServerState>>,
    Path((session_id, token)): Path<(String, String)>,
    Query(query): Query<VerifyQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(session) = state.session(&session_id) else {
        return (StatusCode::NOT_FOUND, Html(page("This link can't be used: its session is over.")))
            .into_response();
    };
    let told = match headers.get(NOW_HEADER) {
        Some(value) => match value.to_str().ok().and_then(|value| value.parse::<Timestamp>().ok()) {
            Some(told) => Some(told),
            None => {
                let message =
                    format!("This link can't be opened: the {NOW_HEADER} header is not a timestamp.");
                return (StatusCode::BAD_REQUEST, Html(page(&message))).into_response();
            }
        },
        None => query.now,
    };
    // Untold, the session's latest time (the last message's) stands; the system clock without one.
    let now = match session.advance(told, |latest| latest.unwrap_or_else(|| SystemClock.now())) {
        Ok(now) => now,
        Err(latest) => {
            let message = format!("This link can't be opened at that time: {}.", backwards(told, latest));
            return (StatusCode::BAD_REQUEST, Html(page(&message))).into_response();
        }
    };
    let outcome = session.agent.open_link(&token, now).await;
    let status = if outcome.verified { StatusCode::OK } else { StatusCode::GONE };
    (status, Html(page(&outcome.message))).into_response()
}

fn page(message: &str) -> String {
    let escaped = message.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Verification</title></head><body><p>{escaped}</p></body></html>"
    )
}
