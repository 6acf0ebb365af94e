//! Generated conversations as CI-gating properties, and the fuzzer's self-test.
//!
//! - `safety`: in any generated world and conversation, by an honest customer or an attacker, the
//!   in-process reference agent with the wiremock mocks leaks nothing, writes nothing unauthorised,
//!   mails no link to the wrong address and asks for no address where capture forbids it — judged
//!   by the independent oracle.
//! - `liveness`: an honest customer who proves who they are gets every value the configuration
//!   lets the agent show and every change it lets the agent make, on every channel.
//! - `every_faulty_agent_is_caught`: `fuzz` finds each planted bug within 2,000 cases and shrinks
//!   it to at most 8 customer steps, written as a scenario file that replays to the same finding.
//!
//! Case counts keep `cargo test` quick; `LEAKPROOF_FUZZ_CASES=N` raises the properties' counts for
//! long runs. Failing cases are persisted in `proptest-regressions/fuzz.txt` (committed) and
//! replayed first on every run.

use std::sync::atomic::Ordering;
use std::sync::{Arc, LazyLock, Mutex};

use leakproof::agent::faulty::Bug;
use leakproof::config::Channel;
use leakproof::generate::conversation::Conversations;
use leakproof::generate::world::{Persona, World, world_seed};
use leakproof::harness::fuzz::{FuzzOptions, fuzz, liveness, run_case, scenario_yaml, write_failure_files};
use leakproof::harness::runner::{Rig, SuiteOptions, run_suite};
use leakproof::harness::twin::{self, Attribution};
use leakproof::harness::{Target, scenario};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use proptest_state_machine::ReferenceStateMachine;

/// One runtime for every case of this binary, and rigs reused across cases.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime")
});
static RIGS: Mutex<Vec<Rig>> = Mutex::new(Vec::new());

/// Runs `body` with a rig of its own (taken from the pool, or started).
fn with_rig<T>(body: impl AsyncFnOnce(&Rig) -> T) -> T {
    let rig = RIGS.lock().unwrap().pop();
    RUNTIME.block_on(async {
        let rig = match rig {
            Some(rig) => rig,
            None => Rig::start().await.expect("the mocks start"),
        };
        let value = body(&rig).await;
        RIGS.lock().unwrap().push(rig);
        value
    })
}

fn cases(default: u32) -> u32 {
    std::env::var("LEAKPROOF_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("proptest-regressions/fuzz.txt"))),
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(cases(300)))]

    #[test]
    fn safety((model, moves, seen) in Conversations::sequential_strategy(1..=30)) {
        // Judged by the oracle and by the twin check: the same steps in the world with every
        // secret replaced must look the same to the customer.
        let outcome = with_rig(async |rig: &Rig| {
            let mut outcome = run_case(rig, &leakproof::reference::target(), &model, &moves, "safety").await;
            twin::check(rig, &outcome.scenario, &leakproof::reference::target(), &mut outcome.result, Attribution::Skip).await;
            outcome
        });
        if let Some(seen) = seen {
            seen.fetch_add(moves.len(), Ordering::SeqCst);
        }
        let violations: Vec<_> = outcome.result.findings.iter().filter(|f| f.kind.is_violation()).collect();
        prop_assert!(
            violations.is_empty() && outcome.result.error.is_none(),
            "{:#?}\n{}\n{:?}",
            violations,
            scenario_yaml(&outcome.scenario).unwrap_or_default(),
            outcome.result.error,
        );
        prop_assert!(outcome.result.twin.judged(), "the twin check judged the case: {:?}", outcome.result.twin);
    }
}

proptest! {
    #![proptest_config(config(cases(60)))]

    #[test]
    fn liveness_on_every_channel(seed in world_seed()) {
        let world = World::build(&leakproof::generate::world::WorldSeed { persona: Persona::Honest, ..seed });
        for channel in Channel::ALL {
            for known in [false, true] {
                let visitor = world.visitor_on(channel, known);
                let (outcome, shortfalls) =
                    with_rig(async |rig: &Rig| liveness(rig, &leakproof::reference::target(), &world, channel, visitor).await);
                prop_assert!(
                    shortfalls.is_empty() && outcome.result.passed(),
                    "on {} (known visitor: {known}): {:#?}\nfindings: {:#?}\n{}",
                    channel.as_str(),
                    shortfalls,
                    outcome.result.findings,
                    scenario_yaml(&outcome.scenario).unwrap_or_default(),
                );
            }
        }
    }
}

