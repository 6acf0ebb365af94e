//! The runner: each scenario in a fresh world (mocks seeded from its fixtures, an injected clock, a fresh agent), steps carried out in order, everything observable recorded, then judged by the oracle and the scenario's expectations.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde::Serialize;

use super::expect;
use super::oracle::{self, Finding, FindingKind, Skipped};
use super::scenario::{Action, FaultTarget, LinkChoice, MAIN_CONVERSATION, MailChoice, Scenario};
use super::target::{self, Session, Target};
use super::transcript::{Entry, LinkOpened, Observed, Turn, What};
use crate::agent::Visitor;
use crate::clock::{Clock, ManualClock};
use crate::config::Channel;
use crate::mocks::{CapturedMail, DEFAULT_TOKEN, MockOptions, Mocks};

/// One run of one scenario: what was observed, and what was found wrong.
#[derive(Clone, Debug, Serialize)]
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
    /// Why the run could not start, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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

/// Runs `scenario` once (run number `run`, from 1) against `target`.
pub async fn run(scenario: &Scenario, target: &Target, run: usize) -> RunResult {
    let mut result = RunResult {
        scenario: scenario.name.clone(),
        run,
        session: String::new(),
        findings: Vec::new(),
        skipped: Vec::new(),
        observed: Observed::default(),
        latencies: Vec::new(),
        error: None,
    };
    let clock = Arc::new(ManualClock::new(scenario.start));
    let options = MockOptions { token: DEFAULT_TOKEN.to_owned(), clock: clock.clone() };
    let mocks = match Mocks::start_with(scenario.fixtures.clone(), options).await {
        Ok(mocks) => mocks,
        Err(error) => {
            result.error = Some(format!("the mocks did not start: {error}"));
            return result;
        }
    };
    for fault in &scenario.faults {
        inject(&mocks, fault.clone());
    }
    let session_id = format!("{}-{run}-{}", slug(&scenario.name), unique());
    result.session.clone_from(&session_id);
    let session = match Session::start(target, &session_id, &scenario.config, &mocks, clock.now()).await {
        Ok(session) => session,
        Err(error) => {
            result.error = Some(format!("the agent did not start a session: {error}"));
            return result;
        }
    };

    let mut driver = Driver {
        scenario,
        mocks: &mocks,
        clock: &clock,
        session: &session,
        session_id: &session_id,
        conversations: BTreeMap::new(),
        entries: Vec::new(),
        latencies: Vec::new(),
    };
    driver.begin(0, None, MAIN_CONVERSATION, scenario.channel, scenario.visitor.clone());
    for (index, step) in scenario.steps.iter().enumerate() {
        driver.step(index + 1, step).await;
    }
    let Driver { entries, latencies, .. } = driver;

    result.observed = Observed {
        entries,
        crm_requests: mocks.crm.requests(),
        writes: mocks.crm.writes(),
        mails: mocks.mail.all(),
    };
    result.latencies = latencies;
    let judgement = oracle::judge(&scenario.config, &scenario.fixtures, &result.observed);
    result.findings = judgement.findings;
    result.skipped = judgement.skipped;
    result.findings.extend(expect::check(scenario, &result.observed, &mocks));
    result.findings.sort_by_key(|f| (f.step == 0, f.step));
    drop(session);
    // wiremock's servers block on a lock of their own when dropped: not on a runtime worker.
    let _ = tokio::task::spawn_blocking(move || drop(mocks)).await;
    result
}

struct Driver<'a> {
    scenario: &'a Scenario,
    mocks: &'a Mocks,
    clock: &'a ManualClock,
    session: &'a Session,
    session_id: &'a str,
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

