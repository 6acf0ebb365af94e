//! Fixtures: generated worlds are valid and every value traces back to exactly
//! one (record, property) through its canary; worlds survive a trip through
//! YAML; the shipped fixtures load; the loader never panics, whatever it is fed.

use std::collections::BTreeMap;

use leakproof::config::ObjectType;
use leakproof::world::{
    Fixtures, GenerateOptions, RecordRef, find_canary_tokens, from_yaml_str, parse, validate,
};
use leakproof::yaml::Document;
use proptest::prelude::*;

use crate::common::mutate::{apply, check_error, mutation};

const DEFAULT: &str = include_str!("../../scenarios/fixtures/default.yaml");
const CONFIG: &str = include_str!("../../scenarios/configs/default.yaml");

/// Property names the generator knows, and a few it does not.
const NAMES: &[&str] = &[
    "firstname",
    "lastname",
    "address",
    "phone",
    "mobilephone",
    "city",
    "zip",
    "state",
    "country",
    "company",
    "jobtitle",
    "plan_tier",
    "last_purchase_date",
    "renewal_date",
    "hs_language",
    "loyalty_points",
    "date_of_birth",
    "lifecyclestage",
    "hs_pipeline_stage",
    "hs_ticket_priority",
    "subject",
    "content",
    "name",
    "domain",
    "website",
    "prop_7",
    "email",
    "hs_object_id",
    "Not A Name",
];

fn object() -> impl Strategy<Value = ObjectType> {
    prop::sample::select(vec![ObjectType::Contact, ObjectType::Ticket, ObjectType::Company])
}

fn property_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(NAMES).prop_map(str::to_owned),
        1 => "[a-z][a-z0-9_]{0,10}",
    ]
}

fn options() -> impl Strategy<Value = GenerateOptions> {
    (
        0..10usize,
        (0..4usize, 0..4usize),
        0..5usize,
        0..4usize,
        0..4usize,
        prop::collection::vec((object(), property_name()), 0..14),
    )
        .prop_map(|(contacts, (a, b), companies, cookie_visitors, whatsapp_visitors, properties)| {
            GenerateOptions {
                contacts,
                tickets_per_contact: a..=b,
                companies,
                cookie_visitors,
                whatsapp_visitors,
                properties,
            }
        })
}