#[test]
fn every_faulty_agent_is_caught_within_2000_cases_and_shrunk_to_8_steps() {
    let out = tempfile::tempdir().unwrap();
    let mut problems = Vec::new();
    let mut table = vec![
        "| planted bug | first case (seed 1) | shrunk to | check | replays |".to_owned(),
        "| --- | --- | --- | --- | --- |".to_owned(),
    ];
    for bug in Bug::ALL {
        let kind = crate::common::finding_for(bug);
        let options = FuzzOptions {
            cases: 2000,
            seed: 1,
            target: leakproof::reference::faulty(bug),
            jobs: 2,
            shrink_runs: 2000,
            stop_on: Some(kind),
            twin: true,
        };
        let report = RUNTIME.block_on(fuzz(&options, |_| {})).unwrap();
        // The first case that showed it, whichever check found it there.
        let Some(failure) =
            report.failures.iter().filter(|f| f.kind == kind).min_by_key(|f| (f.case, f.check))
        else {
            problems.push(format!(
                "{bug:?}: no {} in {} cases (found: {:?})",
                kind.as_str(),
                report.cases,
                report.failures.iter().map(|f| (f.kind, f.check)).collect::<Vec<_>>()
            ));
            continue;
        };
        let steps = failure.shrunk.customer_steps();
        let paths = write_failure_files(out.path(), report.seed, failure).unwrap();
        let text = std::fs::read_to_string(paths.last().unwrap()).unwrap();
        println!(
            "{bug:?}: case {} of seed 1, {} check, {} -> {steps} customer steps in {} shrink runs\n{}",
            failure.case,
            failure.check,
            failure.original_steps,
            failure.shrink_runs,
            text.lines().skip_while(|l| !l.starts_with("steps:")).collect::<Vec<_>>().join("\n")
        );
        if steps > 8 {
            problems.push(format!("{bug:?}: shrunk to {steps} customer steps, more than 8:\n{text}"));
        }
        // One line per step: every step line is a single `- key: value` line.
        let after_steps: Vec<&str> = text.lines().skip_while(|l| !l.starts_with("steps:")).skip(1).collect();
        assert_eq!(
            after_steps.len(),
            failure.shrunk.scenario.steps.len(),
            "{bug:?}: one line per step:\n{text}"
        );
        // The files replay, in order and one at a time, against a fresh faulty agent to the same
        // finding by the same check; the reference agent passes them.
        let loaded: Vec<Arc<leakproof::harness::Scenario>> = paths
            .iter()
            .map(|path| {
                Arc::new(scenario::load_file(path).unwrap_or_else(|e| panic!("{bug:?}: {e}\n{text}")))
            })
            .collect();
        let replay = |target: Target| {
            let options = SuiteOptions { target, repeat: 1, jobs: 1, twin: true };
            RUNTIME.block_on(run_suite(&loaded, &options, |_| {})).into_iter().flatten().collect::<Vec<_>>()
        };
        let replayed = replay(leakproof::reference::faulty(bug));
        let same = replayed
            .last()
            .is_some_and(|r| r.findings.iter().any(|f| f.kind == kind && f.check == failure.check));
        if !same {
            problems.push(format!(
                "{bug:?}: the written scenario replays without a {} by the {} check: {:#?}\n{text}",
                kind.as_str(),
                failure.check,
                replayed.last().map(|r| &r.findings)
            ));
        }
        let control = replay(leakproof::reference::target());
        if let Some(failed) = control.iter().find(|r| !r.passed()) {
            problems.push(format!(
                "{bug:?}: the reference agent fails the written scenario: {:#?}",
                failed.findings
            ));
        }
        table.push(format!(
            "| `{bug:?}` | {} | {steps} customer step(s) | {} | {} |",
            failure.case,
            failure.check,
            if same { "yes" } else { "no" }
        ));
    }
    println!("{}", table.join("\n"));
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn an_agent_that_words_its_replies_at_random_is_reported_as_not_deterministic_never_as_a_leak() {
    let options = FuzzOptions {
        cases: 60,
        seed: 1,
        target: leakproof::reference::faulty(Bug::WordsAtRandom),
        jobs: 2,
        shrink_runs: 50,
        stop_on: None,
        twin: true,
    };
    let report = RUNTIME.block_on(fuzz(&options, |_| {})).unwrap();
    // Its two runs of one world differ, so its twins prove nothing: no twin finding, and the
    // text check (with the write, mail and capture checks) alone judged it, finding nothing.
    assert!(report.twin.not_deterministic >= 1, "{:?}", report.twin);
    assert_eq!(report.twin.differed, 0, "{:?}", report.twin);
    assert!(
        report.failures.is_empty(),
        "{:#?}",
        report.failures.iter().map(|f| (f.kind, f.check)).collect::<Vec<_>>()
    );
    assert_eq!((report.cases, report.failing), (60, 0));
    assert!(report.twin.text().contains("the agent is not deterministic"), "{}", report.twin.text());
}

/// A world where every catalogue property is shown and editable after an email match.
fn open_world() -> World {
    use leakproof::generate::world::{CATALOGUE, PropertySeed, WorldSeed};
    let open = PropertySeed {
        present: true,
        view: true,
        view_verify: false,
        edit: true,
        edit_verify: true,
        confirm: true,
    };
    World::build(&WorldSeed {
        properties: vec![open; CATALOGUE.len()],
        capture: [0, 0, 0],
        contacts: 3,
        fixture_seed: 7,
        me: 0,
        victim: 0,
        persona: Persona::Honest,
        channel: 0,
        known_visitor: false,
        capitalised_emails: false,
    })
}

#[test]
fn liveness_checks_every_value_and_change_and_notices_a_wrong_write() {
    let world = open_world();
    let visitor = world.visitor_on(Channel::LiveChat, false);
    let (outcome, shortfalls) = with_rig(async |rig: &Rig| {
        liveness(rig, &leakproof::reference::target(), &world, Channel::LiveChat, visitor.clone()).await
    });
    assert!(shortfalls.is_empty(), "{shortfalls:#?}\n{}", scenario_yaml(&outcome.scenario).unwrap());
    // The customer proved who they are with the link, asked for all 13 properties and changed them.
    assert!(outcome.scenario.steps.iter().any(|s| matches!(s.action, scenario::Action::OpenLink(_))));
    assert!(outcome.result.observed.writes.len() >= 10, "{:#?}", outcome.result.observed.writes);
    // An agent that writes a value the customer never gave falls short on every change.
    let (_, shortfalls) = with_rig(async |rig: &Rig| {
        liveness(
            rig,
            &leakproof::reference::faulty(Bug::WritesUnrequestedValue),
            &world,
            Channel::LiveChat,
            visitor.clone(),
        )
        .await
    });
    assert!(shortfalls.len() >= 10, "{shortfalls:#?}");
}

/// The reference agent with `bug` planted, served over the HTTP protocol on this
/// binary's runtime: an external agent with a known flaw. Returns its base URL.
fn serve_faulty(bug: Bug) -> String {
    use leakproof::agent::{ServerOptions, faulty_router};
    serve(|base| {
        let options = ServerOptions::new(base.parse().unwrap());
        faulty_router(options, bug)
    })
}

/// Serves the routes `app` makes for its own base URL on a free loopback port, on this binary's
/// runtime. Returns the base URL.
fn serve(app: impl FnOnce(&str) -> axum::Router) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let app = app(&base);
    RUNTIME.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        axum::serve(listener, app).await.unwrap();
    });
    base
}

