//! `leakproof fuzz`: generated conversations against an agent, failures shrunk and written as scenario files.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Status;
use crate::harness::Target;
use crate::harness::fuzz::{CaseError, FuzzOptions, FuzzReport, Progress, fuzz, write_failure_files};
use crate::harness::report::{by_check, twin_lines};

/// Arguments of `leakproof fuzz`.
#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// How many generated conversations to run.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub cases: u64,
    /// The run's seed; the same seed runs the same conversations. Default: drawn from the clock, and printed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Test the agent at this base URL (the HTTP protocol of `leakproof agent serve`) instead of the reference agent in process.
    #[arg(long, value_name = "URL")]
    pub agent_url: Option<url::Url>,
    /// With --agent-url: give the agent one base URL for the CRM and the mail service,
    /// as HubSpot serves both from one host (the session start names it twice).
    #[arg(long, requires = "agent_url")]
    pub single_host: bool,
    /// Where shrunk failures are written as scenario files.
    #[arg(long, value_name = "DIR", default_value = "scenarios/regressions")]
    pub out: PathBuf,
    /// How many conversations at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: u32,
    /// The most runs spent shrinking one failure.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub shrink_runs: u32,
    /// Replay every conversation in a twin world whose secret values are replaced, and report
    /// any difference the customer could see as a leak (the default for the in-process agent;
    /// an agent over HTTP runs each world twice first, to show it is deterministic).
    #[arg(long, conflicts_with = "no_twin")]
    pub twin: bool,
    /// Do not run the twin-world check.
    #[arg(long)]
    pub no_twin: bool,
}

pub(super) fn run(args: &FuzzArgs, out: &mut dyn Write, err: &mut dyn Write) -> std::io::Result<Status> {
    let target = super::target(args.agent_url.as_ref(), args.single_host);
    execute(args, target, std::io::stderr().is_terminal(), out, err)
}

/// Runs the fuzz command against `target`; `progress_bar` draws the bar on stderr.
pub fn execute(
    args: &FuzzArgs,
    target: Target,
    progress_bar: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    let seed = args.seed.unwrap_or_else(seed_from_clock);
    let twin = !args.no_twin && (args.twin || target.twin_by_default());
    let checks = if twin { ", twin-checked" } else { "" };
    writeln!(out, "fuzz: {} conversations against {target}{checks}, seed {seed}", args.cases)?;
    let options = FuzzOptions {
        cases: usize::try_from(args.cases).unwrap_or(usize::MAX),
        seed,
        target,
        jobs: args.jobs as usize,
        shrink_runs: args.shrink_runs as usize,
        stop_on: None,
        twin,
    };
    let bar = if progress_bar {
        ProgressBar::with_draw_target(Some(args.cases), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) =
        ProgressStyle::with_template("{bar:30} {pos}/{len} conversations · {per_sec} · {elapsed} · {msg}")
    {
        bar.set_style(style);
    }
    bar.set_message("0 failing");
    let ticker = bar.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let report = runtime.block_on(fuzz(&options, move |p: Progress| {
        ticker.set_position(p.done as u64);
        if p.failing > 0 {
            ticker.set_message(format!("{} failing", p.failing));
        }
    }));
    bar.finish_and_clear();
    let report = match report {
        Ok(report) => report,
        Err(error) => {
            writeln!(err, "error: the fuzz run could not start: {error}")?;
            return Ok(Status::UnusableInput);
        }
    };
    summarise(&report, args, &options.target, out, err)
}

fn summarise(
    report: &FuzzReport,
    args: &FuzzArgs,
    target: &Target,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    // The replay command names the agent the failure was found against.
    let hosts = if target.single_host() { " --single-host" } else { "" };
    let against = target.url().map(|url| format!(" --agent-url {url}{hosts}")).unwrap_or_default();
    for failure in &report.failures {
        writeln!(
            out,
            "\nFAIL {}{} in case {} (seed {}), shrunk from {} to {} customer steps in {} runs ({:.1}s)",
            failure.kind.as_str(),
            by_check(failure.kind, failure.check),
            failure.case,
            report.seed,
            failure.original_steps,
            failure.shrunk.customer_steps(),
            failure.shrink_runs,
            failure.shrink_time.as_secs_f64(),
        )?;
        let shown = failure
            .shrunk
            .result
            .findings
            .iter()
            .filter(|f| f.kind == failure.kind && f.check == failure.check);
        for finding in shown {
            writeln!(out, "  step {}: {}", finding.step, finding.message)?;
            match &finding.twin {
                Some(diff) => {
                    for line in twin_lines(diff) {
                        writeln!(out, "    {line}")?;
                    }
                }
                None => {
                    if let Some(excerpt) = &finding.excerpt {
                        writeln!(out, "    reply: {excerpt}")?;
                    }
                }
            }
        }
        if let Some(error) = &failure.shrunk.result.error {
            writeln!(out, "  {error}")?;
        }
        match write_failure_files(&args.out, report.seed, failure) {
            Ok(paths) => {
                let listed: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
                let (files, jobs) = (listed.join(" "), if listed.len() > 1 { " --jobs 1" } else { "" });
                let shown = if listed.len() > 1 {
                    format!("{} (the earlier session first)", listed.join(" and "))
                } else {
                    files.clone()
                };
                writeln!(out, "  written to {shown} (replay: leakproof run {files}{jobs}{against})")?
            }
            Err(error) => {
                writeln!(err, "error: could not write the shrunk case into {}: {error}", args.out.display())?
            }
        }
    }
    // The same trouble (an agent that cannot be reached) usually stops every case: once each,
    // with the first case it stopped and how many more.
    let mut errors: Vec<&CaseError> = report.errors.iter().collect();
    errors.sort_by_key(|e| e.case);
    let mut shown: Vec<(&CaseError, String, usize)> = Vec::new();
    for error in errors {
        let message = error.failure.to_string();
        match shown.iter_mut().find(|(_, first, _)| *first == message) {
            Some((_, _, more)) => *more += 1,
            None => shown.push((error, message, 0)),
        }
    }
    for (error, message, more) in shown {
        let also = if more > 0 { format!(" (and {more} more case(s))") } else { String::new() };
        writeln!(err, "error: case {}{also}: {message}", error.case)?;
    }
    let twin = report.twin.text();
    if !twin.is_empty() {
        writeln!(out, "\n{twin}")?;
    }
    let s = if report.failing == 1 { "" } else { "s" };
    writeln!(
        out,
        "\n{} conversations ({} customer steps) in {:.1}s: {} conversations/s; {} failing case{s}; seed {}",
        report.cases,
        report.steps,
        report.elapsed.as_secs_f64(),
        rate(report.rate()),
        report.failing,
        report.seed,
    )?;
    Ok(if report.failing == 0 { Status::Ok } else { Status::CheckFailed })
}

/// A rate to two significant figures or more: `1185`, `45`, `0.49`.
fn rate(per_second: f64) -> String {
    if per_second >= 10.0 { format!("{per_second:.0}") } else { format!("{per_second:.2}") }
}

/// A seed for a run that was given none.
fn seed_from_clock() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    now.as_secs() ^ u64::from(now.subsec_nanos())
}