/// Every value of `fixtures` with the (record, property) it belongs to,
/// contacts' emails included.
fn all_values(fixtures: &Fixtures) -> Vec<(RecordRef, String, String)> {
    fixtures
        .records()
        .flat_map(|record| {
            let values = fixtures.values(record).unwrap_or_default();
            values.into_iter().map(move |(p, v)| (record, p.to_owned(), v.to_owned())).collect::<Vec<_>>()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn generated_fixtures_are_valid_and_deterministic(seed in any::<u64>(), options in options()) {
        let fixtures = Fixtures::generate(seed, &options);
        if let Err(err) = validate(&fixtures) {
            return Err(TestCaseError::fail(format!("seed {seed}: {err}")));
        }
        prop_assert_eq!(&fixtures, &Fixtures::generate(seed, &options));
        prop_assert_eq!(fixtures.contacts.len(), options.contacts);
        let (a, b) = (*options.tickets_per_contact.start(), *options.tickets_per_contact.end());
        for contact in &fixtures.contacts {
            prop_assert!((a.min(b)..=a.max(b)).contains(&contact.tickets.len()));
            prop_assert!(fixtures.contact_by_email(&contact.email.to_uppercase()).map(|c| c.id) == Some(contact.id));
        }
        prop_assert_eq!(fixtures.visitors.cookies.len(), options.cookie_visitors.min(options.contacts));
        prop_assert_eq!(fixtures.visitors.whatsapp.len(), options.whatsapp_visitors.min(options.contacts));
        if options.contacts >= 2 && options.companies >= 1 {
            let shared = fixtures.contacts[0].companies[0];
            prop_assert!(fixtures.contacts_of_company(shared).len() >= 2, "the first two contacts share a company");
        }
    }

    /// Each value carries exactly one canary, its own: no two values of
    /// different (record, property) share one.
    #[test]
    fn every_value_carries_exactly_its_own_canary(seed in any::<u64>(), options in options()) {
        let fixtures = Fixtures::generate(seed, &options);
        let values = all_values(&fixtures);
        let mut owners: BTreeMap<String, (RecordRef, String)> = BTreeMap::new();
        for (record, property, value) in &values {
            let tokens = find_canary_tokens(value);
            prop_assert_eq!(tokens.len(), 1, "{} {}: {:?}", record, property, value);
            let token = tokens[0].1.clone();
            if let Some(other) = owners.insert(token.clone(), (*record, property.clone())) {
                return Err(TestCaseError::fail(format!(
                    "seed {seed}: canary {token} in {record} {property} and in {} {}", other.0, other.1
                )));
            }
        }
        let canaries = fixtures.canaries();
        prop_assert_eq!(canaries.len(), values.len());
        prop_assert!(canaries.ambiguous().is_empty());
    }

    /// Scanning a reply that quotes a value finds that value's owner, and only it.
    #[test]
    fn find_canaries_names_exactly_the_owner(seed in any::<u64>(), options in options()) {
        let fixtures = Fixtures::generate(seed, &options);
        let canaries = fixtures.canaries();
        for (record, property, value) in all_values(&fixtures) {
            for reply in [
                value.clone(),
                format!("Sure! Your {property} is: {value}."),
                value.to_uppercase(),
                value.to_lowercase(),
            ] {
                let found = canaries.find(&reply);
                prop_assert_eq!(found.len(), 1, "{:?}", reply);
                let owner = &found[0].owner;
                prop_assert_eq!(owner.record, record);
                prop_assert_eq!(&owner.property, &property);
                prop_assert_eq!(&owner.contacts, &fixtures.contacts_of(record));
                prop_assert_eq!(&reply[found[0].range.clone()].to_uppercase(), &found[0].canary);
            }
        }
    }

    #[test]
    fn generated_fixtures_round_trip_through_yaml(seed in any::<u64>(), options in options()) {
        let fixtures = Fixtures::generate(seed, &options);
        let yaml = serde_saphyr::to_string(&fixtures).map_err(|e| TestCaseError::fail(e.to_string()))?;
        match from_yaml_str("round-trip.yaml", &yaml) {
            Ok(loaded) => prop_assert_eq!(loaded, fixtures),
            Err(err) => return Err(TestCaseError::fail(format!("{err}\n{yaml}"))),
        }
    }
}

/// Loads `bytes`; on success the fixtures must be valid, on failure every
/// issue must be placed inside the document and say something.
fn load_and_check(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let line_count = crate::common::mutate::yaml_line_count(&bytes);
    let source = match Document::from_bytes("fuzz.yaml", bytes) {
        Ok(source) => source,
        Err(err) => return check_error(&err, line_count),
    };
    match parse(&source) {
        Ok(fixtures) => {
            prop_assert!(validate(&fixtures).is_ok(), "a loaded world is valid");
            let _ = fixtures.canaries();
            Ok(())
        }
        Err(err) => check_error(&err, line_count),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        load_and_check(bytes)?;
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        load_and_check(text.into_bytes())?;
    }

    #[test]
    fn near_valid_yaml_never_panics(mutations in prop::collection::vec(mutation(), 1..4)) {
        let text = mutations.iter().fold(DEFAULT.to_owned(), |text, m| apply(&text, m));
        load_and_check(text.into_bytes())?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn mutated_generated_yaml_never_panics(seed in any::<u64>(), mutations in prop::collection::vec(mutation(), 1..4)) {
        let options = GenerateOptions { contacts: 3, ..GenerateOptions::default() };
        let yaml = serde_saphyr::to_string(&Fixtures::generate(seed, &options))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let text = mutations.iter().fold(yaml, |text, m| apply(&text, m));
        load_and_check(text.into_bytes())?;
    }
}

#[test]
fn the_shipped_fixtures_load_and_match_the_shipped_configuration() {
    let fixtures = from_yaml_str("default.yaml", DEFAULT).unwrap();
    assert!(fixtures.contacts.len() >= 4);
    assert!(fixtures.visitors.cookies.len() >= 2);
    assert!(!fixtures.visitors.whatsapp.is_empty());

    let config = leakproof::config::from_yaml_str("config.yaml", CONFIG).unwrap();
    for rule in config.properties.iter().filter(|r| r.object == ObjectType::Contact) {
        let filled = fixtures.contacts.iter().filter(|c| c.properties.contains_key(&rule.property)).count();
        assert!(filled >= 4, "{} is filled for {filled} contacts", rule.qualified_name());
    }
    for rule in config.properties.iter().filter(|r| r.object == ObjectType::Ticket) {
        assert!(
            fixtures.tickets.iter().all(|t| t.properties.contains_key(&rule.property)),
            "{}",
            rule.property
        );
    }
    for rule in config.properties.iter().filter(|r| r.object == ObjectType::Company) {
        assert!(
            fixtures.companies.iter().all(|c| c.properties.contains_key(&rule.property)),
            "{}",
            rule.property
        );
    }
    // Values are read as written, not as YAML would guess them.
    let maren = fixtures.contact_by_email("Maren.Solberg@example.com").unwrap();
    assert_eq!(maren.properties["phone"], "+44 7700 900461");
    assert_eq!(maren.properties["last_purchase_date"], "2025-03-14");
    assert_eq!(maren.properties["loyalty_points"], "18450");
    // Some contacts share a company.
    assert!(fixtures.companies.iter().any(|c| fixtures.contacts_of_company(c.id).len() >= 2));
    // Hand-written values carry no canaries.
    assert!(fixtures.canaries().is_empty());
}

#[test]
fn the_shipped_fixtures_load_from_their_file() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/fixtures/default.yaml");
    assert_eq!(leakproof::world::load_file(path).unwrap(), from_yaml_str("x", DEFAULT).unwrap());
    let err = leakproof::world::load_file("/nonexistent/fixtures.yaml").unwrap_err();
    assert!(err.to_string().starts_with("failed to read /nonexistent/fixtures.yaml"), "{err}");
}

/// Thousands of values, one mint: still no canary twice, and every value
/// names its own (record, property).
#[test]
fn a_large_world_keeps_every_canary_distinct() {
    let options = GenerateOptions { contacts: 2_000, companies: 700, ..GenerateOptions::default() };
    let fixtures = Fixtures::generate(7, &options);
    validate(&fixtures).unwrap();
    let values = all_values(&fixtures);
    assert!(values.len() > 25_000, "{}", values.len());
    let canaries = fixtures.canaries();
    assert_eq!(canaries.len(), values.len());
    assert!(canaries.ambiguous().is_empty());
    for (record, property, value) in values.iter().step_by(97) {
        let found = canaries.find(value);
        assert_eq!((found.len(), found[0].owner.record, &found[0].owner.property), (1, *record, property));
    }
}

/// The same seed gives the same world on every machine: pinned here so a
/// change in the generator or its dependencies shows up as a failing test
/// rather than as scenarios that silently change.
#[test]
fn generation_is_pinned_for_a_seed() {
    let fixtures = Fixtures::generate(42, &GenerateOptions::default());
    let first = &fixtures.contacts[0];
    assert_eq!(first.email, "rhea.waelchi.fk8g2f@example.net");
    assert_eq!(first.properties["address"], "476 King Isle, Flat FK6V2U");
    assert_eq!(
        fixtures.tickets.first().map(|t| t.properties["subject"].as_str()),
        Some("Wrong size sent in order 2297 (ref SJ8F8G)")
    );
}

#[test]
fn an_empty_fixtures_file_is_refused_at_its_start() {
    for empty in ["", "\n", "# nothing yet\n", "---\n", "~\n"] {
        let err = from_yaml_str("world.yaml", empty).unwrap_err();
        assert_eq!(err.issues().len(), 1, "{empty:?}: {err}");
        assert!(
            err.to_string().starts_with("world.yaml:1:1: (document): the file is empty"),
            "{empty:?}: {err}"
        );
    }
    // An empty world written as one is fine.
    assert!(from_yaml_str("world.yaml", "contacts: []\n").unwrap().contacts.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.yaml");
    std::fs::write(&path, "").unwrap();
    let err = leakproof::world::load_file(&path).unwrap_err();
    assert_eq!(err.issues()[0].source, path.display().to_string());
}
