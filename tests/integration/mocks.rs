//! The mock CRM and mail servers over real HTTP: HubSpot's wire format (validated against
//! HubSpot's own OpenAPI schemas), state changes, the request log, and every fault kind.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use jiff::Timestamp;
use leakproof::config::ObjectType;
use leakproof::mocks::{
    DEFAULT_TOKEN, Endpoint, Fault, FaultKind, MAX_BODY_BYTES, MAX_LOG_BYTES, MAX_LOGGED_REQUESTS,
    MockOptions, Mocks, RateLimitPolicy,
};
use leakproof::world::{Contact, Fixtures, Record, RecordId};
use leakproof::{ContactId, ManualClock};
use serde_json::{Value, json};

use crate::common::{CONTACTS, MAIL, assert_schema};

fn fixtures() -> Fixtures {
    let contact =
        |id: u64, email: &str, props: &[(&str, &str)], tickets: &[u64], companies: &[u64]| Contact {
            id: ContactId(id),
            email: email.to_owned(),
            properties: props.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            tickets: tickets.iter().copied().map(RecordId).collect(),
            companies: companies.iter().copied().map(RecordId).collect(),
        };
    let record = |id: u64, props: &[(&str, &str)]| Record {
        id: RecordId(id),
        properties: props.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    };
    Fixtures {
        contacts: vec![
            contact(
                101,
                "ada@example.com",
                &[("firstname", "Ada"), ("phone", "+44 20 7946 0101"), ("city", "Bristol KX7Q")],
                &[9001, 9002],
                &[5001],
            ),
            contact(
                102,
                "bob@example.org",
                &[("firstname", "Bob"), ("phone", "+47 22 00 0102")],
                &[],
                &[5001],
            ),
        ],
        tickets: vec![
            record(9001, &[("subject", "Broken zip (ref T1)"), ("hs_pipeline_stage", "waiting on us")]),
            record(9002, &[("subject", "Refund (ref T2)")]),
        ],
        companies: vec![record(5001, &[("name", "Kestrel Ltd"), ("domain", "kestrel.example")])],
        visitors: Default::default(),
    }
}

/// One HTTP client for the whole file.
fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap())
}

async fn call(
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = http().request(method, url).bearer_auth(DEFAULT_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}"))
}

fn search_body(email: &str) -> Value {
    json!({
        "filterGroups": [{ "filters": [{ "propertyName": "email", "operator": "EQ", "value": email }] }],
        "properties": ["email", "firstname", "phone"],
        "sorts": [],
        "limit": 2,
        "after": "0",
    })
}

#[tokio::test]
async fn search_finds_a_contact_by_email_and_misses_with_total_zero() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let url = format!("{}crm/v3/objects/contacts/search", mocks.crm.base_url());

    let body = search_body("ADA@Example.com");
    assert_schema(CONTACTS, "PublicObjectSearchRequest", &body);
    let (status, headers, text) = call(reqwest::Method::POST, url.clone(), Some(body)).await;
    assert_eq!(status, 200, "{text}");
    let found = json_of(&text);
    assert_schema(CONTACTS, "CollectionResponseWithTotalSimplePublicObject", &found);
    assert_eq!(found["total"], 1);
    assert_eq!(found["results"][0]["id"], "101");
    assert_eq!(found["results"][0]["properties"]["phone"], "+44 20 7946 0101");
    assert_eq!(found["results"][0]["properties"]["email"], "ada@example.com");
    assert!(headers["content-type"].to_str().unwrap().starts_with("application/json"));
    assert_eq!(headers["x-hubspot-ratelimit-max"], "190");

    let (status, _, text) = call(reqwest::Method::POST, url, Some(search_body("nobody@example.com"))).await;
    assert_eq!(status, 200);
    assert_eq!(json_of(&text), json!({ "total": 0, "results": [] }));
}

#[tokio::test]
async fn search_pages_with_after_and_rejects_an_oversized_limit() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let url = format!("{}crm/v3/objects/contacts/search", mocks.crm.base_url());
    let (_, _, text) = call(reqwest::Method::POST, url.clone(), Some(json!({ "limit": 1 }))).await;
    let page = json_of(&text);
    assert_schema(CONTACTS, "CollectionResponseWithTotalSimplePublicObject", &page);
    assert_eq!((page["total"].clone(), page["results"][0]["id"].clone()), (json!(2), json!("101")));
    assert_eq!(page["paging"]["next"]["after"], "1");
    let (_, _, text) =
        call(reqwest::Method::POST, url.clone(), Some(json!({ "limit": 1, "after": "1" }))).await;
    let page = json_of(&text);
    assert_eq!(page["results"][0]["id"], "102");
    assert!(page.get("paging").is_none(), "no paging on the last page: {page}");

    let (status, _, text) = call(reqwest::Method::POST, url, Some(json!({ "limit": 201 }))).await;
    assert_eq!(status, 400);
    assert_schema(CONTACTS, "Error", &json_of(&text));
    assert_eq!(json_of(&text)["category"], "VALIDATION_ERROR");
}