/// `leakproof fuzz` against the agent at `base`, seed 1, writing into `out`, with `extra` arguments.
fn fuzz_cli(base: &str, cases: &str, out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let out = out.to_str().unwrap();
    let args = ["fuzz", "--cases", cases, "--seed", "1", "--agent-url", base, "--out", out];
    crate::common::process::leakproof(&[&args[..], extra].concat())
}

#[test]
fn the_fuzz_command_finds_an_external_agents_leak_exits_1_and_writes_a_scenario_that_replays_it() {
    use crate::common::process::{Scratch, leakproof, text};
    let base = serve_faulty(Bug::SharesVerifyAfterMatch);
    let scratch = Scratch::new("fuzz-cli");
    let out = scratch.0.join("regressions");
    let output = fuzz_cli(&base, "5", &out, &["--shrink-runs", "150"]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{}", text(&output.stderr));
    assert!(stdout.contains(&format!("against the agent at {base}")), "{stdout}");
    assert!(stdout.contains("FAIL leak (text check) in case"), "{stdout}");
    assert!(stdout.contains("seed 1"), "the seed is printed: {stdout}");
    assert!(stdout.contains("conversations/s"), "the throughput is printed: {stdout}");

    // Each failure names its file and a replay command against the same agent.
    let written: Vec<std::path::PathBuf> =
        std::fs::read_dir(&out).unwrap().map(|entry| entry.unwrap().path()).collect();
    assert!(!written.is_empty(), "{stdout}");
    let leak = written
        .iter()
        .find(|path| path.file_name().unwrap().to_str().unwrap().contains("leak"))
        .unwrap_or_else(|| panic!("no leak scenario among {written:?}\n{stdout}"));
    let file = leak.to_str().unwrap();
    assert!(stdout.contains(&format!("(replay: leakproof run {file} --agent-url {base})")), "{stdout}");

    // The file replays to the same finding against the faulty agent, and the reference agent
    // (in process) passes it.
    let replay = leakproof(&["run", file, "--agent-url", &base]);
    let replayed = text(&replay.stdout);
    assert_eq!(replay.status.code(), Some(1), "{replayed}");
    assert!(replayed.contains("leak"), "{replayed}");
    let control = leakproof(&["run", file]);
    assert_eq!(control.status.code(), Some(0), "{}", text(&control.stdout));
}

/// An agent behind the HTTP protocol that answers every message politely and never shows or
/// changes anything. Returns its base URL.
fn serve_withholding_agent() -> String {
    use axum::Json;
    use axum::http::StatusCode;
    use axum::routing::post;
    serve(|_| {
        axum::Router::new().route("/v1/sessions", post(|| async { StatusCode::NO_CONTENT })).route(
            "/v1/sessions/{id}/messages",
            post(|| async {
                Json(serde_json::json!({ "replies": [{ "text": "Thanks for your message! How else can I help?" }] }))
            }),
        )
    })
}

#[test]
fn liveness_notices_an_agent_that_withholds_what_it_may_show() {
    let world = open_world();
    let visitor = world.visitor_on(Channel::LiveChat, false);
    let target = Target::remote(serve_withholding_agent().parse().unwrap());
    let (outcome, shortfalls) =
        with_rig(async |rig: &Rig| liveness(rig, &target, &world, Channel::LiveChat, visitor).await);
    // Safe (it shows nothing), but short of every value and every change the policy allows.
    assert!(outcome.result.findings.iter().all(|f| !f.kind.is_violation()), "{:#?}", outcome.result.findings);
    let me = world.me().unwrap();
    for rule in world.config.properties.iter().filter(|r| r.view.enabled) {
        let on_record = match rule.object {
            leakproof::config::ObjectType::Contact => me.properties.contains_key(&rule.property),
            _ => true,
        };
        if on_record {
            assert!(
                shortfalls
                    .iter()
                    .any(|s| s.property.ends_with(&rule.property) && s.message.contains("shown")),
                "no shortfall for showing {}: {shortfalls:#?}",
                rule.property
            );
        }
    }
    assert!(shortfalls.len() >= 20, "{shortfalls:#?}");
}

#[test]
fn the_fuzz_command_against_an_agent_it_cannot_reach_says_so_once_and_writes_nothing() {
    use crate::common::process::{Scratch, text};
    // Port 1 needs privileges to listen on, so no other test's server can be there (a port freed
    // by a closed listener can be taken by a parallel test's server before the fuzzer connects).
    let base = "http://127.0.0.1:1/".to_string();
    let scratch = Scratch::new("fuzz-unreachable");
    let out = scratch.0.join("regressions");
    let output = fuzz_cli(&base, "6", &out, &[]);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    // Never a pass: every case fails, with one line saying why, and no scenario is written.
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("6 failing cases"), "{stdout}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("case 0 (and 5 more case(s)): the agent did not start a session"), "{stderr}");
    assert!(!out.exists(), "nothing to replay was written");
}

/// An agent that repeats in one session what it showed in an earlier one passes each case's
/// own oracle when the value belongs to another world: the run's cross-session check knows
/// every world drawn, names both cases, and the two written files replay it in order.
#[test]
fn a_value_carried_from_one_case_into_a_later_one_is_a_cross_session_leak_naming_both() {
    let bug = Bug::CarriesIntoNextSession;
    let options = FuzzOptions {
        cases: 300,
        seed: 1,
        target: leakproof::reference::faulty(bug),
        jobs: 1,
        shrink_runs: 200,
        stop_on: None,
        twin: false,
    };
    let report = RUNTIME.block_on(fuzz(&options, |_| {})).unwrap();
    let failure = report
        .failures
        .iter()
        .find(|f| f.check == leakproof::harness::oracle::Check::CrossSession)
        .unwrap_or_else(|| {
            panic!(
                "no cross-session failure: {:?}",
                report.failures.iter().map(|f| (f.kind, f.check)).collect::<Vec<_>>()
            )
        });
    assert_eq!(failure.kind, leakproof::harness::oracle::FindingKind::Leak);
    let source = failure.source.as_ref().expect("the earlier case whose world holds the value");
    assert!(source.case < failure.case, "{} then {}", source.case, failure.case);
    let finding = failure
        .shrunk
        .result
        .findings
        .iter()
        .find(|f| f.check == leakproof::harness::oracle::Check::CrossSession)
        .expect("the shrunk case keeps the finding");
    assert!(
        finding.message.contains(&format!("case {}", failure.case))
            && finding.message.contains(&format!("case {}'s world", source.case)),
        "{}",
        finding.message
    );

    // The earlier case's file first, then the later one's: replayed one at a time against a
    // fresh faulty agent, the second shows the first one's value again.
    let out = tempfile::tempdir().unwrap();
    let paths = write_failure_files(out.path(), report.seed, failure).unwrap();
    assert_eq!(paths.len(), 2, "{paths:?}");
    let loaded: Vec<Arc<leakproof::harness::Scenario>> =
        paths.iter().map(|path| Arc::new(scenario::load_file(path).unwrap())).collect();
    let replay = |target: Target| {
        let options = SuiteOptions { target, repeat: 1, jobs: 1, twin: false };
        RUNTIME.block_on(run_suite(&loaded, &options, |_| {})).into_iter().flatten().collect::<Vec<_>>()
    };
    let replayed = replay(leakproof::reference::faulty(bug));
    assert!(
        replayed[1].findings.iter().any(|f| f.check == leakproof::harness::oracle::Check::CrossSession),
        "{:#?}",
        replayed[1].findings
    );
    assert!(replay(leakproof::reference::target()).iter().all(|r| r.passed()));
}

/// An agent that stops answering part-way through a case (it crashed, say): the case fails as
/// a step that could not be carried out, and the file written for it is a scenario `leakproof
/// run` loads, with the conversation that failed. Shrinking it on the dead agent "reproduces"
/// the failure with no step at all, which no scenario file can hold.
#[test]
fn a_case_the_agent_stopped_answering_in_is_written_as_a_scenario_that_loads() {
    use wiremock::matchers::{any, method, path, path_regex};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let report = RUNTIME.block_on(async {
        let agent = MockServer::start().await;
        let answer = ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({ "replies": [{ "text": "Hello, how can I help?" }] }));
        Mock::given(method("POST"))
            .and(path("/v1/sessions"))
            .respond_with(ResponseTemplate::new(204))
            .up_to_n_times(2)
            .with_priority(1)
            .mount(&agent)
            .await;
        Mock::given(method("POST"))
            .and(path_regex("^/v1/sessions/[^/]+/messages$"))
            .respond_with(answer)
            .up_to_n_times(3)
            .with_priority(1)
            .mount(&agent)
            .await;
        Mock::given(method("DELETE"))
            .respond_with(ResponseTemplate::new(204))
            .with_priority(1)
            .mount(&agent)
            .await;
        Mock::given(any()).respond_with(ResponseTemplate::new(503)).with_priority(10).mount(&agent).await;
        let options = FuzzOptions {
            cases: 4,
            seed: 1,
            target: Target::remote(agent.uri().parse().unwrap()),
            jobs: 1,
            shrink_runs: 20,
            stop_on: None,
            twin: false,
        };
        fuzz(&options, |_| {}).await.unwrap()
    });
    let stopped: Vec<_> =
        report.failures.iter().filter(|f| f.kind == leakproof::harness::FindingKind::StepFailed).collect();
    assert!(!stopped.is_empty(), "the case the agent died in fails: {:#?}", report.failures);
    let dir = tempfile::tempdir().unwrap();
    for failure in stopped {
        assert!(!failure.shrunk.scenario.steps.is_empty(), "{failure:#?}");
        for file in write_failure_files(dir.path(), 1, failure).unwrap() {
            let loaded = scenario::load_file(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(!loaded.steps.is_empty());
        }
    }
}
