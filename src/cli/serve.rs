//! `leakproof mocks serve` and `leakproof agent serve`: long-running servers on loopback, stopped by Ctrl-C or SIGTERM.

use std::io::Write;

use super::{AgentServeArgs, ServeArgs, Status, report_unusable};
use crate::config::SigningKeySource;
use crate::identity::token::SigningKey;

pub(super) fn mocks_serve(
    args: &ServeArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    use crate::mocks::{MockCrm, MockMail, MockOptions, Mocks};
    use crate::world::{Fixtures, GenerateOptions};

    let fixtures = match (&args.fixtures, args.seed) {
        (Some(path), _) => match crate::world::load_file(path) {
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
    let listeners = match (bind(args.crm_port), (!args.single_host).then(|| bind(args.mail_port))) {
        (Ok(crm), None) => (crm, None),
        (Ok(crm), Some(Ok(mail))) => (crm, Some(mail)),
        (Err(error), _) | (_, Some(Err(error))) => {
            writeln!(err, "error: failed to listen on 127.0.0.1: {error}")?;
            return Ok(Status::UnusableInput);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let _log = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("leakproof_mocks=info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
    runtime.block_on(async {
        // Listening for Ctrl-C and SIGTERM before the URLs are printed: a signal sent as soon
        // as they appear stops the server cleanly.
        let shutdown = Shutdown::listen()?;
        let options = MockOptions { token: args.token.clone(), ..MockOptions::default() };
        let Mocks { crm, mail } = match listeners {
            (crm, Some(mail)) => Mocks {
                crm: MockCrm::start(&fixtures, options.clone(), Some(crm)).await?,
                mail: MockMail::start(options, Some(mail)).await?,
            },
            (crm, None) => Mocks::start_single_host(&fixtures, options, Some(crm)).await?,
        };
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
        shutdown.wait().await;
        writeln!(
            out,
            "stopped after {} CRM and {} mail requests",
            crm.requests().len(),
            mail.requests().len()
        )?;
        Ok(Status::Ok)
    })
}

pub(super) fn agent_serve(
    args: &AgentServeArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<Status> {
    let default_config = match &args.config {
        Some(path) => match crate::config::load_file(path) {
            Ok(config) => Some(config),
            Err(error) => return report_unusable(&error, err),
        },
        None => None,
    };
    // The server's own key, loaded once before serving: a key that cannot be had stops the
    // server here rather than failing every session. An ephemeral key stays one per session.
    let signing_key = match (&args.config, &default_config) {
        (Some(path), Some(config)) if config.verification.signing_key != SigningKeySource::Ephemeral => {
            match SigningKey::load(&config.verification.signing_key) {
                Ok(key) => Some(key),
                Err(error) => {
                    writeln!(err, "error: {}: verification.signing_key: {error}", path.display())?;
                    return Ok(Status::UnusableInput);
                }
            }
        }
        _ => None,
    };
    let trusted_backends = if args.trust_backends.is_empty() {
        crate::agent::TrustedBackends::default()
    } else {
        crate::agent::TrustedBackends::new(args.trust_backends.clone())
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
    let options = crate::agent::ServerOptions {
        default_config,
        public_url,
        crm_token: args.crm_token.clone(),
        mail_token: args.mail_token.clone(),
        email_id: args.email_id,
        backend_timeout: args.backend_timeout.unsigned_abs(),
        signing_key,
        trusted_backends,
        max_sessions: args.max_sessions,
        idle_timeout: args.idle_timeout.unsigned_abs(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let shutdown = Shutdown::listen()?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        writeln!(out, "leakproof agent: Ctrl-C stops")?;
        writeln!(out, "agent: http://{address}")?;
        #[cfg(feature = "faulty-agents")]
        let router = match args.bug {
            Some(bug) => {
                writeln!(out, "bug planted: {bug:?}")?;
                crate::agent::faulty_router(options, bug)
            }
            None => crate::agent::router(options),
        };
        #[cfg(not(feature = "faulty-agents"))]
        let router = crate::agent::router(options);
        out.flush()?;
        axum::serve(listener, router).with_graceful_shutdown(shutdown.wait()).await?;
        writeln!(out, "stopped")?;
        Ok(Status::Ok)
    })
}

/// Ctrl-C, and SIGTERM where there is one (CI stops services that way), listened for from
/// the moment [`Shutdown::listen`] returns: a signal arriving before [`Shutdown::wait`] is
/// awaited is not lost, and does not kill the process.
pub(super) struct Shutdown {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Shutdown {
    /// Installs the listeners. Call it inside the runtime, before announcing anything.
    pub(super) fn listen() -> std::io::Result<Shutdown> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Shutdown {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Shutdown {})
        }
    }

    /// Resolves on the first of the signals (also one that arrived since [`Shutdown::listen`]).
    pub(super) async fn wait(self) {
        #[cfg(unix)]
        {
            let Shutdown { mut interrupt, mut terminate } = self;
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
