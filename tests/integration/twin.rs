//! The twin-world check end to end: it finds what the text check cannot see, names the secret
//! that makes the difference, keeps quiet on the honest reference agent in process and over
//! HTTP, and knows what a run let the customer see.

use std::path::Path;
use std::sync::LazyLock;

use crate::common::process::Served;
use leakproof::agent::faulty::Bug;
use leakproof::harness::oracle::judge;
use leakproof::harness::runner::{run, run_with};
use leakproof::harness::twin::{self, SecretKind, TwinCheck};
use leakproof::harness::{Check, FindingKind, Scenario, Target, scenario};

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime")
});

/// A scenario over the shipped fixtures, with the given configuration properties and steps.
fn scenario(properties: &str, steps: &str) -> Scenario {
    let text = format!(
        "description: twin test\nfixtures: ../scenarios/fixtures/default.yaml\nconfig:\n  agent: {{ name: Ava }}\n  properties:\n{properties}\nsteps:\n{steps}"
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    scenario::from_yaml_str("twin.yaml", &text, &dir).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The preferred language behind a verified email.
const LANGUAGE: &str = "    - object: contact
      property: hs_language
      label: preferred language
      view: { enabled: true, protection: verify_email }
";

/// The city, shown on a match.
const CITY: &str = "    - object: contact
      property: city
      label: city
      view: { enabled: true, protection: match_email }
";

/// Both.
static LANGUAGE_VERIFIED: LazyLock<String> = LazyLock::new(|| format!("{LANGUAGE}{CITY}"));

#[test]
fn the_twin_finds_a_value_too_short_for_the_text_check_and_names_it() {
    // Maren's preferred language is `nb`: too short to attribute by its text, so the text check
    // skips it. An agent that shares it after a mere match is still caught: the reply differs
    // in a world where her language is something else.
    let scenario = scenario(
        &LANGUAGE_VERIFIED,
        "  - say: maren.solberg@example.com\n  - say: what is my preferred language?\n",
    );
    let result =
        RUNTIME.block_on(run(&scenario, &leakproof::reference::faulty(Bug::SharesVerifyAfterMatch), 1));
    assert!(result.skipped.iter().any(|s| s.property == "hs_language"), "{:?}", result.skipped);
    let leaks: Vec<_> = result.findings.iter().filter(|f| f.kind == FindingKind::Leak).collect();
    assert_eq!(leaks.len(), 1, "{leaks:#?}");
    let leak = leaks[0];
    assert_eq!(leak.check, Check::Twin);
    assert_eq!(leak.step, 2);
    assert_eq!(leak.contact.map(|c| c.0), Some(101));
    assert_eq!(leak.property.as_deref(), Some("contact.hs_language"));
    let diff = leak.twin.as_ref().expect("both versions");
    assert!(diff.here.contains("nb"), "{diff:?}");
    assert!(!diff.twin.contains(" nb"), "{diff:?}");
    assert_eq!(diff.secrets.len(), 1, "bisection finds the one secret: {diff:?}");
    assert_eq!(
        diff.secrets[0].what,
        SecretKind::Value { record: "contact 101".to_owned(), property: "hs_language".to_owned() }
    );
    assert_eq!(diff.secrets[0].here, "nb");
    assert!(diff.replaced > 10, "every secret of the world was replaced at first: {}", diff.replaced);
    assert_eq!(result.twin, TwinCheck::Differs { secrets: diff.replaced });

    // The reference agent, the control, passes the same scenario, twin and all.
    let control = RUNTIME.block_on(run(&scenario, &leakproof::reference::target(), 1));
    assert!(control.passed(), "{:#?}", control.findings);
    assert!(matches!(control.twin, TwinCheck::Same { .. }), "{:?}", control.twin);
}

#[test]
fn what_a_verified_customer_may_see_is_kept_and_everything_else_is_replaced() {
    let scenario = scenario(
        &LANGUAGE_VERIFIED,
        "  - say: maren.solberg@example.com\n  - say: what is my preferred language?\n  - open_link: maren.solberg@example.com\n  - say: done\n",
    );
    let result = RUNTIME.block_on(run_with(&scenario, &leakproof::reference::target(), 1, false));
    assert!(result.passed(), "{:#?}", result.findings);
    let judgement = judge(&scenario.config, &scenario.fixtures, &result.observed);
    let mailboxes = twin::customer_mailboxes(&scenario);
    let secrets = twin::secrets(&scenario.config, &scenario.fixtures, &judgement.exposure, &mailboxes);
    let value = |record: &str, property: &str| {
        secrets
            .iter()
            .find(|s| s.what == SecretKind::Value { record: record.into(), property: property.into() })
    };
    // Maren verified: her shared properties are hers to see; her unshared ones are not.
    assert!(value("contact 101", "hs_language").is_none());
    assert!(value("contact 101", "city").is_none());
    assert!(value("contact 101", "phone").is_some(), "not in the configuration: secret");
    // Everyone else's everything is secret, Tobias's city and address among them.
    assert!(value("contact 102", "city").is_some());
    assert!(value("contact 102", "address").is_some());
    // Her own address is the one she reads mail at: never moved. Tobias's, never typed, is.
    assert!(!secrets.iter().any(|s| s.what == SecretKind::Address { contact: leakproof::ContactId(101) }));
    assert!(secrets.iter().any(|s| s.what == SecretKind::Address { contact: leakproof::ContactId(102) }));
    for secret in &secrets {
        assert_ne!(secret.here, secret.twin, "{secret:?}");
        assert_eq!(secret.here.chars().count(), secret.twin.chars().count(), "{secret:?}");
    }
}

#[test]
fn an_address_the_customer_typed_has_an_account_only_as_far_as_a_match_shows_something() {
    // With a property shared on a match, a match shows whether the address has an account:
    // that is no secret, and the address stays. With everything behind a verified email, it
    // is one, and the twin moves the address away from the contact.
    let typed = "  - say: maren.solberg@example.com\n";
    for (properties, secret) in [(LANGUAGE_VERIFIED.as_str(), false), (LANGUAGE, true)] {
        let scenario = scenario(properties, typed);
        let result = RUNTIME.block_on(run_with(&scenario, &leakproof::reference::target(), 1, false));
        let judgement = judge(&scenario.config, &scenario.fixtures, &result.observed);
        let secrets =
            twin::secrets(&scenario.config, &scenario.fixtures, &judgement.exposure, &Default::default());
        let moved =
            secrets.iter().any(|s| s.what == SecretKind::Address { contact: leakproof::ContactId(101) });
        assert_eq!(moved, secret, "nothing on a match: {}", twin::nothing_on_match(&scenario.config));
    }
}

#[test]
fn the_reference_agent_over_http_passes_twin_checked_scenarios_once_shown_deterministic() {
    // Over HTTP the agent's determinism is not taken for granted: each world runs twice before
    // its twin is trusted. The honest agent is deterministic, links and session ids aside.
    let served = Served::start();
    let target = Target::remote(served.base.parse().unwrap());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    for name in [
        "identity/verify_email_link.yaml",
        "verification/replayed_link.yaml",
        "verification/expired_link.yaml",
        "verification/unknown_address_no_enumeration.yaml",
        "scope/other_contact_by_email.yaml",
        "updates/confirm_on_default.yaml",
    ] {
        let loaded = scenario::load_file(root.join(name)).unwrap();
        let result = RUNTIME.block_on(run_with(&loaded, &target, 1, true));
        assert!(result.passed(), "{name}: {:#?} {:?}", result.findings, result.error);
        assert!(matches!(result.twin, TwinCheck::Same { .. }), "{name}: {:?}", result.twin);
    }
}