#[tokio::test]
async fn get_reads_properties_repeated_or_comma_separated_and_by_email() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let base = mocks.crm.base_url();
    for query in ["properties=firstname&properties=phone", "properties=firstname,phone"] {
        let (status, _, text) =
            call(reqwest::Method::GET, format!("{base}crm/v3/objects/contacts/101?{query}"), None).await;
        assert_eq!(status, 200, "{text}");
        let record = json_of(&text);
        assert_schema(CONTACTS, "SimplePublicObjectWithAssociations", &record);
        assert_eq!(
            record["properties"],
            json!({ "firstname": "Ada", "phone": "+44 20 7946 0101" }),
            "{query}"
        );
    }
    let url =
        format!("{base}crm/v3/objects/contacts/bob%40example.org?idProperty=email&properties=firstname");
    let (status, _, text) = call(reqwest::Method::GET, url, None).await;
    assert_eq!((status, json_of(&text)["id"].clone()), (200, json!("102")));

    // With no properties asked for, HubSpot's defaults; values nobody set are left out.
    let (_, _, text) = call(reqwest::Method::GET, format!("{base}crm/v3/objects/contacts/102"), None).await;
    let keys: Vec<String> = json_of(&text)["properties"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate"]);
}

#[tokio::test]
async fn get_returns_associated_tickets_and_companies() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let url = format!("{}crm/v3/objects/contacts/101?associations=tickets,companies", mocks.crm.base_url());
    let (_, _, text) = call(reqwest::Method::GET, url, None).await;
    let record = json_of(&text);
    assert_schema(CONTACTS, "SimplePublicObjectWithAssociations", &record);
    assert_eq!(
        record["associations"],
        json!({
            "tickets": { "results": [ { "id": "9001", "type": "contact_to_ticket" }, { "id": "9002", "type": "contact_to_ticket" } ] },
            "companies": { "results": [ { "id": "5001", "type": "contact_to_company" } ] },
        })
    );
    let url = format!(
        "{}crm/v3/objects/companies/5001?associations=contacts&properties=name",
        mocks.crm.base_url()
    );
    let (_, _, text) = call(reqwest::Method::GET, url, None).await;
    let company = json_of(&text);
    let ids: Vec<&str> = company["associations"]["contacts"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["101", "102"]);
}

