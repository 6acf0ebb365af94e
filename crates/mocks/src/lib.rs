//! Mock HubSpot CRM and mail servers on wiremock, seeded from fixtures, recording every request.
//!
//! [`MockCrm`] speaks HubSpot's CRM API (search, get with properties and
//! associations, PATCH, lists, batch reads, v4 associations and association
//! batch reads, property definitions) under the v3/v4 paths and the
//! date-versioned ones ([`DATE_VERSIONS`]), and [`MockMail`] the transactional
//! single send, each checking the bearer token, answering with HubSpot's
//! headers and error bodies, and keeping a log of every request for the
//! harness's oracle; a request neither serves is logged with no endpoint.
//! [`Mocks::start_single_host`] puts both on one base URL, as HubSpot's one host.
//! Bodies over [`MAX_BODY_BYTES`] are answered 413; the log is bounded
//! ([`MAX_LOGGED_REQUESTS`], [`MAX_LOG_BYTES`]): once full, requests are
//! refused unserved and counted ([`MockService::requests_dropped`]), so the
//! log never misses a request the mock served.
//! [`Fault`]s make an endpoint fail for the first N calls or always.
//!
//! ```no_run
//! # async fn demo() {
//! use leakproof_world::Fixtures;
//! use leakproof_mocks::{Endpoint, Fault, FaultKind, Mocks};
//!
//! let mocks = Mocks::start(Fixtures::default()).await.unwrap();
//! mocks.crm.inject(Fault::first(1, Endpoint::Search, FaultKind::Status(503)));
//! println!("CRM at {}, mail at {}", mocks.crm.base_url(), mocks.mail.base_url());
//! # }
//! ```

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod crm;
mod fault;
mod mail;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use url::Url;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

pub use crm::{CrmState, DATE_VERSIONS, HUBSPOTUTK, MockCrm, WHATSAPP_PHONE, Write};
pub use fault::{Endpoint, Fault, FaultKind, RateLimitPolicy, Times};
pub use mail::{CapturedMail, MailState, MockMail};

use fault::FaultPlan;
use leakproof_config::clock::{Clock, SystemClock};
use leakproof_hubspot::crm::wire::ErrorBody;
use leakproof_hubspot::crm::{Exchange, ExchangeRequest, ExchangeResponse};
use leakproof_world::Fixtures;

pub use leakproof_hubspot::DEFAULT_TOKEN;

/// How long a `timeout` fault keeps the client waiting: longer than any
/// client timeout worth having.
const TIMEOUT_DELAY: Duration = Duration::from_secs(3600);

/// The largest request body a mock reads: a larger one is answered 413 and
/// logged without its body. HubSpot documents no byte limit for these
/// endpoints; every request they take (a search of at most 3,000 query
/// characters and a few dozen filters, a PATCH of some properties, one mail)
/// fits in a few kilobytes, so 1 MiB is far above any real client's.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The most requests one mock logs between resets. A scenario run makes
/// dozens; once the log holds this many, or [`MAX_LOG_BYTES`], the mock
/// refuses every further request with a 503 and serves none of it (no read,
/// no write, no mail), counting it in [`MockService::requests_dropped`], so
/// the log always holds every request the mock served.
pub const MAX_LOGGED_REQUESTS: usize = 100_000;

/// The most memory (estimated) the logged requests may hold between resets;
/// see [`MAX_LOGGED_REQUESTS`].
pub const MAX_LOG_BYTES: usize = 256 << 20;

/// Both mocks, started together on loopback.
#[derive(Clone, Debug)]
pub struct Mocks {
    /// The CRM.
    pub crm: MockCrm,
    /// The mail service.
    pub mail: MockMail,
}

impl Mocks {
    /// Starts both mocks on free loopback ports, seeded from `fixtures`, with
    /// the system clock and [`DEFAULT_TOKEN`].
    pub async fn start(fixtures: Fixtures) -> std::io::Result<Mocks> {
        Mocks::start_with(fixtures, MockOptions::default()).await
    }

    /// Starts both mocks with `options`.
    pub async fn start_with(fixtures: Fixtures, options: MockOptions) -> std::io::Result<Mocks> {
        let crm = MockCrm::start(&fixtures, options.clone(), None).await?;
        let mail = MockMail::start(options, None).await?;
        Ok(Mocks { crm, mail })
    }

