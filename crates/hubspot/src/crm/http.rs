//! The HTTP layer both HubSpot clients share: bearer auth, per-attempt timeouts, bounded retries, bounded body reads, correlation ids.
//!
//! Requests go over the network (reqwest), or, from an
//! [`HttpClient::in_process`] client, to an [`Exchange`] in this process;
//! everything around the sending (URLs, headers, timeouts, retries, body
//! limits, error classification) is the same for both.
//!
//! Nothing here logs or keeps the token outside the (sensitive) header value,
//! and nothing logs a request or response body.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER, USER_AGENT};
use serde::de::DeserializeOwned;
use url::Url;

use crate::crm::error::{Endpoint, HttpError};
use crate::crm::exchange::{Exchange, ExchangeRequest};
use crate::crm::retry::{RetryPolicy, Sleeper, TokioSleeper, parse_retry_after};
use crate::crm::wire::ErrorBody;

/// HubSpot's public API, for settings that talk to the real service.
pub const HUBSPOT_API_BASE_URL: &str = "https://api.hubapi.com";

/// The header HubSpot puts its correlation id in; it matches the body's `correlationId`.
pub const CORRELATION_ID_HEADER: &str = "x-hubspot-correlation-id";

/// The default per-attempt timeout. Long enough for a HubSpot search (usually
/// well under a second), short enough that three attempts still fit a chat turn.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest response body read. A record or a send status is a few KiB;
/// 4 MiB leaves room for records with many properties and associations while
/// a broken or hostile server cannot exhaust memory.
pub(crate) const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The `user-agent` the clients send.
const USER_AGENT_VALUE: &str = concat!("leakproof/", env!("CARGO_PKG_VERSION"));

/// The `accept` header the clients send: HubSpot answers JSON.
const ACCEPT_VALUE: &str = "application/json";

/// The HTTP methods the clients use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    Post,
    Patch,
}

impl Verb {
    fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::Post => "POST",
            Verb::Patch => "PATCH",
        }
    }

    fn method(self) -> reqwest::Method {
        match self {
            Verb::Get => reqwest::Method::GET,
            Verb::Post => reqwest::Method::POST,
            Verb::Patch => reqwest::Method::PATCH,
        }
    }
}

/// One request to make (and to repeat, on retry).
pub(crate) struct ApiRequest<'a> {
    /// The method.
    pub(crate) verb: Verb,
    /// Path segments below the base URL, each percent-encoded as needed.
    pub(crate) segments: &'a [&'a str],
    /// Query pairs, in order; a key may repeat.
    pub(crate) query: &'a [(&'a str, &'a str)],
    /// A JSON body, already serialised.
    pub(crate) body: Option<Vec<u8>>,
}

impl ApiRequest<'_> {
    /// The call as errors and logs name it.
    pub(crate) fn endpoint(&self) -> Endpoint {
        Endpoint { method: self.verb.as_str(), path: format!("/{}", self.segments.join("/")) }
    }
}

/// Serialises a request body, for [`ApiRequest::body`].
pub(crate) fn json_body<T: serde::Serialize>(
    verb: Verb,
    segments: &[&str],
    value: &T,
) -> Result<Vec<u8>, HttpError> {
    serde_json::to_vec(value).map_err(|error| HttpError::InvalidRequest {
        endpoint: ApiRequest { verb, segments, query: &[], body: None }.endpoint(),
        detail: error.to_string(),
    })
}

/// A successful (2xx) response, read in full.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The call that produced it.
    pub(crate) endpoint: Endpoint,
    /// HubSpot's correlation id, from the header.
    pub(crate) correlation_id: Option<String>,
    /// The body.
    body: Vec<u8>,
}

impl Reply {
    /// Parses the whole body as `T`; anything less is [`HttpError::Malformed`].
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(self.malformed("the body is empty".to_owned()));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&self.body);
        let value = serde_path_to_error::deserialize(&mut deserializer)
            .map_err(|error| self.malformed(describe_json_error(error.path().to_string(), error.inner())))?;
        deserializer.end().map_err(|error| self.malformed(describe_json_error(String::new(), &error)))?;
        Ok(value)
    }

    /// A [`HttpError::Malformed`] for this reply.
    pub(crate) fn malformed(&self, detail: String) -> HttpError {
        HttpError::Malformed {
            endpoint: self.endpoint.clone(),
            correlation_id: self.correlation_id.clone(),
            detail,
        }
    }
}

