//! The CRM and mail clients against raw wiremock stubs: exact request shapes, every error kind, retries and malformed bodies.
//!
//! Delays between retries go to a `RecordingSleeper`, so no test sleeps; the
//! one real wait is the timeout test's 2 × 200 ms.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use leakproof::ObjectType;
use leakproof::crm::{Crm, CrmError, CrmSettings, HttpError, RecordingSleeper, RetryPolicy};
use leakproof::identity::ContactId;
use leakproof::mail::{MailError, MailSettings, Mailer, VerificationMail};
use leakproof::world::RecordId;
use serde_json::{Value, json};
use wiremock::matchers::{bearer_token, body_json, header, method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

const TOKEN: &str = "pat-na1-0c0ffee0-dead-beef-cafe-123456789abc";
const SEARCH: &str = "/crm/v3/objects/contacts/search";
const SEND: &str = "/marketing/v3/transactional/single-email/send";
const CID: &str = "5a2b6c1e-0000-4000-8000-000000000001";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Small delays so a recorded backoff is easy to read: 100 ms, 200 ms, …
fn policy() -> RetryPolicy {
    RetryPolicy { max_attempts: 3, base_delay: ms(100), max_delay: secs(1), max_retry_after: secs(10) }
}

fn crm_with(server: &MockServer, timeout: Duration, retry: RetryPolicy) -> (Crm, RecordingSleeper) {
    let mut settings = CrmSettings::new(server.uri().parse().unwrap(), TOKEN);
    settings.timeout = timeout;
    settings.retry = retry;
    let sleeper = RecordingSleeper::default();
    let crm = Crm::new(settings).unwrap().with_sleeper(Arc::new(sleeper.clone()));
    (crm, sleeper)
}

fn crm(server: &MockServer) -> (Crm, RecordingSleeper) {
    crm_with(server, secs(5), policy())
}

fn mailer(server: &MockServer) -> (Mailer, RecordingSleeper) {
    let mut settings = MailSettings::new(server.uri().parse().unwrap(), TOKEN, 4242);
    settings.retry = policy();
    settings.from = Some("support@shop.example".into());
    let sleeper = RecordingSleeper::default();
    let mailer = Mailer::new(settings).unwrap().with_sleeper(Arc::new(sleeper.clone()));
    (mailer, sleeper)
}

/// A `SimplePublicObject` as HubSpot sends it.
fn record(id: &str, properties: Value) -> Value {
    json!({
        "id": id,
        "properties": properties,
        "createdAt": "2024-03-01T10:00:00.000Z",
        "updatedAt": "2024-03-02T11:30:00.000Z",
        "archived": false
    })
}

fn ann(id: &str) -> Value {
    record(
        id,
        json!({"email": "ann@example.com", "phone": "+44 20 7946 0001", "address": null, "hs_object_id": id}),
    )
}

fn ok_json(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body).insert_header("x-hubspot-correlation-id", CID)
}

fn hubspot_error(status: u16, category: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "status": "error",
        "message": message,
        "correlationId": CID,
        "category": category
    }))
}

fn rate_limited(policy: &str) -> ResponseTemplate {
    ResponseTemplate::new(429).set_body_json(json!({
        "status": "error",
        "message": "You have reached your ten secondly limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": CID,
        "policyName": policy,
        "groupName": "api-calls"
    }))
}

/// Matches the exact query string, so repeated parameters and their order count.
struct QueryIs(&'static str);

impl Match for QueryIs {
    fn matches(&self, request: &Request) -> bool {
        request.url.query() == Some(self.0)
    }
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

// ---- happy paths, exact request shapes ----

#[tokio::test]
async fn search_by_email_sends_hubspots_search_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEARCH))
        .and(bearer_token(TOKEN))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "filterGroups": [{"filters": [{"propertyName": "email", "operator": "EQ", "value": "ann@example.com"}]}],
            "properties": ["phone", "address", "email"],
            "sorts": [],
            "limit": 2,
            "after": "0"
        })))
        .respond_with(ok_json(json!({"total": 1, "results": [ann("512")]})))
        .expect(1)
        .mount(&server)
        .await;
    let (crm, sleeper) = crm(&server);

    let contact =
        crm.search_contact_by_email("ann@example.com", &["phone", "address"]).await.unwrap().unwrap();

    assert_eq!(contact.contact_id(), ContactId(512));
    assert_eq!(contact.object(), ObjectType::Contact);
    assert_eq!(contact.property("phone"), Some("+44 20 7946 0001"));
    assert_eq!(contact.property("address"), None);
    assert!(contact.properties().contains_key("address"));
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn search_with_no_match_is_none() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEARCH))
        .respond_with(ok_json(json!({"total": 0, "results": []})))
        .mount(&server)
        .await;
    let (crm, _) = crm(&server);
    assert_eq!(crm.search_contact_by_email("nobody@example.com", &[]).await.unwrap(), None);
}