#[tokio::test]
async fn patch_changes_state_that_a_later_read_and_search_see() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let base = mocks.crm.base_url();
    let body = json!({ "properties": { "phone": "+44 117 496 0999" } });
    assert_schema(CONTACTS, "SimplePublicObjectInput", &body);
    let (status, _, text) =
        call(reqwest::Method::PATCH, format!("{base}crm/v3/objects/contacts/101"), Some(body)).await;
    assert_eq!(status, 200, "{text}");
    let updated = json_of(&text);
    assert_schema(CONTACTS, "SimplePublicObject", &updated);
    assert_eq!(updated["properties"]["phone"], "+44 117 496 0999");

    let (_, _, text) =
        call(reqwest::Method::GET, format!("{base}crm/v3/objects/contacts/101?properties=phone"), None).await;
    assert_eq!(json_of(&text)["properties"]["phone"], "+44 117 496 0999");
    assert_eq!(mocks.crm.record(ObjectType::Contact, 101).unwrap()["phone"], "+44 117 496 0999");

    let writes = mocks.crm.writes();
    assert_eq!(writes.len(), 1);
    assert_eq!((writes[0].object, writes[0].id, writes[0].applied), (ObjectType::Contact, Some(101), true));
    assert_eq!(writes[0].properties, BTreeMap::from([("phone".to_owned(), "+44 117 496 0999".to_owned())]));

    // Tickets too; a read-only property and another contact's email are refused and not applied.
    let (status, _, _) = call(
        reqwest::Method::PATCH,
        format!("{base}crm/v3/objects/tickets/9001"),
        Some(json!({ "properties": { "hs_pipeline_stage": "closed" } })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(mocks.crm.record(ObjectType::Ticket, 9001).unwrap()["hs_pipeline_stage"], "closed");
    let (status, _, text) = call(
        reqwest::Method::PATCH,
        format!("{base}crm/v3/objects/contacts/101"),
        Some(json!({ "properties": { "hs_object_id": "7" } })),
    )
    .await;
    assert_eq!(status, 400, "{text}");
    let (status, _, text) = call(
        reqwest::Method::PATCH,
        format!("{base}crm/v3/objects/contacts/101"),
        Some(json!({ "properties": { "email": "BOB@example.org" } })),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(json_of(&text)["category"], "CONFLICT");
    assert_eq!(mocks.crm.writes().iter().filter(|w| w.applied).count(), 2);
    assert_eq!(mocks.crm.record(ObjectType::Contact, 101).unwrap()["email"], "ada@example.com");
}

#[tokio::test]
async fn errors_carry_hubspots_body_and_correlation_id() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let base = mocks.crm.base_url();

    let (status, headers, text) =
        call(reqwest::Method::GET, format!("{base}crm/v3/objects/contacts/999"), None).await;
    let body = json_of(&text);
    assert_eq!(status, 404);
    assert_schema(CONTACTS, "Error", &body);
    assert_eq!(body["category"], "OBJECT_NOT_FOUND");
    assert_eq!(body["status"], "error");
    assert_eq!(body["context"], json!({ "id": ["999"] }));
    assert_eq!(headers["x-hubspot-correlation-id"].to_str().unwrap(), body["correlationId"]);

    // Without the bearer token: 401 INVALID_AUTHENTICATION, nothing served.
    let response = http().get(format!("{base}crm/v3/objects/contacts/101")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.json().await.unwrap();
    assert_schema(CONTACTS, "Error", &body);
    assert_eq!(body["category"], "INVALID_AUTHENTICATION");
    assert!(body.get("properties").is_none());
    let wrong = http()
        .get(format!("{base}crm/v3/objects/contacts/101"))
        .bearer_auth("pat-na1-wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);

    // A malformed PATCH body is a validation error, recorded as an unapplied write.
    let response = http()
        .patch(format!("{base}crm/v3/objects/contacts/101"))
        .bearer_auth(DEFAULT_TOKEN)
        .header("content-type", "application/json")
        .body(r#"{"properties": {"phone": 42}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(mocks.crm.writes().last().map(|w| w.applied), Some(false));
}

#[tokio::test]
async fn every_request_is_recorded_in_order() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let base = mocks.crm.base_url();
    call(
        reqwest::Method::POST,
        format!("{base}crm/v3/objects/contacts/search"),
        Some(search_body("ada@example.com")),
    )
    .await;
    call(
        reqwest::Method::GET,
        format!("{base}crm/v3/objects/contacts/101?properties=phone&properties=city"),
        None,
    )
    .await;
    call(reqwest::Method::GET, format!("{base}nowhere"), None).await;
    let log = mocks.crm.requests();
    let summary: Vec<(String, String, Option<Endpoint>, u16)> =
        log.iter().map(|r| (r.method.clone(), r.path.clone(), r.endpoint, r.status)).collect();
    assert_eq!(
        summary,
        [
            ("POST".into(), "/crm/v3/objects/contacts/search".into(), Some(Endpoint::Search), 200),
            ("GET".into(), "/crm/v3/objects/contacts/101".into(), Some(Endpoint::GetContact), 200),
            ("GET".into(), "/nowhere".into(), None, 404),
        ]
    );
    assert_eq!(log[0].body.as_ref().unwrap()["filterGroups"][0]["filters"][0]["value"], "ada@example.com");
    assert_eq!(
        log[1].query,
        [("properties".to_owned(), "phone".to_owned()), ("properties".to_owned(), "city".to_owned())]
    );
}

#[tokio::test]
async fn status_and_rate_limit_faults_strike_the_first_n_calls_then_heal() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let url = format!("{}crm/v3/objects/contacts/101?properties=phone", mocks.crm.base_url());
    mocks.crm.inject(Fault::first(1, Endpoint::GetContact, FaultKind::Status(503)));
    mocks.crm.inject(Fault::first(
        1,
        Endpoint::GetContact,
        FaultKind::RateLimited { retry_after: Some(7), policy: RateLimitPolicy::Secondly },
    ));

    let (status, _, text) = call(reqwest::Method::GET, url.clone(), None).await;
    assert_eq!(status, 503);
    assert_schema(CONTACTS, "Error", &json_of(&text));

    let (status, headers, text) = call(reqwest::Method::GET, url.clone(), None).await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "7");
    let body = json_of(&text);
    assert_eq!(body["policyName"], "SECONDLY");
    assert_eq!(body["message"], "You have reached your secondly limit.");
    assert_eq!(body["errorType"], "RATE_LIMIT");

    let (status, _, text) = call(reqwest::Method::GET, url, None).await;
    assert_eq!((status, json_of(&text)["properties"]["phone"].clone()), (200, json!("+44 20 7946 0101")));
    let faults: Vec<Option<String>> =
        mocks.crm.requests().iter().map(|r| r.fault.as_ref().map(ToString::to_string)).collect();
    assert_eq!(faults, [Some("status 503".into()), Some("429 SECONDLY (Retry-After: 7)".into()), None]);
}

#[tokio::test]
async fn malformed_and_truncated_bodies_and_faulted_writes_are_not_applied() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let base = mocks.crm.base_url();
    mocks.crm.inject(Fault::first(1, Endpoint::Search, FaultKind::Malformed));
    mocks.crm.inject(Fault::first(1, Endpoint::Search, FaultKind::Truncated));
    mocks.crm.inject(Fault::always(Endpoint::UpdateContact, FaultKind::Truncated));

    let url = format!("{base}crm/v3/objects/contacts/search");
    let (status, _, text) =
        call(reqwest::Method::POST, url.clone(), Some(search_body("ada@example.com"))).await;
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&text).is_err(), "malformed: {text}");
    let (status, _, text) = call(reqwest::Method::POST, url, Some(search_body("ada@example.com"))).await;
    assert_eq!(status, 200);
    assert!(text.starts_with("{\"") && serde_json::from_str::<Value>(&text).is_err(), "truncated: {text}");

    let (_, _, text) = call(
        reqwest::Method::PATCH,
        format!("{base}crm/v3/objects/contacts/101"),
        Some(json!({ "properties": { "phone": "+1 555 0100" } })),
    )
    .await;
    assert!(serde_json::from_str::<Value>(&text).is_err());
    assert_eq!(mocks.crm.record(ObjectType::Contact, 101).unwrap()["phone"], "+44 20 7946 0101");
    let write = mocks.crm.writes().pop().unwrap();
    assert_eq!((write.id, write.applied), (Some(101), false));
}

#[tokio::test]
async fn delay_answers_late_and_timeout_never_answers_in_time() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let base = mocks.crm.base_url();
    mocks.crm.inject(Fault::first(1, Endpoint::UpdateContact, FaultKind::Delay(Duration::from_millis(300))));
    mocks.crm.inject(Fault::first(1, Endpoint::GetContact, FaultKind::Timeout));

    let started = std::time::Instant::now();
    let (status, _, _) = call(
        reqwest::Method::PATCH,
        format!("{base}crm/v3/objects/contacts/102"),
        Some(json!({ "properties": { "city": "Oslo" } })),
    )
    .await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        mocks.crm.record(ObjectType::Contact, 102).unwrap()["city"],
        "Oslo",
        "a delayed write is applied"
    );

    let short = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().unwrap();
    let err = short
        .get(format!("{base}crm/v3/objects/contacts/101"))
        .bearer_auth(DEFAULT_TOKEN)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
}

