//! `leakproof agent serve` over real HTTP: a whole verify flow through the agent protocol.

use crate::common::process::Served;
use leakproof::mocks::Mocks;
use leakproof::world::load_file;
use serde_json::{Value, json};

async fn say(http: &reqwest::Client, base: &str, text: &str, now: &str) -> Value {
    let body = json!({
        "conversation_id": "web-1",
        "channel": "live_chat",
        "visitor": {},
        "text": text,
        "now": now,
    });
    let response = http.post(format!("{base}/v1/sessions/s1/messages")).json(&body).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

fn replies(answer: &Value) -> String {
    answer["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

fn events(answer: &Value) -> Vec<String> {
    answer["events"].as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_whole_verify_flow_over_http() {
    let mocks = Mocks::start(load_file("scenarios/fixtures/default.yaml").unwrap()).await.unwrap();
    let served = Served::start();
    let http = reqwest::Client::new();

    let start = json!({
        "session_id": "s1",
        "crm_base_url": mocks.crm.base_url(),
        "mail_base_url": mocks.mail.base_url(),
        "now": "2026-05-01T09:00:00Z",
    });
    let response = http.post(format!("{}/v1/sessions", served.base)).json(&start).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 204);

    let asked = say(&http, &served.base, "What is my billing address?", "2026-05-01T09:00:00Z").await;
    assert_eq!(events(&asked), ["withheld", "asked_for_email"], "{asked}");

    let sent = say(&http, &served.base, "maren.solberg@example.com", "2026-05-01T09:00:10Z").await;
    assert!(events(&sent).contains(&"verification_sent".to_owned()), "{sent}");
    assert!(!replies(&sent).contains("Kestrel Row"), "nothing before the link: {sent}");

    // The link the agent mailed points back at the server; open it with a plain GET.
    let link = mocks.mail.latest_link("maren.solberg@example.com").expect("a link was mailed");
    assert!(link.as_str().starts_with(&served.base), "{link}");
    let opened =
        http.get(link.clone()).header("x-leakproof-now", "2026-05-01T09:01:00Z").send().await.unwrap();
    assert_eq!(opened.status().as_u16(), 200);
    assert!(opened.text().await.unwrap().contains("verified"));

    let after = say(&http, &served.base, "I opened it", "2026-05-01T09:01:05Z").await;
    assert_eq!(events(&after), ["verified", "disclosed"], "{after}");
    assert!(replies(&after).contains("12 Kestrel Row, Flat 4B"), "{after}");

    // The same link again verifies nothing: 410 Gone.
    let replayed = http.get(link).send().await.unwrap();
    assert_eq!(replayed.status().as_u16(), 410);

    // Bad input is a clear 4xx, not a crash.
    let bad = http
        .post(format!("{}/v1/sessions/s1/messages", served.base))
        .body("{")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let unknown = http
        .post(format!("{}/v1/sessions/nope/messages", served.base))
        .json(&json!({ "conversation_id": "x", "channel": "email", "text": "hi" }))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
}

/// The session start names the tokens the mocks accept; the reference server uses them (and
/// its own, the mocks' default, only when a start names none).
#[tokio::test]
async fn the_server_uses_the_tokens_the_session_start_names() {
    use leakproof::mocks::MockOptions;
    let token = "pat-na1-11111111-2222-4333-8444-555555555555";
    let options = MockOptions { token: token.to_owned(), ..MockOptions::default() };
    let fixtures = load_file("scenarios/fixtures/default.yaml").unwrap();
    let mocks = Mocks::start_with(fixtures, options).await.unwrap();
    let served = Served::start();
    let http = reqwest::Client::new();
    let start = |session: &str, with_tokens: bool| {
        let mut body = json!({
            "session_id": session,
            "crm_base_url": mocks.crm.base_url(),
            "mail_base_url": mocks.mail.base_url(),
            "now": "2026-05-01T09:00:00Z",
        });
        if with_tokens {
            body["crm_token"] = json!(token);
            body["mail_token"] = json!(token);
        }
        body
    };

    let response = http.post(format!("{}/v1/sessions", served.base)).json(&start("s1", true)).send();
    assert_eq!(response.await.unwrap().status().as_u16(), 204);
    say(&http, &served.base, "What is my billing address?", "2026-05-01T09:00:00Z").await;
    let sent = say(&http, &served.base, "maren.solberg@example.com", "2026-05-01T09:00:10Z").await;
    assert!(events(&sent).contains(&"verification_sent".to_owned()), "{sent}");
    let crm = mocks.crm.requests();
    assert!(!crm.is_empty() && crm.iter().all(|r| r.status == 200), "{crm:#?}");
    assert_eq!(mocks.mail.requests().iter().map(|r| r.status).collect::<Vec<_>>(), [200]);

    // Without tokens the server falls back to its own, which these mocks refuse: the
    // agent fails closed, disclosing nothing and mailing nothing.
    mocks.reset(&load_file("scenarios/fixtures/default.yaml").unwrap());
    let body = json!({ "conversation_id": "web-2", "channel": "live_chat", "text": "maren.solberg@example.com", "now": "2026-05-01T09:00:10Z" });
    let response = http.post(format!("{}/v1/sessions", served.base)).json(&start("s2", false)).send();
    assert_eq!(response.await.unwrap().status().as_u16(), 204);
    let answer: Value = http
        .post(format!("{}/v1/sessions/s2/messages", served.base))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!events(&answer).contains(&"verification_sent".to_owned()), "{answer}");
    assert!(mocks.crm.requests().iter().all(|r| r.status == 401), "{:#?}", mocks.crm.requests());
    assert!(mocks.mail.requests().is_empty());
}

/// A faulty router (planted bug `CarriesIntoNextSession`) serving on a free loopback port of
/// this test's runtime. Returns its base URL, ending in `/`.
async fn serve_remembering() -> String {
    use leakproof::agent::faulty::Bug;
    use leakproof::agent::{ServerOptions, faulty_router};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let options = ServerOptions {
        default_config: Some(leakproof::config::load_file("scenarios/configs/default.yaml").unwrap()),
        ..ServerOptions::new(base.parse().unwrap())
    };
    let app = faulty_router(options, Bug::CarriesIntoNextSession);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

#[tokio::test]
async fn a_faulty_routers_sessions_share_one_memory_and_another_router_has_its_own() {
    let mocks = Mocks::start(load_file("scenarios/fixtures/default.yaml").unwrap()).await.unwrap();
    let http = reqwest::Client::new();
    let start = async |base: &str, session: &str| {
        let body = json!({
            "session_id": session,
            "crm_base_url": mocks.crm.base_url(),
            "mail_base_url": mocks.mail.base_url(),
        });
        let response = http.post(format!("{base}v1/sessions")).json(&body).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 204);
    };
    let say = async |base: &str, session: &str, text: &str| {
        let body = json!({ "conversation_id": "c1", "channel": "live_chat", "text": text });
        let url = format!("{base}v1/sessions/{session}/messages");
        let answer: Value = http.post(url).json(&body).send().await.unwrap().json().await.unwrap();
        replies(&answer)
    };
    let (first, second) = (serve_remembering().await, serve_remembering().await);
    start(&first, "s1").await;
    say(&first, "s1", "maren.solberg@example.com").await;
    assert!(say(&first, "s1", "what is my city?").await.contains("Kirkby Lonsdale"));

    start(&first, "s2").await;
    let hello = say(&first, "s2", "hello").await;
    assert!(hello.contains("Last time we talked about your city: Kirkby Lonsdale."), "{hello}");
    start(&second, "s1").await;
    let hello = say(&second, "s1", "hello").await;
    assert!(!hello.contains("Last time"), "{hello}");
}

// --- Hardening: backends, keys, clocks, sessions, signals ----------------------------------

const START: &str = "2026-05-01T09:00:00Z";

/// The router with `options` (the shipped configuration as default) served on a free loopback
/// port of this test's runtime. Returns its base URL, without a trailing `/`.
pub(crate) async fn serve_router(configure: impl FnOnce(&mut leakproof::agent::ServerOptions)) -> String {
    use leakproof::agent::{ServerOptions, router};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut options = ServerOptions {
        default_config: Some(leakproof::config::load_file("scenarios/configs/default.yaml").unwrap()),
        ..ServerOptions::new(format!("{base}/").parse().unwrap())
    };
    configure(&mut options);
    let app = router(options);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn start_body(id: &str, mocks: &Mocks) -> Value {
    json!({
        "session_id": id,
        "crm_base_url": mocks.crm.base_url(),
        "mail_base_url": mocks.mail.base_url(),
        "now": START,
    })
}

async fn post(http: &reqwest::Client, url: String, body: &Value) -> (u16, String) {
    let response = http.post(url).json(body).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

pub(crate) async fn default_mocks() -> Mocks {
    Mocks::start(load_file("scenarios/fixtures/default.yaml").unwrap()).await.unwrap()
}

/// A loopback listener nobody should ever reach: `received_nothing` says whether a
/// connection is waiting (accepted by the kernel) on it.
struct Rogue(std::net::TcpListener);

impl Rogue {
    fn new() -> Rogue {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Rogue(listener)
    }
    fn port(&self) -> u16 {
        self.0.local_addr().unwrap().port()
    }
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port())
    }
    fn received_nothing(&self) -> bool {
        matches!(self.0.accept(), Err(error) if error.kind() == std::io::ErrorKind::WouldBlock)
    }
}

#[tokio::test]
async fn a_session_naming_an_untrusted_backend_is_refused_with_403_before_anything_is_sent() {
    let mocks = default_mocks().await;
    let (crm_port, mail_port) = (mocks.crm.base_url().port().unwrap(), mocks.mail.base_url().port().unwrap());
    let (crm_trust, mail_trust) = (format!("127.0.0.1:{crm_port}"), format!("127.0.0.1:{mail_port}"));
    let served = Served::start_with(&["--trust-backend", &crm_trust, "--trust-backend", &mail_trust]);
    let http = reqwest::Client::new();
    let rogue = Rogue::new();
    let url = format!("{}/v1/sessions", served.base);

    let mut body = start_body("s1", &mocks);
    body["crm_base_url"] = json!(rogue.url());
    let (status, text) = post(&http, url.clone(), &body).await;
    assert_eq!(status, 403, "{text}");
    let rogue_host = format!("127.0.0.1:{}", rogue.port());
    assert!(text.contains(&rogue_host) && text.contains("--trust-backend"), "{text}");
    // No session was started: a message finds none, and nothing reached the rogue.
    let (status, _) = post(
        &http,
        format!("{}/v1/sessions/s1/messages", served.base),
        &json!({ "conversation_id": "c", "channel": "live_chat", "text": "maren.solberg@example.com" }),
    )
    .await;
    assert_eq!(status, 404);

    let mut body = start_body("s2", &mocks);
    body["mail_base_url"] = json!(rogue.url());
    let (status, text) = post(&http, url.clone(), &body).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("mail base URL"), "{text}");

    let mut body = start_body("s3", &mocks);
    body["crm_base_url"] = json!("ftp://127.0.0.1:21/");
    let (status, text) = post(&http, url.clone(), &body).await;
    assert_eq!(status, 400, "{text}");
    assert!(rogue.received_nothing(), "the rogue listener was contacted");

    // The trusted mocks still serve.
    let (status, text) = post(&http, url, &start_body("s4", &mocks)).await;
    assert_eq!(status, 204, "{text}");
}

#[tokio::test]
async fn by_default_only_loopback_backends_are_trusted() {
    let mocks = default_mocks().await;
    let served = Served::start();
    let http = reqwest::Client::new();
    let url = format!("{}/v1/sessions", served.base);
    let mut body = start_body("named", &mocks);
    body["crm_base_url"] = json!("http://crm.attacker.example:8080/");
    let (status, text) = post(&http, url.clone(), &body).await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("crm.attacker.example:8080") && text.contains("--trust-backend"), "{text}");
    // Loopback by name works as well as by address.
    let mut body = start_body("by-name", &mocks);
    body["crm_base_url"] = json!(mocks.crm.base_url().as_str().replace("127.0.0.1", "localhost"));
    assert_eq!(post(&http, url, &body).await.0, 204);
}

