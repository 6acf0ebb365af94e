//! The configuration loader never panics and always points at the problem,
//! whatever it is fed: arbitrary bytes, near-valid YAML, broken values.

use leakproof::config::{Document, lint, parse};
use leakproof::policy::Policy;
use proptest::prelude::*;

use crate::common::mutate::{apply, check_error, mutation};

const DEFAULT: &str = include_str!("../../scenarios/configs/default.yaml");

/// Loads `bytes`; on success the configuration must compile and lint, on
/// failure every issue must be placed inside the document and say something.
fn load_and_check(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let line_count = crate::common::mutate::yaml_line_count(&bytes);
    let source = match Document::from_bytes("fuzz.yaml", bytes) {
        Ok(source) => source,
        Err(err) => return check_error(&err, line_count),
    };
    match parse(&source) {
        Ok(config) => {
            prop_assert!(Policy::compile(&config).is_ok(), "a loaded configuration must compile");
            let _ = lint(&config, Some(&source));
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

    /// A broken enum value is reported at its own line and column, naming its setting.
    #[test]
    fn a_broken_value_is_reported_where_it_is(pick in any::<prop::sample::Index>(), word in "[a-z]{3,12}") {
        prop_assume!(!["match_email", "verify_email", "contact", "ticket", "company",
            "at_start", "when_needed", "before_handoff", "never", "true", "false",
            // YAML 1.1 booleans, which `enabled:` accepts.
            "yes", "no", "on", "off"].contains(&word.as_str()));
        let targets: Vec<(usize, &str)> = DEFAULT
            .lines()
            .enumerate()
            .filter(|(_, line)| ["protection:", "object:", "enabled:", "live_chat:", "whatsapp:"]
                .iter()
                .any(|key| line.trim_start().trim_start_matches("- ").starts_with(key)))
            .collect();
        let (line_index, line) = targets[pick.index(targets.len())];
        let key = line.trim_start().trim_start_matches("- ").split(':').next().unwrap();
        let value_column = line.find(": ").unwrap() + 3;
        let broken: String = DEFAULT
            .lines()
            .enumerate()
            .map(|(i, l)| if i == line_index { format!("{}: {word}\n", &l[..value_column - 3]) } else { format!("{l}\n") })
            .collect();

        let err = parse(&Document::new("broken.yaml", broken)).unwrap_err();
        let issue = &err.issues()[0];
        prop_assert_eq!(issue.position.map(|p| (p.line, p.column)), Some((line_index + 1, value_column)), "{}", issue);
        prop_assert!(issue.field.ends_with(key), "{} should name {}", issue, key);
    }
}

#[test]
fn the_shipped_configuration_loads() {
    let config = parse(&Document::new("default.yaml", DEFAULT)).unwrap();
    assert!(config.properties.len() >= 13);
}

#[test]
fn non_utf8_input_points_at_the_bad_byte() {
    let err = Document::from_bytes("bad.yaml", b"agent:\n  name: A\xffva\n".to_vec()).unwrap_err();
    assert_eq!(err.to_string(), "bad.yaml:2:10: (document): the file is not UTF-8 text");
}

#[test]
fn the_signing_key_check_places_its_error_at_the_setting() {
    use leakproof::identity::check_signing_key;
    let with_key = |key: &str| {
        Document::new("agent.yaml", format!("agent: {{ name: Ava }}\nverification:\n  signing_key: {key}\n"))
    };
    let check = |document: &Document| check_signing_key(&parse(document).unwrap(), document);
    assert!(check(&with_key("ephemeral")).is_ok());
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, [7_u8; 32]).unwrap();
    assert!(check(&with_key(&format!("{{ file: {} }}", key.display()))).is_ok());
    for (source, says) in [
        ("{ file: /no/such/key }".to_owned(), "failed to load the signing key from file /no/such/key:"),
        (
            "{ env: LEAKPROOF_TEST_NEVER_SET }".to_owned(),
            "environment variable LEAKPROOF_TEST_NEVER_SET: not set",
        ),
        (format!("{{ file: {} }}", dir.path().display()), "not a regular file (it is a directory)"),
    ] {
        let err = check(&with_key(&source)).unwrap_err();
        let issue = &err.issues()[0];
        assert_eq!(issue.field, "verification.signing_key", "{err}");
        assert_eq!(issue.position.map(|p| (p.line, p.column)), Some((3, 16)), "{err}");
        assert!(issue.message.contains(says), "{source}: {err}");
    }
}
