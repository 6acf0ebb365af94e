//! The command line: argument parsing and what each command prints.
//!
//! `main.rs` only parses the arguments, calls [`run`] and turns the returned
//! [`Status`] into the process exit code.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{ConfigError, lint, parse};
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
    };
    // A closed stdout (`leakproof … | head`) is not the user's input being unusable,
    // but there is nothing left to report to either.
    result.unwrap_or(Status::UnusableInput)
}

fn config_check(args: &CheckArgs, out: &mut dyn Write, err: &mut dyn Write) -> std::io::Result<Status> {
    let loaded = Document::read(&args.file).and_then(|source| parse(&source).map(|config| (source, config)));
    let (source, config) = match loaded {
        Ok(loaded) => loaded,
        Err(ConfigError::Invalid(issues)) => {
            for issue in &issues {
                writeln!(err, "error: {issue}")?;
            }
            let s = if issues.len() == 1 { "" } else { "s" };
            writeln!(err, "{}: {} error{s}", args.file.display(), issues.len())?;
            return Ok(Status::UnusableInput);
        }
        Err(other) => {
            writeln!(err, "error: {other}")?;
            return Ok(Status::UnusableInput);
        }
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