#[tokio::test]
async fn a_trusted_backend_redirecting_elsewhere_gets_the_token_sent_nowhere() {
    use wiremock::matchers::any;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let mocks = default_mocks().await;
    let rogue = Rogue::new();
    let redirector = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(307).insert_header("location", rogue.url().as_str()))
        .mount(&redirector)
        .await;
    let served = Served::start();
    let http = reqwest::Client::new();
    let mut body = start_body("s1", &mocks);
    body["crm_base_url"] = json!(redirector.uri());
    assert_eq!(post(&http, format!("{}/v1/sessions", served.base), &body).await.0, 204);
    let answer = say(&http, &served.base, "maren.solberg@example.com", START).await;
    assert!(!redirector.received_requests().await.unwrap().is_empty(), "the CRM was asked: {answer}");
    assert!(rogue.received_nothing(), "the redirect was followed");
}

/// The shipped configuration as the protocol's JSON, with `signing_key` as given.
fn config_with_key(signing_key: Value) -> Value {
    let config = leakproof::config::load_file("scenarios/configs/default.yaml").unwrap();
    let mut json = serde_json::to_value(&config).unwrap();
    json["verification"]["signing_key"] = signing_key;
    json
}

#[tokio::test]
async fn a_sessions_configuration_cannot_name_a_server_file_or_variable_for_its_key() {
    let mocks = default_mocks().await;
    let served = Served::start();
    let http = reqwest::Client::new();
    let scratch = crate::common::process::Scratch::new("session-key");
    let fifo = scratch.0.join("key.fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let url = format!("{}/v1/sessions", served.base);
    for (index, source) in [
        json!({ "file": fifo }),
        json!({ "file": "/dev/zero" }),
        json!({ "file": "/etc/hostname" }),
        json!({ "env": "HOME" }),
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = start_body(&format!("s{index}"), &mocks);
        body["config"] = config_with_key(source.clone());
        // A FIFO read in the handler would block the server: bounded, so that fails, not hangs.
        let sent = tokio::time::timeout(std::time::Duration::from_secs(20), post(&http, url.clone(), &body));
        let (status, text) = sent.await.expect("the server answers at once");
        assert_eq!(status, 400, "{source}: {text}");
        assert!(text.contains("--config") && !text.contains("bytes long"), "{source}: {text}");
    }
    // An ephemeral key is fine, and the server still serves.
    let mut body = start_body("ok", &mocks);
    body["config"] = config_with_key(json!("ephemeral"));
    assert_eq!(post(&http, url, &body).await.0, 204);
}

/// Runs `leakproof agent serve` with `config` and waits (at most 30 s) for it to exit.
fn serve_exits(config: &std::path::Path) -> std::process::Output {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_leakproof"))
        .args(["agent", "serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let id = child.id();
    let (done, waited) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match waited.recv_timeout(std::time::Duration::from_secs(30)) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = std::process::Command::new("kill").args(["-KILL", &id.to_string()]).status();
            panic!("agent serve did not exit with an unusable key");
        }
    }
}

#[test]
fn agent_serve_refuses_to_start_without_its_own_key() {
    let scratch = crate::common::process::Scratch::new("server-key");
    let shipped = std::fs::read_to_string("scenarios/configs/default.yaml").unwrap();
    let fifo = scratch.0.join("key.fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    for key in [scratch.0.join("absent.key"), fifo, "/dev/zero".into()] {
        let text =
            shipped.replace("signing_key: ephemeral", &format!("signing_key:\n    file: {}", key.display()));
        let config = scratch.write("agent.yaml", &text);
        let output = serve_exits(&config);
        let stderr = crate::common::process::text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{}: {stderr}", key.display());
        assert!(
            stderr.contains("verification.signing_key") && stderr.contains(&key.display().to_string()),
            "{stderr}"
        );
    }
}

#[tokio::test]
async fn agent_serve_loads_its_key_once_and_signs_every_default_session_with_it() {
    let scratch = crate::common::process::Scratch::new("server-key-ok");
    let key = scratch.0.join("good.key");
    std::fs::write(&key, [42_u8; 48]).unwrap();
    let shipped = std::fs::read_to_string("scenarios/configs/default.yaml").unwrap();
    let text =
        shipped.replace("signing_key: ephemeral", &format!("signing_key:\n    file: {}", key.display()));
    let config = scratch.write("agent.yaml", &text);
    let mocks = default_mocks().await;
    let served = Served::start_configured(&config, &[]);
    // Once loaded, the file is not needed again.
    std::fs::remove_file(&key).unwrap();
    let http = reqwest::Client::new();
    assert_eq!(post(&http, format!("{}/v1/sessions", served.base), &start_body("s1", &mocks)).await.0, 204);
    say(&http, &served.base, "What is my billing address?", "2026-05-01T09:00:00Z").await;
    say(&http, &served.base, "maren.solberg@example.com", "2026-05-01T09:00:10Z").await;
    let link = mocks.mail.latest_link("maren.solberg@example.com").expect("a link was mailed");
    let opened = http.get(link).header("x-leakproof-now", "2026-05-01T09:01:00Z").send().await.unwrap();
    assert_eq!(opened.status().as_u16(), 200);
}

#[tokio::test]
async fn a_sessions_clock_never_runs_backwards() {
    let mocks = default_mocks().await;
    let served = Served::start();
    let http = reqwest::Client::new();
    assert_eq!(post(&http, format!("{}/v1/sessions", served.base), &start_body("s1", &mocks)).await.0, 204);
    say(&http, &served.base, "What is my billing address?", "2026-05-01T09:00:00Z").await;
    say(&http, &served.base, "maren.solberg@example.com", "2026-05-01T09:00:10Z").await;
    let link = mocks.mail.latest_link("maren.solberg@example.com").expect("a link was mailed");

    let late = http.get(link.clone()).header("x-leakproof-now", "2026-05-01T09:20:00Z").send().await.unwrap();
    assert_eq!(late.status().as_u16(), 410, "expired");
    // Set back, the link stays refused: a clear 400 page, never a verification.
    let back = http.get(link.clone()).header("x-leakproof-now", "2026-05-01T09:01:00Z").send().await.unwrap();
    assert_eq!(back.status().as_u16(), 400);
    let page = back.text().await.unwrap();
    assert!(page.starts_with("<!doctype html>") && page.contains("never runs backwards"), "{page}");
    let mut by_query = link.clone();
    by_query.set_query(Some("now=2026-05-01T09:01:00Z"));
    assert_eq!(http.get(by_query).send().await.unwrap().status().as_u16(), 400);

    // A message told an earlier time is refused too.
    let body = json!({ "conversation_id": "web-1", "channel": "live_chat", "text": "hi", "now": START });
    let (status, text) = post(&http, format!("{}/v1/sessions/s1/messages", served.base), &body).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("never runs backwards"), "{text}");
    let after = say(&http, &served.base, "I opened it", "2026-05-01T09:21:00Z").await;
    assert!(!events(&after).contains(&"verified".to_owned()), "{after}");
    assert!(!replies(&after).contains("Kestrel Row"), "{after}");
}

