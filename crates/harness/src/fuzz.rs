//! Generated conversations run against an agent and judged by the oracle (`leakproof fuzz`); each failure shrunk to a minimal conversation and written as a scenario file that replays it.
//!
//! A case is drawn from [`Conversations`] with its own seed, derived from the
//! run's seed and the case's number, so a case is the same whatever `--jobs`
//! is. Its moves are carried out one at a time on a reused [`Rig`]: a move
//! that cannot be made in what the agent actually did (a link from an empty
//! mailbox, a cookie the customer does not have) is left out, and the steps
//! that were made are what a scenario file of the case holds.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestRng, TestRunner};
use proptest_state_machine::ReferenceStateMachine;

use super::oracle::{Check, FindingKind};
use super::report::TwinSummary;
use super::runner::{Live, Rig, RunError, RunResult};
use super::scenario::{
    Action, DEFAULT_START, Expect, FaultTarget, LinkChoice, MAIN_CONVERSATION, MailChoice, Scenario, Step,
};
use super::sessions::{self, Worlds};
use super::target::Target;
use super::twin::{self, Attribution, TwinCheck};
use crate::generate::conversation::{self, Conversations, Link, Model, Move};
use leakproof_config::Channel;

/// How many moves a generated conversation has.
pub const MOVES: std::ops::RangeInclusive<usize> = 1..=30;

/// A generated case: the world it starts in and the moves made in it.
#[derive(Clone, Debug)]
pub struct Case {
    /// The world and the model's starting state.
    pub model: Model,
    /// The moves, in order.
    pub moves: Vec<Move>,
}

impl Case {
    /// The case a seed draws: the same seed gives the same case on every machine.
    pub fn generate(seed: u64) -> Result<Case, DrawError> {
        let mut runner = runner_for(seed);
        let (model, moves, _) = Conversations::sequential_strategy(MOVES)
            .new_tree(&mut runner)
            .map_err(|reason| DrawError { seed, reason: reason.message().to_owned() })?
            .current();
        Ok(Case { model, moves })
    }
}

/// A case seed that draws no conversation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("case seed {seed} draws no conversation: {reason}")]
pub struct DrawError {
    /// The case's seed.
    pub seed: u64,
    /// Why, in proptest's words.
    pub reason: String,
}