    /// Starts both mocks on one server, on `listener` or a free loopback port: the CRM
    /// and the mail service share one base URL, as HubSpot serves both from one host,
    /// and are told apart by path (`/marketing/…` is the mail service's, every other
    /// path the CRM's). Each keeps its own log, state and faults, as when apart.
    pub async fn start_single_host(
        fixtures: &Fixtures,
        options: MockOptions,
        listener: Option<std::net::TcpListener>,
    ) -> std::io::Result<Mocks> {
        let crm = Arc::new(Shared {
            core: Core::new(options.clone()),
            state: crm::state(fixtures, options.clock.now()),
        });
        let mail = Arc::new(Shared { core: Core::new(options), state: MailState::default() });
        let (server, base_url) = listen(listener, OneHost { crm: crm.clone(), mail: mail.clone() }).await;
        Ok(Mocks {
            crm: MockService { shared: crm, server: server.clone(), base_url: base_url.clone() },
            mail: MockService { shared: mail, server, base_url },
        })
    }

    /// Whether the CRM and the mail service share one base URL
    /// ([`start_single_host`](Self::start_single_host)).
    pub fn single_host(&self) -> bool {
        self.crm.base_url == self.mail.base_url
    }

    /// The mocks as an in-process [`Exchange`]: requests to either mock's
    /// base URL are answered by it without a socket, exactly as over HTTP
    /// (same log, writes, mails and faults); every other URL is declined.
    /// Give it to [`HttpClient::in_process`](leakproof_hubspot::crm::HttpClient::in_process).
    pub fn exchange(&self) -> MockExchange {
        MockExchange { crm: self.crm.route(), mail: self.mail.route() }
    }

    /// Makes both mocks as they were when started, seeded from `fixtures`
    /// instead: the CRM's records re-seeded (timestamps from the mocks' clock),
    /// the request logs, writes and captured mails emptied, every fault
    /// removed, and request numbering (`seq`, correlation ids) restarted at 0.
    ///
    /// The servers keep running on the same ports, so a harness can reuse
    /// them for run after run. Reset only between runs: a request in flight
    /// during a reset may land in either run's log.
    pub fn reset(&self, fixtures: &Fixtures) {
        self.crm.reset(fixtures);
        self.mail.reset();
    }
}

/// How the mocks run.
#[derive(Clone, Debug)]
pub struct MockOptions {
    /// The bearer token they accept.
    pub token: String,
    /// Where their timestamps come from.
    pub clock: Arc<dyn Clock>,
}

impl Default for MockOptions {
    fn default() -> Self {
        MockOptions { token: DEFAULT_TOKEN.to_owned(), clock: Arc::new(SystemClock) }
    }
}

/// One request a mock received, and what it answered.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RecordedRequest {
    /// Its place in the order of arrival, from 0.
    pub seq: usize,
    /// When it arrived, by the mock's clock.
    #[schemars(with = "String")]
    pub at: Timestamp,
    /// `GET`, `POST`, `PATCH`, …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query pairs, in order, repeated keys kept.
    pub query: Vec<(String, String)>,
    /// The body, when it was JSON.
    pub body: Option<serde_json::Value>,
    /// The endpoint it was routed to, if any.
    pub endpoint: Option<Endpoint>,
    /// The status answered.
    pub status: u16,
    /// The fault that struck it, if any.
    pub fault: Option<FaultKind>,
    /// The correlation id answered with.
    pub correlation_id: String,
}

/// A running mock server: the CRM ([`MockCrm`]) or the mail service
/// ([`MockMail`]), told apart by their state `S`. Cheap to clone; clones share
/// the server and its state.
#[derive(Debug)]
pub struct MockService<S> {
    shared: Arc<Shared<S>>,
    server: Arc<MockServer>,
    /// Where the server listens, parsed once.
    base_url: Url,
}

impl<S> Clone for MockService<S> {
    fn clone(&self) -> Self {
        MockService {
            shared: self.shared.clone(),
            server: self.server.clone(),
            base_url: self.base_url.clone(),
        }
    }
}

/// What a mock's responder and its handle both reach.
#[derive(Debug)]
struct Shared<S> {
    core: Core,
    state: S,
}

