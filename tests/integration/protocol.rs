//! The agent protocol as `docs/protocol.openapi.yaml` writes it: the harness's requests and the reference server's answers validate against it, and what it refuses the server refuses.

use std::sync::LazyLock;

use leakproof::harness::Scenario;
use leakproof::protocol::{CustomerMessage, StartSession, Visitor};
use serde_json::{Value, json};

use crate::agent_serve::{default_mocks, serve_router};

/// The protocol's OpenAPI document.
static SPEC: LazyLock<Value> = LazyLock::new(|| {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/protocol.openapi.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_saphyr::from_str(&text).unwrap()
});

/// A validator for `#/components/schemas/{name}` (OpenAPI 3.1 schemas are JSON Schema 2020-12).
fn schema(name: &str) -> jsonschema::Validator {
    let root = json!({ "$ref": format!("#/components/schemas/{name}"), "components": SPEC["components"] });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|err| panic!("schema {name}: {err}"))
}

fn errors(name: &str, instance: &Value) -> Vec<String> {
    schema(name).iter_errors(instance).map(|e| format!("{e} at {}", e.instance_path())).collect()
}

#[track_caller]
fn assert_valid(name: &str, instance: &Value) {
    let errors = errors(name, instance);
    assert!(errors.is_empty(), "{name} does not validate: {errors:#?}\n{instance:#}");
}

#[track_caller]
fn assert_invalid(name: &str, instance: &Value) {
    assert!(!errors(name, instance).is_empty(), "{name} accepts {instance:#}");
}

#[test]
fn every_path_and_status_the_reference_server_answers_is_documented() {
    let paths = SPEC["paths"].as_object().unwrap();
    let statuses = |path: &str, method: &str| -> Vec<String> {
        paths[path][method]["responses"].as_object().unwrap().keys().cloned().collect()
    };
    assert_eq!(statuses("/v1/sessions", "post"), ["204", "400", "403", "409", "413", "415", "422", "503"]);
    assert_eq!(statuses("/v1/sessions/{session_id}", "delete"), ["204", "400", "404"]);
    assert_eq!(
        statuses("/v1/sessions/{session_id}/messages", "post"),
        ["200", "400", "404", "413", "415", "422"]
    );
    assert_eq!(statuses("/v1/sessions/{session_id}/verify/{token}", "get"), ["200", "400", "404", "410"]);
    // Every reference in the document resolves.
    for name in SPEC["components"]["schemas"].as_object().unwrap().keys() {
        schema(name);
    }
}

#[test]
fn the_bodies_the_harness_sends_validate() {
    let scenario =
        leakproof::harness::scenario::load_file("scenarios/identity/verify_email_link.yaml").unwrap();
    let Scenario { config, .. } = scenario;
    let start = StartSession {
        session_id: "verify_email_link-1-4f2a".to_owned(),
        config: Some(serde_json::to_value(&config).unwrap()),
        crm_base_url: "http://127.0.0.1:4010/".parse().unwrap(),
        crm_token: Some("pat-na1-crm".to_owned()),
        mail_base_url: "http://127.0.0.1:4011/".parse().unwrap(),
        mail_token: Some("pat-na1-mail".to_owned()),
        now: Some("2026-05-01T09:00:00Z".parse().unwrap()),
    };
    assert_valid("StartSession", &serde_json::to_value(&start).unwrap());
    let bare = StartSession { config: None, now: None, crm_token: None, mail_token: None, ..start };
    assert_valid("StartSession", &serde_json::to_value(&bare).unwrap());

    let visitors = [
        Visitor::default(),
        Visitor { cookie: Some("a1b2".into()), ..Visitor::default() },
        Visitor { phone: Some("+4915112345678".into()), ..Visitor::default() },
        Visitor { psid: Some("7001".into()), ..Visitor::default() },
        Visitor { from_email: Some("ann@example.com".into()), ..Visitor::default() },
    ];
    for (visitor, channel) in visitors.into_iter().zip(leakproof::Channel::ALL) {
        let message = CustomerMessage {
            conversation_id: "s-1-c".to_owned(),
            channel,
            visitor,
            text: "what is my phone number?".to_owned(),
            now: Some("2026-05-01T09:01:00Z".parse().unwrap()),
        };
        assert_valid("CustomerMessage", &serde_json::to_value(&message).unwrap());
    }
}