/// A proptest runner whose randomness comes from `seed` alone.
fn runner_for(seed: u64) -> TestRunner {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(&(!seed).to_le_bytes());
    let config = RunnerConfig { failure_persistence: None, ..RunnerConfig::default() };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// The seed of case `index` (from 0) of a run seeded with `seed`.
pub fn case_seed(seed: u64, index: usize) -> u64 {
    // SplitMix64 of the pair: neighbouring cases get unrelated seeds.
    let mut z = seed ^ (index as u64).wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A case carried out: the scenario of the steps actually taken, and what was found.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The world and the steps taken, as a scenario that replays them.
    pub scenario: Scenario,
    /// The run's result, judged by the oracle.
    pub result: RunResult,
}

impl Outcome {
    /// The kinds of safety rule broken, in the order first found.
    pub fn violations(&self) -> Vec<FindingKind> {
        let mut kinds = Vec::new();
        for (kind, _) in self.failures() {
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        kinds
    }

    /// The kinds of finding, each with the check that found it, in the order first found: a
    /// leak the twin check found and one the text check found are two failures of the run.
    pub fn failures(&self) -> Vec<(FindingKind, Check)> {
        let mut found = Vec::new();
        if self.result.error.is_some() {
            found.push((FindingKind::StepFailed, Check::Step));
        }
        for finding in &self.result.findings {
            if !found.contains(&(finding.kind, finding.check)) {
                found.push((finding.kind, finding.check));
            }
        }
        found
    }

    /// The number of customer steps (messages and links).
    pub fn customer_steps(&self) -> usize {
        self.scenario
            .steps
            .iter()
            .filter(|s| matches!(s.action, Action::Say(_) | Action::OpenLink(_)))
            .count()
    }
}

/// The scenario of a world, without steps.
fn scenario_of_world(world: &crate::generate::world::World, name: &str) -> Scenario {
    Scenario {
        name: name.to_owned(),
        description: None,
        path: PathBuf::new(),
        tags: vec!["generated".to_owned()],
        config: world.config.clone(),
        fixtures: world.fixtures.clone(),
        channel: world.channel,
        visitor: world.visitor.clone(),
        start: DEFAULT_START,
        faults: Vec::new(),
        steps: Vec::new(),
        final_state: None,
    }
}

/// Carries out `moves` in `model`'s world against `target` on `rig`.
pub async fn run_case(rig: &Rig, target: &Target, model: &Model, moves: &[Move], name: &str) -> Outcome {
    let mut scenario = scenario_of_world(&model.world, name);
    let mut live = match Live::start(rig, &scenario, target, 1).await {
        Ok(live) => live,
        Err(result) => return Outcome { scenario, result },
    };
    let world = &model.world;
    let mut current = MAIN_CONVERSATION.to_owned();
    let mut started = 1;
    let mut steps = Vec::with_capacity(moves.len());
    for mv in moves {
        let action = match mv {
            Move::OpenLink(link) => {
                let (mailbox, mail, tamper) = match link {
                    Link::Latest => (world.my_email(), MailChoice::Latest, false),
                    Link::First => (world.my_email(), MailChoice::First, false),
                    Link::Tampered => (world.my_email(), MailChoice::Latest, true),
                    Link::VictimOpens => (world.victim_email(), MailChoice::Latest, false),
                };
                if live.mailbox_len(&mailbox) == 0 {
                    continue;
                }
                Action::OpenLink(LinkChoice { mailbox, mail, tamper })
            }
            Move::SwitchChannel { channel, known } => {
                let channel =
                    Channel::ALL.get(*channel % Channel::ALL.len()).copied().unwrap_or(Channel::LiveChat);
                started += 1;
                current = format!("c{started}");
                Action::NewConversation {
                    name: current.clone(),
                    channel: Some(channel),
                    visitor: Some(world.visitor_on(channel, *known)),
                }
            }
            Move::ReturnWithCookie => {
                if world.my_cookie().is_none() {
                    continue;
                }
                started += 1;
                current = format!("c{started}");
                Action::NewConversation {
                    name: current.clone(),
                    channel: Some(Channel::LiveChat),
                    visitor: Some(world.visitor_on(Channel::LiveChat, true)),
                }
            }
            Move::Wait(pause) => Action::Wait(pause.duration()),
            Move::Outage(outage) => Action::Inject(outage.fault()),
            Move::Mend => Action::ClearFaults(FaultTarget::All),
            other => match conversation::text(world, other) {
                Some(text) => Action::Say(text),
                None => continue,
            },
        };
        let conversation = match action {
            Action::Say(_) | Action::OpenLink(_) => current.clone(),
            Action::NewConversation { ref name, .. } => name.clone(),
            _ => MAIN_CONVERSATION.to_owned(),
        };
        let step = Step { conversation, action, expect: Expect::default(), position: None };
        live.step(steps.len() + 1, &step).await;
        steps.push(step);
    }
    let result = live.finish();
    scenario.steps = steps;
    Outcome { scenario, result }
}

/// How a fuzz run goes.
#[derive(Clone, Debug)]
pub struct FuzzOptions {
    /// How many cases.
    pub cases: usize,
    /// The run's seed.
    pub seed: u64,
    /// The agent under test.
    pub target: Target,
    /// Cases at once, at least 1.
    pub jobs: usize,
    /// The most runs spent shrinking one failure.
    pub shrink_runs: usize,
    /// Start no new case once a case shows a finding of this kind (for
    /// self-tests that ask whether, and how soon, it is found).
    pub stop_on: Option<FindingKind>,
    /// Whether each case gets the twin-world check.
    pub twin: bool,
}

/// Progress of a fuzz run, after each case.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Cases done.
    pub done: usize,
    /// Cases with a finding so far.
    pub failing: usize,
}

/// A failing case, shrunk.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The case's number, from 0.
    pub case: usize,
    /// The case's own seed.
    pub case_seed: u64,
    /// The kind of finding the shrunk case keeps.
    pub kind: FindingKind,
    /// The check that found it.
    pub check: Check,
    /// For a value carried between sessions: the earlier case whose world holds it, which
    /// must run first for the shrunk case to show it again.
    pub source: Option<EarlierCase>,
    /// Customer steps before shrinking.
    pub original_steps: usize,
    /// The shrunk case.
    pub shrunk: Outcome,
    /// Runs spent shrinking.
    pub shrink_runs: usize,
    /// Wall time spent shrinking.
    pub shrink_time: Duration,
}