/// How a mock answers a request, whether it came over HTTP or in process.
trait Handler: Send + Sync + Sized + 'static {
    fn handle(shared: &Shared<Self>, request: &ExchangeRequest<'_>) -> MockResponse;
}

/// Answers the wiremock server's requests.
struct Responder<S>(Arc<Shared<S>>);

/// Answers both mocks' requests on one server, by path.
struct OneHost {
    crm: Arc<Shared<CrmState>>,
    mail: Arc<Shared<MailState>>,
}

impl Respond for OneHost {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let request = exchange_request(request);
        let response = if mail::is_mail_path(request.url.path()) {
            MailState::handle(&self.mail, &request)
        } else {
            CrmState::handle(&self.crm, &request)
        };
        response.into_template()
    }
}

impl<S: Handler> Respond for Responder<S> {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        S::handle(&self.0, &exchange_request(request)).into_template()
    }
}

/// A request the server received, as the mocks' handlers read it.
fn exchange_request(request: &wiremock::Request) -> ExchangeRequest<'_> {
    ExchangeRequest {
        method: &request.method,
        url: &request.url,
        headers: &request.headers,
        body: &request.body,
    }
}

/// What a mock answers: the same value whether it goes out over HTTP (as a
/// wiremock [`ResponseTemplate`]) or in process (as an [`ExchangeResponse`]).
#[derive(Debug)]
struct MockResponse {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
    delay: Option<Duration>,
}

impl MockResponse {
    fn new(status: u16) -> MockResponse {
        MockResponse { status, headers: HeaderMap::new(), body: Vec::new(), delay: None }
    }

    /// With header `name` set to `value`, replacing any earlier value.
    fn header(mut self, name: &'static str, value: impl Into<HeaderValue>) -> MockResponse {
        self.headers.insert(HeaderName::from_static(name), value.into());
        self
    }

    /// With header `name` set to `value`, left out if `value` cannot be a
    /// header value (the mocks' values always can).
    fn text_header(self, name: &'static str, value: &str) -> MockResponse {
        match HeaderValue::from_str(value) {
            Ok(value) => self.header(name, value),
            Err(_) => self,
        }
    }

    /// With `body` as JSON, typed `application/json` (as wiremock's
    /// `set_body_json` types it). A body that cannot be encoded is sent
    /// empty, which every client reads as malformed.
    fn json(mut self, body: impl Serialize) -> MockResponse {
        self.body = serde_json::to_vec(&body).unwrap_or_default();
        self.header(CONTENT_TYPE.as_str(), HeaderValue::from_static("application/json"))
    }

    /// With `body` as it is, typed `mime`.
    fn raw(mut self, body: impl Into<Vec<u8>>, mime: &'static str) -> MockResponse {
        self.body = body.into();
        self.header(CONTENT_TYPE.as_str(), HeaderValue::from_static(mime))
    }

    /// Answered `delay` after the request arrived.
    fn delayed(mut self, delay: Duration) -> MockResponse {
        self.delay = Some(delay);
        self
    }

    /// The response for the wiremock server.
    fn into_template(self) -> ResponseTemplate {
        let MockResponse { status, headers, body, delay } = self;
        let mut template = ResponseTemplate::new(status);
        for (name, value) in &headers {
            template = template.append_header(name.clone(), value.clone());
        }
        let template = template.set_body_bytes(body);
        match delay {
            Some(delay) => template.set_delay(delay),
            None => template,
        }
    }
}

impl From<MockResponse> for ExchangeResponse {
    fn from(response: MockResponse) -> ExchangeResponse {
        let MockResponse { status, headers, body, delay } = response;
        ExchangeResponse { status, headers, body, delay: delay.unwrap_or_default() }
    }
}

/// Both mocks answering in process: what [`Mocks::exchange`] returns.
///
/// It holds the mocks' state, not their servers: requests it answers are
/// logged, applied and faulted exactly as the servers would, and the servers
/// keep listening for agents that talk HTTP. Cheap to clone.
#[derive(Clone, Debug)]
pub struct MockExchange {
    crm: Route<CrmState>,
    mail: Route<MailState>,
}

/// One mock as an exchange reaches it: where it listens, and its state.
#[derive(Debug)]
struct Route<S> {
    base: Url,
    shared: Arc<Shared<S>>,
}

