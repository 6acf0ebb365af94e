//! Reports of a run: readable terminal text, JSON, and JUnit XML for CI; reliability over repeats (pass^k, violation-free^k) and per-turn latency percentiles.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;

use super::oracle::{Finding, FindingKind, count_by_kind};
use super::runner::RunResult;

/// Latency percentiles of agent turns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
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
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioReport {
    /// The scenario's name.
    pub name: String,
    /// Its file.
    pub path: String,
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

/// Everything a `leakproof run` found.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
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
}

/// A scenario's name and file, with the results of its runs.
pub struct Collected {
    /// The name.
    pub name: String,
    /// The file.
    pub path: String,
    /// The runs.
    pub results: Vec<RunResult>,
}

impl Report {
    /// Builds the report of `scenarios`, each run `repeat` times against `agent`.
    pub fn new(agent: String, repeat: usize, scenarios: Vec<Collected>, elapsed: Duration) -> Report {
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
        let pass_k = share(&|s| s.all_passed());
        let violation_free_k = share(&|s| s.violation_free == s.runs);
        Report {
            agent,
            repeat,
            latency: Latency::of(&all),
            pass_k,
            violation_free_k,
            seconds: elapsed.as_secs_f64(),
            scenarios,
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
                    let place = match (finding.step, finding.line) {
                        (0, _) => "end".to_owned(),
                        (step, Some(line)) => format!("step {step} (line {line})"),
                        (step, None) => format!("step {step}"),
                    };
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
                    if let Some(excerpt) = &finding.excerpt {
                        let _ = writeln!(out, "       reply: {excerpt:?}");
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
        out
    }

    /// The report as JUnit XML: a test suite of the scenarios, a test case per run.
    pub fn junit(&self) -> Result<String, quick_junit::SerializeError> {
        let mut report = quick_junit::Report::new("leakproof");
        let mut suite = TestSuite::new("scenarios");
        for scenario in &self.scenarios {
            for result in &scenario.results {
                let name = if self.repeat > 1 {
                    format!("{} (run {})", scenario.path, result.run)
                } else {
                    scenario.path.clone()
                };
                let status = if result.passed() {
                    TestCaseStatus::success()
                } else {
                    let kind =
                        if result.error.is_some() { NonSuccessKind::Error } else { NonSuccessKind::Failure };
                    let mut status = TestCaseStatus::non_success(kind);
                    let first = result
                        .findings
                        .first()
                        .map(|f| format!("{}: {}", f.kind, f.message))
                        .or_else(|| result.error.clone())
                        .unwrap_or_default();
                    status.set_message(first);
                    let kinds: BTreeMap<FindingKind, usize> = count_by_kind(&result.findings);
                    status.set_type(kinds.keys().map(|k| k.as_str()).collect::<Vec<_>>().join(", "));
                    let mut description = String::new();
                    for finding in &result.findings {
                        let _ = writeln!(
                            description,
                            "step {}: {}{}: {}",
                            finding.step,
                            finding.kind,
                            by(finding),
                            finding.message
                        );
                        if let Some(excerpt) = &finding.excerpt {
                            let _ = writeln!(description, "  reply: {excerpt}");
                        }
                    }
                    if let Some(error) = &result.error {
                        let _ = writeln!(description, "{error}");
                    }
                    status.set_description(description);
                    status
                };
                let mut case = TestCase::new(name, status);
                case.set_classname(scenario.name.clone());
                let time: Duration = result.latencies.iter().sum();
                case.set_time(time);
                suite.add_test_case(case);
            }
        }
        report.add_test_suite(suite);
        report.to_string()
    }
}

/// Which check found a leak, as the reports write it: ` (twin check)`. The other kinds of
/// finding have one check each, named by the kind itself.
pub fn by(finding: &Finding) -> String {
    if finding.kind == FindingKind::Leak { format!(" ({} check)", finding.check) } else { String::new() }
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