/// The earlier case of a cross-session failure.
#[derive(Clone, Debug)]
pub struct EarlierCase {
    /// Its number, from 0.
    pub case: usize,
    /// Its steps, as a scenario.
    pub scenario: Scenario,
}

/// What a fuzz run found.
#[derive(Clone, Debug)]
pub struct FuzzReport {
    /// The run's seed.
    pub seed: u64,
    /// Cases run.
    pub cases: usize,
    /// Cases with a finding.
    pub failing: usize,
    /// Wall time of the cases (shrinking included).
    pub elapsed: Duration,
    /// One shrunk failure per kind of finding, in the order found.
    pub failures: Vec<Failure>,
    /// Customer steps made in all.
    pub steps: usize,
    /// Cases that could not be drawn or whose session could not start, in
    /// no particular order (each also counts as failing).
    pub errors: Vec<CaseError>,
    /// What the twin check made of the cases.
    pub twin: TwinSummary,
}

/// A case that could not be run: not a finding about the agent, but never a pass.
#[derive(Clone, Debug)]
pub struct CaseError {
    /// The case's number, from 0.
    pub case: usize,
    /// What went wrong.
    pub failure: CaseFailure,
}

/// Why a case could not be run.
#[derive(Clone, Debug, thiserror::Error)]
pub enum CaseFailure {
    /// Its seed draws no conversation.
    #[error(transparent)]
    Draw(#[from] DrawError),
    /// Its run could not start (an agent that cannot be reached): nothing of the conversation
    /// to shrink.
    #[error(transparent)]
    Run(#[from] RunError),
}

/// Why a fuzz run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    /// A worker's mocks could not be started.
    #[error(transparent)]
    MocksNotStarted(#[from] std::io::Error),
    /// A worker stopped before it reported its cases.
    #[error("a fuzz worker stopped: {0}")]
    WorkerStopped(#[source] tokio::task::JoinError),
}

/// Why a scenario could not be written as a scenario file.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioYamlError {
    /// Its world (configuration, fixtures, settings) could not be written as YAML.
    #[error("the scenario cannot be written: {0}")]
    Scenario(#[source] serde_saphyr::SerializeError),
    /// One of its steps could not be written as JSON, for its line.
    #[error("a step cannot be written: {0}")]
    Step(#[source] serde_json::Error),
    /// It has no step: no scenario file can hold it (a scenario needs at least one).
    #[error("a scenario with no steps cannot be written: a scenario file needs at least one")]
    NoSteps,
}

impl FuzzReport {
    /// Cases per second.
    pub fn rate(&self) -> f64 {
        self.cases as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Everything a case is checked with beyond its own oracle, shared by a run's workers.
struct Checks {
    /// Whether the twin check runs.
    twin: bool,
    /// Set once the agent is shown not to be deterministic: the twin check stops.
    unsteady: std::sync::atomic::AtomicBool,
    /// The canaries of every world drawn so far.
    worlds: Worlds,
    /// The run's seed, to name and redraw other cases.
    seed: u64,
}

impl Checks {
    fn new(options: &FuzzOptions) -> Checks {
        Checks {
            twin: options.twin,
            unsteady: std::sync::atomic::AtomicBool::new(false),
            worlds: Worlds::new(),
            seed: options.seed,
        }
    }

    /// Runs case `index` (its `model` and `moves`) and checks it: the oracle, the twin check
    /// when on (`attribution` says how far), and values of other worlds carried into it.
    #[allow(clippy::too_many_arguments)]
    async fn case(
        &self,
        rig: &Rig,
        target: &Target,
        index: usize,
        model: &Model,
        moves: &[Move],
        name: &str,
        attribution: Attribution,
    ) -> Outcome {
        let own = self.worlds.register(index, &model.world.fixtures);
        let mut outcome = run_case(rig, target, model, moves, name).await;
        if self.twin && !self.unsteady.load(Ordering::Relaxed) && outcome.result.error.is_none() {
            twin::check(rig, &outcome.scenario, target, &mut outcome.result, attribution).await;
            if matches!(outcome.result.twin, TwinCheck::NotDeterministic { .. }) {
                self.unsteady.store(true, Ordering::Relaxed);
            }
        }
        self.cross_session(index, &own, &mut outcome, None);
        outcome
    }

    /// Adds a finding for each value of another world that `outcome` (case `index`) showed;
    /// with `only`, values of that world alone count.
    fn cross_session(&self, index: usize, own: &sessions::Own, outcome: &mut Outcome, only: Option<usize>) {
        let carried = self.worlds.carried(index, own, &outcome.result.observed);
        let mut seen = std::collections::BTreeSet::new();
        for carried in carried.iter().filter(|c| only.is_none_or(|w| w == c.world)) {
            if !seen.insert(carried.world) {
                continue;
            }
            // The other world, drawn again, says whose value the canary is.
            let owner = Case::generate(case_seed(self.seed, carried.world))
                .ok()
                .and_then(|case| case.model.world.fixtures.canaries().owner(&carried.canary).cloned());
            let finding = sessions::finding(
                carried,
                &format!("case {index}"),
                &format!("case {}", carried.world),
                owner.as_ref(),
            );
            outcome.result.findings.push(finding);
        }
        outcome.result.findings.sort_by_key(|f| (f.step == 0, f.step));
    }
}

/// Runs `options.cases` generated cases, `options.jobs` at once, each on a
/// reused rig; the first failing case of each kind of finding (and check that
/// found it) is shrunk. `progress` is called after every case.
pub async fn fuzz(
    options: &FuzzOptions,
    progress: impl Fn(Progress) + Send + Sync + 'static,
) -> Result<FuzzReport, FuzzError> {
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let failing = Arc::new(AtomicUsize::new(0));
    let steps = Arc::new(AtomicUsize::new(0));
    let taken = Arc::new(std::sync::Mutex::new(Vec::<(FindingKind, Check)>::new()));
    let twin_summary = Arc::new(std::sync::Mutex::new(TwinSummary::default()));
    let checks = Arc::new(Checks::new(options));
    let progress = Arc::new(progress);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..options.jobs.max(1) {
        let rig = Rig::start_for(&options.target).await?;
        let options = options.clone();
        let (next, done, failing, steps, taken, twin_summary, checks, progress) = (
            next.clone(),
            done.clone(),
            failing.clone(),
            steps.clone(),
            taken.clone(),
            twin_summary.clone(),
            checks.clone(),
            progress.clone(),
        );
        // A worker is a thread of its own that drives each run on the runtime: the
        // shrinking state of proptest-state-machine is not `Send`, so it stays put.
        workers.spawn_blocking(move || {
            let handle = tokio::runtime::Handle::current();
            let mut failures = Vec::new();
            let mut errors = Vec::new();
            // Counts a case as done, and as failing when it failed, then reports progress.
            let finish = |failed: bool| {
                if failed {
                    failing.fetch_add(1, Ordering::Relaxed);
                }
                let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                progress(Progress { done: finished, failing: failing.load(Ordering::Relaxed) });
            };
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= options.cases {
                    break;
                }
                let seed = case_seed(options.seed, index);
                let name = format!("fuzz-seed{}-case{index}", options.seed);
                let case = match Case::generate(seed) {
                    Ok(case) => case,
                    Err(error) => {
                        // A case that cannot be drawn counts as failing, never as passed.
                        errors.push(CaseError { case: index, failure: error.into() });
                        finish(true);
                        continue;
                    }
                };
                let outcome = handle.block_on(checks.case(
                    &rig,
                    &options.target,
                    index,
                    &case.model,
                    &case.moves,
                    &name,
                    Attribution::Skip,
                ));
                steps.fetch_add(outcome.customer_steps(), Ordering::Relaxed);
                if outcome.scenario.steps.is_empty()
                    && let Some(error) = &outcome.result.error
                {
                    // No session at all (an agent that cannot be reached): nothing of the
                    // conversation to shrink. It counts as failing, never as passed.
                    errors.push(CaseError { case: index, failure: error.clone().into() });
                    finish(true);
                    continue;
                }
                twin_summary.lock().unwrap_or_else(|e| e.into_inner()).add(&outcome.result);
                let found = outcome.failures();
                if options.stop_on.is_some_and(|kind| found.iter().any(|(k, _)| *k == kind)) {
                    next.fetch_max(options.cases, Ordering::Relaxed);
                }
                let fresh: Vec<(FindingKind, Check)> = {
                    let mut taken = taken.lock().unwrap_or_else(|e| e.into_inner());
                    let fresh: Vec<(FindingKind, Check)> =
                        found.iter().filter(|k| !taken.contains(k)).copied().collect();
                    taken.extend(&fresh);
                    fresh
                };
                for (kind, check) in fresh {
                    let original_steps = outcome.customer_steps();
                    let shrinking = Instant::now();
                    let failure = shrink(
                        &handle,
                        &rig,
                        &options.target,
                        &checks,
                        index,
                        (kind, check),
                        outcome.clone(),
                        &name,
                        options.shrink_runs,
                    );
                    let (shrunk, runs, source) = failure;
                    failures.push(Failure {
                        case: index,
                        case_seed: seed,
                        kind,
                        check,
                        source,
                        original_steps,
                        shrunk,
                        shrink_runs: runs,
                        shrink_time: shrinking.elapsed(),
                    });
                }
                finish(!found.is_empty());
            }
            handle.block_on(rig.close());
            (failures, errors)
        });
    }
    let mut failures = Vec::new();
    let mut errors = Vec::new();
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok((found, failed)) => {
                failures.extend(found);
                errors.extend(failed);
            }
            Err(error) => return Err(FuzzError::WorkerStopped(error)),
        }
    }
    failures.sort_by_key(|f| (f.case, f.kind, f.check));
    let twin = twin_summary.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(FuzzReport {
        seed: options.seed,
        cases: done.load(Ordering::Relaxed),
        failing: failing.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        failures,
        steps: steps.load(Ordering::Relaxed),
        errors,
        twin,
    })
}

/// Shrinks case `index` (drawn from its seed) while it still shows a finding of `wanted`
/// (kind and check), in at most `budget` runs; returns the smallest failing outcome, the runs
/// spent and, for a value carried between sessions, the earlier case it came from. Runs are
/// driven on `handle` from the calling thread, which must not be one of the runtime's own.
#[allow(clippy::too_many_arguments)]
fn shrink(
    handle: &tokio::runtime::Handle,
    rig: &Rig,
    target: &Target,
    checks: &Checks,
    index: usize,
    wanted: (FindingKind, Check),
    failing: Outcome,
    name: &str,
    budget: usize,
) -> (Outcome, usize, Option<EarlierCase>) {
    let seed = case_seed(checks.seed, index);
    // A value carried from another session shows again only after that session: each try
    // runs the earlier case first, against an agent that remembers nothing else.
    let source = (wanted.1 == Check::CrossSession)
        .then(|| failing.result.findings.iter().find(|f| f.check == Check::CrossSession))
        .flatten()
        .and_then(|_| {
            let own = sessions::Own::of(&failing.scenario.fixtures);
            let carried = checks.worlds.carried(index, &own, &failing.result.observed);
            carried.first().map(|c| c.world)
        });
    let source_case =
        source.and_then(|world| Case::generate(case_seed(checks.seed, world)).ok().map(|c| (world, c)));
    let attempt = |model: &Model, moves: &[Move], attribution: Attribution| -> Outcome {
        match &source_case {
            Some((world, case)) => {
                let fresh = target.renewed();
                let alone = Checks {
                    twin: false,
                    unsteady: std::sync::atomic::AtomicBool::new(true),
                    worlds: Worlds::new(),
                    seed: checks.seed,
                };
                alone.worlds.register(*world, &case.model.world.fixtures);
                let source_name = format!("fuzz-seed{}-case{world}", checks.seed);
                handle.block_on(run_case(rig, &fresh, &case.model, &case.moves, &source_name));
                let mut outcome = handle.block_on(run_case(rig, &fresh, model, moves, name));
                let own = sessions::Own::of(&model.world.fixtures);
                alone.cross_session(index, &own, &mut outcome, Some(*world));
                outcome
            }
            // Each try as a first session: an agent that remembers earlier sessions (its own
            // tries among them) would otherwise keep failing for what an earlier try left.
            None => {
                handle.block_on(checks.case(rig, &target.renewed(), index, model, moves, name, attribution))
            }
        }
    };
    // A try keeps the failure only with a step to replay: on an agent that stopped answering,
    // a try "fails" with no step at all (its session never starts), and no scenario file can
    // hold that.
    let keeps =
        |outcome: &Outcome| !outcome.scenario.steps.is_empty() && outcome.failures().contains(&wanted);
    let mut runner = runner_for(seed);
    let strategy = Conversations::sequential_strategy(MOVES);
    let source = source_case.as_ref().map(|(world, case)| {
        let source_name = format!("fuzz-seed{}-case{world}", checks.seed);
        let scenario = handle
            .block_on(run_case(rig, &target.renewed(), &case.model, &case.moves, &source_name))
            .scenario;
        EarlierCase { case: *world, scenario }
    });
    let Ok(mut tree) = strategy.new_tree(&mut runner) else { return (failing, 0, source) };
    let mut best = failing;
    let mut runs = 0;
    // Every move of a case is carried out (or left out as impossible), so all count as seen.
    let (model, moves, seen) = tree.current();
    if source_case.is_some() {
        // The first failure may have come from another world than the one retried: start
        // from a failing run after the source alone.
        let outcome = attempt(&model, &moves, Attribution::Skip);
        runs += 1;
        if keeps(&outcome) {
            best = outcome;
        }
    }
    if let Some(seen) = seen {
        seen.fetch_add(moves.len(), Ordering::SeqCst);
    }
    if tree.simplify() {
        while runs < budget {
            runs += 1;
            let (model, moves, seen) = tree.current();
            let outcome = attempt(&model, &moves, Attribution::Skip);
            if let Some(seen) = seen {
                seen.fetch_add(moves.len(), Ordering::SeqCst);
            }
            if keeps(&outcome) {
                if outcome.scenario.steps.len() <= best.scenario.steps.len() {
                    best = outcome;
                }
                if !tree.simplify() {
                    break;
                }
            } else if !tree.complicate() {
                break;
            }
        }
    }
    // The shrunk case's twin finding, with the secrets that make the difference named.
    if wanted.1 == Check::Twin {
        best.result.findings.retain(|f| f.check != Check::Twin);
        let fresh = target.renewed();
        handle.block_on(twin::check(rig, &best.scenario, &fresh, &mut best.result, Attribution::Find));
        runs += 1;
    }
    (best, runs, source)
}

/// The file name a shrunk failure is written under: `fuzz-seed1-case2-leak-twin.yaml`.
pub fn file_name(seed: u64, failure: &Failure) -> String {
    let kind = failure.kind.as_str().replace(' ', "-");
    let check = if failure.kind == FindingKind::Leak { format!("-{}", failure.check) } else { String::new() };
    format!("fuzz-seed{seed}-case{}-{kind}{check}.yaml", failure.case)
}

/// The files a shrunk failure is written to, in the order `leakproof run` must replay them:
/// for a value carried between sessions, the earlier case first.
pub fn write_failure_files(dir: &Path, seed: u64, failure: &Failure) -> std::io::Result<Vec<PathBuf>> {
    let mut paths = Vec::new();
    if let Some(source) = &failure.source {
        std::fs::create_dir_all(dir)?;
        let stem = file_name(seed, failure);
        let stem = stem.trim_end_matches(".yaml");
        let path = dir.join(format!("{stem}-earlier-session.yaml"));
        let mut scenario = source.scenario.clone();
        scenario.name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        scenario.description = Some(format!(
            "the earlier session of the cross-session leak in case {} of `leakproof fuzz --seed {seed}`: case {}, \
             whose world holds the value; replay it first",
            failure.case, source.case
        ));
        scenario.tags = vec!["generated".to_owned(), "regression".to_owned(), "earlier_session".to_owned()];
        std::fs::write(&path, scenario_yaml(&scenario).map_err(std::io::Error::other)?)?;
        paths.push(path);
    }
    paths.push(write_failure(dir, seed, failure)?);
    Ok(paths)
}

/// Writes the shrunk failure into `dir` (created if missing) as a scenario file.
pub fn write_failure(dir: &Path, seed: u64, failure: &Failure) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(file_name(seed, failure));
    let mut scenario = failure.shrunk.scenario.clone();
    scenario.name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let first =
        failure.shrunk.result.findings.iter().find(|f| f.kind == failure.kind && f.check == failure.check);
    scenario.description = Some(format!(
        "{}{} found by `leakproof fuzz --seed {seed}` in case {} and shrunk from {} to {} customer steps{}",
        failure.kind.as_str(),
        super::report::by_check(failure.kind, failure.check),
        failure.case,
        failure.original_steps,
        failure.shrunk.customer_steps(),
        first.map(|f| format!(": {}", f.message)).unwrap_or_default(),
    ));
    scenario.tags =
        vec!["generated".to_owned(), "regression".to_owned(), failure.kind.as_str().replace(' ', "_")];
    let text = scenario_yaml(&scenario).map_err(std::io::Error::other)?;
    std::fs::write(&path, text)?;
    Ok(path)
}

/// `scenario` as a scenario file: the world in block YAML, then one line per step.
pub fn scenario_yaml(scenario: &Scenario) -> Result<String, ScenarioYamlError> {
    let mut head = scenario.clone();
    let steps = std::mem::take(&mut head.steps);
    if steps.is_empty() {
        return Err(ScenarioYamlError::NoSteps);
    }
    let mut out = String::from(
        "# Written by `leakproof fuzz`: a generated conversation, shrunk. Replay it with\n\
         # `leakproof run <this file>`; the finding it shows is in the description.\n",
    );
    let body = serde_saphyr::to_string(&head).map_err(ScenarioYamlError::Scenario)?;
    // `steps: []` from the empty list is replaced by the one-line steps.
    for line in body.lines() {
        if line.trim_end() == "steps: []" {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.push_str("steps:\n");
    for step in &steps {
        let value = serde_json::to_value(step).map_err(ScenarioYamlError::Step)?;
        out.push_str("  - ");
        match value {
            // One key stays a block entry; more (a step in another conversation) need braces.
            serde_json::Value::Object(map) if map.len() == 1 => {
                for (k, v) in &map {
                    out.push_str(&format!("{k}: {}", flow(v)));
                }
            }
            other => out.push_str(&flow(&other)),
        }
        out.push('\n');
    }
    Ok(out)
}

/// A JSON value as YAML flow text on one line: plain words where YAML reads
/// them back as the same string, double quotes otherwise.
fn flow(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::String(s) if plain(s) => s.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(flow).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => {
            format!(
                "{{ {} }}",
                map.iter().map(|(k, v)| format!("{k}: {}", flow(v))).collect::<Vec<_>>().join(", ")
            )
        }
        other => other.to_string(),
    }
}

/// Whether `s` can stand unquoted in a flow collection and read back as itself.
fn plain(s: &str) -> bool {
    let reserved = ["true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"];
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | '-' | '+'))
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && !reserved.contains(&s.to_ascii_lowercase().as_str())
}

/// What an honest customer who proves who they are must get, and did not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shortfall {
    /// The property, as `object.property`.
    pub property: String,
    /// What was missing.
    pub message: String,
}