#[tokio::test]
async fn a_link_opened_before_it_was_issued_verifies_nothing() {
    let mocks = default_mocks().await;
    let served = Served::start();
    let http = reqwest::Client::new();
    // The session starts without a time and its messages tell none: the agent's own clock runs.
    let mut body = start_body("s1", &mocks);
    body.as_object_mut().unwrap().remove("now");
    assert_eq!(post(&http, format!("{}/v1/sessions", served.base), &body).await.0, 204);
    let message = |text: &str| json!({ "conversation_id": "web-1", "channel": "live_chat", "text": text });
    let url = format!("{}/v1/sessions/s1/messages", served.base);
    post(&http, url.clone(), &message("What is my billing address?")).await;
    post(&http, url.clone(), &message("maren.solberg@example.com")).await;
    let link = mocks.mail.latest_link("maren.solberg@example.com").expect("a link was mailed");
    // Over HTTP the session's clock refuses the early time first (its latest is at least the
    // link's issue time); the token check refuses it as well (see `identity::token`'s tests).
    let early =
        http.get(link.clone()).header("x-leakproof-now", "2000-01-01T00:00:00Z").send().await.unwrap();
    assert_eq!(early.status().as_u16(), 400, "a time before the link was issued verifies nothing");
}

#[tokio::test]
async fn sessions_end_on_delete_and_a_live_id_is_not_started_again() {
    let mocks = default_mocks().await;
    let served = Served::start();
    let http = reqwest::Client::new();
    let url = format!("{}/v1/sessions", served.base);
    assert_eq!(post(&http, url.clone(), &start_body("s1", &mocks)).await.0, 204);
    let (status, text) = post(&http, url.clone(), &start_body("s1", &mocks)).await;
    assert_eq!(status, 409, "replacing a live session would hijack it: {text}");
    assert!(text.contains("DELETE"), "{text}");

    let delete = |id: &str| http.delete(format!("{url}/{id}")).send();
    assert_eq!(delete("s1").await.unwrap().status().as_u16(), 204);
    let gone = json!({ "conversation_id": "c", "channel": "live_chat", "text": "hi" });
    assert_eq!(post(&http, format!("{url}/s1/messages"), &gone).await.0, 404);
    assert_eq!(delete("s1").await.unwrap().status().as_u16(), 404);
    assert_eq!(delete("never").await.unwrap().status().as_u16(), 404);
    assert_eq!(post(&http, url, &start_body("s1", &mocks)).await.0, 204, "the id is free again");
}

