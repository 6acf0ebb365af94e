//! Which backends the agent server hands its credentials to.
//!
//! A session names the CRM and the mail service its agent uses, and the agent
//! sends the server's bearer tokens there. A client must not be able to point
//! a session at a listener of its own and collect those tokens, so the server
//! only accepts backends on its allow-list: loopback by default, or exactly
//! the hosts given with `--trust-backend`.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use url::{Host, Url};

/// One entry of the allow-list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustedBackend {
    /// Any loopback host: `127.0.0.0/8`, `::1` and `localhost`, on any port.
    Loopback,
    /// One host, on one port or (`None`) on any.
    Host {
        /// The host, as a URL holds it (domains lowercased, addresses normalised).
        host: Host<String>,
        /// The only port trusted, if one was given.
        port: Option<u16>,
    },
}

impl FromStr for TrustedBackend {
    type Err = String;

    /// `loopback`, `HOST` or `HOST:PORT` (an IPv6 address in brackets: `[::1]:8080`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let usage = || format!("{text:?} is not HOST or HOST:PORT (or `loopback`)");
        if text.eq_ignore_ascii_case("loopback") {
            return Ok(TrustedBackend::Loopback);
        }
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (address, after) = rest.split_once(']').ok_or_else(usage)?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or_else(usage)?),
            };
            (&text[..address.len() + 2], port)
        } else {
            match text.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (text, None),
            }
        };
        let port = match port {
            Some(port) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
                Some(port.parse::<u16>().map_err(|_| usage())?)
            }
            Some(_) => return Err(usage()),
            None => None,
        };
        if host.is_empty() || host.contains(['/', '@', '?', '#', ' ']) {
            return Err(usage());
        }
        let host = Host::parse(host).map_err(|error| format!("{text:?}: {error}"))?;
        Ok(TrustedBackend::Host { host, port })
    }
}

impl fmt::Display for TrustedBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustedBackend::Loopback => f.write_str("loopback"),
            TrustedBackend::Host { host, port: Some(port) } => write!(f, "{host}:{port}"),
            TrustedBackend::Host { host, port: None } => write!(f, "{host}"),
        }
    }
}

/// The allow-list: the backends a session may name. The default trusts loopback only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedBackends(Vec<TrustedBackend>);

impl Default for TrustedBackends {
    fn default() -> Self {
        TrustedBackends(vec![TrustedBackend::Loopback])
    }
}

/// Why a session's backend is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    /// Not an `http` or `https` URL.
    #[error("the {role} base URL {url} is not http or https")]
    Scheme {
        /// `CRM` or `mail`.
        role: &'static str,
        /// The URL.
        url: String,
    },
    /// A host (and port) not on the allow-list.
    #[error(
        "the {role} base URL names {host_port}, which this server does not trust with its credentials; \
         start the server with --trust-backend {host_port} to allow it"
    )]
    Host {
        /// `CRM` or `mail`.
        role: &'static str,
        /// `host:port` as the URL names it.
        host_port: String,
    },
}

impl TrustedBackends {
    /// Exactly `entries` (none: nothing is trusted; [`TrustedBackend::Loopback`] for loopback).
    pub fn new(entries: Vec<TrustedBackend>) -> Self {
        TrustedBackends(entries)
    }

    /// The entries.
    pub fn entries(&self) -> &[TrustedBackend] {
        &self.0
    }

    /// Whether credentials may be sent to `url`, the base URL of the `role` (`CRM`, `mail`).
    ///
    /// # Errors
    ///
    /// [`Untrusted`] for a scheme other than http or https, or a host and port no entry names.
    pub fn check(&self, role: &'static str, url: &Url) -> Result<(), Untrusted> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Untrusted::Scheme { role, url: url.as_str().to_owned() });
        }
        let (Some(host), Some(port)) = (url.host(), url.port_or_known_default()) else {
            return Err(Untrusted::Scheme { role, url: url.as_str().to_owned() });
        };
        if self.0.iter().any(|entry| entry.admits(&host, port)) {
            return Ok(());
        }
        Err(Untrusted::Host { role, host_port: format!("{host}:{port}") })
    }
}