#[tokio::test]
async fn search_with_two_matches_is_ambiguous() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEARCH))
        .respond_with(ok_json(json!({
            "total": 2,
            "results": [ann("1"), ann("2")]
        })))
        .mount(&server)
        .await;
    let (crm, _) = crm(&server);
    let error = crm.search_contact_by_email("ann@example.com", &[]).await.unwrap_err();
    assert!(
        matches!(&error, CrmError::Ambiguous { total: 2, correlation_id: Some(c) } if c == CID),
        "{error:?}"
    );
}

#[tokio::test]
async fn search_total_beyond_the_page_is_ambiguous() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEARCH))
        .respond_with(ok_json(json!({"total": 3, "results": [ann("1")]})))
        .mount(&server)
        .await;
    let (crm, _) = crm(&server);
    let error = crm.search_contact_by_email("ann@example.com", &[]).await.unwrap_err();
    assert!(matches!(error, CrmError::Ambiguous { total: 3, .. }), "{error:?}");
}

#[tokio::test]
async fn search_answer_for_another_address_is_malformed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEARCH))
        .respond_with(ok_json(json!({
            "total": 1,
            "results": [record("9", json!({"email": "mallory@example.com"}))]
        })))
        .mount(&server)
        .await;
    let (crm, _) = crm(&server);
    let error = crm.search_contact_by_email("ann@example.com", &[]).await.unwrap_err();
    assert!(matches!(error, CrmError::Http(HttpError::Malformed { .. })), "{error:?}");
    // The address a customer typed differs only in case: still the same contact.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEARCH))
        .respond_with(ok_json(json!({"total": 1, "results": [ann("9")]})))
        .mount(&server)
        .await;
    let (crm, _) = crm_with(&server, secs(5), policy());
    assert!(crm.search_contact_by_email("Ann@Example.COM", &[]).await.unwrap().is_some());
}

#[tokio::test]
async fn get_sends_repeated_properties_and_associations() {
    let server = MockServer::start().await;
    let mut ticket = record("77", json!({"subject": "Broken kettle", "hs_pipeline_stage": "1"}));
    ticket["associations"] = json!({
        "contacts": {"results": [{"id": "512", "type": "ticket_to_contact"}]},
        "companies": {"results": [{"id": "9001", "type": "ticket_to_company"}]}
    });
    Mock::given(method("GET"))
        .and(path("/crm/v3/objects/tickets/77"))
        .and(QueryIs(
            "properties=subject&properties=hs_pipeline_stage&associations=contacts&associations=companies",
        ))
        .and(bearer_token(TOKEN))
        .respond_with(ok_json(ticket))
        .expect(1)
        .mount(&server)
        .await;
    let (crm, _) = crm(&server);

    let ticket = crm
        .get(
            ObjectType::Ticket,
            77,
            &["subject", "hs_pipeline_stage"],
            &[ObjectType::Contact, ObjectType::Company],
        )
        .await
        .unwrap();

    assert_eq!(ticket.record_id(), RecordId(77));
    assert_eq!(ticket.object(), ObjectType::Ticket);
    assert_eq!(ticket.property("hs_pipeline_stage"), Some("1"));
    assert_eq!(ticket.associations(ObjectType::Contact), [RecordId(512)]);
    assert_eq!(ticket.associations(ObjectType::Company), [RecordId(9001)]);
}

#[tokio::test]
async fn get_company_without_parameters_has_no_query() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/v3/objects/companies/9001"))
        .and(|request: &Request| request.url.query().is_none())
        .respond_with(ok_json(record("9001", json!({"name": "Acme Kettles Ltd"}))))
        .expect(1)
        .mount(&server)
        .await;
    let (crm, _) = crm(&server);
    let company = crm.get(ObjectType::Company, 9001, &[], &[]).await.unwrap();
    assert_eq!(company.property("name"), Some("Acme Kettles Ltd"));
}