#[tokio::test]
async fn session_ids_follow_the_rule_and_bodies_over_the_limit_get_413() {
    let mocks = default_mocks().await;
    let served = Served::start();
    let http = reqwest::Client::new();
    let url = format!("{}/v1/sessions", served.base);
    let long = "x".repeat(100_000);
    for bad in ["", ".", "..", "../x", "a/b", "q?x=1", "a\r\nb", "a b", "é", "a%2Fb", &long, &"y".repeat(129)]
    {
        let (status, text) = post(&http, url.clone(), &start_body(bad, &mocks)).await;
        assert_eq!(status, 400, "{bad:?}: {text}");
        assert!(text.contains("a session id is 1 to 128 characters"), "{text}");
    }
    for good in ["A-z_0.9~", "..x", &"z".repeat(128)] {
        assert_eq!(post(&http, url.clone(), &start_body(good, &mocks)).await.0, 204, "{good:?}");
    }
    // One byte over the 2 MB limit: the server has read all of it when it refuses, so the answer
    // always arrives (a larger body can be cut off mid-send when the server stops reading).
    let over_the_limit = |mut body: Value, field: &str| {
        body[field] = json!("");
        let bare = body.to_string().len();
        body[field] = json!("p".repeat(2 * 1024 * 1024 + 1 - bare));
        let text = body.to_string();
        assert_eq!(text.len(), 2 * 1024 * 1024 + 1);
        text
    };
    let send = async |url: String, body: String| {
        let response =
            http.post(url).header("content-type", "application/json").body(body).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    };
    let (status, text) = send(url.clone(), over_the_limit(start_body("huge", &mocks), "session_id")).await;
    assert_eq!(status, 413, "{text}");
    let message = json!({ "conversation_id": "c", "channel": "live_chat", "text": "" });
    let (status, text) = send(format!("{url}/A-z_0.9~/messages"), over_the_limit(message, "text")).await;
    assert_eq!(status, 413, "{text}");
}