impl TrustedBackend {
    fn admits(&self, host: &Host<&str>, port: u16) -> bool {
        match self {
            TrustedBackend::Loopback => is_loopback(host),
            TrustedBackend::Host { host: trusted, port: trusted_port } => {
                trusted_port.is_none_or(|p| p == port) && same_host(trusted, host)
            }
        }
    }
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(domain) => domain.trim_end_matches('.').eq_ignore_ascii_case("localhost"),
        Host::Ipv4(address) => address.is_loopback(),
        Host::Ipv6(address) => {
            address.is_loopback() || address.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

fn same_host(trusted: &Host<String>, host: &Host<&str>) -> bool {
    let ip = |host: &Host<&str>| match host {
        Host::Ipv4(a) => Some(IpAddr::V4(*a)),
        Host::Ipv6(a) => Some(IpAddr::V6(*a)),
        Host::Domain(_) => None,
    };
    match (trusted, host) {
        (Host::Domain(trusted), Host::Domain(domain)) => {
            trusted.trim_end_matches('.').eq_ignore_ascii_case(domain.trim_end_matches('.'))
        }
        (Host::Ipv4(trusted), _) => ip(host) == Some(IpAddr::V4(*trusted)),
        (Host::Ipv6(trusted), _) => ip(host) == Some(IpAddr::V6(*trusted)),
        (Host::Domain(_), _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        text.parse().unwrap()
    }

    #[test]
    fn loopback_is_trusted_by_default_and_nothing_else() {
        let trust = TrustedBackends::default();
        for ok in [
            "http://127.0.0.1:1/",
            "http://127.9.9.9/",
            "https://[::1]:8/",
            "http://localhost:5/x",
            "http://LOCALHOST./",
        ] {
            assert_eq!(trust.check("CRM", &url(ok)), Ok(()), "{ok}");
        }
        for refused in
            ["http://10.0.0.1/", "http://example.com/", "http://localhost.example.com/", "http://[::2]/"]
        {
            assert!(matches!(trust.check("CRM", &url(refused)), Err(Untrusted::Host { .. })), "{refused}");
        }
        for scheme in ["ftp://127.0.0.1/", "file:///etc/passwd", "unix:/tmp/socket"] {
            assert!(matches!(trust.check("mail", &url(scheme)), Err(Untrusted::Scheme { .. })), "{scheme}");
        }
    }

    #[test]
    fn entries_name_a_host_and_maybe_a_port() {
        let trust = TrustedBackends::new(vec![
            "crm.example.com".parse().unwrap(),
            "127.0.0.1:9000".parse().unwrap(),
            "[::1]:443".parse().unwrap(),
        ]);
        assert_eq!(trust.check("CRM", &url("https://CRM.example.com/v3")), Ok(()));
        assert_eq!(trust.check("CRM", &url("http://crm.example.com:8080/")), Ok(()));
        assert_eq!(trust.check("CRM", &url("http://127.0.0.1:9000/")), Ok(()));
        assert_eq!(trust.check("CRM", &url("https://[::1]/")), Ok(()), "443 is https's own port");
        let refused = trust.check("CRM", &url("http://127.0.0.1:9001/")).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "the CRM base URL names 127.0.0.1:9001, which this server does not trust with its credentials; \
             start the server with --trust-backend 127.0.0.1:9001 to allow it"
        );
        assert!(trust.check("CRM", &url("http://localhost:9000/")).is_err(), "loopback is not in this list");
    }

    #[test]
    fn entries_parse_or_say_why_not() {
        assert_eq!("loopback".parse::<TrustedBackend>(), Ok(TrustedBackend::Loopback));
        assert_eq!("Example.COM:80".parse::<TrustedBackend>().unwrap().to_string(), "example.com:80");
        assert_eq!("[::1]".parse::<TrustedBackend>().unwrap().to_string(), "[::1]");
        for bad in
            ["", ":80", "host:", "host:x", "host:70000", "a/b", "user@host", "[::1", "[::1]x", "http://h"]
        {
            assert!(bad.parse::<TrustedBackend>().is_err(), "{bad:?}");
        }
    }
}
