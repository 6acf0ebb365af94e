//! The CRM and mail clients against the mock servers: every endpoint, every fault kind,
//! state after PATCH, and the clients' own requests validated against HubSpot's schemas.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use leakproof::ContactId;
use leakproof::config::ObjectType;
use leakproof::crm::{Crm, CrmError, CrmSettings, HttpError, RecordingSleeper, RetryPolicy};
use leakproof::mail::{MailError, MailSettings, Mailer, VerificationMail};
use leakproof::mocks::{Endpoint, Fault, FaultKind, Mocks, RateLimitPolicy};
use leakproof::world::{Contact, Fixtures, Record, RecordId};
use proptest::prelude::*;

use crate::common::{CONTACTS, MAIL, assert_schema};

fn fixtures() -> Fixtures {
    Fixtures {
        contacts: vec![
            Contact {
                id: ContactId(101),
                email: "ada@example.com".into(),
                properties: [("phone", "+44 20 7946 0101"), ("city", "Bristol KX7Q")]
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .into(),
                tickets: vec![RecordId(9001), RecordId(9002)],
                companies: vec![RecordId(5001)],
            },
            Contact {
                id: ContactId(102),
                email: "bob@example.org".into(),
                properties: BTreeMap::new(),
                tickets: vec![],
                companies: vec![RecordId(5001)],
            },
        ],
        tickets: vec![
            Record {
                id: RecordId(9001),
                properties: [("subject".to_owned(), "Late parcel".to_owned())].into(),
            },
            Record { id: RecordId(9002), properties: BTreeMap::new() },
        ],
        companies: vec![Record {
            id: RecordId(5001),
            properties: [("name".to_owned(), "Kestrel Ltd".to_owned())].into(),
        }],
        visitors: Default::default(),
    }
}

/// A client for `mocks` that records its retry delays instead of sleeping.
fn crm(mocks: &Mocks, timeout: Duration) -> (Crm, RecordingSleeper) {
    let sleeper = RecordingSleeper::default();
    let settings = CrmSettings {
        timeout,
        retry: RetryPolicy::default(),
        ..CrmSettings::new(mocks.crm.base_url(), mocks.crm.token())
    };
    let client = Crm::new(settings).unwrap().with_sleeper(Arc::new(sleeper.clone()));
    (client, sleeper)
}

#[tokio::test]
async fn every_endpoint_through_the_client() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let (crm, _) = crm(&mocks, Duration::from_secs(5));

    let ada = crm.search_contact_by_email("Ada@Example.COM", &["phone"]).await.unwrap().unwrap();
    assert_eq!((ada.contact_id(), ada.property("phone")), (ContactId(101), Some("+44 20 7946 0101")));
    assert!(crm.search_contact_by_email("nobody@example.com", &["phone"]).await.unwrap().is_none());

    let read = crm.get(ObjectType::Contact, 101, &["city"], &[ObjectType::Ticket]).await.unwrap();
    assert_eq!(read.property("city"), Some("Bristol KX7Q"));
    assert_eq!(read.associations(ObjectType::Ticket), [RecordId(9001), RecordId(9002)]);
    assert_eq!(crm.associated(ContactId(101), ObjectType::Company).await.unwrap(), [RecordId(5001)]);
    assert_eq!(crm.associated(ContactId(102), ObjectType::Ticket).await.unwrap(), []);
    let ticket = crm.get(ObjectType::Ticket, 9001, &["subject"], &[]).await.unwrap();
    assert_eq!(ticket.property("subject"), Some("Late parcel"));

    let change = BTreeMap::from([("phone".to_owned(), "+44 117 496 0999".to_owned())]);
    let updated = crm.update(ObjectType::Contact, 101, &change).await.unwrap();
    assert_eq!(updated.property("phone"), Some("+44 117 496 0999"));
    let again = crm.get(ObjectType::Contact, 101, &["phone"], &[]).await.unwrap();
    assert_eq!(again.property("phone"), Some("+44 117 496 0999"), "a later read sees the write");

    assert!(matches!(crm.get(ObjectType::Company, 4040, &[], &[]).await, Err(CrmError::NotFound { .. })));

    // What the client sent is what HubSpot's schemas describe.
    for request in mocks.crm.requests() {
        let body = request.body.clone();
        match (request.endpoint, body) {
            (Some(Endpoint::Search), Some(body)) => {
                assert_schema(CONTACTS, "PublicObjectSearchRequest", &body)
            }
            (Some(Endpoint::UpdateContact), Some(body)) => {
                assert_schema(CONTACTS, "SimplePublicObjectInput", &body)
            }
            (_, None) => {}
            (endpoint, Some(body)) => panic!("unexpected body for {endpoint:?}: {body}"),
        }
    }
    assert!(mocks.crm.requests().iter().all(|r| r.status < 500));
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized_and_reads_nothing() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let crm = Crm::new(CrmSettings::new(mocks.crm.base_url(), "pat-na1-not-the-token")).unwrap();
    let err = crm.get(ObjectType::Contact, 101, &["phone"], &[]).await.unwrap_err();
    assert!(matches!(err, CrmError::Http(HttpError::Unauthorized { .. })), "{err:?}");
    assert!(err.correlation_id().is_some());
    assert!(!err.to_string().contains("pat-na1-not-the-token"), "{err}");
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_then_given_up() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let (crm, sleeper) = crm(&mocks, Duration::from_secs(5));

    mocks.crm.inject(Fault::first(2, Endpoint::GetContact, FaultKind::Status(503)));
    let read = crm.get(ObjectType::Contact, 101, &["phone"], &[]).await.unwrap();
    assert_eq!(read.property("phone"), Some("+44 20 7946 0101"));
    assert_eq!(sleeper.delays(), [Duration::from_millis(200), Duration::from_millis(400)]);

    mocks.crm.inject(Fault::always(Endpoint::Search, FaultKind::Status(500)));
    let err = crm.search_contact_by_email("ada@example.com", &[]).await.unwrap_err();
    match &err {
        CrmError::Http(HttpError::Status { status, attempts, .. }) => {
            assert_eq!((*status, *attempts), (500, 3))
        }
        other => panic!("expected a 500 after 3 attempts, got {other:?}"),
    }
    // The correlation id is the one the mock answered the last attempt with.
    let last = mocks.crm.requests().into_iter().rev().find(|r| r.endpoint == Some(Endpoint::Search)).unwrap();
    assert_eq!(err.correlation_id(), Some(last.correlation_id.as_str()));
}