#[tokio::test]
async fn associated_reads_the_v3_associations_map() {
    let server = MockServer::start().await;
    let mut contact = ann("512");
    contact["associations"] = json!({
        "tickets": {"results": [
            {"id": "77", "type": "contact_to_ticket"},
            {"id": "78", "type": "contact_to_ticket"},
            {"id": "77", "type": "contact_to_ticket_unlabeled"}
        ]}
    });
    Mock::given(method("GET"))
        .and(path("/crm/v3/objects/contacts/512"))
        .and(QueryIs("associations=tickets"))
        .and(bearer_token(TOKEN))
        .respond_with(ok_json(contact))
        .expect(1)
        .mount(&server)
        .await;
    let (crm, _) = crm(&server);
    let tickets = crm.associated(ContactId(512), ObjectType::Ticket).await.unwrap();
    assert_eq!(tickets, [RecordId(77), RecordId(78)]);
}

#[tokio::test]
async fn associated_with_none_is_empty() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/v3/objects/contacts/512"))
        .and(QueryIs("associations=companies"))
        .respond_with(ok_json(ann("512")))
        .mount(&server)
        .await;
    let (crm, _) = crm(&server);
    assert!(crm.associated(ContactId(512), ObjectType::Company).await.unwrap().is_empty());
}

#[tokio::test]
async fn update_patches_properties() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/crm/v3/objects/contacts/512"))
        .and(bearer_token(TOKEN))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"properties": {"address": "1 New Street", "phone": "+44 20 7946 0999"}})))
        .respond_with(ok_json(record(
            "512",
            json!({"address": "1 New Street", "phone": "+44 20 7946 0999", "hs_object_id": "512"}),
        )))
        .expect(1)
        .mount(&server)
        .await;
    let (crm, _) = crm(&server);
    let changes = BTreeMap::from([
        ("address".to_owned(), "1 New Street".to_owned()),
        ("phone".to_owned(), "+44 20 7946 0999".to_owned()),
    ]);
    let updated = crm.update(ObjectType::Contact, 512, &changes).await.unwrap();
    assert_eq!(updated.property("address"), Some("1 New Street"));
}

#[tokio::test]
async fn base_url_path_prefix_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/hubspot/crm/v3/objects/contacts/512"))
        .respond_with(ok_json(ann("512")))
        .expect(1)
        .mount(&server)
        .await;
    let settings = CrmSettings::new(format!("{}/hubspot/", server.uri()).parse().unwrap(), TOKEN);
    let crm = Crm::new(settings).unwrap();
    assert_eq!(crm.get(ObjectType::Contact, 512, &[], &[]).await.unwrap().id(), 512);
}

// ---- HubSpot's error answers ----

