//! The runner: each scenario in a fresh world (mocks seeded from its fixtures, an injected clock, a fresh agent), steps carried out in order, everything observable recorded, then judged by the oracle and the scenario's expectations.
//!
//! A fresh world is a [`Rig`] reset for the run: [`run`] starts one and closes
//! it after, [`run_on`] reuses one, and [`Live`] carries out a run a step at a
//! time for callers that make the steps up as they go.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::{Serialize, Serializer};

use super::expect;
use super::oracle::{self, Exposure, Finding, Skipped};
use super::scenario::{Action, FaultTarget, LinkChoice, MAIN_CONVERSATION, MailChoice, Scenario, Step};
use super::target::{self, AgentSession, Backend, Message, SessionStart, Target, TargetError};
use super::transcript::{Entry, LinkOpened, Observed, Occurrence, Turn};
use super::twin::{self, Attribution, TwinCheck};
use leakproof_config::Channel;
use leakproof_config::clock::{Clock, ManualClock};
use leakproof_hubspot::crm::HttpClient;
use leakproof_mocks::{CapturedMail, DEFAULT_TOKEN, MockOptions, Mocks};
use leakproof_protocol::Visitor;
use leakproof_world::Fixtures;

/// One run of one scenario: what was observed, and what was found wrong.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct RunResult {
    /// The scenario's name.
    pub scenario: String,
    /// Which run of the scenario this is, from 1 (see `--repeat`).
    pub run: usize,
    /// The session id the agent was started with; conversation ids begin with it.
    pub session: String,
    /// What was found wrong: the oracle's findings, then failed expectations, in step order.
    pub findings: Vec<Finding>,
    /// Fixture values the oracle does not search for, and why.
    pub skipped: Vec<Skipped>,
    /// Everything observed.
    pub observed: Observed,
    /// How long each customer message took the agent to answer.
    #[serde(skip)]
    pub latencies: Vec<Duration>,
    /// Why the run could not start, if it could not. Reports write it as its text.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "as_text")]
    #[schemars(with = "Option<String>")]
    pub error: Option<RunError>,
    /// What the twin-world check made of the run.
    pub twin: TwinCheck,
    /// What the oracle's identity model let the customer see: what the twin check keeps.
    #[serde(skip)]
    pub exposure: Exposure,
}

