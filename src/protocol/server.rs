//! The reference agent behind the HTTP protocol (axum): sessions, messages, and the verification-link endpoint.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use serde::Deserialize;
use url::Url;

use super::{AgentReply, AgentResponse, CustomerMessage, StartSession};
use crate::agent::{Agent, AgentSettings};
use crate::clock::{Clock, SystemClock};
use crate::config::AgentConfig;
use crate::crm::CrmSettings;
use crate::identity::ConversationId;
use crate::identity::token::SigningKey;
use crate::mail::MailSettings;

/// The header (or `now` query parameter) with which a harness tells the
/// verification endpoint what time it is, so expiry can be tested.
pub const NOW_HEADER: &str = "x-leakproof-now";

/// How the server builds each session's agent.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// The configuration for sessions that send none.
    pub default_config: Option<AgentConfig>,
    /// Where the server is reachable; links are `{public_url}v1/sessions/{id}/verify/{token}`.
    pub public_url: Url,
    /// The bearer token for the CRM.
    pub crm_token: String,
    /// The bearer token for the mail service.
    pub mail_token: String,
    /// The transactional email template of the verification mail.
    pub email_id: i64,
    /// How long one CRM or mail request may take before the agent gives up on
    /// it (each retry gets as long again).
    pub backend_timeout: std::time::Duration,
}

struct Session {
    agent: Agent,
    /// The latest time the harness told this session, for opening links.
    now: Mutex<Option<Timestamp>>,
}

struct ServerState {
    options: ServerOptions,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    /// The planted bug of every session's agent, when the server serves a faulty agent.
    #[cfg(feature = "faulty-agents")]
    bug: Option<crate::agent::faulty::Bug>,
    /// What a faulty agent remembers beyond a session: one memory for every session served.
    #[cfg(feature = "faulty-agents")]
    memory: crate::agent::faulty::Memory,
}

impl ServerState {
    fn agent(&self, settings: AgentSettings) -> Result<Agent, crate::agent::AgentError> {
        #[cfg(feature = "faulty-agents")]
        if let Some(bug) = self.bug {
            return Ok(Agent::with_bug(settings, bug)?.with_memory(self.memory.clone()));
        }
        Agent::new(settings)
    }
}

/// The protocol's routes, ready to serve.
pub fn router(options: ServerOptions) -> Router {
    routes(ServerState {
        options,
        sessions: Mutex::default(),
        #[cfg(feature = "faulty-agents")]
        bug: None,
        #[cfg(feature = "faulty-agents")]
        memory: crate::agent::faulty::Memory::default(),
    })
}

/// The protocol's routes, serving the reference agent with `bug` planted: an
/// external agent with a known flaw, for the harness's own tests. Its sessions
/// share one [`Memory`](crate::agent::faulty::Memory), fresh for each router.
#[cfg(feature = "faulty-agents")]
pub fn faulty_router(options: ServerOptions, bug: crate::agent::faulty::Bug) -> Router {
    routes(ServerState {
        options,
        sessions: Mutex::default(),
        bug: Some(bug),
        memory: crate::agent::faulty::Memory::default(),
    })
}

fn routes(state: ServerState) -> Router {
    let state = Arc::new(state);
    Router::new()
        .route("/v1/sessions", post(start_session))
        .route("/v1/sessions/{session_id}/messages", post(message))
        .route("/v1/sessions/{session_id}/verify/{token}", get(verify))
        .with_state(state)
}

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

async fn start_session(
    State(state): State<Arc<ServerState>>,
    body: Result<Json<StartSession>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(start) = match body {
        Ok(body) => body,
        Err(rejection) => return problem(StatusCode::BAD_REQUEST, rejection.body_text()),
    };
    let config = match &start.config {
        Some(json) => match crate::config::from_yaml_str("session config", &json.to_string()) {
            Ok(config) => config,
            Err(error) => return problem(StatusCode::BAD_REQUEST, error.to_string()),
        },
        None => match &state.options.default_config {
            Some(config) => config.clone(),
            None => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    "no configuration: send `config` or start the server with --config",
                );
            }
        },
    };
    let mut config = config;
    let session_path = format!("v1/sessions/{}/", start.session_id);
    config.verification.public_base_url = match state.options.public_url.join(&session_path) {
        Ok(url) => url,
        Err(error) => return problem(StatusCode::BAD_REQUEST, format!("invalid session id: {error}")),
    };
    let signing_key = match SigningKey::load(&config.verification.signing_key) {
        Ok(key) => key,
        Err(error) => return problem(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    };
    let settings = AgentSettings {
        config,
        crm: CrmSettings {
            timeout: state.options.backend_timeout,
            ..CrmSettings::new(start.crm_base_url, state.options.crm_token.clone())
        },
        mail: MailSettings {
            timeout: state.options.backend_timeout,
            ..MailSettings::new(start.mail_base_url, state.options.mail_token.clone(), state.options.email_id)
        },
        signing_key,
    };
    let agent = match state.agent(settings) {
        Ok(agent) => agent,
        Err(error) => return problem(StatusCode::BAD_REQUEST, error.to_string()),
    };
    let session = Arc::new(Session { agent, now: Mutex::new(start.now) });
    lock(&state.sessions).insert(start.session_id, session);
    StatusCode::NO_CONTENT.into_response()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn session(state: &ServerState, id: &str) -> Option<Arc<Session>> {
    lock(&state.sessions).get(id).cloned()
}

async fn message(
    State(state): State<Arc<ServerState>>,
    Path(session_id): Path<String>,
    body: Result<Json<CustomerMessage>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(message) = match body {
        Ok(body) => body,
        Err(rejection) => return problem(StatusCode::BAD_REQUEST, rejection.body_text()),
    };
    let Some(session) = session(&state, &session_id) else {
        return problem(
            StatusCode::NOT_FOUND,
            format!("no session {session_id}: start it with POST /v1/sessions"),
        );
    };
    let now = message.now.unwrap_or_else(|| SystemClock.now());
    *lock(&session.now) = Some(now);
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
    let Some(session) = session(&state, &session_id) else {
        return (StatusCode::NOT_FOUND, Html(page("This link can't be used: its session is over.")))
            .into_response();
    };
    let told = headers
        .get(NOW_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<Timestamp>().ok())
        .or(query.now);
    let now = told.or(*lock(&session.now)).unwrap_or_else(|| SystemClock.now());
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