/// Says where a body went wrong without quoting any of it: serde's messages
/// for wrong types quote the offending value, which may be a property value.
fn describe_json_error(path: String, error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {}, column {}", error.line(), error.column());
    match error.classify() {
        Category::Eof => format!("the body ends early, at {at}: truncated json"),
        Category::Syntax => format!("the body is not valid json, at {at}"),
        Category::Io => "failed to read the body".to_owned(),
        Category::Data => {
            let message = error.to_string();
            let field_problem = ["missing field", "duplicate field"]
                .iter()
                .any(|prefix| message.starts_with(prefix))
                .then(|| message.split(" at line ").next().unwrap_or_default().to_owned());
            let path =
                if path.is_empty() || path == "." { "the body".to_owned() } else { format!("`{path}`") };
            match field_problem {
                Some(problem) => format!("{path}: {problem}, at {at}"),
                None => format!("{path} has the wrong type or form, at {at}"),
            }
        }
    }
}

/// Why one attempt failed, and whether another may follow.
struct Failure {
    error: HttpError,
    retry: Retry,
}

/// Whether and when a failed attempt may be repeated.
enum Retry {
    /// Final: a 4xx other than a retryable 429, or a malformed success.
    Never,
    /// A 5xx or transport failure: exponential backoff.
    Backoff,
    /// A 429: after this long, if within `max_retry_after`.
    After(Duration),
}

/// The HTTP client both HubSpot clients send with: JSON accepted, redirects
/// never followed, leakproof's user agent.
///
/// Building one costs milliseconds (TLS roots are loaded), so build it once
/// and share it: clones are cheap and share one connection pool. Build a
/// [`Crm`](crate::crm::Crm) or a [`Mailer`](crate::mail::Mailer) on it with
/// their `with_http` constructors.
///
/// [`HttpClient::in_process`] builds one that sends nothing over the network:
/// every request goes to an [`Exchange`] in this process.
#[derive(Clone, Debug)]
pub struct HttpClient(Backend);

/// Where an [`HttpClient`] sends requests.
#[derive(Clone, Debug)]
enum Backend {
    /// Over HTTP.
    Network(reqwest::Client),
    /// To an exchange in this process.
    InProcess(Arc<dyn Exchange>),
}

impl HttpClient {
    /// Builds the client.
    ///
    /// Fails with [`HttpError::InvalidSettings`] only if the TLS backend
    /// cannot be set up.
    pub fn new() -> Result<HttpClient, HttpError> {
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_VALUE));
        let client = reqwest::Client::builder()
            .default_headers(headers)
            // HubSpot's API does not redirect; following one could carry the
            // token somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT_VALUE)
            .build()
            .map_err(|error| HttpError::InvalidSettings { detail: error_chain(&error) })?;
        Ok(HttpClient(Backend::Network(client)))
    }

    /// A client that hands every request to `exchange` instead of the
    /// network, with the headers it would send; a URL the exchange declines
    /// fails as an unreachable host. Costs nothing to build.
    pub fn in_process(exchange: Arc<dyn Exchange>) -> HttpClient {
        HttpClient(Backend::InProcess(exchange))
    }

    /// Whether requests go to an in-process [`Exchange`] rather than the network.
    pub fn is_in_process(&self) -> bool {
        matches!(self.0, Backend::InProcess(_))
    }
}

/// A configured connection to one HubSpot base URL with one token.
pub(crate) struct Transport {
    backend: Backend,
    base_url: Url,
    authorization: HeaderValue,
    timeout: Duration,
    retry: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
}

impl Transport {
    /// Checks the settings; the transport sends with `http`, shared with other transports.
    pub(crate) fn new(
        http: &HttpClient,
        base_url: &Url,
        token: &str,
        timeout: Duration,
        retry: RetryPolicy,
    ) -> Result<Self, HttpError> {
        let authorization = check_settings(base_url, token, timeout)?;
        Ok(Transport {
            backend: http.0.clone(),
            base_url: base_url.clone(),
            authorization,
            timeout,
            retry,
            sleeper: Arc::new(TokioSleeper),
        })
    }

    /// Replaces the sleeper that waits between attempts.
    pub(crate) fn set_sleeper(&mut self, sleeper: Arc<dyn Sleeper>) {
        self.sleeper = sleeper;
    }