/// What the schema refuses, the server refuses with 400, and the other way round: the
/// document is the server's contract, not a description of it.
#[tokio::test]
async fn what_the_schema_refuses_the_server_refuses() {
    let mocks = default_mocks().await;
    let base = serve_router(|_| ()).await;
    let http = reqwest::Client::new();
    let good = json!({
        "session_id": "s1",
        "crm_base_url": mocks.crm.base_url(),
        "mail_base_url": mocks.mail.base_url(),
        "now": "2026-05-01T09:00:00Z",
    });
    let mut bad_starts = Vec::new();
    for field in ["session_id", "crm_base_url", "mail_base_url"] {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(field);
        bad_starts.push(body);
    }
    for (field, value) in [
        ("session_id", json!("")),
        ("session_id", json!("..")),
        ("session_id", json!("a/b")),
        ("session_id", json!("x".repeat(129))),
        ("now", json!("yesterday")),
        ("crm_base_url", json!(7)),
        ("unknown", json!(true)),
    ] {
        let mut body = good.clone();
        body[field] = value;
        bad_starts.push(body);
    }
    for body in &bad_starts {
        assert_invalid("StartSession", body);
        let response = http.post(format!("{base}/v1/sessions")).json(body).send().await.unwrap();
        assert_refused(response, "/v1/sessions", body).await;
    }

    assert_valid("StartSession", &good);
    let response = http.post(format!("{base}/v1/sessions")).json(&good).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 204);

    let message = json!({
        "conversation_id": "s1-c", "channel": "live_chat", "visitor": {}, "text": "hi",
        "now": "2026-05-01T09:01:00Z",
    });
    let mut bad_messages = Vec::new();
    for field in ["conversation_id", "channel", "text"] {
        let mut body = message.clone();
        body.as_object_mut().unwrap().remove(field);
        bad_messages.push(body);
    }
    for (field, value) in [
        ("channel", json!("sms")),
        ("visitor", json!({ "email": "ann@example.com" })),
        ("text", json!(["hi"])),
        ("extra", json!(1)),
    ] {
        let mut body = message.clone();
        body[field] = value;
        bad_messages.push(body);
    }
    for body in &bad_messages {
        assert_invalid("CustomerMessage", body);
        let response = http.post(format!("{base}/v1/sessions/s1/messages")).json(body).send().await.unwrap();
        assert_refused(response, "/v1/sessions/{session_id}/messages", body).await;
    }
    // Not JSON, and JSON not sent as JSON: the documented statuses, with a Problem.
    let not_json = http.post(format!("{base}/v1/sessions")).header("content-type", "application/json");
    assert_refused(not_json.body("{").send().await.unwrap(), "/v1/sessions", &json!("{")).await;
    let as_text = http.post(format!("{base}/v1/sessions")).header("content-type", "text/plain");
    assert_refused(as_text.body(good.to_string()).send().await.unwrap(), "/v1/sessions", &good).await;
}

/// `response` refuses `body` with a 4xx status the document lists for `POST path`, and its
/// body is the documented `Problem`.
async fn assert_refused(response: reqwest::Response, path: &str, body: &Value) {
    let status = response.status();
    assert!(status.is_client_error(), "{status} for {body}");
    let documented = &SPEC["paths"][path]["post"]["responses"][status.as_str()];
    assert!(documented.is_object(), "{status} is not documented for POST {path} ({body})");
    let problem: Value =
        response.json().await.unwrap_or_else(|_| panic!("{status} for {body}: no JSON body"));
    assert_valid("Problem", &problem);
}

/// A whole verify flow against the reference server: each answer validates, the events
/// are the reference agent's, and the refusals carry the documented `Problem`.
#[tokio::test]
async fn the_reference_servers_answers_validate() {
    let mocks = default_mocks().await;
    let base = serve_router(|_| ()).await;
    let http = reqwest::Client::new();
    let start = json!({
        "session_id": "s1",
        "crm_base_url": mocks.crm.base_url(),
        "mail_base_url": mocks.mail.base_url(),
        "now": "2026-05-01T09:00:00Z",
    });
    assert_valid("StartSession", &start);
    let response = http.post(format!("{base}/v1/sessions")).json(&start).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 204);

    let say = async |text: &str, minute: u32| {
        let body = json!({
            "conversation_id": "s1-web", "channel": "live_chat", "visitor": {}, "text": text,
            "now": format!("2026-05-01T09:{minute:02}:00Z"),
        });
        assert_valid("CustomerMessage", &body);
        let response = http.post(format!("{base}/v1/sessions/s1/messages")).json(&body).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let answer: Value = response.json().await.unwrap();
        assert_valid("AgentResponse", &answer);
        for event in answer["events"].as_array().unwrap() {
            assert_valid("DecisionEvent", event);
        }
        answer
    };
    say("hi, what is my phone number?", 1).await;
    say("maren.solberg@example.com", 2).await;
    say("what is my billing address?", 3).await;

    // The link the agent mailed opens the documented page.
    let link = mocks.mail.latest_link("maren.solberg@example.com").expect("a verification link was mailed");
    let page = http.get(link.clone()).header("x-leakproof-now", "2026-05-01T09:04:00Z").send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let again = http.get(link).header("x-leakproof-now", "2026-05-01T09:05:00Z").send().await.unwrap();
    assert_eq!(again.status().as_u16(), 410, "a used link verifies nothing");

    // Refusals: a live id (409), a message to no session (404), a clock set back (400).
    let conflict = http.post(format!("{base}/v1/sessions")).json(&start).send().await.unwrap();
    assert_eq!(conflict.status().as_u16(), 409);
    assert_valid("Problem", &conflict.json().await.unwrap());
    let body = json!({ "conversation_id": "c", "channel": "email", "text": "hi" });
    let missing = http.post(format!("{base}/v1/sessions/none/messages")).json(&body).send().await.unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    assert_valid("Problem", &missing.json().await.unwrap());
    let earlier = json!({
        "conversation_id": "s1-web", "channel": "live_chat", "text": "hi", "now": "2026-05-01T08:00:00Z",
    });
    let backwards = http.post(format!("{base}/v1/sessions/s1/messages")).json(&earlier).send().await.unwrap();
    assert_eq!(backwards.status().as_u16(), 400);
    assert_valid("Problem", &backwards.json().await.unwrap());

    let ended = http.delete(format!("{base}/v1/sessions/s1")).send().await.unwrap();
    assert_eq!(ended.status().as_u16(), 204);
    let gone = http.delete(format!("{base}/v1/sessions/s1")).send().await.unwrap();
    assert_eq!(gone.status().as_u16(), 404);
    assert_valid("Problem", &gone.json().await.unwrap());
}