/// The liveness check: in `world`, on `channel` as `visitor`, an honest
/// customer gives their own address, opens every link mailed to them, asks
/// for every property the configuration lets the agent show and asks to
/// change every property it lets the agent edit (confirming when asked).
/// Every value shown must be the customer's value on record, and every
/// permitted change must reach the CRM. The expectations come from the
/// configuration and fixtures, never from the agent's policy code.
pub async fn liveness(
    rig: &Rig,
    target: &Target,
    world: &crate::generate::world::World,
    channel: Channel,
    visitor: leakproof_protocol::Visitor,
) -> (Outcome, Vec<Shortfall>) {
    use crate::generate::world::catalogue_entry;

    let mut scenario =
        Scenario { channel, visitor, ..scenario_of_world(world, &format!("liveness-{}", channel.as_str())) };
    let mut live = match Live::start(rig, &scenario, target, 1).await {
        Ok(live) => live,
        Err(result) => {
            let shortfall = Shortfall {
                property: String::new(),
                message: result.error.as_ref().map(ToString::to_string).unwrap_or_default(),
            };
            return (Outcome { scenario, result }, vec![shortfall]);
        }
    };
    let me = world.me();
    let my_email = world.my_email();
    let mut steps: Vec<Step> = Vec::new();
    let say = |text: String| Step {
        conversation: MAIN_CONVERSATION.to_owned(),
        action: Action::Say(text),
        expect: Expect::default(),
        position: None,
    };
    let open = |mailbox: &str| Step {
        conversation: MAIN_CONVERSATION.to_owned(),
        action: Action::OpenLink(LinkChoice {
            mailbox: mailbox.to_owned(),
            mail: MailChoice::Latest,
            tamper: false,
        }),
        expect: Expect::default(),
        position: None,
    };
    let mut mails = live.mailbox_len(&my_email);
    let go = async |live: &mut Live<'_>, steps: &mut Vec<Step>, step: Step| {
        live.step(steps.len() + 1, &step).await;
        steps.push(step);
    };
    go(&mut live, &mut steps, say(format!("my email is {my_email}"))).await;

    // Every viewable property, opening the link whenever one arrives.
    for rule in world.config.properties.iter().filter(|r| r.view.enabled) {
        go(&mut live, &mut steps, say(format!("what is my {}?", rule.label))).await;
        if live.mailbox_len(&my_email) > mails {
            mails = live.mailbox_len(&my_email);
            go(&mut live, &mut steps, open(&my_email)).await;
            go(&mut live, &mut steps, say(format!("I opened the link. What is my {}?", rule.label))).await;
        }
    }
    // Every editable property whose record is unambiguous.
    let mut changes = Vec::new();
    for rule in world.config.properties.iter().filter(|r| r.edit.enabled) {
        let Some(entry) = catalogue_entry(rule) else { continue };
        let Some(me) = me else { continue };
        // The customer's one record of the property's object (a second ticket would be ambiguous).
        let mut records = world.fixtures.scope_of(me.id).into_iter().filter(|r| r.object() == rule.object);
        let record = records.next().filter(|_| records.next().is_none());
        let Some(record) = record else { continue };
        let value = entry.valid.first().copied().unwrap_or("x").to_owned();
        go(&mut live, &mut steps, say(format!("change my {} to {value}", rule.label))).await;
        if live.mailbox_len(&my_email) > mails {
            mails = live.mailbox_len(&my_email);
            go(&mut live, &mut steps, open(&my_email)).await;
            go(&mut live, &mut steps, say("I opened the link".to_owned())).await;
        }
        if rule.edit.confirm {
            go(&mut live, &mut steps, say("yes".to_owned())).await;
        }
        changes.push((rule, record, value));
    }
    let result = live.finish();
    scenario.steps = steps;

    let mut shortfalls = Vec::new();
    let replies: String = result
        .observed
        .entries
        .iter()
        .filter_map(|e| match &e.what {
            super::transcript::Occurrence::Turn(turn) => Some(turn.reply_text()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n");
    if let Some(me) = me {
        for rule in world.config.properties.iter().filter(|r| r.view.enabled) {
            // The values of every record of the customer's that has the property.
            let values: Vec<&str> = world
                .fixtures
                .scope_of(me.id)
                .into_iter()
                .filter(|record| record.object() == rule.object)
                .filter_map(|record| world.fixtures.values(record))
                .flat_map(|values| values.into_iter().filter(|(p, _)| *p == rule.property).map(|(_, v)| v))
                .collect();
            for value in values.into_iter().filter(|v| !v.trim().is_empty()) {
                if !replies.contains(value) {
                    shortfalls.push(Shortfall {
                        property: format!("{}.{}", rule.object, rule.property),
                        message: format!("the customer's own value {value:?} was never shown"),
                    });
                }
            }
        }
    }
    for (rule, record, value) in changes {
        let now =
            rig.mocks.crm.record(record.object(), record.id()).and_then(|r| r.get(&rule.property).cloned());
        if now.as_deref() != Some(value.as_str()) {
            shortfalls.push(Shortfall {
                property: format!("{}.{}", rule.object, rule.property),
                message: format!(
                    "the permitted change to {value:?} did not reach the CRM (it holds {now:?})"
                ),
            });
        }
    }
    (Outcome { scenario, result }, shortfalls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_case_and_neighbours_differ() {
        let a = Case::generate(case_seed(1, 0)).unwrap();
        let b = Case::generate(case_seed(1, 0)).unwrap();
        assert_eq!(a.moves, b.moves);
        assert_eq!(a.model.seed, b.model.seed);
        let c = Case::generate(case_seed(1, 1)).unwrap();
        assert!(a.moves != c.moves || a.model.seed != c.model.seed);
    }

    #[test]
    fn a_seed_that_draws_nothing_says_so() {
        let error = DrawError { seed: 7, reason: "too many local rejects".into() };
        assert_eq!(error.to_string(), "case seed 7 draws no conversation: too many local rejects");
        assert_eq!(CaseFailure::from(error.clone()).to_string(), error.to_string());
    }

    #[test]
    fn plain_words_stay_plain_and_the_rest_is_quoted() {
        assert_eq!(flow(&serde_json::json!("latest")), "latest");
        assert_eq!(flow(&serde_json::json!("ann@example.com")), "ann@example.com");
        assert_eq!(flow(&serde_json::json!("yes")), "\"yes\"");
        assert_eq!(flow(&serde_json::json!("what is my city?")), "\"what is my city?\"");
        assert_eq!(
            flow(&serde_json::json!({"mailbox": "a@b.c", "tamper": true})),
            "{ mailbox: a@b.c, tamper: true }"
        );
    }
}