#[tokio::test]
async fn mail_is_captured_per_recipient_with_its_link() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let url = format!("{}marketing/v3/transactional/single-email/send", mocks.mail.base_url());
    let send = |to: &str, link: &str, send_id: &str| {
        json!({
            "emailId": 4242,
            "message": { "to": to, "sendId": send_id },
            "customProperties": { "verification_link": link, "agent_name": "Ava" },
        })
    };
    let first = send("ada@example.com", "http://127.0.0.1:8080/verify/tok-1", "s-1");
    assert_schema(MAIL, "PublicSingleSendRequestEgg", &first);
    let (status, _, text) = call(reqwest::Method::POST, url.clone(), Some(first.clone())).await;
    assert_eq!(status, 200, "{text}");
    let view = json_of(&text);
    assert_schema(MAIL, "EmailSendStatusView", &view);
    assert_eq!(view["status"], "PENDING");

    // The same sendId again is not a second mail.
    let (_, _, again) = call(reqwest::Method::POST, url.clone(), Some(first)).await;
    assert_eq!(json_of(&again)["statusId"], view["statusId"]);
    call(
        reqwest::Method::POST,
        url.clone(),
        Some(send("ADA@example.com", "see http://127.0.0.1:8080/verify/tok-2.", "s-2")),
    )
    .await;
    call(
        reqwest::Method::POST,
        url.clone(),
        Some(send("bob@example.org", "http://127.0.0.1:8080/verify/tok-3", "s-3")),
    )
    .await;

    let ada = mocks.mail.mailbox("ada@example.com");
    assert_eq!(ada.len(), 2);
    assert_eq!(ada[0].link.as_ref().map(|u| u.as_str()), Some("http://127.0.0.1:8080/verify/tok-1"));
    assert_eq!(
        mocks.mail.latest_link("ada@example.com").unwrap().as_str(),
        "http://127.0.0.1:8080/verify/tok-2"
    );
    assert_eq!(mocks.mail.mailbox("bob@example.org")[0].to, "bob@example.org");
    assert!(ada[0].text.contains("http://127.0.0.1:8080/verify/tok-1"));
    assert_eq!(mocks.mail.all().len(), 3);

    // Faults strike mail too: a lost send is not captured.
    mocks.mail.inject(Fault::first(1, Endpoint::SendMail, FaultKind::Status(500)));
    let (status, _, text) =
        call(reqwest::Method::POST, url.clone(), Some(send("bob@example.org", "http://x/verify/4", "s-4")))
            .await;
    assert_eq!(status, 500);
    assert_schema(MAIL, "Error", &json_of(&text));
    assert_eq!(mocks.mail.all().len(), 3);

    // A send without a recipient is a validation error.
    let (status, _, _) =
        call(reqwest::Method::POST, url, Some(json!({ "emailId": 1, "message": { "to": "" } }))).await;
    assert_eq!(status, 400);
    assert_eq!(mocks.mail.requests().len(), 6);
}

/// One fixed exchange with both mocks: a search, a read, a write, a read of what it changed,
/// and a mail sent twice with one `sendId`; each answer as (status, correlation id, burst
/// rate-limit remaining, body).
async fn exchange(mocks: &Mocks) -> Vec<(u16, String, String, String)> {
    let crm = mocks.crm.base_url();
    let mail = format!("{}marketing/v3/transactional/single-email/send", mocks.mail.base_url());
    let send = json!({
        "emailId": 4242,
        "message": { "to": "ada@example.com", "sendId": "s-1" },
        "customProperties": { "verification_link": "http://127.0.0.1:8080/verify/tok-1" },
    });
    let read = format!("{crm}crm/v3/objects/contacts/101?properties=phone&properties=lastmodifieddate");
    let requests = [
        (
            reqwest::Method::POST,
            format!("{crm}crm/v3/objects/contacts/search"),
            Some(search_body("ada@example.com")),
        ),
        (reqwest::Method::GET, read.clone(), None),
        (
            reqwest::Method::PATCH,
            format!("{crm}crm/v3/objects/contacts/101"),
            Some(json!({ "properties": { "phone": "+44 117 496 0999" } })),
        ),
        (reqwest::Method::GET, read, None),
        (reqwest::Method::POST, mail.clone(), Some(send.clone())),
        (reqwest::Method::POST, mail, Some(send)),
    ];
    let mut answers = Vec::new();
    for (method, url, body) in requests {
        let (status, headers, text) = call(method, url, body).await;
        let header =
            |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        answers.push((
            status,
            header("x-hubspot-correlation-id"),
            header("x-hubspot-ratelimit-remaining"),
            text,
        ));
    }
    answers
}

/// Every record `fixtures()` and the used world below hold, as the CRM stores it now.
fn records(mocks: &Mocks) -> Vec<Option<BTreeMap<String, String>>> {
    let ids = [
        (ObjectType::Contact, 101),
        (ObjectType::Contact, 102),
        (ObjectType::Contact, 103),
        (ObjectType::Ticket, 9001),
        (ObjectType::Ticket, 9002),
        (ObjectType::Company, 5001),
    ];
    ids.iter().map(|(object, id)| mocks.crm.record(*object, *id)).collect()
}

