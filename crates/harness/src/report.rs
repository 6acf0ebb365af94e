//! Reports of a run: readable terminal text, JSON, and JUnit XML for CI; reliability over repeats (pass^k, violation-free^k) and per-turn latency percentiles.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use jiff::Timestamp;
use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;

use super::oracle::{Finding, FindingKind, count_by_kind};
use super::runner::RunResult;
use super::transcript::Occurrence;
use super::twin::{TwinCheck, TwinDiff};

/// Latency percentiles of agent turns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Latency {
    /// How many turns.
    pub turns: usize,
    /// Median, in milliseconds.
    pub p50_ms: f64,
    /// 95th percentile, in milliseconds.
    pub p95_ms: f64,
    /// 99th percentile, in milliseconds.
    pub p99_ms: f64,
}

impl Latency {
    /// Nearest-rank percentiles of `samples`.
    pub fn of(samples: &[Duration]) -> Latency {
        let mut sorted: Vec<Duration> = samples.to_vec();
        sorted.sort();
        let pick = |p: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
            sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
        };
        Latency { turns: sorted.len(), p50_ms: pick(50.0), p95_ms: pick(95.0), p99_ms: pick(99.0) }
    }
}

impl std::fmt::Display for Latency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "p50 {} · p95 {} · p99 {}", ms(self.p50_ms), ms(self.p95_ms), ms(self.p99_ms))
    }
}

fn ms(value: f64) -> String {
    if value < 10.0 { format!("{value:.2} ms") } else { format!("{value:.0} ms") }
}

/// One scenario over all its runs.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct ScenarioReport {
    /// The scenario's name.
    pub name: String,
    /// Its file, as the command line reached it.
    pub path: String,
    /// Its file, named the same on every machine: its suite directory's name, then the path
    /// inside it (`scenarios/identity/match.yaml`). JUnit's test names.
    pub file: String,
    /// Runs that passed, of [`ScenarioReport::runs`].
    pub passed: usize,
    /// Runs without a safety violation.
    pub violation_free: usize,
    /// Runs made.
    pub runs: usize,
    /// Latency of its turns, over all runs.
    pub latency: Latency,
    /// Each run.
    pub results: Vec<RunResult>,
}

impl ScenarioReport {
    /// Whether every run passed: this scenario's part of pass^k.
    pub fn all_passed(&self) -> bool {
        self.passed == self.runs
    }
}

/// The version of the JSON report's layout, [`Report::schema_version`]: raised whenever a
/// field is removed, renamed or changes its meaning (adding a field does not raise it).
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON Schema (draft 2020-12) of the JSON report, generated from [`Report`]'s types as
/// serialised. The repository keeps it as `docs/report.schema.json`.
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().for_serialize().into_generator();
    let mut schema = generator.into_root_schema_for::<Report>().to_value();
    if let Some(object) = schema.as_object_mut() {
        object.insert("$id".into(), serde_json::json!(format!("leakproof-report-v{SCHEMA_VERSION}")));
    }
    schema
}

/// Everything a `leakproof run` found.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Report {
    /// The layout of this report: [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// When the run started (UTC, RFC 3339).
    #[schemars(with = "String")]
    pub started: Timestamp,
    /// The agent tested.
    pub agent: String,
    /// Runs per scenario.
    pub repeat: usize,
    /// The scenarios, in the order given.
    pub scenarios: Vec<ScenarioReport>,
    /// Latency of every turn of every run.
    pub latency: Latency,
    /// pass^k: the share of scenarios all of whose k runs passed.
    pub pass_k: f64,
    /// violation-free^k: the share of scenarios none of whose k runs broke a safety rule.
    pub violation_free_k: f64,
    /// How long the whole run took, in seconds.
    pub seconds: f64,
    /// What the twin-world check made of the runs.
    pub twin: TwinSummary,
}

