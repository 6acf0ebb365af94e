//! The in-process transport: the CRM and mail clients sending to an `Exchange` instead of the
//! network, with every HTTP behaviour kept (timeouts, delays, retries, rate limits, malformed
//! bodies, unserved URLs), and the shipped suite giving the same runs through it as through
//! sockets.
//!
//! Timing tests run on tokio's paused clock: a delay is waited for with tokio's timer, so they
//! check the exact time the client gave up without waiting for it.

use std::collections::{BTreeSet, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use leakproof::ObjectType;
use leakproof::crm::{
    Crm, CrmError, CrmSettings, Exchange, ExchangeRequest, ExchangeResponse, HttpClient, HttpError,
    RecordingSleeper, RetryPolicy,
};
use leakproof::harness::runner::{Rig, RunResult, run_on};
use leakproof::harness::{Scenario, scenario, snapshot};
use leakproof::mail::{MailError, MailSettings, Mailer, VerificationMail};
use leakproof::mocks::{DEFAULT_TOKEN, Endpoint, Fault, FaultKind, Mocks};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::json;
use tokio::time::Instant;

const TOKEN: &str = "pat-na1-0c0ffee0-dead-beef-cafe-123456789abc";
const CID: &str = "5a2b6c1e-0000-4000-8000-000000000001";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// One request as the exchange saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    url: String,
    headers: HeaderMap,
    body: Vec<u8>,
    /// When it arrived, by tokio's (paused) clock.
    at: Instant,
}

/// Serves `http://crm.test` and `http://mail.test` only, answering with its script in order
/// (a 500 once the script runs out) and recording every request.
#[derive(Debug, Default)]
struct Script {
    answers: Mutex<VecDeque<ExchangeResponse>>,
    seen: Mutex<Vec<Seen>>,
}