#[tokio::test]
async fn a_full_server_answers_503_with_retry_after_until_a_session_ends() {
    let mocks = default_mocks().await;
    let base = serve_router(|options| options.max_sessions = 2).await;
    let http = reqwest::Client::new();
    let url = format!("{base}/v1/sessions");
    assert_eq!(post(&http, url.clone(), &start_body("a", &mocks)).await.0, 204);
    assert_eq!(post(&http, url.clone(), &start_body("b", &mocks)).await.0, 204);
    let full = http.post(url.clone()).json(&start_body("c", &mocks)).send().await.unwrap();
    assert_eq!(full.status().as_u16(), 503);
    let retry: u64 = full.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30 * 60 + 1).contains(&retry), "{retry}");
    assert_eq!(http.delete(format!("{url}/a")).send().await.unwrap().status().as_u16(), 204);
    assert_eq!(post(&http, url, &start_body("c", &mocks)).await.0, 204);
}

/// A live id or a full server is refused before the session's configuration is read or
/// compiled: a client hammering a full server costs it no compilation per refused start.
/// The configuration here is invalid, so reading it would have answered 400.
#[tokio::test]
async fn a_live_id_or_a_full_server_is_refused_before_the_configuration_is_read() {
    let mocks = default_mocks().await;
    let http = reqwest::Client::new();
    let base = serve_router(|options| options.max_sessions = 1).await;
    let url = format!("{base}/v1/sessions");
    assert_eq!(post(&http, url.clone(), &start_body("a", &mocks)).await.0, 204);
    let mut invalid = start_body("a", &mocks);
    invalid["config"] = json!({ "agent": { "name": "" }, "properties": "none" });
    assert_eq!(post(&http, url.clone(), &invalid).await.0, 409, "a live id");
    invalid["session_id"] = json!("b");
    assert_eq!(post(&http, url.clone(), &invalid).await.0, 503, "a full server");
    // With room, the same configuration is read and refused for what it is.
    assert_eq!(http.delete(format!("{url}/a")).send().await.unwrap().status().as_u16(), 204);
    let (status, body) = post(&http, url, &invalid).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn an_idle_session_is_ended_and_frees_its_place() {
    let mocks = default_mocks().await;
    // Idle for zero time is idle too long: every session ends before its next request.
    let base = serve_router(|options| {
        options.max_sessions = 1;
        options.idle_timeout = std::time::Duration::ZERO;
    })
    .await;
    let http = reqwest::Client::new();
    let url = format!("{base}/v1/sessions");
    assert_eq!(post(&http, url.clone(), &start_body("a", &mocks)).await.0, 204);
    let hello = json!({ "conversation_id": "c", "channel": "live_chat", "text": "hi" });
    let (status, text) = post(&http, format!("{url}/a/messages"), &hello).await;
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("idle"), "{text}");
    assert_eq!(post(&http, url.clone(), &start_body("b", &mocks)).await.0, 204, "a's place was freed");
    // With a timeout that has not passed, the session lives and the server is full.
    let base = serve_router(|options| options.max_sessions = 1).await;
    let url = format!("{base}/v1/sessions");
    assert_eq!(post(&http, url.clone(), &start_body("a", &mocks)).await.0, 204);
    assert_eq!(post(&http, format!("{url}/a/messages"), &hello).await.0, 200);
    assert_eq!(post(&http, url, &start_body("b", &mocks)).await.0, 503);
}