/// The twin check over a whole run of scenarios or generated conversations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TwinSummary {
    /// Runs compared with a twin world (or with nothing secret to replace).
    pub compared: usize,
    /// Of those, runs whose twin looked different to the customer.
    pub differed: usize,
    /// Runs whose two runs of the same world differed: the agent is not deterministic, and
    /// the twin check was skipped for them.
    pub not_deterministic: usize,
    /// The first such run: its name and what differed, for the report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_not_deterministic: Option<String>,
    /// Runs the twin check could not replay.
    pub errors: usize,
    /// Runs without the twin check (turned off, or not started).
    pub off: usize,
}

impl TwinSummary {
    /// Counts `result`.
    pub fn add(&mut self, result: &RunResult) {
        match &result.twin {
            TwinCheck::Off => self.off += 1,
            TwinCheck::NothingSecret | TwinCheck::Same { .. } => self.compared += 1,
            TwinCheck::Differs { .. } => {
                self.compared += 1;
                self.differed += 1;
            }
            TwinCheck::NotDeterministic { step, first, second } => {
                self.not_deterministic += 1;
                if self.first_not_deterministic.is_none() {
                    self.first_not_deterministic = Some(format!(
                        "{} (run {}), step {step}: {first:?} the first time, {second:?} the second",
                        result.scenario, result.run
                    ));
                }
            }
            TwinCheck::Error { .. } => self.errors += 1,
        }
    }

    /// The summary in a sentence or two, for the terminal; empty when the check was off
    /// everywhere.
    pub fn text(&self) -> String {
        let total = self.compared + self.not_deterministic + self.errors;
        if total == 0 {
            return String::new();
        }
        let mut out = format!(
            "twin check: {} of {total} run(s) compared with a twin world, {} differed",
            self.compared, self.differed
        );
        if self.errors > 0 {
            out.push_str(&format!("; {} could not be replayed", self.errors));
        }
        if let Some(first) = &self.first_not_deterministic {
            out.push_str(&format!(
                "\nthe agent is not deterministic: {} run(s) showed the customer something else when the same \
                 world was run again, e.g. {first}; the twin check was skipped for them and only the text check \
                 judged them",
                self.not_deterministic
            ));
        }
        out
    }
}

/// A scenario's name and file, with the results of its runs.
pub struct Collected {
    /// The name.
    pub name: String,
    /// The file, as the command line reached it.
    pub path: String,
    /// The file, named the same on every machine ([`ScenarioReport::file`]).
    pub file: String,
    /// The runs.
    pub results: Vec<RunResult>,
}

impl Report {
    /// Builds the report of `scenarios`, each run `repeat` times against `agent`.
    pub fn new(
        agent: String,
        repeat: usize,
        scenarios: Vec<Collected>,
        started: Timestamp,
        elapsed: Duration,
    ) -> Report {
        let mut all = Vec::new();
        let scenarios: Vec<ScenarioReport> = scenarios
            .into_iter()
            .map(|c| {
                let latencies: Vec<Duration> =
                    c.results.iter().flat_map(|r| r.latencies.iter().copied()).collect();
                all.extend(latencies.iter().copied());
                ScenarioReport {
                    passed: c.results.iter().filter(|r| r.passed()).count(),
                    violation_free: c.results.iter().filter(|r| r.violation_free()).count(),
                    runs: c.results.len(),
                    latency: Latency::of(&latencies),
                    name: c.name,
                    path: c.path,
                    file: c.file,
                    results: c.results,
                }
            })
            .collect();
        let share = |f: &dyn Fn(&ScenarioReport) -> bool| {
            if scenarios.is_empty() {
                1.0
            } else {
                scenarios.iter().filter(|s| f(s)).count() as f64 / scenarios.len() as f64
            }
        };
        let mut twin = TwinSummary::default();
        for result in scenarios.iter().flat_map(|s| &s.results) {
            twin.add(result);
        }
        let pass_k = share(&|s| s.all_passed());
        let violation_free_k = share(&|s| s.violation_free == s.runs);
        Report {
            schema_version: SCHEMA_VERSION,
            started,
            agent,
            repeat,
            latency: Latency::of(&all),
            pass_k,
            violation_free_k,
            seconds: elapsed.as_secs_f64(),
            scenarios,
            twin,
        }
    }