    /// The base URL.
    pub(crate) fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The per-attempt timeout.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The retry policy.
    pub(crate) fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Makes the request, retrying as the policy allows; `Ok` only for a 2xx
    /// whose body was read in full.
    pub(crate) async fn call(&self, request: &ApiRequest<'_>) -> Result<Reply, HttpError> {
        let endpoint = request.endpoint();
        let mut url = self.base_url.clone();
        url.set_fragment(None);
        url.set_query(None);
        url.path_segments_mut()
            .map_err(|()| HttpError::InvalidSettings {
                detail: "the base url cannot take a path".to_owned(),
            })?
            .pop_if_empty()
            .extend(request.segments);
        if !request.query.is_empty() {
            url.query_pairs_mut().extend_pairs(request.query);
        }
        let max_attempts = self.retry.attempts();
        let mut attempt = 1;
        loop {
            let failure = match self.attempt(request, &url, &endpoint, attempt).await {
                Ok(reply) => return Ok(reply),
                Err(failure) => failure,
            };
            // A write is repeated only where the service certainly did not apply it (a 429, a
            // 503): one whose answer never came, or was a server error, may have landed, and
            // repeating it blindly could land it again over a newer value. The caller reads
            // the record back instead (see `CrmError::outcome_unknown`).
            if request.verb == Verb::Patch && may_have_applied(&failure.error) {
                return Err(failure.error);
            }
            let delay = match failure.retry {
                Retry::Never => None,
                Retry::Backoff => Some(self.retry.backoff(attempt)),
                Retry::After(delay) if delay <= self.retry.max_retry_after => Some(delay),
                Retry::After(_) => None,
            };
            match delay {
                Some(delay) if attempt < max_attempts => {
                    tracing::debug!(
                        method = endpoint.method,
                        path = %endpoint.path,
                        attempt,
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "retrying hubspot call"
                    );
                    self.sleeper.sleep(delay).await;
                    attempt += 1;
                }
                _ => return Err(failure.error),
            }
        }
    }

    /// One request and its whole response.
    async fn attempt(
        &self,
        request: &ApiRequest<'_>,
        url: &Url,
        endpoint: &Endpoint,
        attempt: u32,
    ) -> Result<Reply, Failure> {
        let received = match &self.backend {
            Backend::Network(client) => self.send(client, request, url, endpoint, attempt).await?,
            Backend::InProcess(exchange) => {
                self.exchange(exchange.as_ref(), request, url, endpoint, attempt).await?
            }
        };
        self.judge(received, endpoint, attempt)
    }