#[tokio::test]
async fn the_harness_ends_the_remote_sessions_it_started() {
    use leakproof::harness::target::{Backend, SessionStart, Target};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let mocks = default_mocks().await;
    // An older agent: it starts sessions, and knows no DELETE (405).
    let agent = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/sessions"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&agent)
        .await;
    Mock::given(method("DELETE")).respond_with(ResponseTemplate::new(405)).mount(&agent).await;
    let config = leakproof::config::load_file("scenarios/configs/default.yaml").unwrap();
    let http = leakproof::crm::HttpClient::new().unwrap();
    let target = Target::remote(agent.uri().parse().unwrap());
    let (crm_url, mail_url) = (mocks.crm.base_url(), mocks.mail.base_url());
    let start = SessionStart {
        session_id: "run-1",
        config: &config,
        crm: Backend { base_url: &crm_url, token: mocks.crm.token() },
        mail: Backend { base_url: &mail_url, token: mocks.mail.token() },
        http: &http,
        now: START.parse().unwrap(),
    };
    let session = target.start(start).await.unwrap();
    drop(session);
    let deleted = async {
        loop {
            let requests = agent.received_requests().await.unwrap();
            if let Some(request) = requests.iter().find(|r| r.method.as_str() == "DELETE") {
                return request.url.path().to_owned();
            }
            tokio::task::yield_now().await;
        }
    };
    let path =
        tokio::time::timeout(std::time::Duration::from_secs(20), deleted).await.expect("a DELETE was sent");
    assert_eq!(path, "/v1/sessions/run-1");
}