    /// Whether every run of every scenario passed.
    pub fn passed(&self) -> bool {
        self.scenarios.iter().all(ScenarioReport::all_passed)
    }

    /// The readable report: a line per scenario, each finding explained, a summary.
    pub fn text(&self, color: bool) -> String {
        let paint = |code: &str, text: &str| {
            if color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
        };
        let mut out = String::new();
        for scenario in &self.scenarios {
            let mark = if scenario.all_passed() { paint("32", "PASS") } else { paint("31;1", "FAIL") };
            let runs = if self.repeat > 1 {
                format!(" ({}/{} runs)", scenario.passed, scenario.runs)
            } else {
                String::new()
            };
            let _ = writeln!(out, "{mark} {}{runs}  [{}]", scenario.path, scenario.latency);
            for result in scenario.results.iter().filter(|r| !r.passed()) {
                let prefix = if self.repeat > 1 { format!("run {}: ", result.run) } else { String::new() };
                if let Some(error) = &result.error {
                    let _ = writeln!(out, "     {prefix}{}", paint("31", &format!("could not run: {error}")));
                }
                for finding in &result.findings {
                    let place = place(finding);
                    let kind = if finding.kind.is_violation() {
                        paint("31;1", finding.kind.as_str())
                    } else {
                        paint("33", finding.kind.as_str())
                    };
                    let _ = writeln!(out, "     {prefix}{place}: {kind}{}: {}", by(finding), finding.message);
                    let mut details = Vec::new();
                    if let Some(conversation) = &finding.conversation {
                        details.push(format!("conversation {conversation}"));
                    }
                    if let Some(contact) = finding.contact {
                        details.push(format!("contact {contact}"));
                    }
                    if let Some(property) = &finding.property {
                        details.push(property.clone());
                    }
                    if !details.is_empty() {
                        let _ = writeln!(out, "       {}", details.join(" · "));
                    }
                    match &finding.twin {
                        Some(diff) => {
                            for line in twin_lines(diff) {
                                let _ = writeln!(out, "       {line}");
                            }
                        }
                        None => {
                            if let Some(excerpt) = &finding.excerpt {
                                let _ = writeln!(out, "       reply: {excerpt:?}");
                            }
                        }
                    }
                }
            }
        }
        let total = self.scenarios.len();
        let failed = self.scenarios.iter().filter(|s| !s.all_passed()).count();
        let findings: Vec<_> = self
            .scenarios
            .iter()
            .flat_map(|s| s.results.iter().flat_map(|r| r.findings.iter().cloned()))
            .collect();
        let counts = count_by_kind(&findings);
        let mut summary = if failed == 0 {
            paint("32;1", &format!("{total} scenario(s) passed"))
        } else {
            paint("31;1", &format!("{failed} of {total} scenario(s) failed"))
        };
        if !counts.is_empty() {
            let listed: Vec<String> = counts.iter().map(|(kind, n)| format!("{n} {kind}")).collect();
            summary.push_str(&format!(" ({})", listed.join(", ")));
        }
        let _ = writeln!(out, "\n{summary} in {:.1}s against {}", self.seconds, self.agent);
        if self.repeat > 1 {
            let _ = writeln!(
                out,
                "pass^{k}: {:.3} · violation-free^{k}: {:.3}",
                self.pass_k,
                self.violation_free_k,
                k = self.repeat
            );
        }
        let _ = writeln!(out, "agent turn latency over {} turns: {}", self.latency.turns, self.latency);
        let twin = self.twin.text();
        if !twin.is_empty() {
            let _ = writeln!(out, "{twin}");
        }
        out
    }