#[tokio::test]
async fn rate_limits_wait_as_hubspot_asks_or_give_up() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let (crm, sleeper) = crm(&mocks, Duration::from_secs(5));
    let limited = |retry_after, policy| FaultKind::RateLimited { retry_after, policy };

    mocks.crm.inject(Fault::first(
        1,
        Endpoint::GetContact,
        limited(Some(7), RateLimitPolicy::TenSecondlyRolling),
    ));
    crm.get(ObjectType::Contact, 101, &[], &[]).await.unwrap();
    assert_eq!(sleeper.delays(), [Duration::from_secs(7)], "Retry-After wins over policyName");

    mocks.crm.inject(Fault::first(1, Endpoint::GetContact, limited(None, RateLimitPolicy::Secondly)));
    crm.get(ObjectType::Contact, 101, &[], &[]).await.unwrap();
    assert_eq!(sleeper.delays().last(), Some(&Duration::from_secs(1)));

    mocks.crm.inject(Fault::first(1, Endpoint::GetContact, limited(None, RateLimitPolicy::Daily)));
    let err = crm.get(ObjectType::Contact, 101, &[], &[]).await.unwrap_err();
    match err {
        CrmError::Http(HttpError::RateLimited { policy_name, attempts, .. }) => {
            assert_eq!((policy_name.as_deref(), attempts), (Some("DAILY"), 1));
        }
        other => panic!("expected a daily rate limit, got {other:?}"),
    }
}

#[tokio::test]
async fn timeouts_malformed_and_truncated_bodies_are_typed_errors() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let sleeper = RecordingSleeper::default();
    let settings = CrmSettings {
        timeout: Duration::from_millis(300),
        retry: RetryPolicy::none(),
        ..CrmSettings::new(mocks.crm.base_url(), mocks.crm.token())
    };
    let crm = Crm::new(settings).unwrap().with_sleeper(Arc::new(sleeper));

    mocks.crm.inject(Fault::first(1, Endpoint::GetContact, FaultKind::Timeout));
    let err = crm.get(ObjectType::Contact, 101, &["phone"], &[]).await.unwrap_err();
    assert!(matches!(err, CrmError::Http(HttpError::Timeout { .. })), "{err:?}");

    mocks.crm.inject(Fault::first(1, Endpoint::GetContact, FaultKind::Delay(Duration::from_millis(50))));
    assert!(crm.get(ObjectType::Contact, 101, &["phone"], &[]).await.is_ok(), "a short delay is fine");

    for kind in [FaultKind::Malformed, FaultKind::Truncated] {
        mocks.crm.inject(Fault::first(1, Endpoint::Search, kind.clone()));
        let err = crm.search_contact_by_email("ada@example.com", &["phone"]).await.unwrap_err();
        assert!(matches!(err, CrmError::Http(HttpError::Malformed { .. })), "{kind}: {err:?}");
        assert!(!err.to_string().contains("+44 20 7946 0101"), "no value in the error: {err}");
    }

    // A truncated answer to a PATCH: an error, and the mock did not store the write.
    mocks.crm.inject(Fault::first(1, Endpoint::UpdateContact, FaultKind::Truncated));
    let change = BTreeMap::from([("city".to_owned(), "Oslo".to_owned())]);
    assert!(crm.update(ObjectType::Contact, 101, &change).await.is_err());
    assert_eq!(mocks.crm.record(ObjectType::Contact, 101).unwrap()["city"], "Bristol KX7Q");
}

