//! The command line: argument parsing and what each command prints.
//!
//! `main.rs` only parses the arguments, calls [`run`] and turns the returned
//! [`Status`] into the process exit code.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{lint, parse};
use crate::identity::check_signing_key;
use crate::yaml::Document;

mod chat;
mod fuzz;
mod run;
mod serve;

pub use fuzz::{FuzzArgs, execute as fuzz_with_target};
pub use run::RunArgs;

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
    /// Run scenario files against the reference agent, or any agent over HTTP.
    ///
    /// Every scenario gets fresh mocks and a fresh agent; the oracle judges
    /// each run for leaks, unauthorised writes, misdirected verification
    /// mails and email-capture violations, and checks the scenario's stated
    /// expectations. Exit 0: everything held; 1: a scenario failed; 2: a
    /// scenario file or an option is unusable.
    Run(RunArgs),
    /// Run generated conversations against an agent; shrink what fails into scenario files.
    ///
    /// Honest customers and attackers (asking for others' data, giving
    /// others' addresses, opening stale, replayed, tampered and foreign links,
    /// injection text, back-end outages) talk to the agent in generated
    /// worlds; the oracle judges every conversation. Each kind of finding is
    /// shrunk to a minimal conversation and written as a scenario file that
    /// `leakproof run` replays. Exit 0: nothing found; 1: something found.
    Fuzz(FuzzArgs),
    /// Work with agent configurations.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run the mock HubSpot CRM and mail servers.
    #[command(subcommand)]
    Mocks(MocksCommand),
    /// Run the reference customer agent.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Talk to the reference agent yourself, with the mocks running in the process.
    ///
    /// Each reply is followed by the decisions the agent made. Commands:
    /// /mail (mails sent), /open N (open the link in mail N), /channel CH
    /// (a new conversation on CH), /wait 20m (let time pass), /quit.
    Chat(ChatArgs),
    /// Print a shell completion script for leakproof.
    ///
    /// For example `leakproof completions bash > ~/.local/share/bash-completion/completions/leakproof`,
    /// or `leakproof completions zsh > "${fpath[1]}/_leakproof"`.
    Completions(CompletionsArgs),
}

/// Arguments of `leakproof completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `leakproof chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The agent configuration.
    #[arg(long, value_name = "FILE", default_value = "scenarios/configs/default.yaml")]
    pub config: PathBuf,
    /// The CRM world.
    #[arg(long, value_name = "FILE", default_value = "scenarios/fixtures/default.yaml")]
    pub fixtures: PathBuf,
    /// The channel: live_chat, whatsapp, facebook_messenger or email.
    #[arg(long, default_value = "live_chat", value_parser = parse_channel)]
    pub channel: crate::config::Channel,
    /// Live chat: come back as the visitor with this cookie.
    #[arg(long)]
    pub cookie: Option<String>,
    /// WhatsApp: write from this number.
    #[arg(long)]
    pub phone: Option<String>,
}

fn parse_channel(text: &str) -> Result<crate::config::Channel, String> {
    crate::config::Channel::ALL.into_iter().find(|channel| channel.as_str() == text).ok_or_else(|| {
        format!("unknown channel {text:?}: use live_chat, whatsapp, facebook_messenger or email")
    })
}

/// `leakproof agent …`
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Serve the reference agent behind the HTTP agent protocol until Ctrl-C.
    ///
    /// `POST /v1/sessions` starts a world (its configuration, CRM and mail
    /// base URLs), `POST /v1/sessions/{id}/messages` talks to the agent, and
    /// verification links point at `GET /v1/sessions/{id}/verify/{token}`.
    Serve(AgentServeArgs),
}

/// Arguments of `leakproof agent serve`.
#[derive(Debug, Args)]
pub struct AgentServeArgs {
    /// The configuration for sessions that send none.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// The address links point at, when it is not `http://{listen}/`.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<url::Url>,
    /// The CRM bearer token.
    #[arg(long, default_value = crate::mocks::DEFAULT_TOKEN)]
    pub crm_token: String,
    /// The mail service bearer token.
    #[arg(long, default_value = crate::mocks::DEFAULT_TOKEN)]
    pub mail_token: String,
    /// The transactional email template id of the verification mail.
    #[arg(long, default_value_t = 1)]
    pub email_id: i64,
    /// How long one CRM or mail request may take (each of up to 3 attempts): `5s`, `750ms`.
    /// The default keeps a turn whose backend hangs (3 attempts and their backoff) well within
    /// the harness's 30 s per step.
    #[arg(long, default_value = "5s", value_parser = parse_timeout)]
    pub backend_timeout: jiff::SignedDuration,
    /// A CRM or mail host sessions may name, `HOST` or `HOST:PORT` (repeatable; `loopback` for
    /// 127.0.0.0/8, ::1 and localhost). The server's tokens go to these hosts only; a session
    /// naming another is refused with 403. Without this flag, loopback only.
    #[arg(long = "trust-backend", value_name = "HOST[:PORT]")]
    pub trust_backends: Vec<crate::agent::TrustedBackend>,
    /// The most sessions held at once; a session beyond them is refused with 503 until one ends.
    #[arg(long, default_value_t = crate::agent::DEFAULT_MAX_SESSIONS, value_parser = parse_max_sessions)]
    pub max_sessions: usize,
    /// How long a session lives without a request before it is ended: `30m`, `90s` (at most 24h).
    #[arg(long, default_value = "30m", value_parser = parse_idle_timeout)]
    pub idle_timeout: jiff::SignedDuration,
    /// Plant one bug in every session's agent, to see what the harness makes of an agent
    /// that leaks. Only in a build with the `faulty-agents` feature.
    #[cfg(feature = "faulty-agents")]
    #[arg(long, value_enum)]
    pub bug: Option<crate::agent::faulty::Bug>,
}