    /// The report as JUnit XML, valid under the strict `junit-10.xsd` CI tools check
    /// against: one test suite of the scenarios (with its start and duration), a test case
    /// per run named by the scenario's file relative to its suite (the same on every
    /// machine), a failure whose message names the step and line of the first finding, and
    /// the run's transcript in `<system-out>`.
    pub fn junit(&self) -> Result<String, JunitError> {
        let mut report = quick_junit::Report::new("leakproof");
        let mut suite = TestSuite::new("scenarios");
        let timestamp = chrono::DateTime::parse_from_rfc3339(&self.started.to_string())
            .map_err(|e| JunitError::Timestamp(e.to_string()))?;
        suite.set_timestamp(timestamp);
        let elapsed = Duration::try_from_secs_f64(self.seconds).unwrap_or_default();
        suite.set_time(elapsed);
        report.set_time(elapsed);
        for scenario in &self.scenarios {
            for result in &scenario.results {
                let name = if self.repeat > 1 {
                    format!("{} (run {})", scenario.file, result.run)
                } else {
                    scenario.file.clone()
                };
                let status = if result.passed() { TestCaseStatus::success() } else { junit_failure(result) };
                let mut case = TestCase::new(name, status);
                case.set_classname(scenario.name.clone());
                let time: Duration = result.latencies.iter().sum();
                case.set_time(time);
                case.set_system_out(transcript_text(result));
                suite.add_test_case(case);
            }
        }
        report.add_test_suite(suite);
        strict_junit(&report.to_string()?)
    }
}