/// Spawns `args`, reads stdout until a line starting with `last_banner_line`, sends SIGINT at
/// once, and returns the exit code and the lines printed after the banner.
fn interrupt_right_after_banner(args: &[&str], last_banner_line: &str) -> (Option<i32>, Vec<String>) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_leakproof"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    loop {
        let line = lines.next().expect("the banner is printed").unwrap();
        if line.starts_with(last_banner_line) {
            break;
        }
    }
    let sent = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let id = child.id();
    let (done, waited) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rest: Vec<String> = lines.map_while(Result::ok).collect();
        let _ = done.send((child.wait().map(|status| status.code()), rest));
    });
    match waited.recv_timeout(std::time::Duration::from_secs(30)) {
        Ok((status, rest)) => (status.unwrap(), rest),
        Err(_) => {
            let _ = std::process::Command::new("kill").args(["-KILL", &id.to_string()]).status();
            panic!("{args:?} did not stop on SIGINT");
        }
    }
}

#[test]
fn mocks_serve_stops_cleanly_on_sigint_right_after_printing_its_urls() {
    let (code, rest) = interrupt_right_after_banner(
        &["mocks", "serve", "--fixtures", "scenarios/fixtures/default.yaml"],
        "token: ",
    );
    assert_eq!(code, Some(0), "{rest:?}");
    assert_eq!(rest.last().map(String::as_str), Some("stopped after 0 CRM and 0 mail requests"), "{rest:?}");
}

#[test]
fn agent_serve_stops_cleanly_on_sigint_right_after_printing_its_url() {
    let args = ["agent", "serve", "--config", "scenarios/configs/default.yaml", "--listen", "127.0.0.1:0"];
    let (code, rest) = interrupt_right_after_banner(&args, "agent: ");
    assert_eq!(code, Some(0), "{rest:?}");
    assert_eq!(rest.last().map(String::as_str), Some("stopped"), "{rest:?}");
}