impl Driver<'_> {
    fn marks(&self) -> Marks {
        Marks {
            crm: self.mocks.crm.requests().len(),
            writes: self.mocks.crm.writes().len(),
            mails: self.mocks.mail.all().len(),
        }
    }

    fn record(&mut self, step: usize, line: Option<usize>, at: Timestamp, before: Marks, what: What) {
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
        let what = What::ConversationStarted { conversation: name.to_owned(), channel, visitor };
        self.record(step, line, self.clock.now(), marks, what);
    }

    async fn step(&mut self, number: usize, step: &super::scenario::Step) {
        let line = step.position.map(|p| p.line);
        let now = self.clock.now();
        let before = self.marks();
        let what = match &step.action {
            Action::Say(text) => {
                let Some(conversation) = self.conversations.get(&step.conversation) else {
                    let reason = format!("no conversation named {:?} was started", step.conversation);
                    return self.record(number, line, now, before, failed(&step.conversation, reason));
                };
                let started = Instant::now();
                let answer = self
                    .session
                    .say(&conversation.id, conversation.channel, &conversation.visitor, text, now)
                    .await;
                let latency = started.elapsed();
                match answer {
                    Ok(answer) => {
                        self.latencies.push(latency);
                        What::Turn(Turn {
                            conversation: step.conversation.clone(),
                            channel: conversation.channel,
                            customer: text.clone(),
                            replies: answer.replies,
                            events: answer.events,
                            latency,
                        })
                    }
                    Err(reason) => failed(&step.conversation, format!("the agent did not answer: {reason}")),
                }
            }
            Action::OpenLink(choice) => match self.find_mail(choice) {
                Err(reason) => failed(&step.conversation, reason),
                Ok(mail) => match &mail.link {
                    None => failed(
                        &step.conversation,
                        format!("mail {} to {} holds no link", mail.index + 1, mail.to),
                    ),
                    Some(link) => {
                        let link = if choice.tamper { target::tamper(link) } else { link.clone() };
                        match self.session.open_link(&link, now).await {
                            Ok(opened) => What::LinkOpened(LinkOpened {
                                mailbox: choice.mailbox.clone(),
                                mail: mail.index,
                                tampered: choice.tamper,
                                status: opened.status,
                                message: opened.message,
                            }),
                            Err(reason) => {
                                failed(&step.conversation, format!("the link did not open: {reason}"))
                            }
                        }
                    }
                },
            },
            Action::Wait(by) => {
                self.clock.advance(*by);
                What::Waited { by: by.unsigned_abs() }
            }
            Action::NewConversation { name, channel, visitor } => {
                let channel = channel.unwrap_or(self.scenario.channel);
                let visitor = visitor.clone().unwrap_or_else(|| self.scenario.visitor.clone());
                return self.begin(number, line, name, channel, visitor);
            }
            Action::Inject(fault) => {
                inject(self.mocks, fault.clone());
                What::Faults { change: format!("injected {} on {:?}", fault.kind, fault.endpoint) }
            }
            Action::ClearFaults(target) => {
                if matches!(target, FaultTarget::Crm | FaultTarget::All) {
                    self.mocks.crm.clear_faults();
                }
                if matches!(target, FaultTarget::Mail | FaultTarget::All) {
                    self.mocks.mail.clear_faults();
                }
                What::Faults { change: format!("cleared the faults of {}", target_name(*target)) }
            }
        };
        self.record(number, line, now, before, what);
    }

    fn find_mail(&self, choice: &LinkChoice) -> Result<CapturedMail, String> {
        let mailbox = self.mocks.mail.mailbox(&choice.mailbox);
        let found = match choice.mail {
            MailChoice::Latest => mailbox.last(),
            MailChoice::First => mailbox.first(),
            MailChoice::Nth(n) => mailbox.get(n.saturating_sub(1)),
        };
        found.cloned().ok_or_else(|| match mailbox.len() {
            0 => format!("no mail was sent to {}", choice.mailbox),
            n => format!("{} has {n} mail(s), not a mail {}", choice.mailbox, describe_choice(choice.mail)),
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

fn failed(conversation: &str, reason: String) -> What {
    What::Failed { conversation: Some(conversation.to_owned()), reason }
}

fn target_name(target: FaultTarget) -> &'static str {
    match target {
        FaultTarget::Crm => "the CRM",
        FaultTarget::Mail => "the mail service",
        FaultTarget::All => "both mocks",
    }
}

/// Injects `fault` into the mock its endpoint belongs to.
fn inject(mocks: &Mocks, fault: crate::mocks::Fault) {
    if fault.endpoint == crate::mocks::Endpoint::SendMail {
        mocks.mail.inject(fault);
    } else if fault.endpoint == crate::mocks::Endpoint::Any {
        mocks.crm.inject(fault.clone());
        mocks.mail.inject(fault);
    } else {
        mocks.crm.inject(fault);
    }
}

/// Step failures become findings: a scenario whose step could not run fails.
pub(crate) fn step_failures(observed: &Observed) -> Vec<Finding> {
    observed
        .entries
        .iter()
        .filter_map(|entry| match &entry.what {
            What::Failed { conversation, reason } => Some(Finding {
                conversation: conversation.clone(),
                ..Finding::at(FindingKind::StepFailed, entry, reason.clone())
            }),
            _ => None,
        })
        .collect()
}

/// `name` in lowercase letters, digits and dashes, for ids.
fn slug(name: &str) -> String {
    let slug: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    slug.chars().take(60).collect()
}

/// A number not used before in this process, so sessions never collide.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
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
}

/// Runs every scenario `options.repeat` times, `options.jobs` at once, and
/// calls `done` as each run finishes (for progress). Results come back in the
/// order of `scenarios`, runs in order.
pub async fn run_suite(
    scenarios: &[Arc<Scenario>],
    options: &SuiteOptions,
    done: impl Fn(&RunResult),
) -> Vec<Vec<RunResult>> {
    let limit = Arc::new(tokio::sync::Semaphore::new(options.jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, scenario) in scenarios.iter().enumerate() {
        for run_number in 1..=options.repeat.max(1) {
            let scenario = Arc::clone(scenario);
            let target = options.target.clone();
            let limit = Arc::clone(&limit);
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                (index, run(&scenario, &target, run_number).await)
            });
        }
    }
    let mut results: Vec<Vec<RunResult>> = scenarios.iter().map(|_| Vec::new()).collect();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, result)) => {
                done(&result);
                if let Some(slot) = results.get_mut(index) {
                    slot.push(result);
                }
            }
            Err(error) => tracing::error!(%error, "a scenario run stopped unexpectedly"),
        }
    }
    for runs in &mut results {
        runs.sort_by_key(|r| r.run);
    }
    results
}