impl<S> Clone for Route<S> {
    fn clone(&self) -> Self {
        Route { base: self.base.clone(), shared: self.shared.clone() }
    }
}

impl<S> Route<S> {
    /// Whether `url` is on this mock's scheme, host and port.
    fn serves(&self, url: &Url) -> bool {
        url.scheme() == self.base.scheme()
            && url.host() == self.base.host()
            && url.port_or_known_default() == self.base.port_or_known_default()
    }
}

impl Exchange for MockExchange {
    fn exchange(&self, request: &ExchangeRequest<'_>) -> Option<ExchangeResponse> {
        // On one host (both serve the URL), the path tells them apart.
        let crm = self.crm.serves(request.url);
        let mail = self.mail.serves(request.url) && (!crm || mail::is_mail_path(request.url.path()));
        if mail {
            Some(MailState::handle(&self.mail.shared, request).into())
        } else if crm {
            Some(CrmState::handle(&self.crm.shared, request).into())
        } else {
            None
        }
    }
}

/// Starts a server answering every request through `S`, on `listener` or on a
/// free loopback port.
async fn launch<S: Handler>(
    options: MockOptions,
    state: S,
    listener: Option<std::net::TcpListener>,
) -> MockService<S> {
    let shared = Arc::new(Shared { core: Core::new(options), state });
    let (server, base_url) = listen(listener, Responder(shared.clone())).await;
    MockService { shared, server, base_url }
}

/// Starts a server answering every request with `responder`, on `listener` or on a free
/// loopback port; returns it and its base URL.
async fn listen(
    listener: Option<std::net::TcpListener>,
    responder: impl Respond + 'static,
) -> (Arc<MockServer>, Url) {
    let server = match listener {
        // The mocks keep a log of their own: wiremock's copy of every request would only grow.
        Some(listener) => MockServer::builder().listener(listener).disable_request_recording().start().await,
        None => MockServer::builder().disable_request_recording().start().await,
    };
    Mock::given(any()).respond_with(responder).mount(&server).await;
    // wiremock's uri is always `http://{ip}:{port}`.
    let base_url = Url::parse(&server.uri()).unwrap_or_else(|_| unreachable!("wiremock serves a valid URI"));
    (Arc::new(server), base_url)
}

impl<S> MockService<S> {
    /// Where the server listens, e.g. `http://127.0.0.1:41234/`.
    pub fn base_url(&self) -> Url {
        self.base_url.clone()
    }

    /// The bearer token the server accepts.
    pub fn token(&self) -> &str {
        &self.shared.core.token
    }

    /// This mock as an in-process exchange reaches it.
    fn route(&self) -> Route<S> {
        Route { base: self.base_url(), shared: self.shared.clone() }
    }

    /// Makes `fault` strike the calls it names.
    pub fn inject(&self, fault: Fault) {
        lock(&self.shared.core.faults).add(fault);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        lock(&self.shared.core.faults).clear();
    }

    /// Every request received so far, in order of arrival.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.core.log()
    }

    /// How many requests were logged so far: `requests().len()` without
    /// copying the log.
    pub fn requests_len(&self) -> usize {
        lock(&self.shared.core.log).entries.len()
    }

    /// How many requests were refused unserved and left out of the log
    /// because it was full ([`MAX_LOGGED_REQUESTS`], [`MAX_LOG_BYTES`]),
    /// since the start or the last reset. While it is 0, [`requests`](Self::requests)
    /// holds every request received; a judge of the log must fail closed on
    /// anything else.
    pub fn requests_dropped(&self) -> usize {
        lock(&self.shared.core.log).dropped
    }
}

impl RecordedRequest {
    /// One log line for this request, as `mocks serve` prints them.
    fn log(&self, what: &'static str) {
        match &self.fault {
            Some(fault) => tracing::info!(
                seq = self.seq, method = %self.method, path = %self.path, status = self.status,
                correlation_id = %self.correlation_id, fault = %fault, "{what}"
            ),
            None => tracing::info!(
                seq = self.seq, method = %self.method, path = %self.path, status = self.status,
                correlation_id = %self.correlation_id, "{what}"
            ),
        }
    }
}