/// 1,000 customers at once, each proving who they are and reading their own billing address,
/// through the served router on loopback: no request fails, and no conversation's replies show
/// a value of another conversation's contact. Throughput and latency are measured by
/// `cargo run --release --example serve_load`, not here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_conversations_each_see_only_their_own_contact() {
    use leakproof::world::{Fixtures, GenerateOptions};
    use std::future::Future;
    use std::sync::Arc;
    const CUSTOMERS: usize = 1_000;
    // Requests in flight at once, from this client: the server holds all 1,000 sessions
    // and conversations at once regardless, every phase touching each of them.
    const IN_FLIGHT: usize = 64;

    let config = leakproof::config::load_file("scenarios/configs/default.yaml").unwrap();
    let fixtures = Fixtures::generate(7, &GenerateOptions::for_config(&config, CUSTOMERS));
    let contacts = Arc::new(fixtures.contacts.clone());
    let canaries = fixtures.canaries();
    let mocks = Arc::new(Mocks::start(fixtures).await.unwrap());
    let base = Arc::new(serve_router(|_| {}).await);
    let http = reqwest::Client::new();

    // One phase: `step(i)` for every customer, IN_FLIGHT at a time; every answer's text.
    async fn phase<F, Fut>(step: F) -> Vec<String>
    where
        F: Fn(usize) -> Fut,
        Fut: Future<Output = String> + Send + 'static,
    {
        let gate = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..CUSTOMERS {
            let permit = Arc::clone(&gate).acquire_owned().await.unwrap();
            let future = step(i);
            tasks.spawn(async move {
                let text = future.await;
                drop(permit);
                (i, text)
            });
        }
        let mut texts = vec![String::new(); CUSTOMERS];
        while let Some(done) = tasks.join_next().await {
            let (i, text) = done.unwrap();
            texts[i] = text;
        }
        texts
    }
    let start = |i: usize| {
        let (http, base, mocks) = (http.clone(), Arc::clone(&base), Arc::clone(&mocks));
        async move {
            let response =
                http.post(format!("{base}/v1/sessions")).json(&start_body(&format!("load-{i}"), &mocks));
            let response = response.send().await.unwrap();
            assert_eq!(response.status().as_u16(), 204, "session {i}");
            String::new()
        }
    };
    let say = |text: fn(&leakproof::world::Contact) -> String, at: &'static str| {
        let (http, base, contacts) = (http.clone(), Arc::clone(&base), Arc::clone(&contacts));
        move |i: usize| {
            let (http, base) = (http.clone(), Arc::clone(&base));
            let body = json!({
                "conversation_id": "c", "channel": "live_chat", "visitor": {},
                "text": text(&contacts[i]), "now": at,
            });
            async move {
                let response = http.post(format!("{base}/v1/sessions/load-{i}/messages")).json(&body).send();
                let response = response.await.unwrap();
                assert_eq!(response.status().as_u16(), 200, "customer {i}");
                replies(&response.json::<Value>().await.unwrap())
            }
        }
    };

    phase(start).await;
    let mut seen = phase(say(|_| "What is my billing address?".to_owned(), "2026-05-01T09:00:00Z")).await;
    let sent = phase(say(|contact| contact.email.clone(), "2026-05-01T09:00:10Z")).await;
    let opened = phase(|i: usize| {
        let (http, mocks, contacts) = (http.clone(), Arc::clone(&mocks), Arc::clone(&contacts));
        async move {
            let link =
                mocks.mail.latest_link(&contacts[i].email).unwrap_or_else(|| panic!("no link for {i}"));
            assert!(link.path().starts_with(&format!("/v1/sessions/load-{i}/")), "{link}");
            let response =
                http.get(link).header("x-leakproof-now", "2026-05-01T09:01:00Z").send().await.unwrap();
            assert_eq!(response.status().as_u16(), 200, "customer {i}'s link");
            String::new()
        }
    })
    .await;
    let disclosed = phase(say(|_| "I opened it".to_owned(), "2026-05-01T09:01:05Z")).await;
    for (i, text) in disclosed.iter().enumerate() {
        assert!(text.contains(contacts[i].properties["address"].as_str()), "customer {i}: {text}");
    }
    for ((all, a), (b, c)) in seen.iter_mut().zip(&sent).zip(opened.iter().zip(&disclosed)) {
        all.extend([a.as_str(), b.as_str(), c.as_str()].into_iter().flat_map(|t| ["\n", t]));
    }

    // Every generated value carries a canary naming its owner: a conversation shows its own.
    for (i, text) in seen.iter().enumerate() {
        for sighting in canaries.find(text) {
            assert!(
                sighting.owner.contacts.contains(&contacts[i].id),
                "customer {i}'s conversation shows {} of {:?}: {text}",
                sighting.canary,
                sighting.owner
            );
        }
    }
}