#[tokio::test]
async fn not_found_is_typed_with_correlation_id() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/crm/v3/objects/contacts/404"))
        .respond_with(hubspot_error(
            404,
            "OBJECT_NOT_FOUND",
            "Object not found.  objectId are usually numeric.",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (crm, sleeper) = crm(&server);
    let error = crm.get(ObjectType::Contact, 404, &["email"], &[]).await.unwrap_err();
    assert!(
        matches!(&error, CrmError::NotFound { object: ObjectType::Contact, id: 404, correlation_id: Some(c) } if c == CID),
        "{error:?}"
    );
    assert_eq!(error.to_string(), format!("failed to find contact 404 in the crm (correlation id {CID})"));
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn patch_of_a_missing_ticket_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(hubspot_error(404, "OBJECT_NOT_FOUND", "Object not found."))
        .mount(&server)
        .await;
    let (crm, _) = crm(&server);
    let error = crm.update(ObjectType::Ticket, 5, &BTreeMap::new()).await.unwrap_err();
    assert!(matches!(error, CrmError::NotFound { object: ObjectType::Ticket, id: 5, .. }), "{error:?}");
}

#[tokio::test]
async fn unauthorized_is_typed_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEARCH))
        .respond_with(
            hubspot_error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
                .insert_header("x-hubspot-correlation-id", "from-header"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (crm, sleeper) = crm(&server);
    let error = crm.search_contact_by_email("ann@example.com", &[]).await.unwrap_err();
    let CrmError::Http(HttpError::Unauthorized { category, correlation_id, .. }) = &error else {
        panic!("expected unauthorized, got {error:?}")
    };
    assert_eq!(category, "INVALID_AUTHENTICATION");
    // The header wins over the body.
    assert_eq!(correlation_id.as_deref(), Some("from-header"));
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn expired_token_is_unauthorized() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(hubspot_error(
            401,
            "EXPIRED_AUTHENTICATION",
            "The OAuth token used to make this call expired.",
        ))
        .mount(&server)
        .await;
    let (crm, _) = crm(&server);
    let error = crm.get(ObjectType::Contact, 1, &[], &[]).await.unwrap_err();
    assert!(
        matches!(&error, CrmError::Http(HttpError::Unauthorized { category, .. }) if category == "EXPIRED_AUTHENTICATION"),
        "{error:?}"
    );
}

#[tokio::test]
async fn bad_request_carries_hubspots_error_body() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/crm/v3/objects/contacts/512"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "status": "error",
            "message": "Property values were not valid",
            "correlationId": CID,
            "category": "VALIDATION_ERROR",
            "errors": [{"message": "Property \"nope\" does not exist", "in": "nope"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (crm, sleeper) = crm(&server);
    let changes = BTreeMap::from([("nope".to_owned(), "x".to_owned())]);
    let error = crm.update(ObjectType::Contact, 512, &changes).await.unwrap_err();
    let CrmError::Http(HttpError::Status {
        status: 400, attempts: 1, error: Some(body), correlation_id, ..
    }) = &error
    else {
        panic!("expected a 400 with a body, got {error:?}")
    };
    assert_eq!(body.category, "VALIDATION_ERROR");
    assert_eq!(body.message, "Property values were not valid");
    assert_eq!(correlation_id.as_deref(), Some(CID));
    assert_eq!(error.correlation_id(), Some(CID));
    assert!(error.to_string().contains("400 VALIDATION_ERROR"), "{error}");
    assert!(sleeper.delays().is_empty(), "a 4xx is never retried");
}

#[tokio::test]
async fn forbidden_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(hubspot_error(
            403,
            "MISSING_SCOPES",
            "This app hasn't been granted all required scopes.",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (crm, sleeper) = crm(&server);
    let error = crm.get(ObjectType::Ticket, 1, &[], &[]).await.unwrap_err();
    assert!(matches!(error, CrmError::Http(HttpError::Status { status: 403, .. })), "{error:?}");
    assert!(sleeper.delays().is_empty());
}

// ---- retries ----

#[tokio::test]
async fn server_errors_then_success_retries_with_backoff() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET")).respond_with(ok_json(ann("512"))).mount(&server).await;
    let (crm, sleeper) = crm(&server);

    let contact = crm.get(ObjectType::Contact, 512, &["email"], &[]).await.unwrap();

    assert_eq!(contact.id(), 512);
    assert_eq!(sleeper.delays(), [ms(100), ms(200)]);
    assert_eq!(requests(&server).await.len(), 3);
}

#[tokio::test]
async fn server_error_always_gives_up_with_the_last_status() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(hubspot_error(503, "SERVICE_UNAVAILABLE", "Try again later"))
        .expect(3)
        .mount(&server)
        .await;
    let (crm, sleeper) = crm(&server);
    let error = crm.search_contact_by_email("ann@example.com", &[]).await.unwrap_err();
    assert!(
        matches!(&error, CrmError::Http(HttpError::Status { status: 503, attempts: 3, correlation_id: Some(c), .. }) if c == CID),
        "{error:?}"
    );
    assert_eq!(sleeper.delays(), [ms(100), ms(200)]);
}

#[tokio::test]
async fn patch_is_retried_with_the_same_body() {
    let server = MockServer::start().await;
    // 503: the service was unavailable and applied nothing, so the write may go again.
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ok_json(record("512", json!({"phone": "+1 555 0100"}))))
        .mount(&server)
        .await;
    let (crm, _) = crm(&server);
    let changes = BTreeMap::from([("phone".to_owned(), "+1 555 0100".to_owned())]);
    crm.update(ObjectType::Contact, 512, &changes).await.unwrap();
    let seen = requests(&server).await;
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].body, seen[1].body);
}