impl Script {
    fn new(answers: impl IntoIterator<Item = ExchangeResponse>) -> Arc<Script> {
        Arc::new(Script { answers: Mutex::new(answers.into_iter().collect()), seen: Mutex::default() })
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Exchange for Script {
    fn exchange(&self, request: &ExchangeRequest<'_>) -> Option<ExchangeResponse> {
        if !matches!(request.url.host_str(), Some("crm.test" | "mail.test")) {
            return None;
        }
        self.seen.lock().unwrap().push(Seen {
            method: request.method.to_string(),
            url: request.url.to_string(),
            headers: request.headers.clone(),
            body: request.body.to_vec(),
            at: Instant::now(),
        });
        Some(self.answers.lock().unwrap().pop_front().unwrap_or_else(|| ExchangeResponse::new(500)))
    }
}

/// A JSON answer with HubSpot's correlation id header.
fn json_answer(status: u16, body: serde_json::Value) -> ExchangeResponse {
    ExchangeResponse { body: body.to_string().into_bytes(), ..raw_answer(status) }
}

/// An answer with the correlation id header and no body yet.
fn raw_answer(status: u16) -> ExchangeResponse {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("x-hubspot-correlation-id", HeaderValue::from_static(CID));
    ExchangeResponse { headers, ..ExchangeResponse::new(status) }
}

fn delayed(answer: ExchangeResponse, delay: Duration) -> ExchangeResponse {
    ExchangeResponse { delay, ..answer }
}

fn ann(id: &str) -> serde_json::Value {
    json!({
        "id": id,
        "properties": {"email": "ann@example.com", "phone": "+44 20 7946 0001", "hs_object_id": id},
        "createdAt": "2024-03-01T10:00:00.000Z",
        "updatedAt": "2024-03-02T11:30:00.000Z",
        "archived": false
    })
}

/// Small delays so a recorded backoff is easy to read: 100 ms, 200 ms, …
fn policy() -> RetryPolicy {
    RetryPolicy { max_attempts: 3, base_delay: ms(100), max_delay: secs(1), max_retry_after: secs(10) }
}

fn crm_on(exchange: Arc<dyn Exchange>, base: &str, timeout: Duration) -> (Crm, RecordingSleeper) {
    let mut settings = CrmSettings::new(base.parse().unwrap(), TOKEN);
    settings.timeout = timeout;
    settings.retry = policy();
    let sleeper = RecordingSleeper::default();
    let http = HttpClient::in_process(exchange);
    let crm = Crm::with_http(settings, &http).unwrap().with_sleeper(Arc::new(sleeper.clone()));
    (crm, sleeper)
}

fn crm_of(script: &Arc<Script>) -> (Crm, RecordingSleeper) {
    crm_on(script.clone(), "http://crm.test", ms(750))
}

// ---- what the exchange is handed ----

#[tokio::test]
async fn the_exchange_sees_the_request_the_server_would() {
    let script = Script::new([json_answer(200, ann("512"))]);
    let (crm, _) = crm_on(script.clone(), "http://crm.test/hubspot/", ms(750));
    crm.get(ObjectType::Contact, 512, &["phone", "email"], &[ObjectType::Ticket]).await.unwrap();
    let script_mail = Script::new([json_answer(200, json!({"statusId": "s1", "status": "PENDING"}))]);
    let mut settings = MailSettings::new("http://mail.test".parse().unwrap(), TOKEN, 4242);
    settings.retry = policy();
    let mailer = Mailer::with_http(settings, &HttpClient::in_process(script_mail.clone())).unwrap();
    let mail = VerificationMail::new("ann@example.com", "https://shop.example/v/1".parse().unwrap(), "n1");
    assert_eq!(mailer.send_verification(&mail).await.unwrap().status_id, "s1");

    let get = &script.seen()[0];
    assert_eq!(get.method, "GET");
    assert_eq!(
        get.url,
        "http://crm.test/hubspot/crm/v3/objects/contacts/512?properties=phone&properties=email&associations=tickets"
    );
    assert_eq!(get.headers["authorization"], format!("Bearer {TOKEN}").as_str());
    assert!(get.headers["authorization"].is_sensitive(), "the token is marked sensitive");
    assert_eq!(get.headers["accept"], "application/json");
    assert!(get.headers["user-agent"].to_str().unwrap().starts_with("leakproof/"));
    assert!(!get.headers.contains_key("content-type"), "a GET has no body");
    assert!(get.body.is_empty());

    let send = &script_mail.seen()[0];
    assert_eq!(
        (send.method.as_str(), send.url.as_str()),
        ("POST", "http://mail.test/marketing/v3/transactional/single-email/send")
    );
    assert_eq!(send.headers["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_slice(&send.body).unwrap();
    assert_eq!(body["message"]["to"], "ann@example.com");
    assert_eq!(body["emailId"], 4242);
}

// ---- delays and timeouts ----

#[tokio::test(start_paused = true)]
async fn a_delay_longer_than_the_timeout_is_a_timeout_once_the_timeout_has_passed() {
    // A `timeout` fault of the mocks: answered after an hour.
    let script = Script::new((0..3).map(|_| delayed(json_answer(200, ann("512")), secs(3600))));
    let (crm, sleeper) = crm_of(&script);
    let started = Instant::now();
    let error = crm.get(ObjectType::Contact, 512, &[], &[]).await.unwrap_err();
    assert!(
        matches!(error, CrmError::Http(HttpError::Timeout { attempts: 3, timeout, .. }) if timeout == ms(750)),
        "{error:?}"
    );
    // Each attempt gave up exactly at the timeout (the backoff goes to the recording sleeper).
    let seen = script.seen();
    assert_eq!(seen.len(), 3, "every attempt reached the exchange");
    assert_eq!(seen[1].at - seen[0].at, ms(750));
    assert_eq!(seen[2].at - seen[1].at, ms(750));
    assert_eq!(started.elapsed(), ms(3 * 750));
    assert_eq!(sleeper.delays(), [ms(100), ms(200)], "a timeout is retried with backoff");
}

#[tokio::test(start_paused = true)]
async fn a_delay_within_the_timeout_is_waited_for() {
    let script = Script::new([delayed(json_answer(200, ann("512")), ms(700))]);
    let (crm, sleeper) = crm_of(&script);
    let started = Instant::now();
    let record = crm.get(ObjectType::Contact, 512, &["phone"], &[]).await.unwrap();
    assert_eq!(record.property("phone"), Some("+44 20 7946 0001"));
    assert_eq!(started.elapsed(), ms(700));
    assert!(sleeper.delays().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_delay_of_exactly_the_timeout_is_a_timeout() {
    let script = Script::new([delayed(json_answer(200, ann("512")), ms(750)), json_answer(200, ann("512"))]);
    let (crm, sleeper) = crm_of(&script);
    crm.get(ObjectType::Contact, 512, &[], &[]).await.unwrap();
    assert_eq!(script.seen().len(), 2, "the first attempt timed out and was retried");
    assert_eq!(sleeper.delays(), [ms(100)]);
}

// ---- statuses and rate limits ----

#[tokio::test]
async fn rate_limited_with_retry_after_waits_as_told() {
    let rate_limited = || {
        let mut answer = json_answer(
            429,
            json!({"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
                   "errorType": "RATE_LIMIT", "correlationId": CID, "policyName": "TEN_SECONDLY_ROLLING"}),
        );
        answer.headers.insert("retry-after", HeaderValue::from_static("3"));
        answer
    };
    let script = Script::new([rate_limited(), json_answer(200, ann("512"))]);
    let (crm, sleeper) = crm_of(&script);
    crm.get(ObjectType::Contact, 512, &[], &[]).await.unwrap();
    assert_eq!(sleeper.delays(), [secs(3)]);

    let script = Script::new([rate_limited(), rate_limited(), rate_limited()]);
    let (crm, sleeper) = crm_of(&script);
    let error = crm.get(ObjectType::Contact, 512, &[], &[]).await.unwrap_err();
    let CrmError::Http(HttpError::RateLimited { attempts, policy_name, retry_after, correlation_id, .. }) =
        error
    else {
        panic!("expected rate limited, got {error:?}")
    };
    assert_eq!(attempts, 3);
    assert_eq!(policy_name.as_deref(), Some("TEN_SECONDLY_ROLLING"));
    assert_eq!(retry_after, Some(secs(3)));
    assert_eq!(correlation_id.as_deref(), Some(CID));
    assert_eq!(sleeper.delays(), [secs(3), secs(3)]);
}

#[tokio::test]
async fn server_errors_are_retried_and_a_401_is_not() {
    let script = Script::new([json_answer(503, json!({})), json_answer(200, ann("512"))]);
    let (crm, sleeper) = crm_of(&script);
    crm.get(ObjectType::Contact, 512, &[], &[]).await.unwrap();
    assert_eq!(sleeper.delays(), [ms(100)]);

    let unauthorized = json_answer(
        401,
        json!({"status": "error", "message": "Authentication credentials not found.",
               "correlationId": CID, "category": "INVALID_AUTHENTICATION"}),
    );
    let script = Script::new([unauthorized]);
    let (crm, sleeper) = crm_of(&script);
    let error = crm.get(ObjectType::Contact, 512, &[], &[]).await.unwrap_err();
    assert!(
        matches!(&error, CrmError::Http(HttpError::Unauthorized { category, .. }) if category == "INVALID_AUTHENTICATION"),
        "{error:?}"
    );
    assert_eq!(error.correlation_id(), Some(CID));
    assert!(sleeper.delays().is_empty());
    assert!(!format!("{error} {error:?} {crm:?}").contains("0c0ffee0"), "the token stays out of errors");
}

// ---- bodies ----

async fn get_answered(answer: ExchangeResponse) -> (CrmError, usize) {
    let script = Script::new([answer]);
    let (crm, sleeper) = crm_of(&script);
    let error = crm.get(ObjectType::Contact, 512, &["phone"], &[]).await.unwrap_err();
    assert!(sleeper.delays().is_empty(), "a malformed answer is not retried");
    (error, script.seen().len())
}

fn malformed_detail(error: &CrmError) -> String {
    match error {
        CrmError::Http(HttpError::Malformed { detail, correlation_id: Some(c), .. }) if c == CID => {
            detail.clone()
        }
        other => panic!("expected malformed with the correlation id, got {other:?}"),
    }
}

#[tokio::test]
async fn truncated_malformed_and_oversized_bodies_are_malformed() {
    let whole = ann("512").to_string();
    let body = |text: &str| ExchangeResponse { body: text.as_bytes().to_vec(), ..raw_answer(200) };
    let cases = [
        ("truncated", body(&whole[..whole.len() / 2]), "truncated"),
        ("not json", body("<html><body>502 Bad Gateway</body></html>"), "not valid json"),
        ("empty", body(""), "empty"),
        ("oversized", body(&" ".repeat(4 * 1024 * 1024 + 1)), "larger than 4194304 bytes"),
    ];
    for (name, answer, expected) in cases {
        let (error, attempts) = get_answered(answer).await;
        assert_eq!(attempts, 1, "{name}");
        let detail = malformed_detail(&error);
        assert!(detail.contains(expected), "{name}: {detail}");
    }
}

#[tokio::test]
async fn an_oversized_error_body_is_ignored_not_parsed() {
    let mut body = json!({"status": "error", "message": "m", "correlationId": "from-the-body"}).to_string();
    body.push_str(&" ".repeat(4 * 1024 * 1024));
    let answer = ExchangeResponse { body: body.into_bytes(), ..ExchangeResponse::new(400) };
    let (error, _) = get_answered(answer).await;
    assert!(
        matches!(&error, CrmError::Http(HttpError::Status { status: 400, error: None, .. })),
        "{error:?}"
    );
    assert_eq!(error.correlation_id(), None);
}

#[tokio::test]
async fn an_invalid_status_is_a_connection_error() {
    let script =
        Script::new([ExchangeResponse::new(42), ExchangeResponse::new(1000), json_answer(200, ann("512"))]);
    let (crm, sleeper) = crm_of(&script);
    crm.get(ObjectType::Contact, 512, &[], &[]).await.unwrap();
    assert_eq!(sleeper.delays(), [ms(100), ms(200)], "retried as a broken connection");
}

// ---- URLs the exchange does not serve ----

#[tokio::test]
async fn a_url_the_exchange_does_not_serve_fails_and_never_reaches_the_network() {
    // A real server the request could go to, if the client fell back to the network.
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(ann("512")))
        .mount(&server)
        .await;
    let script = Script::new([]);
    let (crm, sleeper) = crm_on(script.clone(), &server.uri(), ms(750));
    let error = crm.get(ObjectType::Contact, 512, &[], &[]).await.unwrap_err();
    let CrmError::Http(HttpError::Connection { attempts, detail, .. }) = &error else {
        panic!("expected a connection error, got {error:?}")
    };
    assert_eq!(*attempts, 3, "retried as an unreachable host is");
    assert!(detail.contains("no in-process service"), "{detail}");
    assert!(!detail.contains("512"), "the path stays out of the error: {detail}");
    assert_eq!(sleeper.delays(), [ms(100), ms(200)]);
    assert!(script.seen().is_empty());
    assert!(server.received_requests().await.unwrap().is_empty(), "nothing went over the network");

    let mut settings = MailSettings::new(server.uri().parse().unwrap(), TOKEN, 4242);
    settings.retry = RetryPolicy::none();
    let mailer = Mailer::with_http(settings, &HttpClient::in_process(script.clone())).unwrap();
    let mail = VerificationMail::new("ann@example.com", "https://shop.example/v/1".parse().unwrap(), "n1");
    let error = mailer.send_verification(&mail).await.unwrap_err();
    assert!(matches!(error, MailError::Http(HttpError::Connection { attempts: 1, .. })), "{error:?}");
    assert!(server.received_requests().await.unwrap().is_empty(), "nothing went over the network");
}

#[tokio::test]
async fn the_mocks_exchange_serves_the_mocks_only() {
    let mocks = Mocks::start(Default::default()).await.unwrap();
    let exchange: Arc<dyn Exchange> = Arc::new(mocks.exchange());
    // The mail service's port with the CRM's path, another port, another host.
    let mut other_port = mocks.crm.base_url();
    other_port.set_port(Some(1)).unwrap();
    for base in [other_port.to_string(), "http://localhost:1".to_owned(), "https://127.0.0.1/".to_owned()] {
        let (crm, _) = crm_on(exchange.clone(), &base, ms(750));
        let error = crm.search_contact_by_email("ann@example.com", &[]).await.unwrap_err();
        assert!(matches!(error, CrmError::Http(HttpError::Connection { .. })), "{base}: {error:?}");
    }
    assert_eq!(mocks.crm.requests_len() + mocks.mail.requests_len(), 0);

    // The mocks' own URLs are served, with their token.
    let mut settings = CrmSettings::new(mocks.crm.base_url(), DEFAULT_TOKEN);
    settings.retry = RetryPolicy::none();
    let crm = Crm::with_http(settings, &HttpClient::in_process(exchange)).unwrap();
    assert_eq!(crm.search_contact_by_email("nobody@example.com", &[]).await.unwrap(), None);
    assert_eq!(mocks.crm.requests().len(), 1);
    assert_eq!(mocks.crm.requests()[0].status, 200);
}

// ---- the shipped suite, in process and over sockets ----

/// The shipped suite, plus runs with a `delay` fault (none of the shipped scenarios has one):
/// within the client's timeout on every call, and longer than it on the first write and the
/// first send (each applied all the same, then retried).
fn suite() -> Vec<Scenario> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let files = scenario::discover(&[root]).unwrap();
    let mut suite: Vec<Scenario> = files.iter().map(|file| scenario::load_file(file).unwrap()).collect();
    let writes_and_sends = |s: &&Scenario| s.tags.iter().any(|t| t == "updates" || t == "verification");
    let delayed: Vec<Scenario> = suite
        .iter()
        .filter(writes_and_sends)
        .take(6)
        .enumerate()
        .map(|(n, scenario)| {
            let mut scenario = scenario.clone();
            scenario.name = format!("{} (delayed)", scenario.name);
            scenario.faults = if n % 2 == 0 {
                vec![Fault::always(Endpoint::Any, FaultKind::Delay(ms(40)))]
            } else {
                vec![
                    Fault::first(1, Endpoint::UpdateContact, FaultKind::Delay(secs(1))),
                    Fault::first(1, Endpoint::SendMail, FaultKind::Delay(secs(1))),
                ]
            };
            scenario
        })
        .collect();
    assert_eq!(delayed.len(), 6, "scenarios that write or send");
    suite.extend(delayed);
    suite
}

/// Everything observable of a run, with what differs between any two runs (the session id,
/// link tokens, ports) redacted.
fn observed(result: &RunResult, scenario: &Scenario) -> String {
    let observed = json!({
        "snapshot": snapshot::of(result, scenario.start),
        "passed": result.passed(),
        "crm_requests": result.observed.crm_requests,
        "writes": result.observed.writes,
        "mails": result.observed.mails,
    });
    let text = serde_json::to_string_pretty(&observed).unwrap();
    snapshot::redact(&text.replace(&result.session, "[session]"))
}

/// The name of a fault's kind.
fn kind_name(kind: &FaultKind) -> &'static str {
    match kind {
        FaultKind::Status(_) => "status",
        FaultKind::Delay(_) => "delay",
        FaultKind::Timeout => "timeout",
        FaultKind::Malformed => "malformed",
        FaultKind::Truncated => "truncated",
        FaultKind::RateLimited { .. } => "rate_limited",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_runs_the_same_in_process_as_over_sockets() {
    let suite = Arc::new(suite());
    let lanes = 6;
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..lanes {
        let suite = suite.clone();
        tasks.spawn(async move {
            let in_process = Rig::start().await.unwrap();
            assert!(in_process.http.is_in_process(), "a rig's agents reach its mocks in process");
            let sockets = Rig { http: HttpClient::new().unwrap(), ..Rig::start().await.unwrap() };
            let mut compared = Vec::new();
            let mut faults = BTreeSet::new();
            for scenario in suite.iter().skip(lane).step_by(lanes) {
                let direct = run_on(&in_process, scenario, &leakproof::reference::target(), 1).await;
                let networked = run_on(&sockets, scenario, &leakproof::reference::target(), 1).await;
                assert!(direct.error.is_none() && networked.error.is_none(), "{}", scenario.name);
                let requests = direct.observed.crm_requests.iter();
                faults.extend(requests.filter_map(|request| request.fault.as_ref().map(kind_name)));
                compared.push((
                    scenario.name.clone(),
                    observed(&direct, scenario),
                    observed(&networked, scenario),
                ));
            }
            in_process.close().await;
            sockets.close().await;
            (compared, faults)
        });
    }
    let mut faults = BTreeSet::new();
    let mut runs = 0;
    for (compared, struck) in tasks.join_all().await {
        for (name, direct, networked) in &compared {
            assert_eq!(direct, networked, "{name}: in process (left) and over sockets (right) differ");
        }
        runs += compared.len();
        faults.extend(struck);
    }
    assert_eq!(runs, suite.len());
    let every = ["delay", "malformed", "rate_limited", "status", "timeout", "truncated"];
    assert_eq!(faults.into_iter().collect::<Vec<_>>(), every, "the fault kinds the CRM's requests met");
}
