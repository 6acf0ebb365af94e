//! Talking to the CRM: HubSpot CRM v3 wire types and the client the agent reads and writes records with.
//!
//! - [`Crm`] searches a contact by email, reads records with chosen
//!   properties and associations, and updates properties, over HTTP against
//!   HubSpot or a mock ([`CrmSettings::base_url`]).
//! - [`HttpError`] and [`RetryPolicy`] are shared with the
//!   [`mail`](crate::mail) client: timeouts, bounded retries on 5xx and 429,
//!   typed errors that carry HubSpot's correlation id.
//! - [`HttpClient`] is the HTTP client both send with: build it once and
//!   share it (`Crm::with_http`, `Mailer::with_http`) when making many clients.
//!   [`HttpClient::in_process`] sends to an [`Exchange`] in this process
//!   instead of the network (the harness's mocks are one).
//! - [`wire`] holds the request and response bodies as HubSpot's specs define them.

pub mod wire;

mod client;
pub(crate) mod error;
mod exchange;
pub(crate) mod http;
mod record;
pub mod retry;

pub use client::{Crm, CrmObject, CrmSettings};
pub use error::{CrmError, Endpoint, HttpError};
pub use exchange::{Exchange, ExchangeRequest, ExchangeResponse};
pub use http::{CORRELATION_ID_HEADER, DEFAULT_TIMEOUT, HUBSPOT_API_BASE_URL, HttpClient};
pub use record::{HUBSPOTUTK, RecordId, WHATSAPP_PHONE, email_problem, is_email_shaped};
pub use retry::{RecordingSleeper, RetryPolicy, Sleeper, TokioSleeper, parse_retry_after};
