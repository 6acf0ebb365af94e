//! The mock CRM's endpoints beyond search, get and update, as agents built on HubSpot's own
//! clients call them: lists, batch reads, v4 associations, association batch reads, the
//! properties API, the date-versioned paths, one host for CRM and mail, and the 400s and 404s
//! for what the mock does not serve. Every answer is validated against HubSpot's OpenAPI schema
//! of the version its path names.

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use leakproof::mocks::{DATE_VERSIONS, DEFAULT_TOKEN, Endpoint, Fault, FaultKind, MockOptions, Mocks};
use leakproof::world::{Fixtures, load_file};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::assert_response;

const ASSOCIATIONS_V3: &str = "crm-associations-v3.json";
const ASSOCIATIONS_V4: &str = "crm-associations-v4.json";
const MAIL_V3: &str = "marketing-transactional-single-send-v3.json";

/// HubSpot's spec of `api` (`crm-contacts`, `crm-associations`, …) at `version`.
fn spec(api: &str, version: &str) -> String {
    format!("{api}-{version}.json")
}

fn fixtures() -> Fixtures {
    load_file("scenarios/fixtures/default.yaml").unwrap()
}

fn http() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| reqwest::Client::builder().timeout(Duration::from_secs(5)).build().unwrap())
}

/// `method` `base` + `path` with the mocks' token; the status and the body as JSON.
async fn call(method: Method, base: &url::Url, path: &str, body: Option<Value>) -> (u16, Value) {
    let url = format!("{}{}", base.as_str().trim_end_matches('/'), path);
    let mut request = http().request(method, url).bearer_auth(DEFAULT_TOKEN);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|err| panic!("not JSON ({err}): {text}")))
}

/// The objects path of each version the mock serves, with the contacts spec that defines it.
fn object_prefixes() -> Vec<(String, String)> {
    let mut prefixes = vec![("/crm/v3/objects".to_owned(), spec("crm-contacts", "v3"))];
    prefixes.extend(
        DATE_VERSIONS
            .iter()
            .map(|version| (format!("/crm/objects/{version}"), spec("crm-contacts", version))),
    );
    prefixes
}

/// [`call`], and the answer checked against `spec`'s schema of that operation and status.
async fn checked(
    spec: &str,
    method: Method,
    base: &url::Url,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let (status, answer) = call(method.clone(), base, path, body).await;
    let bare = path.split('?').next().unwrap();
    assert_response(spec, method.as_str(), bare, status, &answer);
    (status, answer)
}