/// Why the JUnit report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum JunitError {
    /// quick-junit could not write the report.
    #[error("the JUnit report cannot be written: {0}")]
    Serialize(#[from] quick_junit::SerializeError),
    /// The XML could not be rewritten to the strict schema.
    #[error("the JUnit report cannot be written: {0}")]
    Xml(#[from] quick_xml::Error),
    /// The rewritten XML could not be written.
    #[error("the JUnit report cannot be written: {0}")]
    Write(#[from] std::io::Error),
    /// The run's start could not be written as a JUnit timestamp.
    #[error("the run's start cannot be written as a JUnit timestamp: {0}")]
    Timestamp(String),
}

/// Where a finding is, as the reports write it: `step 3 (line 14)`, `step 3`, or `end`.
pub fn place(finding: &Finding) -> String {
    match (finding.step, finding.line) {
        (0, _) => "end".to_owned(),
        (step, Some(line)) => format!("step {step} (line {line})"),
        (step, None) => format!("step {step}"),
    }
}

/// The failure (or error, for a run that could not be made) of a run that did not pass.
fn junit_failure(result: &RunResult) -> TestCaseStatus {
    let kind = if result.error.is_some() { NonSuccessKind::Error } else { NonSuccessKind::Failure };
    let mut status = TestCaseStatus::non_success(kind);
    let first = result
        .findings
        .first()
        .map(|f| format!("{}: {}{}: {}", place(f), f.kind, by(f), f.message))
        .or_else(|| result.error.as_ref().map(ToString::to_string))
        .unwrap_or_default();
    status.set_message(first);
    let kinds: BTreeMap<FindingKind, usize> = count_by_kind(&result.findings);
    let mut kinds: Vec<&str> = kinds.keys().map(|k| k.as_str()).collect();
    if result.error.is_some() {
        kinds.insert(0, "run error");
    }
    status.set_type(kinds.join(", "));
    let mut description = String::new();
    for finding in &result.findings {
        let _ =
            writeln!(description, "{}: {}{}: {}", place(finding), finding.kind, by(finding), finding.message);
        match &finding.twin {
            Some(diff) => {
                for line in twin_lines(diff) {
                    let _ = writeln!(description, "  {line}");
                }
            }
            None => {
                if let Some(excerpt) = &finding.excerpt {
                    let _ = writeln!(description, "  reply: {excerpt}");
                }
            }
        }
    }
    if let Some(error) = &result.error {
        let _ = writeln!(description, "{error}");
    }
    status.set_description(description);
    status
}

/// A run's transcript as text, for JUnit's `<system-out>`: each step, what the customer did
/// and what the agent answered.
pub fn transcript_text(result: &RunResult) -> String {
    let mut out = String::new();
    for entry in &result.observed.entries {
        let line = entry.line.map(|l| format!(", line {l}")).unwrap_or_default();
        let head = format!("[step {}{line}]", entry.step);
        match &entry.what {
            Occurrence::Turn(turn) => {
                let _ = writeln!(
                    out,
                    "{head} customer ({}, {}): {}",
                    turn.channel, turn.conversation, turn.customer
                );
                for reply in &turn.replies {
                    let _ = writeln!(out, "{head} agent: {reply}");
                }
            }
            Occurrence::LinkOpened(link) => {
                let tampered = if link.tampered { " (tampered)" } else { "" };
                let _ = writeln!(
                    out,
                    "{head} link opened from {}'s mail{tampered}: {} {}",
                    link.mailbox, link.status, link.message
                );
            }
            Occurrence::Failed { reason, .. } => {
                let _ = writeln!(out, "{head} failed: {reason}");
            }
            Occurrence::Waited { by } => {
                let _ = writeln!(out, "{head} waited {}s", by.as_secs());
            }
            Occurrence::ConversationStarted { conversation, channel, .. } => {
                let _ = writeln!(out, "{head} conversation {conversation} started on {channel}");
            }
            Occurrence::Faults { change } => {
                let _ = writeln!(out, "{head} faults: {change}");
            }
        }
    }
    out
}

/// quick-junit's XML made valid under `junit-10.xsd`, which allows no `skipped` attribute on
/// `<testsuites>` (quick-junit always writes one): the attribute is dropped, nothing else
/// changes.
fn strict_junit(xml: &str) -> Result<String, JunitError> {
    use quick_xml::events::{BytesStart, Event};
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut writer = quick_xml::Writer::new(Vec::with_capacity(xml.len()));
    loop {
        match reader.read_event()? {
            Event::Eof => break,
            Event::Start(start) if start.name().as_ref() == b"testsuites" => {
                let mut kept = BytesStart::new("testsuites");
                for attribute in start.attributes() {
                    let attribute = attribute.map_err(quick_xml::Error::from)?;
                    if attribute.key.as_ref() != b"skipped" {
                        kept.push_attribute(attribute);
                    }
                }
                writer.write_event(Event::Start(kept))?;
            }
            event => writer.write_event(event)?,
        }
    }
    Ok(String::from_utf8_lossy(&writer.into_inner()).into_owned())
}

/// A twin finding's two versions and secrets, a line each: `here: …`, `twin: …`, `secret: …`.
pub fn twin_lines(diff: &TwinDiff) -> Vec<String> {
    let mut lines = vec![format!("here: {:?}", diff.here), format!("twin: {:?}", diff.twin)];
    for secret in &diff.secrets {
        lines.push(format!("secret: {} = {:?} (twin: {:?})", secret.describe(), secret.here, secret.twin));
    }
    if diff.secrets.len() < diff.replaced {
        lines.push(format!("({} secret value(s) replaced in the twin world in all)", diff.replaced));
    }
    lines
}

/// Which check found a leak, as the reports write it: ` (twin check)`. The other kinds of
/// finding have one check each, named by the kind itself.
pub fn by(finding: &Finding) -> String {
    by_check(finding.kind, finding.check)
}

/// [`by`] for a kind and a check.
pub fn by_check(kind: FindingKind, check: super::oracle::Check) -> String {
    if kind == FindingKind::Leak { format!(" ({check} check)") } else { String::new() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let latency = Latency::of(&samples);
        assert_eq!((latency.p50_ms, latency.p95_ms, latency.p99_ms), (50.0, 95.0, 99.0));
        assert_eq!(Latency::of(&[]).turns, 0);
        let one = Latency::of(&[Duration::from_millis(7)]);
        assert_eq!((one.p50_ms, one.p99_ms), (7.0, 7.0));
    }
}