/// A PATCH that may have landed (another 5xx, no answer in time) is not sent again: the error
/// says its outcome is unknown, for the caller to read the record back.
#[tokio::test]
async fn patch_is_not_repeated_when_it_may_have_landed() {
    for status in [500, 502, 504] {
        let server = MockServer::start().await;
        Mock::given(method("PATCH")).respond_with(ResponseTemplate::new(status)).mount(&server).await;
        let (client, _) = crm(&server);
        let changes = BTreeMap::from([("phone".to_owned(), "+1 555 0100".to_owned())]);
        let error = client.update(ObjectType::Contact, 512, &changes).await.unwrap_err();
        assert!(error.outcome_unknown(), "{status}: {error:?}");
        assert_eq!(requests(&server).await.len(), 1, "{status}: sent once");
    }
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(ok_json(record("512", json!({}))).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let (late, _) = crm_with(&server, Duration::from_millis(100), policy());
    let changes = BTreeMap::from([("phone".to_owned(), "+1 555 0100".to_owned())]);
    let error = late.update(ObjectType::Contact, 512, &changes).await.unwrap_err();
    assert!(error.outcome_unknown(), "{error:?}");
    assert_eq!(requests(&server).await.len(), 1, "a timed-out PATCH is sent once");
    // A 404 is known not to have landed.
    let server = MockServer::start().await;
    Mock::given(method("PATCH")).respond_with(ResponseTemplate::new(404)).mount(&server).await;
    let (missing, _) = crm(&server);
    let error = missing.update(ObjectType::Contact, 512, &changes).await.unwrap_err();
    assert!(!error.outcome_unknown(), "{error:?}");
}

#[tokio::test]
async fn retry_after_seconds_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(rate_limited("TEN_SECONDLY_ROLLING").insert_header("Retry-After", "7"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET")).respond_with(ok_json(ann("512"))).mount(&server).await;
    let (crm, sleeper) = crm(&server);
    crm.get(ObjectType::Contact, 512, &[], &[]).await.unwrap();
    assert_eq!(sleeper.delays(), [secs(7)]);
}

#[tokio::test]
async fn secondly_policy_without_retry_after_waits_one_second() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(rate_limited("SECONDLY"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ok_json(json!({"total": 1, "results": [ann("512")]})))
        .mount(&server)
        .await;
    let (crm, sleeper) = crm(&server);
    assert!(crm.search_contact_by_email("ann@example.com", &[]).await.unwrap().is_some());
    assert_eq!(sleeper.delays(), [secs(1)]);
}

#[tokio::test]
async fn ten_secondly_policy_waits_ten_seconds_per_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(rate_limited("TEN_SECONDLY_ROLLING")).mount(&server).await;
    let retry = RetryPolicy { max_retry_after: secs(30), ..policy() };
    let (crm, sleeper) = crm_with(&server, secs(5), retry);
    let error = crm.get(ObjectType::Contact, 512, &[], &[]).await.unwrap_err();
    assert!(
        matches!(&error, CrmError::Http(HttpError::RateLimited { attempts: 3, policy_name: Some(p), .. }) if p == "TEN_SECONDLY_ROLLING"),
        "{error:?}"
    );
    assert_eq!(sleeper.delays(), [secs(10), secs(20)]);
}

#[tokio::test]
async fn daily_limit_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(rate_limited("DAILY")).expect(1).mount(&server).await;
    let (crm, sleeper) = crm(&server);
    let error = crm.get(ObjectType::Contact, 512, &[], &[]).await.unwrap_err();
    let CrmError::Http(HttpError::RateLimited { attempts, policy_name, retry_after, correlation_id, .. }) =
        &error
    else {
        panic!("expected rate limited, got {error:?}")
    };
    assert_eq!((*attempts, policy_name.as_deref(), *retry_after), (1, Some("DAILY"), None));
    assert_eq!(correlation_id.as_deref(), Some(CID));
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn retry_after_beyond_the_cap_gives_up_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(rate_limited("SECONDLY").insert_header("Retry-After", "60"))
        .expect(1)
        .mount(&server)
        .await;
    let (crm, sleeper) = crm(&server);
    let error = crm.get(ObjectType::Contact, 512, &[], &[]).await.unwrap_err();
    assert!(
        matches!(error, CrmError::Http(HttpError::RateLimited { attempts: 1, retry_after: Some(d), .. }) if d == secs(60)),
        "{error:?}"
    );
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn rate_limited_every_time_gives_up_after_max_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "2"))
        .expect(3)
        .mount(&server)
        .await;
    let (crm, sleeper) = crm(&server);
    let error = crm.get(ObjectType::Contact, 512, &[], &[]).await.unwrap_err();
    assert!(matches!(error, CrmError::Http(HttpError::RateLimited { attempts: 3, .. })), "{error:?}");
    assert_eq!(sleeper.delays(), [secs(2), secs(2)]);
}

