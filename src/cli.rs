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
    /// Run the reference customer agent.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Talk to the reference agent yourself, with the mocks running in the process.
    ///
    /// Each reply is followed by the decisions the agent made. Commands:
    /// /mail (mails sent), /open N (open the link in mail N), /channel CH
    /// (a new conversation on CH), /wait 20m (let time pass), /quit.
    Chat(ChatArgs),
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
        Command::Agent(AgentCommand::Serve(args)) => agent_serve(&args, out, err),
        Command::Chat(args) => chat(&args, &mut std::io::stdin().lock(), out, err),
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

fn agent_serve(args: &AgentServeArgs, out: &mut dyn Write, err: &mut dyn Write) -> std::io::Result<Status> {
    let default_config = match &args.config {
        Some(path) => match crate::config::load_file(path) {
            Ok(config) => Some(config),
            Err(error) => return report_unusable(&error, err),
        },
        None => None,
    };
    let listener = match std::net::TcpListener::bind(args.listen) {
        Ok(listener) => listener,
        Err(error) => {
            writeln!(err, "error: failed to listen on {}: {error}", args.listen)?;
            return Ok(Status::UnusableInput);
        }
    };
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    let public_url = match &args.public_url {
        Some(url) => url.clone(),
        None => match url::Url::parse(&format!("http://{address}/")) {
            Ok(url) => url,
            Err(error) => {
                writeln!(err, "error: failed to form the public URL: {error}")?;
                return Ok(Status::UnusableInput);
            }
        },
    };
    let options = crate::protocol::ServerOptions {
        default_config,
        public_url,
        crm_token: args.crm_token.clone(),
        mail_token: args.mail_token.clone(),
        email_id: args.email_id,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        writeln!(out, "leakproof agent: Ctrl-C stops")?;
        writeln!(out, "agent: http://{address}")?;
        out.flush()?;
        axum::serve(listener, crate::protocol::router(options))
            .with_graceful_shutdown(wait_for_shutdown())
            .await?;
        writeln!(out, "stopped")?;
        Ok(Status::Ok)
    })
}

fn chat(
    args: &ChatArgs,
    input: &mut dyn std::io::BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    use crate::agent::{Agent, AgentSettings, Visitor};
    use crate::clock::{Clock, ManualClock};
    use crate::mocks::{MockOptions, Mocks};

    let config = match crate::config::load_file(&args.config) {
        Ok(config) => config,
        Err(error) => return report_unusable(&error, err),
    };
    let fixtures = match crate::fixtures::load_file(&args.fixtures) {
        Ok(fixtures) => fixtures,
        Err(error) => return report_unusable(&error, err),
    };
    let clock = ManualClock::new(jiff::Timestamp::now());
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let options = MockOptions { clock: std::sync::Arc::new(clock.clone()), ..MockOptions::default() };
        let mocks = Mocks::start_with(fixtures.clone(), options).await?;
        let key = match crate::identity::token::SigningKey::random() {
            Ok(key) => key,
            Err(error) => {
                writeln!(err, "error: {error}")?;
                return Ok(Status::UnusableInput);
            }
        };
        let settings = AgentSettings {
            crm: crate::crm::CrmSettings::new(mocks.crm.base_url(), mocks.crm.token()),
            mail: crate::mail::MailSettings::new(mocks.mail.base_url(), mocks.mail.token(), 1),
            signing_key: key,
            config,
        };
        let agent = match Agent::new(settings) {
            Ok(agent) => agent,
            Err(error) => {
                writeln!(err, "error: {error}")?;
                return Ok(Status::UnusableInput);
            }
        };
        let visitor =
            Visitor { cookie: args.cookie.clone(), phone: args.phone.clone(), ..Visitor::default() };
        let mut channel = args.channel;
        let mut conversation = 1usize;
        writeln!(
            out,
            "leakproof chat: {} on {channel}, with mock CRM ({} contacts) and mail. /help lists commands.",
            agent_name(&agent),
            fixtures.contacts.len()
        )?;
        let mut line = String::new();
        loop {
            write!(out, "you> ")?;
            out.flush()?;
            line.clear();
            if input.read_line(&mut line)? == 0 {
                writeln!(out)?;
                break;
            }
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            let (command, argument) = text.split_once(' ').unwrap_or((text, ""));
            match command {
                "/quit" | "/exit" => break,
                "/help" => writeln!(out, "/mail  /open N  /channel CH  /wait 20m  /quit")?,
                "/mail" => {
                    let mails = mocks.mail.all();
                    if mails.is_empty() {
                        writeln!(out, "(no mail sent)")?;
                    }
                    for mail in mails {
                        let link = mail.link.as_ref().map(url::Url::as_str).unwrap_or("(no link)");
                        writeln!(out, "[{}] to {}: {link}", mail.index, mail.to)?;
                    }
                }
                "/open" => {
                    let mail = argument
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .and_then(|n| mocks.mail.all().into_iter().nth(n));
                    match mail.and_then(|mail| mail.link) {
                        Some(link) => {
                            let token = link.path().rsplit('/').next().unwrap_or_default().to_owned();
                            let outcome = agent.open_link(&token, clock.now()).await;
                            writeln!(out, "(link) {}", outcome.message)?;
                        }
                        None => writeln!(out, "(no such mail with a link; /mail lists them)")?,
                    }
                }
                "/channel" => match parse_channel(argument.trim()) {
                    Ok(next) => {
                        channel = next;
                        conversation += 1;
                        writeln!(out, "(a new conversation on {channel})")?;
                    }
                    Err(message) => writeln!(out, "({message})")?,
                },
                "/wait" => match argument.trim().parse::<jiff::SignedDuration>() {
                    Ok(duration) if duration > jiff::SignedDuration::ZERO => {
                        let now = clock.advance(duration);
                        writeln!(out, "(it is now {now})")?;
                    }
                    _ => writeln!(out, "(write it like /wait 20m)")?,
                },
                _ if command.starts_with('/') => {
                    writeln!(out, "(unknown command {command}; /help lists them)")?
                }
                _ => {
                    let id = crate::identity::ConversationId(format!("chat-{conversation}"));
                    let turn = agent.handle(&id, channel, &visitor, text, clock.now()).await;
                    for reply in &turn.replies {
                        writeln!(out, "{}> {}", agent_name(&agent), reply.replace('\n', "\n    "))?;
                    }
                    for event in &turn.events {
                        let json = serde_json::to_string(event).unwrap_or_default();
                        writeln!(out, "    · {json}")?;
                    }
                }
            }
        }
        Ok(Status::Ok)
    })
}

fn agent_name(agent: &crate::agent::Agent) -> String {
    let name = agent.name();
    name.split_whitespace().next().unwrap_or(name).to_owned()
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