/// Why a run could not be carried out: [`RunResult::error`]. Reports show its text.
#[derive(Clone, Debug, thiserror::Error)]
pub enum RunError {
    /// The mock CRM and mail service could not be started.
    #[error("the mocks did not start: {0}")]
    MocksNotStarted(#[source] Arc<std::io::Error>),
    /// The agent under test did not start the run's session.
    #[error("the agent did not start a session: {0}")]
    SessionNotStarted(#[source] Arc<TargetError>),
    /// The run's task stopped before it reported: a run that is never seen never passes.
    #[error("the run stopped unexpectedly")]
    Stopped,
}

/// An error written as its text, as reports show it.
fn as_text<S: Serializer>(error: &Option<RunError>, serializer: S) -> Result<S::Ok, S::Error> {
    match error {
        Some(error) => serializer.collect_str(error),
        None => serializer.serialize_none(),
    }
}

/// Why a step could not be carried out. The transcript records it as a failed step, in
/// these words, and the step fails the run.
#[derive(Debug, thiserror::Error)]
enum StepError {
    /// The step names a conversation that no step started.
    #[error("no conversation named {0:?} was started")]
    NoConversation(String),
    /// The agent failed to answer a customer message.
    #[error("the agent did not answer: {0}")]
    NoAnswer(#[source] TargetError),
    /// The mailbox a link is to be opened from received no mail.
    #[error("no mail was sent to {mailbox}")]
    NoMail {
        /// The mailbox.
        mailbox: String,
    },
    /// The mailbox holds mails, but not the one chosen.
    #[error("{mailbox} has {count} mail(s), not a mail {}", describe_choice(*.choice))]
    NoSuchMail {
        /// The mailbox.
        mailbox: String,
        /// How many mails it holds.
        count: usize,
        /// The mail chosen.
        choice: MailChoice,
    },
    /// The mail chosen holds no verification link.
    #[error("mail {number} to {to} holds no link")]
    NoLink {
        /// The mail's number in its mailbox, from 1.
        number: usize,
        /// Its recipient.
        to: String,
    },
    /// Opening the link failed.
    #[error("the link did not open: {0}")]
    LinkNotOpened(#[source] TargetError),
}

impl RunResult {
    /// Whether nothing was found wrong.
    pub fn passed(&self) -> bool {
        self.error.is_none() && self.findings.is_empty()
    }

    /// Whether no safety rule was broken (expectations aside).
    pub fn violation_free(&self) -> bool {
        self.error.is_none() && !self.findings.iter().any(|f| f.kind.is_violation())
    }
}

/// The state of one conversation, as the harness drives it.
struct Conversation {
    id: String,
    channel: Channel,
    visitor: Visitor,
}

/// A world reused across many runs: both mocks, the clock they read, the
/// client in-process agents reach them with.
///
/// Starting mocks costs milliseconds; resetting a rig costs microseconds, so
/// a harness running many scenarios or generated conversations starts one rig
/// (per concurrent run) and resets it for each run ([`run_on`],
/// [`Live::start`]). A rig serves one run at a time.
#[derive(Debug)]
pub struct Rig {
    /// The mock CRM and mail service, on loopback, accepting [`DEFAULT_TOKEN`].
    /// They listen for agents that talk HTTP (an agent at `--agent-url`).
    pub mocks: Mocks,
    /// The clock the mocks read and the runs move.
    pub clock: Arc<ManualClock>,
    /// The client in-process agents send with: [`HttpClient::in_process`]
    /// on the mocks' [`exchange`](Mocks::exchange), so their requests reach
    /// the mocks without a socket, and a URL that is not the mocks' fails
    /// instead of going to the network. Replace it with
    /// [`HttpClient::new`] to send over loopback HTTP instead.
    pub http: HttpClient,
}

impl Rig {
    /// Starts both mocks on free loopback ports, with [`DEFAULT_TOKEN`] and a
    /// [`ManualClock`], and binds the in-process client to them.
    pub async fn start() -> std::io::Result<Rig> {
        Rig::start_hosts(false).await
    }

    /// A rig for runs of `target`: both mocks on one server when the target is given one
    /// base URL ([`Target::single_host`]), else as [`Rig::start`].
    pub async fn start_for(target: &Target) -> std::io::Result<Rig> {
        Rig::start_hosts(target.single_host()).await
    }

    async fn start_hosts(single_host: bool) -> std::io::Result<Rig> {
        let clock = Arc::new(ManualClock::new(Timestamp::UNIX_EPOCH));
        let options = MockOptions { token: DEFAULT_TOKEN.to_owned(), clock: clock.clone() };
        let mocks = match single_host {
            true => Mocks::start_single_host(&Fixtures::default(), options, None).await?,
            false => Mocks::start_with(Fixtures::default(), options).await?,
        };
        let http = HttpClient::in_process(Arc::new(mocks.exchange()));
        Ok(Rig { mocks, clock, http })
    }

    /// Makes the rig as a fresh one for a run: the clock set to `start`, then
    /// the mocks reset to `fixtures` (see [`Mocks::reset`]).
    pub fn reset(&self, fixtures: &Fixtures, start: Timestamp) {
        self.clock.set(start);
        self.mocks.reset(fixtures);
    }

    /// Stops the mocks. wiremock's servers block on a lock of their own when
    /// dropped, so they are dropped on a blocking thread, not a runtime worker.
    pub async fn close(self) {
        let Rig { mocks, .. } = self;
        let _ = tokio::task::spawn_blocking(move || drop(mocks)).await;
    }
}

/// A result that holds nothing yet.
fn blank(scenario: &Scenario, run: usize) -> RunResult {
    RunResult {
        scenario: scenario.name.clone(),
        run,
        session: String::new(),
        findings: Vec::new(),
        skipped: Vec::new(),
        observed: Observed::default(),
        latencies: Vec::new(),
        error: None,
        twin: TwinCheck::Off,
        exposure: Exposure::default(),
    }
}

/// Runs `scenario` once (run number `run`, from 1) against `target`, in a
/// world of its own: a rig started for it and closed after. The twin check
/// runs when it does by default for `target` (the in-process agents; see
/// [`Target::twin_by_default`]).
pub async fn run(scenario: &Scenario, target: &Target, run: usize) -> RunResult {
    run_with(scenario, target, run, target.twin_by_default()).await
}

/// [`run`], with the twin check on or off.
pub async fn run_with(scenario: &Scenario, target: &Target, run: usize, twin: bool) -> RunResult {
    let rig = match Rig::start_for(target).await {
        Ok(rig) => rig,
        Err(error) => {
            return RunResult {
                error: Some(RunError::MocksNotStarted(Arc::new(error))),
                ..blank(scenario, run)
            };
        }
    };
    let mut result = run_on(&rig, scenario, target, run).await;
    if twin {
        twin::check(&rig, scenario, target, &mut result, Attribution::Find).await;
    }
    rig.close().await;
    result
}

/// Runs `scenario` once on `rig` against `target` and returns what was observed and the
/// session id, judging nothing: the twin check's replays.
pub(crate) async fn observe_on(
    rig: &Rig,
    scenario: &Scenario,
    target: &Target,
    run: usize,
) -> Result<(Observed, String), RunError> {
    let session_id = session_id(scenario, run);
    let session = start_session(rig, scenario, target, &session_id).await?;
    let mut live = Live::new(rig, scenario, session, session_id, run);
    for (index, step) in scenario.steps.iter().enumerate() {
        live.step(index + 1, step).await;
    }
    Ok(live.observed())
}

/// Runs `scenario` once (run number `run`, from 1) against `target` on
/// `rig`, reset for it: [`Live::start`], every step, [`Live::finish`].
pub async fn run_on(rig: &Rig, scenario: &Scenario, target: &Target, run: usize) -> RunResult {
    let mut live = match Live::start(rig, scenario, target, run).await {
        Ok(live) => live,
        Err(result) => return result,
    };
    for (index, step) in scenario.steps.iter().enumerate() {
        live.step(index + 1, step).await;
    }
    live.finish()
}

/// A new session id for run `run` of `scenario`: never used before, by any harness process.
fn session_id(scenario: &Scenario, run: usize) -> String {
    format!("{}-{run}-{}", slug(&scenario.name), unique())
}

/// Resets `rig` for `scenario`, injects its faults and starts the agent's
/// session with the id `session_id`.
async fn start_session(
    rig: &Rig,
    scenario: &Scenario,
    target: &Target,
    session_id: &str,
) -> Result<Box<dyn AgentSession>, RunError> {
    rig.reset(&scenario.fixtures, scenario.start);
    for fault in &scenario.faults {
        inject(&rig.mocks, fault.clone());
    }
    let now = rig.clock.now();
    let (crm_url, mail_url) = (rig.mocks.crm.base_url(), rig.mocks.mail.base_url());
    let start = SessionStart {
        session_id,
        config: &scenario.config,
        crm: Backend { base_url: &crm_url, token: rig.mocks.crm.token() },
        mail: Backend { base_url: &mail_url, token: rig.mocks.mail.token() },
        http: &rig.http,
        now,
    };
    target.start(start).await.map_err(|error| RunError::SessionNotStarted(Arc::new(error)))
}

/// Everything the mocks saw during a run, with the run's own entries.
fn observe(mocks: &Mocks, entries: Vec<Entry>, session: String) -> Observed {
    Observed {
        entries,
        crm_requests: mocks.crm.requests(),
        writes: mocks.crm.writes(),
        mails: mocks.mail.all(),
        mail_requests: mocks.mail.requests(),
        unlogged: mocks.crm.requests_dropped() + mocks.mail.requests_dropped(),
        session,
    }
}

/// One run in progress on a rig: steps are fed one at a time.
///
/// [`run_on`] feeds a scenario's own steps; a generator can feed steps it
/// makes up as it goes, looking at the world between them
/// ([`Live::mailbox_len`], [`Live::has_conversation`], the rig's mocks).
pub struct Live<'r> {
    rig: &'r Rig,
    scenario: &'r Scenario,
    session: Box<dyn AgentSession>,
    session_id: String,
    run: usize,
    conversations: BTreeMap<String, Conversation>,
    entries: Vec<Entry>,
    latencies: Vec<Duration>,
}

/// The lengths of the mocks' logs, to tell which entries a step caused.
#[derive(Clone, Copy)]
struct Marks {
    crm: usize,
    writes: usize,
    mails: usize,
}

impl<'r> Live<'r> {
    /// Resets `rig` to `scenario`'s fixtures, start time and faults, starts
    /// the agent's session and begins the main conversation (step 0). The
    /// scenario's steps are not run: feed them, or others, to [`Live::step`].
    ///
    /// When the agent cannot start, the `Err` is the run's result, with
    /// [`RunResult::error`] set.
    pub async fn start(
        rig: &'r Rig,
        scenario: &'r Scenario,
        target: &Target,
        run: usize,
    ) -> Result<Live<'r>, RunResult> {
        let session_id = session_id(scenario, run);
        match start_session(rig, scenario, target, &session_id).await {
            Ok(session) => Ok(Live::new(rig, scenario, session, session_id, run)),
            Err(error) => Err(RunResult { session: session_id, error: Some(error), ..blank(scenario, run) }),
        }
    }

    fn new(
        rig: &'r Rig,
        scenario: &'r Scenario,
        session: Box<dyn AgentSession>,
        session_id: String,
        run: usize,
    ) -> Self {
        let (channel, visitor) = (scenario.channel, scenario.visitor.clone());
        let mut live = Live {
            rig,
            scenario,
            session,
            session_id,
            run,
            conversations: BTreeMap::new(),
            entries: Vec::new(),
            latencies: Vec::new(),
        };
        live.begin(0, None, MAIN_CONVERSATION, channel, visitor);
        live
    }

    /// How many mails the mailbox `address` holds now (compared without
    /// case, as opening a link finds them).
    pub fn mailbox_len(&self, address: &str) -> usize {
        self.rig.mocks.mail.mailbox_len(address)
    }

    /// Whether a conversation named `name` was started (the main one always is).
    pub fn has_conversation(&self, name: &str) -> bool {
        self.conversations.contains_key(name)
    }

    /// What was observed, and the session id, without judging it.
    fn observed(self) -> (Observed, String) {
        let Live { rig, session, session_id, entries, .. } = self;
        let observed = observe(&rig.mocks, entries, session_id);
        drop(session);
        let session_id = observed.session.clone();
        (observed, session_id)
    }

    /// Judges what was observed, by the oracle and by the scenario's
    /// expectations, and returns the run's result.
    pub fn finish(self) -> RunResult {
        let Live { rig, scenario, session, session_id, run, entries, latencies, .. } = self;
        let mocks = &rig.mocks;
        let observed = observe(mocks, entries, session_id.clone());
        let judgement = oracle::judge(&scenario.config, &scenario.fixtures, &observed);
        let mut findings = judgement.findings;
        findings.extend(expect::check(scenario, &observed, mocks));
        findings.sort_by_key(|f| (f.step == 0, f.step));
        drop(session);
        RunResult {
            findings,
            skipped: judgement.skipped,
            exposure: judgement.exposure,
            observed,
            latencies,
            session: session_id,
            ..blank(scenario, run)
        }
    }

    fn marks(&self) -> Marks {
        let mocks = &self.rig.mocks;
        Marks { crm: mocks.crm.requests_len(), writes: mocks.crm.writes_len(), mails: mocks.mail.mails_len() }
    }

    fn record(&mut self, step: usize, line: Option<usize>, at: Timestamp, before: Marks, what: Occurrence) {
        let after = self.marks();
        self.entries.push(Entry {
            step,
            line,
            at,
            what,
            crm: before.crm..after.crm,
            writes: before.writes..after.writes,
            mails: before.mails..after.mails,
        });
    }

    fn begin(&mut self, step: usize, line: Option<usize>, name: &str, channel: Channel, visitor: Visitor) {
        let id = format!("{}/{name}", self.session_id);
        self.conversations.insert(name.to_owned(), Conversation { id, channel, visitor: visitor.clone() });
        let marks = self.marks();
        let what = Occurrence::ConversationStarted { conversation: name.to_owned(), channel, visitor };
        self.record(step, line, self.rig.clock.now(), marks, what);
    }

    /// Carries out `step`, numbered `number` (from 1), and records what it did.
    pub async fn step(&mut self, number: usize, step: &Step) {
        let line = step.position.map(|p| p.line);
        let now = self.rig.clock.now();
        let before = self.marks();
        let what = match &step.action {
            Action::Say(text) => {
                let Some(conversation) = self.conversations.get(&step.conversation) else {
                    let error = StepError::NoConversation(step.conversation.clone());
                    return self.record(number, line, now, before, step_failed(&step.conversation, &error));
                };
                let started = Instant::now();
                let answer = self
                    .session
                    .say(Message {
                        conversation: &conversation.id,
                        channel: conversation.channel,
                        visitor: &conversation.visitor,
                        text,
                        now,
                    })
                    .await;
                let latency = started.elapsed();
                match answer {
                    Ok(answer) => {
                        self.latencies.push(latency);
                        Occurrence::Turn(Turn {
                            conversation: step.conversation.clone(),
                            channel: conversation.channel,
                            customer: text.clone(),
                            replies: answer.replies,
                            events: answer.events,
                            latency,
                        })
                    }
                    Err(error) => step_failed(&step.conversation, &StepError::NoAnswer(error)),
                }
            }
            Action::OpenLink(choice) => match self.find_mail(choice) {
                Err(error) => step_failed(&step.conversation, &error),
                Ok(mail) => match &mail.link {
                    None => step_failed(
                        &step.conversation,
                        &StepError::NoLink { number: mail.index + 1, to: mail.to.clone() },
                    ),
                    Some(link) => {
                        let link = if choice.tamper { target::tamper(link) } else { link.clone() };
                        match self.session.open_link(&link, now).await {
                            Ok(opened) => Occurrence::LinkOpened(LinkOpened {
                                mailbox: choice.mailbox.clone(),
                                mail: mail.index,
                                tampered: choice.tamper,
                                status: opened.status,
                                message: opened.message,
                            }),
                            Err(error) => step_failed(&step.conversation, &StepError::LinkNotOpened(error)),
                        }
                    }
                },
            },
            Action::Wait(by) => {
                self.rig.clock.advance(*by);
                Occurrence::Waited { by: by.unsigned_abs() }
            }
            Action::NewConversation { name, channel, visitor } => {
                let channel = channel.unwrap_or(self.scenario.channel);
                let visitor = visitor.clone().unwrap_or_else(|| self.scenario.visitor.clone());
                return self.begin(number, line, name, channel, visitor);
            }
            Action::Inject(fault) => {
                inject(&self.rig.mocks, fault.clone());
                Occurrence::Faults { change: format!("injected {} on {:?}", fault.kind, fault.endpoint) }
            }
            Action::ClearFaults(target) => {
                let mocks = &self.rig.mocks;
                if matches!(target, FaultTarget::Crm | FaultTarget::All) {
                    mocks.crm.clear_faults();
                }
                if matches!(target, FaultTarget::Mail | FaultTarget::All) {
                    mocks.mail.clear_faults();
                }
                Occurrence::Faults { change: format!("cleared the faults of {}", target_name(*target)) }
            }
        };
        self.record(number, line, now, before, what);
    }

    fn find_mail(&self, choice: &LinkChoice) -> Result<CapturedMail, StepError> {
        let mailbox = self.rig.mocks.mail.mailbox(&choice.mailbox);
        let found = match choice.mail {
            MailChoice::Latest => mailbox.last(),
            MailChoice::First => mailbox.first(),
            MailChoice::Nth(n) => mailbox.get(n.saturating_sub(1)),
        };
        found.cloned().ok_or_else(|| match mailbox.len() {
            0 => StepError::NoMail { mailbox: choice.mailbox.clone() },
            count => StepError::NoSuchMail { mailbox: choice.mailbox.clone(), count, choice: choice.mail },
        })
    }
}

fn describe_choice(choice: MailChoice) -> String {
    match choice {
        MailChoice::Latest => "latest".to_owned(),
        MailChoice::First => "first".to_owned(),
        MailChoice::Nth(n) => format!("number {n}"),
    }
}

/// A step in `conversation` that could not be carried out, as the transcript records it.
fn step_failed(conversation: &str, error: &StepError) -> Occurrence {
    Occurrence::Failed { conversation: Some(conversation.to_owned()), reason: error.to_string() }
}

fn target_name(target: FaultTarget) -> &'static str {
    match target {
        FaultTarget::Crm => "the CRM",
        FaultTarget::Mail => "the mail service",
        FaultTarget::All => "both mocks",
    }
}

/// Injects `fault` into the mock its endpoint belongs to.
fn inject(mocks: &Mocks, fault: leakproof_mocks::Fault) {
    if fault.endpoint == leakproof_mocks::Endpoint::SendMail {
        mocks.mail.inject(fault);
    } else if fault.endpoint == leakproof_mocks::Endpoint::Any {
        mocks.crm.inject(fault.clone());
        mocks.mail.inject(fault);
    } else {
        mocks.crm.inject(fault);
    }
}

/// `name` in lowercase letters, digits and dashes, for ids.
fn slug(name: &str) -> String {
    let slug: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    slug.chars().take(60).collect()
}

/// A text not used before in this process, nor (with a random tag drawn once per process)
/// by another harness process, so sessions never collide: an agent refuses to start a session
/// whose id is live. Digits, lowercase letters and `-` only, so it is a valid session id.
fn unique() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static TAG: OnceLock<u32> = OnceLock::new();
    let tag = TAG.get_or_init(|| {
        let mut bytes = [0_u8; 4];
        // Without a random source, the process id still tells processes apart.
        match getrandom::fill(&mut bytes) {
            Ok(()) => u32::from_le_bytes(bytes),
            Err(_) => std::process::id(),
        }
    });
    format!("{}-{tag:08x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// How to run a suite.
#[derive(Clone, Debug)]
pub struct SuiteOptions {
    /// The agent under test.
    pub target: Target,
    /// Runs per scenario (`--repeat`), at least 1.
    pub repeat: usize,
    /// Runs at once (`--jobs`), at least 1.
    pub jobs: usize,
    /// Whether each run gets the twin-world check.
    pub twin: bool,
}

/// Runs every scenario `options.repeat` times, `options.jobs` at once, and
/// calls `done` as each run finishes (for progress). Results come back in the
/// order of `scenarios`, runs in order. Runs start in that order too, so with
/// one job at a time a scenario runs after every scenario before it.
///
/// A value of one scenario's world seen in another scenario's run (state an
/// agent carried between sessions) is a leak of the later run.
pub async fn run_suite(
    scenarios: &[Arc<Scenario>],
    options: &SuiteOptions,
    done: impl Fn(&RunResult),
) -> Vec<Vec<RunResult>> {
    let repeat = options.repeat.max(1);
    let work: Arc<Vec<(usize, Arc<Scenario>, usize)>> = Arc::new(
        scenarios
            .iter()
            .enumerate()
            .flat_map(|(index, scenario)| (1..=repeat).map(move |run| (index, Arc::clone(scenario), run)))
            .collect(),
    );
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..options.jobs.max(1).min(work.len()) {
        let (work, next, sender) = (Arc::clone(&work), Arc::clone(&next), sender.clone());
        let (target, twin) = (options.target.clone(), options.twin);
        workers.spawn(async move {
            loop {
                let at = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((index, scenario, run_number)) = work.get(at) else { break };
                let result = run_with(scenario, &target, *run_number, twin).await;
                if sender.send((*index, result)).is_err() {
                    break;
                }
            }
        });
    }
    drop(sender);
    let mut results: Vec<Vec<RunResult>> = scenarios.iter().map(|_| Vec::new()).collect();
    while let Some((index, result)) = received.recv().await {
        done(&result);
        if let Some(slot) = results.get_mut(index) {
            slot.push(result);
        }
    }
    while let Some(joined) = workers.join_next().await {
        if let Err(error) = joined {
            tracing::error!(%error, "a scenario run stopped unexpectedly");
        }
    }
    for (scenario, runs) in scenarios.iter().zip(&mut results) {
        runs.sort_by_key(|r| r.run);
        // A run that never reported (its task stopped) fails; it never passes unseen.
        for run in 1..=repeat {
            if !runs.iter().any(|r| r.run == run) {
                runs.push(RunResult { error: Some(RunError::Stopped), ..blank(scenario, run) });
            }
        }
        runs.sort_by_key(|r| r.run);
    }
    carried_between(scenarios, &mut results);
    results
}

/// Adds a leak to each run that showed a value of another scenario's world (by its canary:
/// worlds without generated values have none).
fn carried_between(scenarios: &[Arc<Scenario>], results: &mut [Vec<RunResult>]) {
    let worlds = super::sessions::Worlds::new();
    let owns: Vec<super::sessions::Own> = scenarios
        .iter()
        .enumerate()
        .map(|(index, scenario)| worlds.register(index, &scenario.fixtures))
        .collect();
    if worlds.is_empty() {
        return;
    }
    for (index, ((scenario, runs), own)) in scenarios.iter().zip(results.iter_mut()).zip(&owns).enumerate() {
        for result in runs.iter_mut() {
            let mut named = std::collections::BTreeSet::new();
            for carried in worlds.carried(index, own, &result.observed) {
                let Some(other) = scenarios.get(carried.world) else { continue };
                if !named.insert(carried.world) {
                    continue;
                }
                let owner = other.fixtures.canaries().owner(&carried.canary).cloned();
                result.findings.push(super::sessions::finding(
                    &carried,
                    &format!("scenario {}", scenario.name),
                    &format!("scenario {}", other.name),
                    owner.as_ref(),
                ));
            }
            result.findings.sort_by_key(|f| (f.step == 0, f.step));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_they_always_have() {
        let io = std::io::Error::other("no free port");
        assert_eq!(
            RunError::MocksNotStarted(Arc::new(io)).to_string(),
            "the mocks did not start: no free port"
        );
        let url: url::Url = "http://127.0.0.1:9/".parse().unwrap();
        assert_eq!(
            RunError::SessionNotStarted(Arc::new(TargetError::Connect { url })).to_string(),
            "the agent did not start a session: could not connect to http://127.0.0.1:9/"
        );
        assert_eq!(RunError::Stopped.to_string(), "the run stopped unexpectedly");
        assert_eq!(
            StepError::NoConversation("c2".into()).to_string(),
            "no conversation named \"c2\" was started"
        );
        assert_eq!(StepError::NoMail { mailbox: "a@b.co".into() }.to_string(), "no mail was sent to a@b.co");
        let choice = MailChoice::Nth(3);
        assert_eq!(
            StepError::NoSuchMail { mailbox: "a@b.co".into(), count: 1, choice }.to_string(),
            "a@b.co has 1 mail(s), not a mail number 3"
        );
        assert_eq!(
            StepError::NoLink { number: 2, to: "a@b.co".into() }.to_string(),
            "mail 2 to a@b.co holds no link"
        );
    }

    #[test]
    fn reports_write_a_run_error_as_its_text() {
        #[derive(Serialize)]
        struct Written {
            #[serde(serialize_with = "as_text")]
            error: Option<RunError>,
        }
        let written = serde_json::to_string(&Written { error: Some(RunError::Stopped) }).unwrap();
        assert_eq!(written, r#"{"error":"the run stopped unexpectedly"}"#);
    }
}