fn ids(results: &Value) -> Vec<String> {
    results.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_list_pages_through_every_record_once_by_after_in_every_version() {
    let fixtures = fixtures();
    let mocks = Mocks::start(fixtures.clone()).await.unwrap();
    let base = mocks.crm.base_url();
    let every: Vec<String> = fixtures.contacts.iter().map(|c| c.id.0.to_string()).collect();
    for (prefix, spec) in object_prefixes() {
        let (mut seen, mut after, mut pages) = (Vec::new(), None::<String>, 0);
        loop {
            let cursor = after.as_ref().map(|a| format!("&after={a}")).unwrap_or_default();
            let path = format!("{prefix}/contacts?limit=2&properties=email&associations=tickets{cursor}");
            let (status, page) = checked(&spec, Method::GET, &base, &path, None).await;
            assert_eq!(status, 200, "{path}: {page}");
            for record in page["results"].as_array().unwrap() {
                let contact =
                    fixtures.contacts.iter().find(|c| record["id"] == c.id.0.to_string().as_str()).unwrap();
                assert_eq!(record["properties"], json!({ "email": contact.email }), "only what was asked");
                let tickets: Vec<String> = contact.tickets.iter().map(|t| t.0.to_string()).collect();
                let listed = record["associations"]["tickets"]["results"]
                    .as_array()
                    .map(|r| ids(&Value::from(r.clone())));
                assert_eq!(listed.unwrap_or_default(), tickets, "{record}");
            }
            seen.extend(ids(&page["results"]));
            pages += 1;
            assert!(pages <= every.len() + 1, "the cursor never ends");
            match page["paging"]["next"]["after"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen, every, "{prefix}: every contact once, in id order");
    }
    for bad in ["0", "101", "x", "-1"] {
        let (status, body) =
            call(Method::GET, &base, &format!("/crm/v3/objects/contacts?limit={bad}"), None).await;
        assert_eq!(status, 400, "limit={bad}: {body}");
        assert!(body["message"].as_str().unwrap().contains("between 1 and 100"), "{body}");
    }
    let (status, archived) = call(Method::GET, &base, "/crm/v3/objects/tickets?archived=true", None).await;
    assert_eq!((status, archived["results"].clone()), (200, json!([])));
}

#[tokio::test]
async fn a_batch_read_answers_what_exists_and_a_207_names_what_does_not() {
    let fixtures = fixtures();
    let mocks = Mocks::start(fixtures.clone()).await.unwrap();
    let base = mocks.crm.base_url();
    let (a, b) = (&fixtures.contacts[0], &fixtures.contacts[1]);
    for (prefix, spec) in object_prefixes() {
        let path = format!("{prefix}/contacts/batch/read");
        let body = json!({ "inputs": [{"id": a.id.0.to_string()}, {"id": b.id.0.to_string()}], "properties": ["email"], "propertiesWithHistory": [] });
        let (status, read) = checked(&spec, Method::POST, &base, &path, Some(body)).await;
        assert_eq!(status, 200, "{read}");
        let emails: BTreeSet<&str> = read["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["properties"]["email"].as_str().unwrap())
            .collect();
        assert_eq!(emails, BTreeSet::from([a.email.as_str(), b.email.as_str()]));

        let body =
            json!({ "inputs": [{"id": a.id.0.to_string()}, {"id": "999999"}], "properties": ["email"] });
        let (status, partial) = checked(&spec, Method::POST, &base, &path, Some(body)).await;
        assert_eq!(status, 207, "{partial}");
        assert_eq!(ids(&partial["results"]), [a.id.0.to_string()]);
        assert_eq!(partial["errors"][0]["category"], "OBJECT_NOT_FOUND");
        assert_eq!(partial["errors"][0]["context"]["ids"], json!(["999999"]));
    }
    // By email, as `idProperty` lets a batch name records.
    let body =
        json!({ "inputs": [{"id": a.email.to_uppercase()}], "idProperty": "email", "properties": ["email"] });
    let (status, by_email) =
        call(Method::POST, &base, "/crm/v3/objects/contacts/batch/read", Some(body)).await;
    assert_eq!((status, ids(&by_email["results"])), (200, vec![a.id.0.to_string()]));
    let many: Vec<Value> = (0..101).map(|i| json!({ "id": i.to_string() })).collect();
    let (status, body) =
        call(Method::POST, &base, "/crm/v3/objects/contacts/batch/read", Some(json!({ "inputs": many })))
            .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn v4_associations_are_the_ones_a_get_shows_and_page_by_after() {
    let fixtures = fixtures();
    let mocks = Mocks::start(fixtures.clone()).await.unwrap();
    let base = mocks.crm.base_url();
    let mut counted = 0;
    for contact in &fixtures.contacts {
        let id = contact.id.0;
        let (_, got) = call(
            Method::GET,
            &base,
            &format!("/crm/v3/objects/contacts/{id}?associations=tickets,companies"),
            None,
        )
        .await;
        for (to, plural) in [("tickets", "tickets"), ("companies", "companies")] {
            let from_get: Vec<String> = got["associations"][plural]["results"]
                .as_array()
                .map(|r| r.iter().map(|a| a["id"].as_str().unwrap().to_owned()).collect())
                .unwrap_or_default();
            for (path, spec) in [
                (format!("/crm/v4/objects/contacts/{id}/associations/{to}"), ASSOCIATIONS_V4.to_owned()),
                (
                    format!("/crm/objects/2025-09/contacts/{id}/associations/{to}"),
                    spec("crm-associations", "2025-09"),
                ),
                (
                    format!("/crm/objects/2026-03/contacts/{id}/associations/{to}"),
                    spec("crm-associations", "2026-03"),
                ),
            ] {
                // One at a time, to page through them.
                let (mut seen, mut after) = (Vec::new(), String::new());
                loop {
                    let paged = format!("{path}?limit=1&after={after}");
                    let (status, page) = checked(&spec, Method::GET, &base, &paged, None).await;
                    assert_eq!(status, 200, "{path}: {page}");
                    for result in page["results"].as_array().unwrap() {
                        seen.push(result["toObjectId"].as_str().unwrap().to_owned());
                        assert_eq!(result["associationTypes"][0]["category"], "HUBSPOT_DEFINED");
                    }
                    match page["paging"]["next"]["after"].as_str() {
                        Some(next) => after = next.to_owned(),
                        None => break,
                    }
                }
                assert_eq!(seen, from_get, "{path}");
                counted += seen.len();
            }
        }
    }
    assert!(counted > 0, "the fixtures hold associations");
    let (status, body) =
        call(Method::GET, &base, "/crm/v4/objects/contacts/999999/associations/tickets", None).await;
    assert_eq!(status, 404, "{body}");
    // 2026-09 has no such operation: its records' associations come with a get or a batch read.
    let (status, body) =
        call(Method::GET, &base, "/crm/objects/2026-09/contacts/101/associations/tickets", None).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn association_batch_reads_in_v3_and_v4_shapes() {
    let fixtures = fixtures();
    let mocks = Mocks::start(fixtures.clone()).await.unwrap();
    let base = mocks.crm.base_url();
    let with = fixtures.contacts.iter().find(|c| !c.tickets.is_empty()).unwrap();
    let tickets: BTreeSet<String> = with.tickets.iter().map(|t| t.0.to_string()).collect();
    let body = json!({ "inputs": [{"id": with.id.0.to_string()}] });

    let path = "/crm/v3/associations/contacts/tickets/batch/read";
    let (status, v3) = checked(ASSOCIATIONS_V3, Method::POST, &base, path, Some(body.clone())).await;
    assert_eq!(status, 200, "{v3}");
    let to: BTreeSet<String> = v3["results"][0]["to"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(to, tickets);
    assert_eq!(v3["results"][0]["to"][0]["type"], "contact_to_ticket");

    let mut v4_paths =
        vec![("/crm/v4/associations/contacts/tickets/batch/read".to_owned(), ASSOCIATIONS_V4.to_owned())];
    v4_paths.extend(DATE_VERSIONS.iter().map(|version| {
        (
            format!("/crm/associations/{version}/contacts/tickets/batch/read"),
            spec("crm-associations", version),
        )
    }));
    for (path, spec) in v4_paths {
        let (status, v4) = checked(&spec, Method::POST, &base, &path, Some(body.clone())).await;
        assert_eq!(status, 200, "{v4}");
        let to: BTreeSet<String> = v4["results"][0]["to"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["toObjectId"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(to, tickets, "{path}");
    }
    // A record that does not exist, and one with no such association, are errors of a 207.
    let without = fixtures.contacts.iter().find(|c| c.tickets.is_empty()).map(|c| c.id.0.to_string());
    let mut inputs = vec![json!({"id": with.id.0.to_string()}), json!({"id": "999999"})];
    inputs.extend(without.iter().map(|id| json!({ "id": id })));
    let (status, partial) =
        checked(ASSOCIATIONS_V3, Method::POST, &base, path, Some(json!({ "inputs": inputs }))).await;
    assert_eq!(status, 207, "{partial}");
    let named: Vec<&Value> =
        partial["errors"].as_array().unwrap().iter().map(|e| &e["context"]["fromObjectId"]).collect();
    assert!(named.contains(&&json!(["999999"])), "{partial}");
    assert_eq!(named.len(), 1 + usize::from(without.is_some()), "{partial}");
}

#[tokio::test]
async fn properties_define_what_the_records_hold_and_show_no_records_value() {
    let fixtures = fixtures();
    let mocks = Mocks::start(fixtures.clone()).await.unwrap();
    let base = mocks.crm.base_url();
    let held: BTreeSet<&str> =
        fixtures.contacts.iter().flat_map(|c| c.properties.keys().map(String::as_str)).collect();
    let mut prefixes = vec![("/crm/v3/properties".to_owned(), spec("crm-properties", "v3"))];
    prefixes
        .extend(DATE_VERSIONS.iter().map(|v| (format!("/crm/properties/{v}"), spec("crm-properties", v))));
    for (prefix, spec) in prefixes {
        let (status, all) = checked(&spec, Method::GET, &base, &format!("{prefix}/contacts"), None).await;
        assert_eq!(status, 200, "{all}");
        let names: BTreeSet<&str> =
            all["results"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert!(held.is_subset(&names), "every property a contact holds is defined: {held:?} {names:?}");
        assert!(names.contains("email") && names.contains("hs_object_id"));
        let (status, email) =
            checked(&spec, Method::GET, &base, &format!("{prefix}/contacts/email"), None).await;
        assert_eq!(status, 200, "{email}");
        assert_eq!((email["label"].as_str(), email["type"].as_str()), (Some("Email"), Some("string")));
        let (status, missing) =
            checked(&spec, Method::GET, &base, &format!("{prefix}/contacts/no_such_property"), None).await;
        assert_eq!(status, 404, "{missing}");
    }
    // Definitions, never data: no record's value is in any object type's definitions
    // (HubSpot's own enumeration options aside, which are the same in every portal).
    for object in ["contacts", "tickets", "companies"] {
        let (_, all) = call(Method::GET, &base, &format!("/crm/v3/properties/{object}"), None).await;
        let options: BTreeSet<String> = all["results"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| {
                p["options"].as_array().unwrap().iter().map(|o| o["value"].as_str().unwrap().to_lowercase())
            })
            .collect();
        let text = all.to_string().to_lowercase();
        let values =
            fixtures.contacts.iter().flat_map(|c| c.properties.values().chain([&c.email])).chain(
                fixtures.tickets.iter().chain(&fixtures.companies).flat_map(|r| r.properties.values()),
            );
        for value in values.filter(|v| v.len() >= 4 && !options.contains(&v.to_lowercase())) {
            assert!(!text.contains(&value.to_lowercase()), "{object}'s definitions show the value {value:?}");
        }
    }
}

/// A search body of one group of `filters`.
fn search(filters: Value, extra: Value) -> Value {
    let mut body = json!({ "filterGroups": [{ "filters": filters }], "properties": ["email", "firstname"], "limit": 100 });
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    body
}

#[tokio::test]
async fn search_answers_query_association_filters_wildcards_and_a_sort_as_the_records_say() {
    let fixtures = fixtures();
    let mocks = Mocks::start(fixtures.clone()).await.unwrap();
    let base = mocks.crm.base_url();
    let found = |body: &Value| ids(&body["results"]).into_iter().collect::<BTreeSet<_>>();
    let contact_ids = |keep: &dyn Fn(&leakproof::world::Contact) -> bool| -> BTreeSet<String> {
        fixtures.contacts.iter().filter(|c| keep(c)).map(|c| c.id.0.to_string()).collect()
    };
    for (prefix, spec) in object_prefixes() {
        let path = format!("{prefix}/contacts/search");
        // A free-text query: the first name's first letters.
        let first = fixtures.contacts.iter().find_map(|c| c.properties.get("firstname")).unwrap();
        let word = first[..3].to_lowercase();
        let query = json!({ "query": word, "properties": ["email"] });
        let (status, body) = checked(&spec, Method::POST, &base, &path, Some(query)).await;
        assert_eq!(status, 200, "{body}");
        let expected = contact_ids(&|c| {
            ["firstname", "lastname", "phone", "mobilephone", "company"]
                .iter()
                .filter_map(|name| c.properties.get(*name))
                .chain([&c.email])
                .any(|value| {
                    value.to_lowercase().split(|ch: char| !ch.is_alphanumeric()).any(|w| w.starts_with(&word))
                })
        });
        assert_eq!(found(&body), expected, "query {word:?}");
        assert!(
            !expected.is_empty() && expected.len() < fixtures.contacts.len(),
            "a query that tells contacts apart"
        );

        // A wildcard token: every address at one domain.
        let domain = fixtures.contacts[0].email.split('@').nth(1).unwrap().to_owned();
        let filter = json!([{ "propertyName": "email", "operator": "CONTAINS_TOKEN", "value": format!("*@{domain}") }]);
        let (status, body) =
            checked(&spec, Method::POST, &base, &path, Some(search(filter, json!({})))).await;
        assert_eq!(status, 200, "{body}");
        let expected = contact_ids(&|c| c.email.to_lowercase().ends_with(&format!("@{domain}")));
        assert_eq!(found(&body), expected);
        assert_eq!(body["total"], expected.len());

        // One sort, by email descending.
        let (_, body) = call(
            Method::POST,
            &base,
            &path,
            Some(search(
                json!([]),
                json!({ "sorts": [{"propertyName": "email", "direction": "DESCENDING"}] }),
            )),
        )
        .await;
        let emails: Vec<&str> = body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["properties"]["email"].as_str().unwrap())
            .collect();
        let mut sorted = emails.clone();
        sorted.sort_by_key(|e| std::cmp::Reverse(e.to_lowercase()));
        assert_eq!(emails, sorted);
        assert_eq!(emails.len(), fixtures.contacts.len());
    }
    // The tickets of one contact, by the association filter.
    for contact in &fixtures.contacts {
        let filter = json!([{ "propertyName": "associations.contact", "operator": "EQ", "value": contact.id.0.to_string() }]);
        let (status, body) = call(
            Method::POST,
            &base,
            "/crm/v3/objects/tickets/search",
            Some(search(filter, json!({ "properties": ["subject"] }))),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let expected: BTreeSet<String> = contact.tickets.iter().map(|t| t.0.to_string()).collect();
        assert_eq!(found(&body), expected, "tickets of {}", contact.id.0);
    }
}

#[tokio::test]
async fn what_the_search_does_not_support_is_a_400_naming_what_it_does() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let base = mocks.crm.base_url();
    let filter = |property: &str, operator: &str| json!([{ "propertyName": property, "operator": operator, "value": "1" }]);
    let cases = [
        (json!({ "filters": [] }), "filterGroups"),
        (json!({ "filterGroups": [{ "filters": [], "extra": 1 }] }), "filterGroups[0].extra"),
        (
            search(
                json!([{ "propertyName": "email", "operator": "EQ", "value": "x", "highvalue": "y" }]),
                json!({}),
            ),
            "filters[0].highvalue",
        ),
        (search(filter("no_such_property", "EQ"), json!({})), "does not exist"),
        (search(filter("associations.deal", "EQ"), json!({})), "associations.contact"),
        (search(filter("associations.ticket", "LT"), json!({})), "EQ, NEQ, IN, NOT_IN"),
        (search(json!([]), json!({ "sorts": ["email", "firstname"] })), "one property"),
        (search(json!([]), json!({ "sorts": [{"propertyName": "email", "direction": "UP"}] })), "DESCENDING"),
        (search(json!([]), json!({ "sorts": ["no_such_property"] })), "no such property"),
        (json!({ "query": "x".repeat(3001) }), "3000"),
    ];
    for (body, named) in cases {
        let (status, answer) =
            call(Method::POST, &base, "/crm/v3/objects/contacts/search", Some(body.clone())).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["category"], "VALIDATION_ERROR");
        assert!(answer["message"].as_str().unwrap().contains(named), "{named:?} in {answer}");
    }
}

#[tokio::test]
async fn a_request_the_mocks_do_not_serve_is_hubspots_404_naming_what_they_serve_and_logged_unrouted() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let crm = mocks.crm.base_url();
    for (method, path) in [
        (Method::GET, "/crm/v3/objects/deals/1"),
        (Method::DELETE, "/crm/v3/objects/contacts/101"),
        (Method::GET, "/crm/objects/2024-01/contacts/101"),
        (Method::GET, "/contacts/v1/contact/vid/101/profile"),
    ] {
        let (status, body) = call(method.clone(), &crm, path, None).await;
        assert_eq!(status, 404, "{method} {path}: {body}");
        assert!(body["message"].as_str().unwrap().contains("does not serve"), "{body}");
        assert!(body["correlationId"].is_string() && body["status"] == "error");
    }
    assert!(mocks.crm.requests().iter().all(|r| r.endpoint.is_none()));
    let (status, body) = call(
        Method::POST,
        &mocks.mail.base_url(),
        "/marketing/v4/transactional/single-email/send",
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(mocks.mail.requests()[0].endpoint, None);
}

#[tokio::test]
async fn one_host_serves_crm_and_mail_by_path_keeping_their_logs_apart() {
    let fixtures = fixtures();
    let mocks = Mocks::start_single_host(&fixtures, MockOptions::default(), None).await.unwrap();
    assert!(mocks.single_host());
    assert_eq!(mocks.crm.base_url(), mocks.mail.base_url());
    let base = mocks.crm.base_url();
    let contact = &fixtures.contacts[0];
    let (status, _) =
        call(Method::GET, &base, &format!("/crm/v3/objects/contacts/{}", contact.id.0), None).await;
    assert_eq!(status, 200);
    let mail = |to: &str| json!({ "emailId": 1, "message": { "to": to }, "customProperties": { "verification_link": "http://127.0.0.1:9/v" } });
    for version in DATE_VERSIONS {
        let path = format!("/marketing/transactional/{version}/single-email/send");
        let mail_spec = spec("marketing-transactional-single-send", version);
        let (status, sent) =
            checked(&mail_spec, Method::POST, &base, &path, Some(mail(&contact.email))).await;
        assert_eq!(status, 200, "{sent}");
    }
    let path = "/marketing/v3/transactional/single-email/send";
    let (status, _) = checked(MAIL_V3, Method::POST, &base, path, Some(mail(&contact.email))).await;
    assert_eq!(status, 200);
    assert_eq!(mocks.mail.mailbox(&contact.email).len(), DATE_VERSIONS.len() + 1);
    let crm_paths: Vec<String> = mocks.crm.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(crm_paths, [format!("/crm/v3/objects/contacts/{}", contact.id.0)]);
    assert!(mocks.mail.requests().iter().all(|r| r.endpoint == Some(Endpoint::SendMail)));

    // In process, the exchange tells them apart the same way.
    use leakproof::crm::{Exchange, ExchangeRequest};
    let exchange = mocks.exchange();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {DEFAULT_TOKEN}").parse().unwrap());
    headers.insert("content-type", "application/json".parse().unwrap());
    let body = mail(&contact.email).to_string();
    let url = base.join("/marketing/transactional/2026-03/single-email/send").unwrap();
    let request =
        ExchangeRequest { method: &Method::POST, url: &url, headers: &headers, body: body.as_bytes() };
    assert_eq!(exchange.exchange(&request).unwrap().status, 200);
    let url = base.join(&format!("/crm/objects/2026-03/contacts/{}", contact.id.0)).unwrap();
    let request = ExchangeRequest { method: &Method::GET, url: &url, headers: &headers, body: &[] };
    assert_eq!(exchange.exchange(&request).unwrap().status, 200);
    assert_eq!(mocks.mail.requests().len(), DATE_VERSIONS.len() + 2);
    assert_eq!(mocks.crm.requests().len(), 2);
}

#[tokio::test]
async fn faults_strike_the_new_endpoints_and_the_log_names_them() {
    let fixtures = fixtures();
    let mocks = Mocks::start(fixtures.clone()).await.unwrap();
    let base = mocks.crm.base_url();
    let id = fixtures.contacts[0].id.0;
    let calls: [(Endpoint, Method, String, Option<Value>); 5] = [
        (Endpoint::List, Method::GET, "/crm/objects/2026-09/contacts".to_owned(), None),
        (
            Endpoint::BatchRead,
            Method::POST,
            "/crm/v3/objects/contacts/batch/read".to_owned(),
            Some(json!({ "inputs": [{"id": id.to_string()}] })),
        ),
        (
            Endpoint::Associations,
            Method::GET,
            format!("/crm/v4/objects/contacts/{id}/associations/tickets"),
            None,
        ),
        (
            Endpoint::AssociationsBatchRead,
            Method::POST,
            "/crm/v4/associations/contacts/tickets/batch/read".to_owned(),
            Some(json!({ "inputs": [{"id": id.to_string()}] })),
        ),
        (Endpoint::Properties, Method::GET, "/crm/properties/2025-09/tickets".to_owned(), None),
    ];
    for (endpoint, method, path, body) in calls {
        mocks.crm.inject(Fault::first(1, endpoint, FaultKind::Status(503)));
        let (status, _) = call(method.clone(), &base, &path, body.clone()).await;
        assert_eq!(status, 503, "{endpoint}");
        let (status, answer) = call(method, &base, &path, body).await;
        assert!(status == 200, "{endpoint} heals: {answer}");
        let logged: Vec<(Option<Endpoint>, u16)> =
            mocks.crm.requests().iter().rev().take(2).map(|r| (r.endpoint, r.status)).collect();
        assert_eq!(logged, [(Some(endpoint), 200), (Some(endpoint), 503)]);
    }
}
