//! The harness catches every faulty agent: the shipped scenario suite, run against the
//! reference agent with one planted bug, fails — and the oracle itself reports the bug with the
//! right kind of finding, not merely a scenario's expectation. The reference agent, the control,
//! passes the same suite.
//!
//! Needs the `faulty-agents` feature, which the crate's self dev-dependency turns on for every
//! `cargo test`: `cargo test --test faulty_agents` runs it, and a filter picks one bug:
//! `cargo test --test faulty_agents -- accepts_expired_links`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex};

use leakproof::agent::faulty::Bug;
use leakproof::harness::runner::{RunResult, SuiteOptions, run_suite};
use leakproof::harness::{Scenario, Target, scenario};

/// The shipped suite, loaded once.
static SUITE: LazyLock<Vec<Arc<Scenario>>> = LazyLock::new(|| {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let files = scenario::discover(&[root]).expect("the scenarios directory");
    assert!(!files.is_empty(), "no scenario under scenarios/");
    files
        .iter()
        .map(|file| {
            let loaded = scenario::load_file(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            Arc::new(loaded)
        })
        .collect()
});

/// One suite run at a time: the in-process agents' backend timeouts are short, and several
/// suites at once on a busy machine could turn a slow mock into a spurious failure.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs the whole suite once per scenario against `target`, eight scenarios at once.
fn run_against(target: Target) -> Vec<RunResult> {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let options = SuiteOptions { twin: target.twin_by_default(), target, repeat: 1, jobs: 8 };
    runtime.block_on(run_suite(&SUITE, &options, |_| {})).into_iter().flatten().collect()
}

/// A result's findings, one line each.
fn describe(result: &RunResult) -> String {
    let mut lines: Vec<String> =
        result.findings.iter().map(|f| format!("    step {}: {}: {}", f.step, f.kind, f.message)).collect();
    if let Some(error) = &result.error {
        lines.push(format!("    error: {error}"));
    }
    lines.join("\n")
}

/// Asserts that the suite catches `bug` with the oracle's finding of the expected kind, and
/// prints which scenarios caught it.
fn caught(bug: Bug) {
    let kind = crate::common::finding_for(bug);
    let results = run_against(leakproof::reference::faulty(bug));
    let failed: Vec<&RunResult> = results.iter().filter(|r| !r.passed()).collect();
    let by_oracle: Vec<&RunResult> =
        failed.iter().copied().filter(|r| r.findings.iter().any(|f| f.kind == kind)).collect();

    // Which checks caught it, and in how many scenarios each.
    let mut checks: BTreeMap<&str, usize> = BTreeMap::new();
    for result in &by_oracle {
        let found: std::collections::BTreeSet<&str> =
            result.findings.iter().filter(|f| f.kind == kind).map(|f| f.check.as_str()).collect();
        for check in found {
            *checks.entry(check).or_insert(0) += 1;
        }
    }
    let checks: Vec<String> = checks.iter().map(|(check, n)| format!("{check} check in {n}")).collect();
    eprintln!(
        "{bug:?}: {} of {} scenario(s) failed; {} with a {kind} ({})",
        failed.len(),
        results.len(),
        by_oracle.len(),
        checks.join(", ")
    );
    for result in failed.iter().take(12) {
        let mut kinds = BTreeMap::new();
        for finding in &result.findings {
            *kinds.entry(finding.kind.as_str()).or_insert(0) += 1;
        }
        let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        eprintln!("  {}: {}", result.scenario, kinds.join(", "));
        for finding in result.findings.iter().filter(|f| f.kind == kind).take(3) {
            eprintln!("    step {}: {} check: {}", finding.step, finding.check, finding.message);
        }
    }

    assert!(!failed.is_empty(), "the suite passed against the faulty agent {bug:?}: the bug went unnoticed");
    let others: Vec<String> = failed.iter().map(|r| format!("  {}:\n{}", r.scenario, describe(r))).collect();
    assert!(
        !by_oracle.is_empty(),
        "no scenario caught {bug:?} with a {kind} finding of the oracle; what failed:\n{}",
        others.join("\n")
    );
}

/// One test per planted bug, so a failure names the bug and a filter runs one.
macro_rules! catches {
    ($($test:ident => $bug:ident),+ $(,)?) => {
        $(
            #[test]
            fn $test() {
                caught(Bug::$bug);
            }
        )+

        #[test]
        fn every_planted_bug_has_a_test() {
            let tested = [$(Bug::$bug),+];
            for bug in Bug::ALL {
                assert!(tested.contains(&bug), "{bug:?} has no test here");
            }
            assert_eq!(tested.len(), Bug::ALL.len(), "a bug is tested twice");
        }
    };
}

catches! {
    shares_verify_after_match => SharesVerifyAfterMatch,
    shares_previous_identity => SharesPreviousIdentity,
    accepts_expired_links => AcceptsExpiredLinks,
    writes_without_edit_permission => WritesWithoutEditPermission,
    writes_unrequested_value => WritesUnrequestedValue,
    mails_typed_address => MailsTypedAddress,
    asks_cookie_visitor_for_email => AsksCookieVisitorForEmail,
    discloses_on_crm_error => DisclosesOnCrmError,
    disguises_in_unicode => DisguisesInUnicode,
    spells_out => SpellsOut,
    separates_letters => SeparatesLetters,
    shows_part => ShowsPart,
    splits_across_replies => SplitsAcrossReplies,
    confirms_guess => ConfirmsGuess,
    enumerates_accounts => EnumeratesAccounts,
    carries_into_next_session => CarriesIntoNextSession,
    shows_data_on_link_page => ShowsDataOnLinkPage,
    writes_other_property => WritesOtherProperty,
    writes_before_confirmation => WritesBeforeConfirmation,
    denies_applied_write => DeniesAppliedWrite,
}

/// The control: without a planted bug the same suite passes, so every failure above is the bug's.
#[test]
fn the_reference_agent_passes_the_suite() {
    let results = run_against(leakproof::reference::target());
    let failed: Vec<String> = results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| format!("  {}:\n{}", r.scenario, describe(r)))
        .collect();
    assert!(
        failed.is_empty(),
        "the reference agent failed {} scenario(s):\n{}",
        failed.len(),
        failed.join("\n")
    );
}
