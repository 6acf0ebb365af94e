//! `leakproof agent serve` over real HTTP: a whole verify flow through the agent protocol.

mod common;

use common::process::Served;
use leakproof::fixtures::load_file;
use leakproof::mocks::Mocks;
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

/// A faulty router (planted bug `CarriesIntoNextSession`) serving on a free loopback port of
/// this test's runtime. Returns its base URL, ending in `/`.
async fn serve_remembering() -> String {
    use leakproof::agent::faulty::Bug;
    use leakproof::protocol::{ServerOptions, faulty_router};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let options = ServerOptions {
        default_config: Some(leakproof::config::load_file("scenarios/configs/default.yaml").unwrap()),
        public_url: base.parse().unwrap(),
        crm_token: leakproof::mocks::DEFAULT_TOKEN.to_owned(),
        mail_token: leakproof::mocks::DEFAULT_TOKEN.to_owned(),
        email_id: 1,
        backend_timeout: std::time::Duration::from_secs(5),
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
