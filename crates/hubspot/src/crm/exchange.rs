//! In-process exchanges: a service that answers the HubSpot clients' requests in this process, without a socket.
//!
//! An [`HttpClient::in_process`](super::HttpClient::in_process) client hands
//! each request to an [`Exchange`] instead of the network. Everything else the
//! clients do stays as it is over HTTP: URLs, the bearer header, the
//! per-attempt timeout (a [`ExchangeResponse::delay`] longer than it is a
//! timeout, after the timeout), retries and backoff, the body size limit,
//! parsing and error classification. The mocks implement it
//! ([`MockExchange`](leakproof_mocks::MockExchange)), so the harness runs the
//! in-process agent against them with no loopback round trips.
//!
//! ```
//! use std::sync::Arc;
//! use leakproof_hubspot::crm::{Exchange, ExchangeRequest, ExchangeResponse, HttpClient};
//!
//! /// Answers every request to `http://crm.test` with 503.
//! #[derive(Debug)]
//! struct Down;
//!
//! impl Exchange for Down {
//!     fn exchange(&self, request: &ExchangeRequest<'_>) -> Option<ExchangeResponse> {
//!         (request.url.host_str() == Some("crm.test")).then(|| ExchangeResponse::new(503))
//!     }
//! }
//!
//! let http = HttpClient::in_process(Arc::new(Down));
//! assert!(http.is_in_process());
//! ```

use std::fmt;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;
use url::Url;

/// A service that answers requests in process.
///
/// It sees each request as the server would (method, full URL, headers with
/// `authorization`, body) and answers as one would, or declines a URL it does
/// not serve. A declined request fails as an unreachable host does over HTTP
/// ([`HttpError::Connection`](super::HttpError::Connection), retried with
/// backoff); it never goes to the network instead, so the bearer token is
/// only ever handed to the services the exchange was built for.
///
/// The exchange is called when the request is sent: whatever it does (store a
/// write, capture a mail) is done then, even if its answer is delayed past
/// the client's timeout, as a server's handler runs when the request arrives.
pub trait Exchange: Send + Sync + fmt::Debug {
    /// The answer to `request`, or `None` when no service here answers at
    /// its URL.
    fn exchange(&self, request: &ExchangeRequest<'_>) -> Option<ExchangeResponse>;
}

/// One request handed to an [`Exchange`].
#[derive(Debug)]
pub struct ExchangeRequest<'a> {
    /// The method.
    pub method: &'a Method,
    /// The full URL, with the query.
    pub url: &'a Url,
    /// The request headers: `accept`, `user-agent`, `authorization` (marked
    /// sensitive) and, with a body, `content-type`.
    pub headers: &'a HeaderMap,
    /// The body; empty when there is none.
    pub body: &'a [u8],
}

/// An [`Exchange`]'s answer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExchangeResponse {
    /// The HTTP status code; one outside 100-999 is a broken answer
    /// ([`HttpError::Connection`](super::HttpError::Connection)).
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Vec<u8>,
    /// How long after the request the answer comes; the client waits for it
    /// with tokio's timer, and gives up after its per-attempt timeout if it
    /// is that long or longer.
    pub delay: Duration,
}

impl ExchangeResponse {
    /// An answer with `status`, no headers, no body, no delay.
    pub fn new(status: u16) -> ExchangeResponse {
        ExchangeResponse { status, ..ExchangeResponse::default() }
    }
}