/// What every mock shares: its token, clock, faults and log.
#[derive(Debug)]
struct Core {
    token: String,
    clock: Arc<dyn Clock>,
    faults: Mutex<FaultPlan>,
    log: Mutex<Log>,
    requests: std::sync::atomic::AtomicUsize,
}

/// The request log, bounded by [`MAX_LOGGED_REQUESTS`] and [`MAX_LOG_BYTES`].
#[derive(Debug, Default)]
struct Log {
    entries: Vec<RecordedRequest>,
    /// Slots taken: entries logged, plus those admitted and still being answered.
    admitted: usize,
    /// The estimated memory of the admitted entries.
    bytes: usize,
    /// Requests refused because the log was full.
    dropped: usize,
}

/// What [`Core::admit`] decided about a request.
enum Admission {
    /// Serve it; its entry has a place in the log.
    Serve(RecordedRequest),
    /// Answer this instead of serving it; the entry is logged if given.
    Refuse(MockResponse, Option<RecordedRequest>),
}

impl Core {
    fn new(options: MockOptions) -> Core {
        Core {
            token: options.token,
            clock: options.clock,
            faults: Mutex::default(),
            log: Mutex::default(),
            requests: Default::default(),
        }
    }

    /// A fresh correlation id: UUID-shaped, numbered, so runs are reproducible.
    fn correlation_id(&self) -> (usize, String) {
        let n = self.requests.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        (n, format!("00000000-0000-4000-8000-{:012x}", n + 1))
    }

    /// The log entry for `request`, numbered and timed, with a place in the
    /// log, before it is routed or answered; or the answer instead: a 413 for
    /// a body over [`MAX_BODY_BYTES`] (logged, without the body), a 503 when
    /// the log is full (not logged, counted as dropped). `what` names the
    /// mock in `mocks serve`'s log lines.
    fn admit(&self, request: &ExchangeRequest<'_>, what: &'static str) -> Admission {
        let (seq, correlation_id) = self.correlation_id();
        let too_large = request.body.len() > MAX_BODY_BYTES;
        let mut entry = RecordedRequest {
            seq,
            at: self.clock.now(),
            method: truncated(request.method.as_str(), 64),
            path: truncated(request.url.path(), 8 << 10),
            query: query_pairs(request),
            body: if too_large { None } else { crm::parse_body(request.body) },
            endpoint: None,
            status: 0,
            fault: None,
            correlation_id,
        };
        let size = footprint(&entry);
        {
            let mut log = lock(&self.log);
            if log.admitted >= MAX_LOGGED_REQUESTS || log.bytes.saturating_add(size) > MAX_LOG_BYTES {
                log.dropped += 1;
                drop(log);
                tracing::warn!(seq, "{what}: the request log is full; request refused unserved");
                let message = format!(
                    "The mock's request log is full ({MAX_LOGGED_REQUESTS} requests or {MAX_LOG_BYTES} bytes); \
                     reset the mock. This request was not served."
                );
                let response =
                    error_response(503, "SERVICE_UNAVAILABLE", message, &entry.correlation_id, seq, None);
                return Admission::Refuse(response, None);
            }
            log.admitted += 1;
            log.bytes += size;
        }
        if too_large {
            entry.status = 413;
            let message = format!(
                "The request body of {} bytes is larger than the mock's limit of {MAX_BODY_BYTES} bytes.",
                request.body.len()
            );
            let response = error_response(413, "VALIDATION_ERROR", message, &entry.correlation_id, seq, None);
            entry.log(what);
            return Admission::Refuse(response, Some(entry));
        }
        Admission::Serve(entry)
    }

    fn authorized(&self, request: &ExchangeRequest<'_>) -> bool {
        request
            .headers
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .is_some_and(|token| token == self.token)
    }

    fn record(&self, entry: RecordedRequest) {
        lock(&self.log).entries.push(entry);
    }

    fn log(&self) -> Vec<RecordedRequest> {
        let mut log = lock(&self.log).entries.clone();
        log.sort_by_key(|entry| entry.seq);
        log
    }

    /// Back to how it started: no faults, an empty log, numbering from 0.
    fn reset(&self) {
        lock(&self.faults).clear();
        *lock(&self.log) = Log::default();
        self.requests.store(0, std::sync::atomic::Ordering::SeqCst);
    }
}

