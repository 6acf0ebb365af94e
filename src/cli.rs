//! The command line: argument parsing and what each command prints.
//!
//! `main.rs` only parses the arguments, calls [`run`] and turns the returned
//! [`Status`] into the process exit code.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{lint, parse};
use crate::yaml::Document;

/// Leakproof: a reference customer agent that guards CRM data, and the harness that proves it.
#[derive(Debug, Parser)]
#[command(name = "leakproof", version, about, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with agent configurations.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run the mock HubSpot CRM and mail servers.
    #[command(subcommand)]
    Mocks(MocksCommand),
}

/// `leakproof mocks …`
#[derive(Debug, Subcommand)]
pub enum MocksCommand {
    /// Serve the mock CRM and mail service on loopback until Ctrl-C.
    ///
    /// Prints their base URLs and the bearer token, then logs each request.
    /// Point an agent you run yourself (or HubSpot's own client libraries) at
    /// them, and read what it did from the log.
    Serve(ServeArgs),
}

/// Arguments of `leakproof mocks serve`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("world").required(true).args(["fixtures", "seed"]))]
pub struct ServeArgs {
    /// The fixtures to seed the CRM with (YAML).
    #[arg(long, value_name = "FILE")]
    pub fixtures: Option<PathBuf>,
    /// Generate fixtures from this seed instead of reading a file.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// With --seed: how many contacts to generate.
    #[arg(long, default_value_t = 10, requires = "seed")]
    pub contacts: usize,
    /// With --seed: the agent configuration whose properties to fill.
    #[arg(long, value_name = "FILE", default_value = "scenarios/configs/default.yaml", requires = "seed")]
    pub config: PathBuf,
    /// The CRM's port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub crm_port: u16,
    /// The mail service's port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub mail_port: u16,
    /// The bearer token to accept.
    #[arg(long, default_value = crate::mocks::DEFAULT_TOKEN)]
    pub token: String,
}

/// `leakproof config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate an agent configuration and warn about risky settings.
    ///
    /// Prints `ok` and any warnings when the file is usable (exit 0), or every
    /// error with its file, line, column and setting (exit 2).
    Check(CheckArgs),
}

/// Arguments of `leakproof config check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The configuration file (YAML).
    pub file: PathBuf,
    /// Treat warnings as a failed check (exit 1), for CI gates.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// How a command ended; `main` maps each to an exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Everything held (exit 0).
    Ok,
    /// The input was usable and a check failed (exit 1).
    CheckFailed,
    /// The input could not be used (exit 2).
    UnusableInput,
}

impl Status {
    /// The process exit code for this status: 0, 1 or 2.
    pub const fn exit_code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::CheckFailed => 1,
            Status::UnusableInput => 2,
        }
    }
}

/// Runs `cli`, writing results to `out` and errors to `err`.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Status {
    let result = match cli.command {
        Command::Config(ConfigCommand::Check(args)) => config_check(&args, out, err),
        Command::Mocks(MocksCommand::Serve(args)) => mocks_serve(&args, out, err),
    };
    // A closed stdout (`leakproof … | head`) is not the user's input being unusable,
    // but there is nothing left to report to either.
    result.unwrap_or(Status::UnusableInput)
}

fn config_check(args: &CheckArgs, out: &mut dyn Write, err: &mut dyn Write) -> std::io::Result<Status> {
    let loaded = Document::read(&args.file).and_then(|source| parse(&source).map(|config| (source, config)));
    let (source, config) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => return report_unusable(&error, err),
    };
    let warnings = lint(&config, Some(&source));
    for warning in &warnings {
        writeln!(out, "warning: {warning}")?;
    }
    let s = if warnings.len() == 1 { "" } else { "s" };
    writeln!(
        out,
        "ok: {} ({} properties, {} warning{s})",
        source.name(),
        config.properties.len(),
        warnings.len()
    )?;
    Ok(if args.deny_warnings && !warnings.is_empty() { Status::CheckFailed } else { Status::Ok })
}

/// Prints every issue of an unusable input file and returns the status for it.
///
/// Each issue is one `error: FILE:LINE:COLUMN: FIELD: MESSAGE` line, then a count.
fn report_unusable(error: &crate::yaml::LoadError, err: &mut dyn Write) -> std::io::Result<Status> {
    match error {
        crate::yaml::LoadError::Invalid(issues) => {
            for issue in issues {
                writeln!(err, "error: {issue}")?;
            }
            let s = if issues.len() == 1 { "" } else { "s" };
            if let Some(first) = issues.first() {
                writeln!(err, "{}: {} error{s}", first.source, issues.len())?;
            }
        }
        other => writeln!(err, "error: {other}")?,
    }
    Ok(Status::UnusableInput)
}

fn mocks_serve(args: &ServeArgs, out: &mut dyn Write, err: &mut dyn Write) -> std::io::Result<Status> {
    use crate::fixtures::{Fixtures, GenerateOptions};
    use crate::mocks::{MockCrm, MockMail, MockOptions};

    let fixtures = match (&args.fixtures, args.seed) {
        (Some(path), _) => match crate::fixtures::load_file(path) {
            Ok(fixtures) => fixtures,
            Err(error) => return report_unusable(&error, err),
        },
        (None, Some(seed)) => match crate::config::load_file(&args.config) {
            Ok(config) => Fixtures::generate(seed, &GenerateOptions::for_config(&config, args.contacts)),
            Err(error) => return report_unusable(&error, err),
        },
        (None, None) => {
            writeln!(err, "error: give --fixtures FILE or --seed N")?;
            return Ok(Status::UnusableInput);
        }
    };
    let bind = |port: u16| std::net::TcpListener::bind(("127.0.0.1", port));
    let (crm_listener, mail_listener) = match (bind(args.crm_port), bind(args.mail_port)) {
        (Ok(crm), Ok(mail)) => (crm, mail),
        (Err(error), _) | (_, Err(error)) => {
            writeln!(err, "error: failed to listen on 127.0.0.1: {error}")?;
            return Ok(Status::UnusableInput);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let _log = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("leakproof::mocks=info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
    runtime.block_on(async {
        let options = MockOptions { token: args.token.clone(), ..MockOptions::default() };
        let crm = MockCrm::start(&fixtures, options.clone(), Some(crm_listener)).await?;
        let mail = MockMail::start(options, Some(mail_listener)).await?;
        writeln!(
            out,
            "leakproof mocks: {} contacts, {} tickets, {} companies; Ctrl-C stops",
            fixtures.contacts.len(),
            fixtures.tickets.len(),
            fixtures.companies.len()
        )?;
        writeln!(out, "crm: {}", crm.base_url().as_str().trim_end_matches('/'))?;
        writeln!(out, "mail: {}", mail.base_url().as_str().trim_end_matches('/'))?;
        writeln!(out, "token: {}", args.token)?;
        out.flush()?;
        wait_for_shutdown().await;
        writeln!(
            out,
            "stopped after {} CRM and {} mail requests",
            crm.requests().len(),
            mail.requests().len()
        )?;
        Ok(Status::Ok)
    })
}

/// Resolves on Ctrl-C, or on SIGTERM where there is one (CI stops services that way).
async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