#[tokio::test]
async fn the_mailer_sends_the_link_to_the_mock_and_faults_fail_the_send() {
    let mocks = Mocks::start(fixtures()).await.unwrap();
    let settings = MailSettings {
        retry: RetryPolicy::none(),
        ..MailSettings::new(mocks.mail.base_url(), mocks.mail.token(), 4242)
    };
    let mailer = Mailer::new(settings).unwrap();
    let link = url::Url::parse("http://127.0.0.1:8080/verify/abc.def").unwrap();
    let mail = VerificationMail::new("ada@example.com", link.clone(), "nonce-1")
        .with_custom_property("agent_name", "Ava");

    let receipt = mailer.send_verification(&mail).await.unwrap();
    assert!(!receipt.already_sent());
    assert_eq!(mocks.mail.latest_link("ada@example.com"), Some(link.clone()));
    let sent = &mocks.mail.requests()[0];
    assert_schema(MAIL, "PublicSingleSendRequestEgg", sent.body.as_ref().unwrap());

    // The same send id is the same send.
    mailer.send_verification(&mail).await.unwrap();
    assert_eq!(mocks.mail.mailbox("ada@example.com").len(), 1);

    mocks.mail.inject(Fault::first(1, Endpoint::SendMail, FaultKind::Status(500)));
    let err = mailer
        .send_verification(&VerificationMail::new("ada@example.com", link, "nonce-2"))
        .await
        .unwrap_err();
    assert!(matches!(err, MailError::Http(HttpError::Status { status: 500, .. })), "{err:?}");
    assert_eq!(mocks.mail.mailbox("ada@example.com").len(), 1, "a failed send captured nothing");
}

/// Arbitrary fixture sets: ids, addresses, property names and values of any shape the loader accepts.
fn arbitrary_fixtures() -> impl Strategy<Value = Fixtures> {
    let name = "[a-z][a-z0-9_]{0,12}".prop_filter("reserved names", |n| {
        !matches!(n.as_str(), "email" | "hs_object_id" | "createdate" | "lastmodifieddate")
    });
    let properties = prop::collection::btree_map(name, "\\PC{1,40}", 0..6);
    let contact = ("[a-z0-9][a-z0-9._+-]{0,12}", "[a-z]{1,10}", properties);
    prop::collection::vec(contact, 1..8).prop_map(|contacts| Fixtures {
        contacts: contacts
            .into_iter()
            .enumerate()
            .map(|(i, (local, domain, properties))| Contact {
                id: ContactId(1000 + i as u64 * 7),
                // The index keeps addresses unique, as the loader requires.
                email: format!("{local}.{i}@{domain}.example"),
                properties,
                tickets: vec![],
                companies: vec![],
            })
            .collect(),
        ..Fixtures::default()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every contact is found by its email, in any case, and reads back with exactly its values.
    #[test]
    fn every_contact_is_found_by_email_and_reads_back_exactly(fixtures in arbitrary_fixtures()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let mocks = Mocks::start(fixtures.clone()).await.unwrap();
            let (crm, _) = crm(&mocks, Duration::from_secs(5));
            for contact in &fixtures.contacts {
                let names: Vec<&str> = contact.properties.keys().map(String::as_str).collect();
                let found = crm.search_contact_by_email(&contact.email.to_uppercase(), &names).await;
                let found = found.map_err(|e| TestCaseError::fail(e.to_string()))?;
                let found = found.ok_or_else(|| TestCaseError::fail(format!("{} not found", contact.email)))?;
                prop_assert_eq!(found.contact_id(), contact.id);

                let with_email: Vec<&str> = names.iter().copied().chain(["email"]).collect();
                let read = crm.get(ObjectType::Contact, contact.id.0, &with_email, &[]).await
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                let mut expected = contact.properties.clone();
                expected.insert("email".to_owned(), contact.email.clone());
                let values: BTreeMap<String, String> = read
                    .properties()
                    .iter()
                    .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
                    .collect();
                prop_assert_eq!(&values, &expected);
            }
            Ok(())
        })?;
    }
}