fn parse_max_sessions(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
        _ => Err("must be a whole number from 1 to 1000000".to_owned()),
    }
}

/// A duration of more than 0 and at most `max`, written as `30m`, `90s` or `750ms`.
fn bounded_duration(text: &str, max: jiff::SignedDuration) -> Result<jiff::SignedDuration, String> {
    let duration: jiff::SignedDuration =
        text.parse().map_err(|e| format!("not a duration like 30m, 90s or 750ms: {e}"))?;
    if duration <= jiff::SignedDuration::ZERO || duration > max {
        return Err(format!("must be more than 0 and at most {max:#}"));
    }
    Ok(duration)
}

/// `--idle-timeout`: at most a day.
fn parse_idle_timeout(text: &str) -> Result<jiff::SignedDuration, String> {
    bounded_duration(text, jiff::SignedDuration::from_hours(24))
}

/// `--backend-timeout`: at most five minutes.
fn parse_timeout(text: &str) -> Result<jiff::SignedDuration, String> {
    bounded_duration(text, jiff::SignedDuration::from_mins(5))
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
    /// With --seed: how many contacts to generate, at most 100000.
    #[arg(long, default_value_t = 10, requires = "seed", value_parser = contact_count)]
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
    /// Serve the CRM and the mail service on one base URL (on --crm-port), as HubSpot
    /// serves both from one host: for an agent with one client and one base URL.
    #[arg(long, conflicts_with = "mail_port")]
    pub single_host: bool,
}

/// A `--contacts` count: at most [`MAX_CONTACTS`](crate::world::MAX_CONTACTS),
/// which generation would otherwise cap without a word.
fn contact_count(text: &str) -> Result<usize, String> {
    let max = crate::world::MAX_CONTACTS;
    let count: usize = text.parse().map_err(|err| format!("{text:?} is not a count of contacts: {err}"))?;
    if count > max {
        return Err(format!("{count} is more than {max}, the most contacts a fixture set holds"));
    }
    Ok(count)
}

/// `leakproof config …`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate an agent configuration and warn about risky settings.
    ///
    /// Also loads the signing key `verification.signing_key` names, as `agent serve` would:
    /// the environment variable must be set, the file readable (a relative path is read from
    /// the current directory). Prints `ok` and any warnings when the file is usable (exit 0),
    /// or every error with its file, line, column and setting (exit 2).
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
        Command::Mocks(MocksCommand::Serve(args)) => serve::mocks_serve(&args, out, err),
        Command::Agent(AgentCommand::Serve(args)) => serve::agent_serve(&args, out, err),
        Command::Chat(args) => chat::chat(&args, &mut std::io::stdin().lock(), out, err),
        Command::Run(args) => run::run(&args, out, err),
        Command::Fuzz(args) => fuzz::run(&args, out, err),
        Command::Completions(args) => completions(&args, out),
    };
    // A closed stdout (`leakproof … | head`) is not the user's input being unusable,
    // but there is nothing left to report to either.
    result.unwrap_or(Status::UnusableInput)
}

/// The agent `run` and `fuzz` test: the one at `agent_url` over HTTP (given one base URL for
/// both mocks with `single_host`), else the reference agent in process.
fn target(agent_url: Option<&url::Url>, single_host: bool) -> crate::harness::Target {
    match agent_url {
        Some(url) if single_host => crate::harness::Target::remote_single_host(url.clone()),
        Some(url) => crate::harness::Target::remote(url.clone()),
        None => crate::reference::target(),
    }
}

/// Writes the completion script for `args.shell`, generated from the command line's own definition.
fn completions(args: &CompletionsArgs, out: &mut dyn Write) -> std::io::Result<Status> {
    let mut command = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(args.shell, &mut command, "leakproof", out);
    out.flush()?;
    Ok(Status::Ok)
}

fn config_check(args: &CheckArgs, out: &mut dyn Write, err: &mut dyn Write) -> std::io::Result<Status> {
    let loaded = Document::read(&args.file).and_then(|source| {
        let config = parse(&source)?;
        check_signing_key(&config, &source)?;
        Ok((source, config))
    });
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
pub(super) fn report_unusable(
    error: &crate::yaml::LoadError,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_more_than_zero_and_bounded() {
        assert_eq!(parse_idle_timeout("30m"), Ok(jiff::SignedDuration::from_mins(30)));
        assert_eq!(parse_timeout("750ms"), Ok(jiff::SignedDuration::from_millis(750)));
        assert_eq!(parse_idle_timeout("25h").unwrap_err(), "must be more than 0 and at most 24h");
        assert_eq!(parse_timeout("6m").unwrap_err(), "must be more than 0 and at most 5m");
        assert_eq!(parse_timeout("0s").unwrap_err(), "must be more than 0 and at most 5m");
        assert!(parse_timeout("soon").unwrap_err().starts_with("not a duration like 30m, 90s or 750ms"));
    }
}