/// At most the first `max` bytes of `text`, cut at a character boundary.
fn truncated(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// An estimate of the memory a log entry holds: its strings and its JSON
/// body, node by node (a parsed body can take several times its bytes).
fn footprint(entry: &RecordedRequest) -> usize {
    fn json(node: &serde_json::Value) -> usize {
        use serde_json::Value;
        size_of::<Value>()
            + match node {
                Value::String(text) => text.len(),
                Value::Array(items) => items.iter().map(json).sum(),
                // A map entry also holds its key and the map's own node.
                Value::Object(map) => map.iter().map(|(key, item)| 64 + key.len() + json(item)).sum(),
                _ => 0,
            }
    }
    size_of::<RecordedRequest>()
        + entry.method.len()
        + entry.path.len()
        + entry.correlation_id.len()
        + entry.query.iter().map(|(key, item)| 48 + key.len() + item.len()).sum::<usize>()
        + entry.body.as_ref().map_or(0, json)
}

/// Locks `mutex`, even after a panic elsewhere: the mocks' state is only ever
/// replaced whole under the lock, so a poisoned lock still holds a consistent
/// value, and a test double must keep answering to report what went wrong.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A response with HubSpot's headers: JSON content type, correlation id and
/// the private-app rate-limit headers.
fn hubspot_response(status: u16, correlation_id: &str, served: usize) -> MockResponse {
    let daily_remaining = 250_000usize.saturating_sub(served + 1);
    let burst_remaining = 190usize.saturating_sub((served % 190) + 1);
    let fixed = HeaderValue::from_static;
    MockResponse::new(status)
        .header("content-type", fixed("application/json;charset=utf-8"))
        .text_header("x-hubspot-correlation-id", correlation_id)
        .header("x-hubspot-ratelimit-daily", fixed("250000"))
        .header("x-hubspot-ratelimit-daily-remaining", daily_remaining)
        .header("x-hubspot-ratelimit-interval-milliseconds", fixed("10000"))
        .header("x-hubspot-ratelimit-max", fixed("190"))
        .header("x-hubspot-ratelimit-remaining", burst_remaining)
        .header("x-hubspot-ratelimit-secondly", fixed("19"))
        .header("x-hubspot-ratelimit-secondly-remaining", fixed("18"))
}

/// HubSpot's error body as a response.
fn error_response(
    status: u16,
    category: &str,
    message: impl Into<String>,
    correlation_id: &str,
    served: usize,
    context: Option<(&str, &str)>,
) -> MockResponse {
    error_response_with(status, category, message, correlation_id, served, context, &[])
}

/// One entry of an error body's `errors`: the spec's `ErrorDetail`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
struct ErrorDetail {
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(rename = "in", skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<std::collections::BTreeMap<String, Vec<String>>>,
}

/// HubSpot's error body as a response, with `errors` when there are any.
fn error_response_with(
    status: u16,
    category: &str,
    message: impl Into<String>,
    correlation_id: &str,
    served: usize,
    context: Option<(&str, &str)>,
    errors: &[ErrorDetail],
) -> MockResponse {
    let body = ErrorBody {
        status: Some("error".to_owned()),
        message: message.into(),
        correlation_id: correlation_id.to_owned(),
        category: category.to_owned(),
        context: context.map(|(key, value)| [(key.to_owned(), vec![value.to_owned()])].into()),
        error_type: None,
        policy_name: None,
    };
    let mut body = serde_json::to_value(body).unwrap_or_default();
    if !errors.is_empty()
        && let Some(map) = body.as_object_mut()
    {
        map.insert("errors".to_owned(), serde_json::to_value(errors).unwrap_or_default());
    }
    hubspot_response(status, correlation_id, served).json(body)
}

/// The 401 HubSpot sends without valid credentials, word for word.
fn unauthorized(correlation_id: &str, served: usize) -> MockResponse {
    error_response(
        401,
        "INVALID_AUTHENTICATION",
        "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find \
         more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        correlation_id,
        served,
        None,
    )
}

/// The response a fault gives instead of (or, for a delay, after) the real one.
///
/// `real` is the JSON body the request would have had, for truncation.
fn fault_response(
    kind: &FaultKind,
    correlation_id: &str,
    served: usize,
    real: impl FnOnce() -> (u16, serde_json::Value),
) -> MockResponse {
    match kind {
        FaultKind::Status(code) => {
            // A fault built in code with a status that is no error status answers 500, as a
            // file giving one is refused when read: never a status the HTTP stack rejects.
            let code = &fault::answered_status(*code);
            let category = match code {
                400 => "VALIDATION_ERROR",
                401 => "INVALID_AUTHENTICATION",
                403 => "MISSING_SCOPES",
                404 => "OBJECT_NOT_FOUND",
                409 => "CONFLICT",
                429 => "RATE_LIMITS",
                _ => "INTERNAL_ERROR",
            };
            error_response(
                *code,
                category,
                format!("injected fault: status {code}"),
                correlation_id,
                served,
                None,
            )
        }
        FaultKind::Delay(delay) => {
            let (status, body) = real();
            hubspot_response(status, correlation_id, served).json(body).delayed(*delay)
        }
        FaultKind::Timeout => hubspot_response(504, correlation_id, served).delayed(TIMEOUT_DELAY),
        FaultKind::Malformed => hubspot_response(200, correlation_id, served)
            .raw("<html><body>502 Bad Gateway</body></html>", "application/json;charset=utf-8"),
        FaultKind::Truncated => {
            let (_, body) = real();
            let text = body.to_string();
            let cut = text.char_indices().map(|(i, _)| i).nth(text.chars().count() / 2).unwrap_or(0);
            hubspot_response(200, correlation_id, served)
                .raw(text[..cut].to_owned(), "application/json;charset=utf-8")
        }
        FaultKind::RateLimited { retry_after, policy } => {
            let body = serde_json::json!({
                "status": "error",
                "message": policy.message(),
                "errorType": "RATE_LIMIT",
                "correlationId": correlation_id,
                "policyName": policy.as_str(),
                "groupName": "publicapi:private-app:leakproof-mock",
            });
            let response = hubspot_response(429, correlation_id, served).json(body);
            match retry_after {
                Some(seconds) => response.header("retry-after", *seconds),
                None => response,
            }
        }
    }
}

/// The query pairs of `request`, in order.
fn query_pairs(request: &ExchangeRequest<'_>) -> Vec<(String, String)> {
    request.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// Every value of query parameter `name`, whether repeated
/// (`properties=a&properties=b`, as the official clients send) or
/// comma-separated (`properties=a,b`, as HubSpot's docs show).
fn query_list(query: &[(String, String)], name: &str) -> Vec<String> {
    query
        .iter()
        .filter(|(key, _)| key == name)
        .flat_map(|(_, value)| value.split(','))
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_owned)
        .collect()
}

/// HubSpot's timestamp format: ISO 8601, milliseconds, `Z`.
///
/// Written field by field: the mocks format a few times per request, and
/// this is several times faster than `strftime`, which parses its format
/// each time. Years before 0 (never seen from HubSpot) go through `strftime`.
fn hubspot_time(at: Timestamp) -> String {
    let t = jiff::tz::Offset::UTC.to_datetime(at);
    if t.year() < 0 {
        return at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    }
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_status_built_in_code_that_is_no_error_status_answers_500() {
        for code in [0, 99, 200, 1000, u16::MAX] {
            let response = fault_response(&FaultKind::Status(code), "c", 0, || (200, serde_json::json!({})));
            assert_eq!(response.status, 500, "{code}");
        }
        let response = fault_response(&FaultKind::Status(503), "c", 0, || (200, serde_json::json!({})));
        assert_eq!(response.status, 503);
    }

    #[test]
    fn hubspot_time_is_strftimes_format() {
        let times = [
            "1970-01-01T00:00:00Z",
            "2024-03-01T10:00:00.000999999Z",
            "2024-12-31T23:59:59.999999999Z",
            "0999-02-03T04:05:06.07Z",
            "9999-12-30T21:59:59.5Z",
            "-000001-06-15T12:00:00.123Z",
        ];
        for text in times {
            let at: Timestamp = text.parse().unwrap();
            assert_eq!(hubspot_time(at), at.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(), "{text}");
        }
        assert_eq!(hubspot_time("2024-03-01T10:00:00.0429Z".parse().unwrap()), "2024-03-01T10:00:00.042Z");
    }
}
