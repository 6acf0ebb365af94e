//! Reused rigs and live runs give what fresh worlds and whole scenario runs give.

use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;
use leakproof::harness::runner::{Live, Rig, RunResult, SuiteOptions, run_on, run_suite};
use leakproof::harness::scenario::{Action, MAIN_CONVERSATION};
use leakproof::harness::{Scenario, scenario, snapshot};
use leakproof::reference;

/// The shipped suite, loaded.
fn suite() -> Vec<Arc<Scenario>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let files = scenario::discover(&[root]).unwrap();
    files.iter().map(|file| Arc::new(scenario::load_file(file).unwrap())).collect()
}

/// What a run's snapshot shows, comparable.
fn shown(result: &RunResult, start: Timestamp) -> serde_json::Value {
    serde_json::to_value(snapshot::of(result, start)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reused_rigs_run_every_scenario_as_fresh_worlds_do() {
    let suite = suite();
    assert!(suite.len() > 50, "the shipped suite: {}", suite.len());
    let options = SuiteOptions { target: reference::target(), repeat: 1, jobs: 8, twin: false };
    let fresh: Vec<RunResult> = run_suite(&suite, &options, |_| {}).await.into_iter().flatten().collect();
    assert_eq!(fresh.len(), suite.len());

    // Eight rigs, each running a stripe of the suite one scenario after another, so every
    // run starts on a rig the previous scenario used (with its writes, mails and faults).
    let lanes = 8;
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..lanes {
        let stripe: Vec<(usize, Arc<Scenario>)> =
            suite.iter().cloned().enumerate().skip(lane).step_by(lanes).collect();
        tasks.spawn(async move {
            let rig = Rig::start().await.unwrap();
            let mut results = Vec::new();
            for (index, scenario) in stripe {
                results.push((index, run_on(&rig, &scenario, &reference::target(), 1).await));
            }
            rig.close().await;
            results
        });
    }
    let mut reused: Vec<(usize, RunResult)> = tasks.join_all().await.into_iter().flatten().collect();
    reused.sort_by_key(|(index, _)| *index);

    for ((index, reused), fresh) in reused.iter().zip(&fresh) {
        let scenario = &suite[*index];
        assert!(fresh.passed() && reused.passed(), "{}: {:?}", scenario.name, reused.findings);
        assert_eq!(shown(reused, scenario.start), shown(fresh, scenario.start), "{}", scenario.name);
        let summary = |r: &RunResult| {
            let crm = r.observed.crm_requests.iter().map(|q| {
                (
                    q.seq,
                    q.at,
                    q.method.clone(),
                    q.path.clone(),
                    q.status,
                    q.fault.clone(),
                    q.correlation_id.clone(),
                )
            });
            let mails = r.observed.mails.iter().map(|m| (m.index, m.at, m.to.clone(), m.status_id.clone()));
            (crm.collect::<Vec<_>>(), r.observed.writes.clone(), mails.collect::<Vec<_>>())
        };
        assert_eq!(summary(reused), summary(fresh), "{}", scenario.name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_run_fed_step_by_step_is_the_scenarios_run() {
    let suite = suite();
    let scenario =
        suite.iter().find(|s| s.steps.iter().any(|step| matches!(step.action, Action::OpenLink(_)))).unwrap();
    let rig = Rig::start().await.unwrap();
    let whole = run_on(&rig, scenario, &reference::target(), 1).await;

    let mut live = Live::start(&rig, scenario, &reference::target(), 1).await.unwrap();
    assert!(live.has_conversation(MAIN_CONVERSATION));
    assert!(!live.has_conversation("nobody"));
    assert_eq!(rig.mocks.crm.requests_len(), 0, "the rig was reset");
    for (index, step) in scenario.steps.iter().enumerate() {
        if let Action::OpenLink(choice) = &step.action {
            assert!(live.mailbox_len(&choice.mailbox.to_uppercase()) > 0, "{}", choice.mailbox);
        }
        live.step(index + 1, step).await;
    }
    let stepped = live.finish();
    assert!(stepped.passed(), "{:?}", stepped.findings);
    assert_eq!(shown(&stepped, scenario.start), shown(&whole, scenario.start));
    rig.close().await;
}