    /// Sends one attempt over HTTP and reads its response.
    async fn send(
        &self,
        client: &reqwest::Client,
        request: &ApiRequest<'_>,
        url: &Url,
        endpoint: &Endpoint,
        attempt: u32,
    ) -> Result<Received, Failure> {
        let mut builder = client
            .request(request.verb.method(), url.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .timeout(self.timeout);
        if let Some(body) = &request.body {
            builder = builder.header(CONTENT_TYPE, "application/json").body(body.clone());
        }
        let response = match builder.send().await {
            Ok(response) => response,
            Err(error) => return Err(self.transport_failure(error, endpoint, attempt)),
        };
        let status = response.status();
        let (correlation_id, retry_after) = head(response.headers());
        let body = match read_body(response).await {
            Ok(body) => Some(body),
            Err(BodyError::Transport(error)) => return Err(self.transport_failure(error, endpoint, attempt)),
            Err(BodyError::TooLarge) => None,
        };
        Ok(Received { status, correlation_id, retry_after, body })
    }

    /// Hands one attempt to an in-process exchange, and waits out the
    /// answer's delay as the network would: up to the per-attempt timeout.
    async fn exchange(
        &self,
        exchange: &dyn Exchange,
        request: &ApiRequest<'_>,
        url: &Url,
        endpoint: &Endpoint,
        attempt: u32,
    ) -> Result<Received, Failure> {
        let mut headers = HeaderMap::with_capacity(4);
        headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_VALUE));
        headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
        headers.insert(AUTHORIZATION, self.authorization.clone());
        if request.body.is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        let method = request.verb.method();
        let body = request.body.as_deref().unwrap_or_default();
        let Some(response) =
            exchange.exchange(&ExchangeRequest { method: &method, url, headers: &headers, body })
        else {
            let detail = format!("no in-process service answers at {}", url.origin().ascii_serialization());
            return Err(self.connection_failure(detail, endpoint, attempt));
        };
        if !response.delay.is_zero() {
            if response.delay >= self.timeout {
                tokio::time::sleep(self.timeout).await;
                return Err(self.timeout_failure(endpoint, attempt));
            }
            tokio::time::sleep(response.delay).await;
        }
        let Ok(status) = StatusCode::from_u16(response.status) else {
            let detail = format!("the in-process service answered an invalid status {}", response.status);
            return Err(self.connection_failure(detail, endpoint, attempt));
        };
        let (correlation_id, retry_after) = head(&response.headers);
        let body = (response.body.len() <= MAX_BODY_BYTES).then_some(response.body);
        Ok(Received { status, correlation_id, retry_after, body })
    }

    /// What a complete response means: the reply for a 2xx with a body in
    /// full, else the error and whether to retry.
    // A `Failure` is as large as the `HttpError` it carries; it goes straight to the retry loop.
    #[allow(clippy::result_large_err)]
    fn judge(&self, received: Received, endpoint: &Endpoint, attempt: u32) -> Result<Reply, Failure> {
        let Received { status, correlation_id, retry_after, body } = received;
        tracing::debug!(
            method = endpoint.method,
            path = %endpoint.path,
            attempt,
            status = status.as_u16(),
            correlation_id = correlation_id.as_deref().unwrap_or(""),
            "hubspot response"
        );

        if status.is_success() {
            let Some(body) = body else {
                return Err(Failure {
                    error: HttpError::Malformed {
                        endpoint: endpoint.clone(),
                        correlation_id,
                        detail: format!("the body is larger than {MAX_BODY_BYTES} bytes"),
                    },
                    retry: Retry::Never,
                });
            };
            return Ok(Reply { endpoint: endpoint.clone(), correlation_id, body });
        }

        let error_body = body.and_then(|body| serde_json::from_slice::<ErrorBody>(&body).ok());
        let correlation_id = correlation_id.or_else(|| {
            error_body.as_ref().map(|body| body.correlation_id.clone()).filter(|id| !id.is_empty())
        });
        let endpoint = endpoint.clone();
        Err(match status.as_u16() {
            401 => Failure {
                error: HttpError::Unauthorized {
                    endpoint,
                    category: error_body.map(|body| body.category).unwrap_or_default(),
                    correlation_id,
                },
                retry: Retry::Never,
            },
            429 => {
                let policy_name = error_body.as_ref().and_then(|body| body.policy_name.clone());
                let secondly_message = error_body
                    .as_ref()
                    .is_some_and(|body| body.message == "You have reached your secondly limit.");
                let policy = if policy_name.is_none() && secondly_message {
                    Some("SECONDLY")
                } else {
                    policy_name.as_deref()
                };
                let retry = match retry_after.or_else(|| self.retry.rate_limit_delay(policy, attempt)) {
                    Some(delay) => Retry::After(delay),
                    None => Retry::Never,
                };
                Failure {
                    error: HttpError::RateLimited {
                        endpoint,
                        attempts: attempt,
                        policy_name,
                        retry_after,
                        correlation_id,
                    },
                    retry,
                }
            }
            code => Failure {
                error: HttpError::Status {
                    endpoint,
                    status: code,
                    attempts: attempt,
                    error: error_body.map(Box::new),
                    correlation_id,
                },
                retry: if status.is_server_error() { Retry::Backoff } else { Retry::Never },
            },
        })
    }

    /// A failure before a complete response: retried with backoff.
    fn transport_failure(&self, error: reqwest::Error, endpoint: &Endpoint, attempt: u32) -> Failure {
        let error = error.without_url();
        if error.is_timeout() {
            self.timeout_failure(endpoint, attempt)
        } else {
            self.connection_failure(error_chain(&error), endpoint, attempt)
        }
    }

    /// No complete response within the per-attempt timeout: retried with backoff.
    fn timeout_failure(&self, endpoint: &Endpoint, attempt: u32) -> Failure {
        tracing::debug!(method = endpoint.method, path = %endpoint.path, attempt, "hubspot call timed out");
        let error =
            HttpError::Timeout { endpoint: endpoint.clone(), attempts: attempt, timeout: self.timeout };
        Failure { error, retry: Retry::Backoff }
    }

    /// The connection failed, or no service answers at the URL: retried with backoff.
    fn connection_failure(&self, detail: String, endpoint: &Endpoint, attempt: u32) -> Failure {
        tracing::debug!(method = endpoint.method, path = %endpoint.path, attempt, error = %detail, "hubspot call failed");
        let error = HttpError::Connection { endpoint: endpoint.clone(), attempts: attempt, detail };
        Failure { error, retry: Retry::Backoff }
    }
}

/// Whether the service may have applied a request that failed with `error`: no answer came
/// in time or the connection broke (the request may have been received), or a server error
/// other than 503 (which says the service is unavailable: nothing was done).
pub(crate) fn may_have_applied(error: &HttpError) -> bool {
    match error {
        HttpError::Timeout { .. } | HttpError::Connection { .. } | HttpError::Malformed { .. } => true,
        HttpError::Status { status, .. } => (500..=599).contains(status) && *status != 503,
        _ => false,
    }
}