#[tokio::test]
async fn slow_answer_is_a_timeout_after_retries() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok_json(ann("512")).set_delay(secs(2)))
        .expect(2)
        .mount(&server)
        .await;
    let retry = RetryPolicy { max_attempts: 2, ..policy() };
    let (crm, sleeper) = crm_with(&server, ms(200), retry);
    let started = std::time::Instant::now();
    let error = crm.get(ObjectType::Contact, 512, &[], &[]).await.unwrap_err();
    assert!(
        matches!(error, CrmError::Http(HttpError::Timeout { attempts: 2, timeout, .. }) if timeout == ms(200)),
        "{error:?}"
    );
    assert_eq!(sleeper.delays(), [ms(100)]);
    assert!(started.elapsed() < secs(2), "gave up after {:?}", started.elapsed());
}

#[tokio::test]
async fn refused_connection_is_a_connection_error() {
    // Port 1 needs privileges to listen on, so no other test can be there.
    let mut settings = CrmSettings::new("http://127.0.0.1:1".parse().unwrap(), TOKEN);
    settings.retry = policy();
    let sleeper = RecordingSleeper::default();
    let crm = Crm::new(settings).unwrap().with_sleeper(Arc::new(sleeper.clone()));
    let error = crm.get(ObjectType::Contact, 512, &[], &[]).await.unwrap_err();
    assert!(matches!(error, CrmError::Http(HttpError::Connection { attempts: 3, .. })), "{error:?}");
    assert_eq!(error.correlation_id(), None);
    assert_eq!(sleeper.delays(), [ms(100), ms(200)]);
}

// ---- malformed answers ----

async fn get_with_body(body: &str) -> CrmError {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(body.as_bytes().to_vec(), "application/json")
                .insert_header("x-hubspot-correlation-id", CID),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (crm, sleeper) = crm(&server);
    let error = crm.get(ObjectType::Contact, 512, &["phone"], &[]).await.unwrap_err();
    assert!(sleeper.delays().is_empty(), "a malformed answer is not retried");
    error
}

fn malformed_detail(error: &CrmError) -> &str {
    match error {
        CrmError::Http(HttpError::Malformed { detail, correlation_id: Some(c), .. }) if c == CID => detail,
        other => panic!("expected malformed with the correlation id, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_bodies_are_typed_errors() {
    let whole = ann("512").to_string();
    let mut no_id = ann("512");
    no_id.as_object_mut().unwrap().remove("id");
    let mut wrong_type = ann("512");
    wrong_type["properties"]["phone"] = json!(442079460001_u64);
    let mut properties_list = ann("512");
    properties_list["properties"] = json!(["phone"]);
    let mut bad_association = ann("512");
    bad_association["associations"] =
        json!({"tickets": {"results": [{"id": "77; DROP", "type": "contact_to_ticket"}]}});
    let cases: Vec<(&str, String, &str)> = vec![
        ("not json", "<html>gateway</html>".to_owned(), "not valid json"),
        ("truncated", whole[..whole.len() / 2].to_owned(), "truncated"),
        ("empty", String::new(), "empty"),
        ("missing id", no_id.to_string(), "missing field `id`"),
        ("property of the wrong type", wrong_type.to_string(), "`properties.phone` has the wrong type"),
        ("properties not an object", properties_list.to_string(), "`properties` has the wrong type"),
        ("non-numeric id", record("abc", json!({})).to_string(), "not a numeric record id"),
        ("another record", ann("513").to_string(), "asked for contact 512"),
        ("non-numeric association", bad_association.to_string(), "associations.tickets.results[0].id"),
        ("trailing garbage", format!("{whole} {{"), "not valid json"),
    ];
    for (name, body, expected) in cases {
        let error = get_with_body(&body).await;
        let detail = malformed_detail(&error);
        assert!(detail.contains(expected), "{name}: {detail}");
    }
}

#[tokio::test]
async fn malformed_detail_never_quotes_a_value() {
    let mut wrong_type = ann("512");
    wrong_type["properties"]["phone"] = json!({"secret": "CANARY-7f3a"});
    let error = get_with_body(&wrong_type.to_string()).await;
    assert!(!format!("{error} {error:?}").contains("CANARY-7f3a"), "{error:?}");
}

#[tokio::test]
async fn truncated_search_answer_is_malformed() {
    let server = MockServer::start().await;
    let whole = json!({"total": 1, "results": [ann("512")]}).to_string();
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(whole.as_bytes()[..whole.len() - 3].to_vec(), "application/json"),
        )
        .mount(&server)
        .await;
    let (crm, _) = crm(&server);
    let error = crm.search_contact_by_email("ann@example.com", &[]).await.unwrap_err();
    assert!(
        matches!(&error, CrmError::Http(HttpError::Malformed { detail, .. }) if detail.contains("truncated")),
        "{error:?}"
    );
}

#[tokio::test]
async fn search_total_disagreeing_with_results_is_malformed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ok_json(json!({"total": 1, "results": []})))
        .mount(&server)
        .await;
    let (crm, _) = crm(&server);
    let error = crm.search_contact_by_email("ann@example.com", &[]).await.unwrap_err();
    assert!(matches!(error, CrmError::Http(HttpError::Malformed { .. })), "{error:?}");
}