#[tokio::test]
async fn a_reset_mock_is_observably_identical_to_a_fresh_one() {
    let start: Timestamp = "2025-03-01T09:00:00Z".parse().unwrap();
    let options =
        |clock: &Arc<ManualClock>| MockOptions { token: DEFAULT_TOKEN.to_owned(), clock: clock.clone() };
    let fresh_clock = Arc::new(ManualClock::new(start));
    let fresh = Mocks::start_with(fixtures(), options(&fresh_clock)).await.unwrap();

    // A used pair: other data, another time, requests, writes, mails and faults of its own.
    let used_clock = Arc::new(ManualClock::new("2020-01-01T00:00:00Z".parse().unwrap()));
    let mut other = fixtures();
    other.contacts[0].properties.insert("phone".into(), "+1 555 0100".into());
    other.contacts.push(Contact {
        id: ContactId(103),
        email: "cy@example.net".into(),
        ..other.contacts[1].clone()
    });
    let used = Mocks::start_with(other, options(&used_clock)).await.unwrap();
    used.crm.inject(Fault::first(1, Endpoint::Search, FaultKind::Status(503)));
    exchange(&used).await;
    used.crm.inject(Fault::always(Endpoint::Any, FaultKind::Status(503)));
    used.mail.inject(Fault::always(Endpoint::SendMail, FaultKind::Malformed));
    assert!(used.crm.requests_len() > 0 && used.crm.writes_len() > 0 && used.mail.mails_len() > 0);
    let (crm_url, mail_url) = (used.crm.base_url(), used.mail.base_url());

    used_clock.set(start);
    used.reset(&fixtures());

    // Reset: the fixtures' records (created at the clock's time), empty logs, the same servers.
    assert_eq!(records(&used), records(&fresh));
    assert_eq!(records(&used)[2], None, "a record only the old data held is gone");
    assert_eq!((used.crm.requests_len(), used.crm.writes_len()), (0, 0));
    assert_eq!((used.mail.requests_len(), used.mail.mails_len()), (0, 0));
    assert!(used.crm.requests().is_empty() && used.crm.writes().is_empty() && used.mail.all().is_empty());
    assert_eq!((used.crm.base_url(), used.mail.base_url()), (crm_url, mail_url));

    // Then the same exchange answers alike, word for word: no fault strikes, numbering restarts
    // at 0, the idempotency key is forgotten, timestamps come from the clock.
    let expected = exchange(&fresh).await;
    let answers = exchange(&used).await;
    assert_eq!(answers, expected);
    assert!(answers.iter().all(|(status, ..)| *status == 200), "{answers:?}");
    assert_eq!(answers[0].1, "00000000-0000-4000-8000-000000000001", "seq restarts at 0");
    assert_eq!(answers[4].1, "00000000-0000-4000-8000-000000000001", "so does the mail's");
    assert_eq!(used.crm.requests(), fresh.crm.requests());
    assert_eq!(used.crm.requests()[0].seq, 0);
    assert!(used.crm.requests().iter().chain(&used.mail.requests()).all(|r| r.fault.is_none()));
    assert_eq!(used.crm.writes(), fresh.crm.writes());
    assert_eq!(used.mail.requests(), fresh.mail.requests());
    assert_eq!(used.mail.all(), fresh.mail.all());
    assert_eq!((used.mail.mails_len(), used.mail.mailbox_len(" ADA@example.com")), (1, 1));
    assert_eq!(records(&used), records(&fresh));
    assert_eq!(used.crm.record(ObjectType::Contact, 101).unwrap()["phone"], "+44 117 496 0999");
}

/// `n` contacts, ids 1001.., each with a first name.
fn many(n: u64) -> Fixtures {
    Fixtures {
        contacts: (0..n)
            .map(|i| Contact {
                id: ContactId(1001 + i),
                email: format!("c{i}@example.com"),
                properties: [("firstname".to_owned(), format!("C{i}"))].into(),
                tickets: Vec::new(),
                companies: Vec::new(),
            })
            .collect(),
        tickets: Vec::new(),
        companies: Vec::new(),
        visitors: Default::default(),
    }
}