/// A complete response, as far as the clients read it.
struct Received {
    status: StatusCode,
    correlation_id: Option<String>,
    retry_after: Option<Duration>,
    /// `None` when longer than [`MAX_BODY_BYTES`].
    body: Option<Vec<u8>>,
}

/// The headers the clients read: the correlation id and `Retry-After`.
fn head(headers: &HeaderMap) -> (Option<String>, Option<Duration>) {
    let correlation_id = header_text(headers, CORRELATION_ID_HEADER);
    let retry_after = header_text(headers, RETRY_AFTER.as_str())
        .and_then(|value| parse_retry_after(&value, jiff::Timestamp::now()));
    (correlation_id, retry_after)
}

/// A header's value as text, when present, readable and not empty.
fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// Why a body could not be read.
enum BodyError {
    /// Longer than [`MAX_BODY_BYTES`].
    TooLarge,
    /// The connection failed or timed out mid-body.
    Transport(reqwest::Error),
}

/// Reads the whole body, refusing more than [`MAX_BODY_BYTES`].
async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Checks a transport's settings; the bearer header value, marked sensitive.
fn check_settings(base_url: &Url, token: &str, timeout: Duration) -> Result<HeaderValue, HttpError> {
    if !matches!(base_url.scheme(), "http" | "https") || base_url.cannot_be_a_base() {
        return Err(HttpError::InvalidSettings {
            detail: format!("base url {base_url} is not an http or https url"),
        });
    }
    if timeout.is_zero() {
        return Err(HttpError::InvalidSettings { detail: "the timeout is zero".to_owned() });
    }
    let mut authorization = HeaderValue::from_str(&format!("Bearer {}", token.trim())).map_err(|_| {
        HttpError::InvalidSettings { detail: "the token holds characters a header cannot carry".to_owned() }
    })?;
    authorization.set_sensitive(true);
    Ok(authorization)
}

/// An error and its sources, joined with `: ` (reqwest's own message names
/// only the kind; the cause, e.g. "connection refused", is in the sources).
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(body: &str) -> Reply {
        Reply {
            endpoint: Endpoint { method: "GET", path: "/x".into() },
            correlation_id: Some("cid".into()),
            body: body.as_bytes().to_vec(),
        }
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Shape {
        id: String,
        properties: std::collections::BTreeMap<String, Option<String>>,
    }

    fn detail(body: &str) -> String {
        match reply(body).json::<Shape>() {
            Err(HttpError::Malformed { detail, correlation_id, .. }) => {
                assert_eq!(correlation_id.as_deref(), Some("cid"));
                detail
            }
            other => panic!("expected malformed, got {other:?}"),
        }
    }

    #[test]
    fn malformed_bodies_are_described_without_their_values() {
        assert_eq!(detail(""), "the body is empty");
        assert!(detail(r#"{"id":"1","prop"#).contains("truncated"), "{}", detail(r#"{"id":"1","prop"#));
        assert!(detail("<html>").contains("not valid json"));
        assert!(detail(r#"{"properties":{}}"#).contains("missing field `id`"));
        let wrong = detail(r#"{"id":"1","properties":{"phone":5551234}}"#);
        assert!(wrong.contains("`properties.phone` has the wrong type"), "{wrong}");
        assert!(!wrong.contains("5551234"), "{wrong}");
        assert!(detail(r#"{"id":"1","properties":{}} trailing"#).contains("not valid json"));
    }

    #[test]
    fn well_formed_body_parses() {
        let shape: Shape = reply(r#" {"id":"1","properties":{"a":null}} "#).json().unwrap();
        assert_eq!(shape.id, "1");
    }

    #[test]
    fn settings_are_checked() {
        let bad_scheme = Url::parse("ftp://example.com").unwrap();
        assert!(matches!(
            Transport::new(
                &HttpClient::new().unwrap(),
                &bad_scheme,
                "t",
                DEFAULT_TIMEOUT,
                RetryPolicy::default()
            ),
            Err(HttpError::InvalidSettings { .. })
        ));
        let base = Url::parse("http://127.0.0.1:1").unwrap();
        let Err(error) = Transport::new(
            &HttpClient::new().unwrap(),
            &base,
            "pat-sec\nret",
            DEFAULT_TIMEOUT,
            RetryPolicy::default(),
        ) else {
            panic!("a newline in the token must be refused")
        };
        assert!(!error.to_string().contains("pat-sec"));
        assert!(
            Transport::new(&HttpClient::new().unwrap(), &base, "t", Duration::ZERO, RetryPolicy::default())
                .is_err()
        );
    }
}