// ---- the token stays secret ----

#[tokio::test]
async fn token_never_appears_in_errors_or_debug_output() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(hubspot_error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found."))
        .mount(&server)
        .await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(500)).mount(&server).await;
    let (crm, _) = crm(&server);
    let (mailer, _) = mailer(&server);
    let unauthorized = crm.get(ObjectType::Contact, 1, &[], &[]).await.unwrap_err();
    let server_error = mailer
        .send_verification(&VerificationMail::new(
            "ann@example.com",
            "https://a.example/v/1".parse().unwrap(),
            "n1",
        ))
        .await
        .unwrap_err();
    let shown = format!("{unauthorized} {unauthorized:?} {server_error} {server_error:?} {crm:?} {mailer:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(!shown.contains("0c0ffee0"), "{shown}");
}

// ---- mail ----

#[tokio::test]
async fn send_verification_sends_the_v3_body_and_parses_the_status() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .and(bearer_token(TOKEN))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "emailId": 4242,
            "message": {
                "to": "ann@example.com",
                "from": "support@shop.example",
                "sendId": "0123456789abcdef0123456789abcdef"
            },
            "contactProperties": {"firstname": "Ann"},
            "customProperties": {
                "verification_link": "https://agent.example/verify/tok.en",
                "agent_name": "Ava"
            }
        })))
        .respond_with(ok_json(json!({
            "statusId": "a1b2c3",
            "status": "PENDING",
            "requestedAt": "2024-03-01T10:00:00.000Z"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (mailer, sleeper) = mailer(&server);
    let mail = VerificationMail::new(
        "ann@example.com",
        "https://agent.example/verify/tok.en".parse().unwrap(),
        "0123456789abcdef0123456789abcdef",
    )
    .with_custom_property("agent_name", "Ava")
    .with_custom_property("verification_link", "https://attacker.example/")
    .with_contact_property("firstname", "Ann");

    let receipt = mailer.send_verification(&mail).await.unwrap();

    assert_eq!(receipt.status_id, "a1b2c3");
    assert_eq!(receipt.status, "PENDING");
    assert_eq!(receipt.send_result, None);
    assert_eq!(receipt.send_id, "0123456789abcdef0123456789abcdef");
    assert_eq!(receipt.requested_at.as_deref(), Some("2024-03-01T10:00:00.000Z"));
    assert_eq!(receipt.correlation_id.as_deref(), Some(CID));
    assert!(!receipt.already_sent());
    assert!(sleeper.delays().is_empty());
}

#[tokio::test]
async fn send_is_retried_under_the_same_send_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(ok_json(
            json!({"statusId": "s", "status": "COMPLETE", "sendResult": "IDEMPOTENT_IGNORE"}),
        ))
        .mount(&server)
        .await;
    let (mailer, sleeper) = mailer(&server);
    let mail = VerificationMail::new("ann@example.com", "https://a.example/v/1".parse().unwrap(), "nonce-1");
    let receipt = mailer.send_verification(&mail).await.unwrap();
    assert!(receipt.already_sent());
    assert_eq!(sleeper.delays(), [ms(100)]);
    let seen = requests(&server).await;
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].body, seen[1].body);
    let body: Value = seen[1].body_json().unwrap();
    assert_eq!(body["message"]["sendId"], "nonce-1");
}

