//! `leakproof run`: load scenario files, run them against an agent, report.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Status, report_unusable};
use crate::harness::report::{Collected, Report};
use crate::harness::runner::{SuiteOptions, run_suite};
use crate::harness::scenario::{Reach, Suite};
use crate::harness::{Scenario, scenario};

/// Arguments of `leakproof run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files or directories (searched recursively for *.yaml, skipping `configs/` and `fixtures/`).
    ///
    /// The files its scenarios name (`config:`, `fixtures:`, a signing-key file) must be
    /// inside its suite, after symbolic links are followed: for a relative path, the first
    /// directory it names (`scenarios/attacks` is in `scenarios`); for an absolute path,
    /// the directory given or, for a file, the directory it is in.
    #[arg(default_value = "scenarios")]
    pub paths: Vec<PathBuf>,
    /// Let scenario files name files outside their suite's directory (only for scenario
    /// files you trust: one from a pull request could read any file CI can).
    #[arg(long)]
    pub allow_outside_suite: bool,
    /// Test the agent at this base URL (the HTTP protocol of `leakproof agent serve`) instead of the reference agent in process.
    #[arg(long, value_name = "URL")]
    pub agent_url: Option<url::Url>,
    /// With --agent-url: give the agent one base URL for the CRM and the mail service,
    /// as HubSpot serves both from one host (the session start names it twice).
    #[arg(long, requires = "agent_url")]
    pub single_host: bool,
    /// Only check that the files are valid scenarios; run nothing.
    #[arg(long)]
    pub check: bool,
    /// How to print the report.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write the report as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Run each scenario this many times; the report gives pass^k and violation-free^k.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
    /// Only run scenarios whose path or name contains this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// How many runs at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: u32,
    /// Replay every run in a twin world whose secret values are replaced, and report any
    /// difference the customer could see as a leak (the default for the in-process agent; an
    /// agent over HTTP runs each world twice first, to show it is deterministic).
    #[arg(long, conflicts_with = "no_twin")]
    pub twin: bool,
    /// Do not run the twin-world check.
    #[arg(long)]
    pub no_twin: bool,
}

/// How `leakproof run` prints its report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Readable text: a line per scenario, findings explained, a summary.
    Text,
    /// The whole report as JSON, transcripts included.
    Json,
}

pub(super) fn run(args: &RunArgs, out: &mut dyn Write, err: &mut dyn Write) -> std::io::Result<Status> {
    let files = match scenario::discover_suites(&args.paths) {
        Ok(files) => files,
        Err(error) => return report_unusable(&error, err),
    };
    if files.is_empty() {
        // `--check` too: an empty suite checks nothing, and CI must not take that for a pass.
        writeln!(err, "error: no scenario file (*.yaml, *.yml) in {}", describe_paths(&args.paths))?;
        return Ok(Status::UnusableInput);
    }
    let mut scenarios = Vec::new();
    // Each scenario's file as reports name it on every machine (JUnit's test names).
    let mut stable_names = std::collections::HashMap::new();
    let mut unusable = 0;
    for file in &files {
        let suite = match Suite::of(&file.given) {
            Ok(suite) => suite,
            Err(error) => {
                writeln!(err, "error: failed to read {}: {error}", file.given.display())?;
                return Ok(Status::UnusableInput);
            }
        };
        stable_names.insert(file.path.clone(), suite.stable_name(&file.path));
        let reach = if args.allow_outside_suite { Reach::Anywhere } else { Reach::Within(suite) };
        match scenario::load_file_within(&file.path, &reach) {
            Ok(loaded) => scenarios.push(loaded),
            Err(error) => {
                unusable += 1;
                report_unusable(&error, err)?;
            }
        }
    }
    if unusable > 0 {
        writeln!(err, "{unusable} of {} scenario file(s) unusable; nothing was run", files.len())?;
        return Ok(Status::UnusableInput);
    }
    if let Some(filter) = &args.filter {
        scenarios.retain(|s| {
            s.name.contains(filter.as_str()) || s.path.to_string_lossy().contains(filter.as_str())
        });
    }
    if scenarios.is_empty() {
        // Only --filter empties it here; `run --check` agrees with `run`.
        writeln!(err, "error: no scenario to run in {}", describe_paths(&args.paths))?;
        return Ok(Status::UnusableInput);
    }
    if args.check {
        writeln!(out, "ok: {} scenario file(s) valid", scenarios.len())?;
        return Ok(Status::Ok);
    }

    let target = super::target(args.agent_url.as_ref(), args.single_host);
    let twin = if args.no_twin { false } else { args.twin || target.twin_by_default() };
    let options =
        SuiteOptions { target: target.clone(), repeat: args.repeat as usize, jobs: args.jobs as usize, twin };
    let scenarios: Vec<Arc<Scenario>> = scenarios.into_iter().map(Arc::new).collect();
    let total = (scenarios.len() * options.repeat) as u64;
    let progress = if args.format == Format::Text && std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} runs · {elapsed} · {msg}") {
        progress.set_style(style);
    }

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let started = Instant::now();
    let started_at = jiff::Timestamp::now();
    let results = runtime.block_on(run_suite(&scenarios, &options, |result| {
        progress.set_message(result.scenario.clone());
        progress.inc(1);
    }));
    progress.finish_and_clear();
    let collected = scenarios
        .iter()
        .zip(results)
        .map(|(scenario, results)| Collected {
            name: scenario.name.clone(),
            path: scenario.path.display().to_string(),
            file: stable_names
                .get(&scenario.path)
                .cloned()
                .unwrap_or_else(|| scenario.path.display().to_string()),
            results,
        })
        .collect();
    let report = Report::new(target.to_string(), options.repeat, collected, started_at, started.elapsed());

    match args.format {
        Format::Text => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            write!(out, "{}", report.text(color))?;
        }
        Format::Json => {
            let json = serde_json::to_string_pretty(&report).map_err(std::io::Error::other)?;
            writeln!(out, "{json}")?;
        }
    }
    if let Some(path) = &args.junit {
        let xml = report.junit().map_err(std::io::Error::other)?;
        if let Err(error) = std::fs::write(path, xml) {
            writeln!(err, "error: failed to write {}: {error}", path.display())?;
            return Ok(Status::UnusableInput);
        }
    }
    Ok(if report.passed() { Status::Ok } else { Status::CheckFailed })
}

fn describe_paths(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}