#[tokio::test]
async fn a_search_limit_out_of_range_is_a_400_naming_the_range_and_never_a_cursor_that_stays() {
    let mocks = Mocks::start(many(3)).await.unwrap();
    let url = format!("{}crm/v3/objects/contacts/search", mocks.crm.base_url());
    for limit in [0, 201] {
        let (status, _, text) =
            call(reqwest::Method::POST, url.clone(), Some(json!({ "limit": limit, "after": "0" }))).await;
        assert_eq!(status, 400, "limit {limit}: {text}");
        let body = json_of(&text);
        assert_schema(CONTACTS, "Error", &body);
        assert_eq!(body["category"], "VALIDATION_ERROR");
        assert!(body["message"].as_str().unwrap().contains("between 1 and 200"), "{body}");
        assert_eq!(body["errors"][0]["in"], "limit");
    }
    let (status, _, _) = call(reqwest::Method::POST, url.clone(), Some(json!({ "limit": -1 }))).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn following_after_always_ends_and_visits_each_result_once() {
    // Every page size against every count of matches up to 7, from every start.
    let mocks = Mocks::start(many(7)).await.unwrap();
    let url = format!("{}crm/v3/objects/contacts/search", mocks.crm.base_url());
    for matching in 0..=7u64 {
        let ids: Vec<String> = (0..matching).map(|i| (1001 + i).to_string()).collect();
        let filter = json!({ "propertyName": "hs_object_id", "operator": "IN", "values": ids });
        let groups = if matching == 0 {
            json!([{ "filters": [{ "propertyName": "email", "operator": "EQ", "value": "none@x" }] }])
        } else {
            json!([{ "filters": [filter] }])
        };
        for limit in 1..=8u32 {
            for start in 0..=8usize {
                let mut after = start.to_string();
                let mut seen = Vec::new();
                for page in 0.. {
                    assert!(
                        page <= 8,
                        "paging does not end: {matching} matches, limit {limit}, from {start}"
                    );
                    let body = json!({ "filterGroups": groups, "limit": limit, "after": after, "properties": ["email"] });
                    let (status, _, text) = call(reqwest::Method::POST, url.clone(), Some(body)).await;
                    assert_eq!(status, 200, "{text}");
                    let page = json_of(&text);
                    assert_eq!(page["total"], matching);
                    let results = page["results"].as_array().unwrap();
                    assert!(results.len() <= limit as usize);
                    seen.extend(results.iter().map(|r| r["id"].as_str().unwrap().to_owned()));
                    match page["paging"]["next"]["after"].as_str() {
                        Some(next) => {
                            assert!(next.parse::<usize>().unwrap() > after.parse().unwrap(), "cursor stays");
                            after = next.to_owned();
                        }
                        None => break,
                    }
                }
                assert_eq!(
                    seen,
                    ids[start.min(ids.len())..],
                    "{matching} matches, limit {limit}, from {start}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_filter_without_the_values_its_operator_needs_is_a_400_naming_the_filter() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let url = format!("{}crm/v3/objects/contacts/search", mocks.crm.base_url());
    let cases = [
        (json!({ "propertyName": "email", "operator": "IN" }), "operator IN requires values", "values"),
        (
            json!({ "propertyName": "email", "operator": "IN", "values": [] }),
            "operator IN requires values",
            "values",
        ),
        (
            json!({ "propertyName": "email", "operator": "NOT_IN" }),
            "operator NOT_IN requires values",
            "values",
        ),
        (json!({ "propertyName": "email", "operator": "EQ" }), "operator EQ requires a value", "value"),
        (json!({ "propertyName": "email", "operator": "NEQ" }), "operator NEQ requires a value", "value"),
        (json!({ "propertyName": "email", "operator": "CONTAINS_TOKEN" }), "requires a value", "value"),
        (json!({ "propertyName": "email", "operator": "GT" }), "operator GT requires a value", "value"),
        (
            json!({ "propertyName": "email", "operator": "BETWEEN", "value": "a" }),
            "requires a value and a highValue",
            "highValue",
        ),
        (
            json!({ "propertyName": "email", "operator": "LIKE", "value": "a" }),
            "unknown operator",
            "operator",
        ),
    ];
    for (filter, message, field) in cases {
        let body = json!({ "filterGroups": [{ "filters": [{ "propertyName": "firstname", "operator": "HAS_PROPERTY" }, filter] }] });
        let (status, _, text) = call(reqwest::Method::POST, url.clone(), Some(body)).await;
        assert_eq!(status, 400, "{filter}: {text}");
        let error = json_of(&text);
        assert_schema(CONTACTS, "Error", &error);
        assert_eq!(error["category"], "VALIDATION_ERROR");
        let said = error["message"].as_str().unwrap();
        assert!(
            said.contains(message) && said.contains("filterGroups[0].filters[1]") && said.contains("email"),
            "{said}"
        );
        assert_eq!(error["errors"][0]["in"], format!("filterGroups[0].filters[1].{field}"));
    }
    // Even with no records to test against, and with values the operators work.
    let empty = Mocks::start(many(0)).await.unwrap();
    let body = json!({ "filterGroups": [{ "filters": [{ "propertyName": "email", "operator": "IN" }] }] });
    let (status, _, _) = call(
        reqwest::Method::POST,
        format!("{}crm/v3/objects/contacts/search", empty.crm.base_url()),
        Some(body),
    )
    .await;
    assert_eq!(status, 400);
    let search =
        |filters: Value| json!({ "filterGroups": [{ "filters": filters }], "properties": ["email"] });
    let ids = |text: &str| -> Vec<String> {
        json_of(text)["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let queries = [
        (
            json!([{ "propertyName": "email", "operator": "NOT_IN", "values": ["ADA@example.com"] }]),
            vec!["102"],
        ),
        (json!([{ "propertyName": "hs_object_id", "operator": "GT", "value": "101" }]), vec!["102"]),
        (
            json!([{ "propertyName": "hs_object_id", "operator": "BETWEEN", "value": "100", "highValue": "101" }]),
            vec!["101"],
        ),
        (
            json!([{ "propertyName": "city", "operator": "NOT_CONTAINS_TOKEN", "value": "bristol" }]),
            vec!["102"],
        ),
    ];
    for (filters, expected) in queries {
        let (status, _, text) = call(reqwest::Method::POST, url.clone(), Some(search(filters.clone()))).await;
        assert_eq!(
            (status, ids(&text)),
            (200, expected.iter().map(|s| s.to_string()).collect()),
            "{filters}"
        );
    }
    // Too many filters for HubSpot is too many for the mock.
    let filter = json!({ "propertyName": "email", "operator": "HAS_PROPERTY" });
    let body = json!({ "filterGroups": [{ "filters": vec![filter; 26] }] });
    let (status, _, _) = call(reqwest::Method::POST, url, Some(body)).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_patch_of_a_property_that_does_not_exist_is_refused_and_changes_nothing() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let base = mocks.crm.base_url();
    let before = mocks.crm.record(ObjectType::Contact, 101).unwrap();
    let body = json!({ "properties": { "phone": "+44 117 496 0999", "favourite_colour": "teal" } });
    let (status, _, text) =
        call(reqwest::Method::PATCH, format!("{base}crm/v3/objects/contacts/101"), Some(body)).await;
    assert_eq!(status, 400, "{text}");
    let error = json_of(&text);
    assert_schema(CONTACTS, "Error", &error);
    assert_eq!(error["category"], "VALIDATION_ERROR");
    assert!(error["message"].as_str().unwrap().starts_with("Property values were not valid: [{"), "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains(r#""error":"PROPERTY_DOESNT_EXIST","name":"favourite_colour""#)
    );
    assert_eq!(
        error["errors"],
        json!([{ "message": "Property \"favourite_colour\" does not exist", "code": "PROPERTY_DOESNT_EXIST",
                 "context": { "propertyName": ["favourite_colour"] } }])
    );
    assert_eq!(
        mocks.crm.record(ObjectType::Contact, 101).unwrap(),
        before,
        "nothing applied, phone included"
    );
    let write = mocks.crm.writes().pop().unwrap();
    assert_eq!((write.id, write.applied), (Some(101), false));

    // What exists: any fixture record's property of that type, and HubSpot's standard ones.
    let cases = [
        ("contacts/102", json!({ "city": "Oslo" }), 200), // only contact 101 has a city
        ("contacts/102", json!({ "lastname": "Smith", "hs_language": "nb" }), 200),
        ("tickets/9002", json!({ "hs_pipeline_stage": "closed" }), 200),
        ("tickets/9002", json!({ "name": "Kestrel" }), 400), // a company's, not a ticket's
        ("companies/5001", json!({ "subject": "x" }), 400),
    ];
    for (path, properties, expected) in cases {
        let (status, _, text) = call(
            reqwest::Method::PATCH,
            format!("{base}crm/v3/objects/{path}"),
            Some(json!({ "properties": properties })),
        )
        .await;
        assert_eq!(status, expected, "{path} {properties}: {text}");
    }
    assert_eq!(mocks.crm.record(ObjectType::Contact, 102).unwrap()["city"], "Oslo");
    assert_eq!(mocks.crm.writes().iter().filter(|w| w.applied).count(), 3);
}

#[tokio::test]
async fn an_id_that_is_not_an_id_names_no_record() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let base = mocks.crm.base_url();
    for id in ["101&x", "101&properties=phone", "+101", "0101", "101%20", "%2B101", "101;x", "101x"] {
        let (status, _, text) =
            call(reqwest::Method::GET, format!("{base}crm/v3/objects/contacts/{id}"), None).await;
        assert_eq!(status, 404, "{id}: {text}");
        assert_eq!(json_of(&text)["category"], "OBJECT_NOT_FOUND");
        let (status, _, _) = call(
            reqwest::Method::PATCH,
            format!("{base}crm/v3/objects/contacts/{id}"),
            Some(json!({ "properties": { "phone": "1" } })),
        )
        .await;
        assert_eq!(status, 404, "PATCH {id}");
    }
    assert_eq!(mocks.crm.record(ObjectType::Contact, 101).unwrap()["phone"], "+44 20 7946 0101");
    assert!(mocks.crm.writes().iter().all(|w| !w.applied && w.id.is_none()));
    // A percent-escaped id is the id; an email with `&` or `+` is read as it is.
    let (status, _, _) =
        call(reqwest::Method::GET, format!("{base}crm/v3/objects/contacts/10%31"), None).await;
    assert_eq!(status, 200);
    let mut odd = fixtures();
    odd.contacts[1].email = "b+o&b@example.org".into();
    let mocks = Mocks::start(odd).await.unwrap();
    let base = mocks.crm.base_url();
    for segment in ["b+o&b@example.org", "b%2Bo%26b%40example.org"] {
        let url = format!("{base}crm/v3/objects/contacts/{segment}?idProperty=email");
        let (status, _, text) = call(reqwest::Method::GET, url, None).await;
        assert_eq!((status, json_of(&text)["id"].clone()), (200, json!("102")), "{segment}");
    }
    let url = format!("{base}crm/v3/objects/contacts/b o&b@example.org?idProperty=email");
    assert_eq!(call(reqwest::Method::GET, url, None).await.0, 404);
}

#[tokio::test]
async fn a_reused_send_id_sends_once_and_another_recipient_is_a_409() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let url = format!("{}marketing/v3/transactional/single-email/send", mocks.mail.base_url());
    let send = |to: &str, link: &str| {
        json!({
            "emailId": 4242,
            "message": { "to": to, "sendId": "s-1" },
            "customProperties": { "verification_link": link },
        })
    };
    let (status, _, first) =
        call(reqwest::Method::POST, url.clone(), Some(send("ada@example.com", "http://x/verify/1"))).await;
    assert_eq!(status, 200);
    // The same send again, the address in another case: the first send's status, no second mail.
    let (status, _, again) =
        call(reqwest::Method::POST, url.clone(), Some(send(" ADA@example.com", "http://x/verify/1"))).await;
    assert_eq!((status, json_of(&again)["statusId"].clone()), (200, json_of(&first)["statusId"].clone()));
    // The sendId for another recipient, or another link: a 409 naming it, nothing sent.
    for other in [send("bob@example.org", "http://x/verify/1"), send("ada@example.com", "http://x/verify/2")]
    {
        let (status, _, text) = call(reqwest::Method::POST, url.clone(), Some(other)).await;
        assert_eq!(status, 409, "{text}");
        let error = json_of(&text);
        assert_schema(MAIL, "Error", &error);
        assert_eq!(
            (error["category"].clone(), error["context"]["sendId"].clone()),
            (json!("CONFLICT"), json!(["s-1"]))
        );
    }
    assert_eq!(mocks.mail.mails_len(), 1);
    assert_eq!(mocks.mail.mailbox_len("bob@example.org"), 0);
    let statuses: Vec<u16> = mocks.mail.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 409, 409]);
    // After a reset the key is free again.
    mocks.reset(&fixtures());
    let (status, _, _) =
        call(reqwest::Method::POST, url, Some(send("bob@example.org", "http://x/verify/3"))).await;
    assert_eq!((status, mocks.mail.mailbox_len("bob@example.org")), (200, 1));
}

#[tokio::test]
async fn an_oversized_body_is_a_413_logged_without_it() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let base = mocks.crm.base_url();
    let big = "x".repeat(MAX_BODY_BYTES);
    let body = json!({ "properties": { "phone": big } });
    let (status, _, text) =
        call(reqwest::Method::PATCH, format!("{base}crm/v3/objects/contacts/101"), Some(body)).await;
    assert_eq!(status, 413, "{text}");
    assert_schema(CONTACTS, "Error", &json_of(&text));
    let (status, _, _) = call(
        reqwest::Method::POST,
        format!("{}marketing/v3/transactional/single-email/send", mocks.mail.base_url()),
        Some(
            json!({ "emailId": 1, "message": { "to": "ada@example.com" }, "customProperties": { "x": big } }),
        ),
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(mocks.mail.mails_len(), 0);
    let logged = mocks.crm.requests();
    assert_eq!(logged.len(), 1);
    assert_eq!(
        (logged[0].status, logged[0].body.is_none(), logged[0].endpoint),
        (413, true, Some(Endpoint::UpdateContact))
    );
    assert_eq!(mocks.crm.record(ObjectType::Contact, 101).unwrap()["phone"], "+44 20 7946 0101");
    assert_eq!(
        mocks.crm.writes().iter().map(|w| (w.id, w.applied)).collect::<Vec<_>>(),
        [(Some(101), false)]
    );
    assert_eq!(mocks.mail.requests()[0].status, 413);
    // Just under the limit is served.
    let body = format!(r#"{{"properties":{{"phone":"{}"}}}}"#, "1".repeat(MAX_BODY_BYTES - 40));
    let response = http()
        .patch(format!("{base}crm/v3/objects/contacts/102"))
        .bearer_auth(DEFAULT_TOKEN)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn a_full_request_log_refuses_further_requests_unserved_and_counts_them() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    // Fill the log through the in-process exchange (as fast as HTTP, without sockets).
    let url = url::Url::parse(&format!("{}crm/v3/objects/contacts/101", mocks.crm.base_url())).unwrap();
    let headers = {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("authorization", format!("Bearer {DEFAULT_TOKEN}").parse().unwrap());
        headers
    };
    let exchange = mocks.exchange();
    let get = |method: reqwest::Method, body: &[u8]| {
        use leakproof::crm::{Exchange, ExchangeRequest};
        exchange
            .exchange(&ExchangeRequest { method: &method, url: &url, headers: &headers, body })
            .unwrap()
            .status
    };
    for _ in 0..MAX_LOGGED_REQUESTS {
        assert_eq!(get(reqwest::Method::GET, b""), 200);
    }
    assert_eq!((mocks.crm.requests_len(), mocks.crm.requests_dropped()), (MAX_LOGGED_REQUESTS, 0));
    let patch = br#"{"properties":{"phone":"+1 555 0100"}}"#;
    assert_eq!(get(reqwest::Method::PATCH, patch), 503);
    let (status, _, text) = call(reqwest::Method::GET, url.to_string(), None).await;
    assert_eq!(status, 503, "{text}");
    assert_eq!(json_of(&text)["category"], "SERVICE_UNAVAILABLE");
    assert_eq!((mocks.crm.requests_len(), mocks.crm.requests_dropped()), (MAX_LOGGED_REQUESTS, 2));
    assert_eq!(
        mocks.crm.record(ObjectType::Contact, 101).unwrap()["phone"],
        "+44 20 7946 0101",
        "not applied"
    );
    assert_eq!(mocks.crm.writes_len(), 0);
    assert_eq!(mocks.mail.requests_dropped(), 0);
    mocks.reset(&fixtures());
    assert_eq!((mocks.crm.requests_len(), mocks.crm.requests_dropped()), (0, 0));
    assert_eq!(get(reqwest::Method::PATCH, patch), 200);
}

#[tokio::test]
async fn the_request_log_is_bounded_in_bytes_too() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let url = url::Url::parse(&format!("{}crm/v3/objects/contacts/search", mocks.crm.base_url())).unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {DEFAULT_TOKEN}").parse().unwrap());
    let exchange = mocks.exchange();
    // Bodies just under the limit, of many small JSON nodes: each takes far more memory parsed.
    let body = format!("{{\"sorts\":[{}0]}}", "0,".repeat(MAX_BODY_BYTES / 2 - 8));
    assert!(body.len() <= MAX_BODY_BYTES);
    let mut served = 0;
    loop {
        use leakproof::crm::{Exchange, ExchangeRequest};
        let request = ExchangeRequest {
            method: &reqwest::Method::POST,
            url: &url,
            headers: &headers,
            body: body.as_bytes(),
        };
        match exchange.exchange(&request).unwrap().status {
            503 => break,
            _ => served += 1,
        }
        assert!(served < 1000, "the log takes more than {MAX_LOG_BYTES} bytes");
    }
    assert!(served > 0 && mocks.crm.requests_dropped() == 1, "{served}");
    assert_eq!(mocks.crm.requests_len(), served);
}

#[test]
fn contacts_above_the_fixture_limit_are_a_usage_error_not_a_silent_cap() {
    use clap::Parser;
    let parse = |count: &str| {
        leakproof::cli::Cli::try_parse_from([
            "leakproof",
            "mocks",
            "serve",
            "--seed",
            "1",
            "--contacts",
            count,
        ])
    };
    assert!(parse("100000").is_ok());
    let error = parse("100001").unwrap_err();
    assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
    assert!(error.to_string().contains("100000"), "{error}");
    assert!(parse("-1").is_err());
}