#[tokio::test]
async fn failed_send_result_is_rejected() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(ok_json(
            json!({"statusId": "s9", "status": "COMPLETE", "sendResult": "PREVIOUSLY_BOUNCED"}),
        ))
        .mount(&server)
        .await;
    let (mailer, _) = mailer(&server);
    let mail = VerificationMail::new("ann@example.com", "https://a.example/v/1".parse().unwrap(), "n");
    let error = mailer.send_verification(&mail).await.unwrap_err();
    assert!(
        matches!(&error, MailError::Rejected { send_result: Some(r), status_id, .. } if r == "PREVIOUSLY_BOUNCED" && status_id == "s9"),
        "{error:?}"
    );
    assert_eq!(error.correlation_id(), Some(CID));
}

#[tokio::test]
async fn malformed_send_status_is_malformed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(ok_json(json!({"status": "PENDING"})))
        .mount(&server)
        .await;
    let (mailer, _) = mailer(&server);
    let mail = VerificationMail::new("ann@example.com", "https://a.example/v/1".parse().unwrap(), "n");
    let error = mailer.send_verification(&mail).await.unwrap_err();
    assert!(
        matches!(&error, MailError::Http(HttpError::Malformed { detail, .. }) if detail.contains("missing field `statusId`")),
        "{error:?}"
    );
}

#[tokio::test]
async fn mail_errors_are_typed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(SEND))
        .respond_with(hubspot_error(400, "VALIDATION_ERROR", "emailId 4242 does not exist"))
        .expect(1)
        .mount(&server)
        .await;
    let (mailer, _) = mailer(&server);
    let mail = VerificationMail::new("ann@example.com", "https://a.example/v/1".parse().unwrap(), "n");
    let error = mailer.send_verification(&mail).await.unwrap_err();
    assert!(matches!(error, MailError::Http(HttpError::Status { status: 400, .. })), "{error:?}");
    assert_eq!(error.correlation_id(), Some(CID));
}

#[tokio::test]
async fn invalid_recipient_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).expect(0).mount(&server).await;
    let (mailer, _) = mailer(&server);
    let link: url::Url = "https://a.example/v/1".parse().unwrap();
    for to in ["", "ann", "ann@example.com, eve@example.com", "ann@example.com\r\nBcc: eve@example.com"] {
        let error =
            mailer.send_verification(&VerificationMail::new(to, link.clone(), "n")).await.unwrap_err();
        assert!(matches!(error, MailError::InvalidMail { .. }), "{to:?}: {error:?}");
    }
    let error =
        mailer.send_verification(&VerificationMail::new("ann@example.com", link, " ")).await.unwrap_err();
    assert!(matches!(error, MailError::InvalidMail { .. }), "{error:?}");
}

// ---- logs ----

/// Collects formatted log lines.
#[derive(Clone, Default)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn debug_logs_name_each_attempt_but_no_token_or_value() {
    // A global subscriber, not a scoped one: with a single scoped subscriber,
    // tracing caches "never" for callsites other test threads reach first.
    // It sees every test's logs, so the checks for secrets cover them all.
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        // Ours and the HTTP stack's; not wiremock's, which may print bodies.
        .with_env_filter("leakproof=trace,reqwest=trace,hyper=trace,hyper_util=trace")
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ok_json(record("51234", json!({"phone": "CANARY-PHONE-91"}))))
        .mount(&server)
        .await;
    let (crm, _) = crm(&server);
    // Ask every callsite again, in case another thread cached "never" while
    // the subscriber was being installed.
    tracing::callsite::rebuild_interest_cache();
    let changes = BTreeMap::from([("phone".to_owned(), "CANARY-PHONE-91".to_owned())]);
    crm.update(ObjectType::Contact, 51234, &changes).await.unwrap();

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let ours: Vec<&str> =
        text.lines().filter(|line| line.contains("/crm/v3/objects/contacts/51234")).collect();
    let has = |needles: &[&str]| ours.iter().any(|line| needles.iter().all(|needle| line.contains(needle)));
    assert!(has(&["PATCH", "attempt=1", "status=503"]), "{text}");
    assert!(has(&["retrying hubspot call", "attempt=1", "delay_ms=100"]), "{text}");
    assert!(has(&["PATCH", "attempt=2", "status=200", CID]), "{text}");
    assert!(!text.contains(TOKEN) && !text.contains("0c0ffee0"), "{text}");
    assert!(!text.contains("CANARY-PHONE-91"), "{text}");
}
