//! What can go wrong talking to HubSpot: [`HttpError`] for every call, [`CrmError`] for CRM reads and writes.
//!
//! Every error that came from a HubSpot response carries its correlation id
//! (from the `x-hubspot-correlation-id` header, else the error body), which is
//! what HubSpot support asks for. No error ever holds the bearer token, and
//! none holds a property value: a malformed body is described by where it
//! went wrong, never by what it said.

use std::fmt;
use std::time::Duration;

use crate::crm::wire::ErrorBody;
use leakproof_config::ObjectType;

/// One HubSpot operation, as errors and logs name it: `GET /crm/v3/objects/contacts/42`.
///
/// The path has no query string, so property names asked for stay out of
/// error messages too.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `GET`, `POST` or `PATCH`.
    pub method: &'static str,
    /// The path below the base URL, e.g. `/crm/v3/objects/contacts/search`.
    pub path: String,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// A failed HubSpot call, whichever API it was.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The settings cannot make a client: a base URL that is not http(s), a
    /// token that cannot be a header value, or a TLS setup failure.
    #[error("failed to set up the hubspot client: {detail}")]
    InvalidSettings {
        /// What is wrong (never the token itself).
        detail: String,
    },
    /// The request body could not be encoded as JSON.
    #[error("failed to encode the body of {endpoint}: {detail}")]
    InvalidRequest {
        /// The call.
        endpoint: Endpoint,
        /// The encoder's explanation.
        detail: String,
    },
    /// No complete response within the per-attempt timeout, on the last attempt.
    #[error("failed to call {endpoint}: no complete response within {timeout:?} (attempt {attempts})")]
    Timeout {
        /// The call.
        endpoint: Endpoint,
        /// Requests made, all timed out or failed.
        attempts: u32,
        /// The per-attempt limit.
        timeout: Duration,
    },
    /// The connection failed or broke off, on the last attempt.
    #[error("failed to call {endpoint}: {detail} (attempt {attempts})")]
    Connection {
        /// The call.
        endpoint: Endpoint,
        /// Requests made.
        attempts: u32,
        /// The transport's explanation.
        detail: String,
    },
    /// 401: the token is missing, invalid (`INVALID_AUTHENTICATION`) or
    /// expired (`EXPIRED_AUTHENTICATION`). Never retried.
    #[error("failed to call {endpoint}: hubspot rejected the access token{}{}", Category(.category), Cid(.correlation_id))]
    Unauthorized {
        /// The call.
        endpoint: Endpoint,
        /// HubSpot's error category, empty when the body had none.
        category: String,
        /// HubSpot's correlation id.
        correlation_id: Option<String>,
    },
    /// 429, and no retry was allowed: attempts ran out, the policy is
    /// `DAILY`, or the wait asked for exceeds `max_retry_after`.
    #[error(
        "failed to call {endpoint}: rate limited by hubspot{}{} after {attempts} attempt(s){}",
        Policy(.policy_name), RetryAfter(.retry_after), Cid(.correlation_id)
    )]
    RateLimited {
        /// The call.
        endpoint: Endpoint,
        /// Requests made.
        attempts: u32,
        /// `SECONDLY`, `TEN_SECONDLY_ROLLING` or `DAILY`, when HubSpot said.
        policy_name: Option<String>,
        /// The last `Retry-After`, when HubSpot sent one.
        retry_after: Option<Duration>,
        /// HubSpot's correlation id.
        correlation_id: Option<String>,
    },
    /// Any other unsuccessful status: a 4xx (not retried) or a 5xx on the
    /// last attempt.
    #[error("failed to call {endpoint}: hubspot answered {status}{}{} (attempt {attempts})", Summary(.error), Cid(.correlation_id))]
    Status {
        /// The call.
        endpoint: Endpoint,
        /// The HTTP status code.
        status: u16,
        /// Requests made.
        attempts: u32,
        /// HubSpot's error body, when it sent one that parses.
        error: Option<Box<ErrorBody>>,
        /// HubSpot's correlation id.
        correlation_id: Option<String>,
    },
    /// A successful status whose body is not what the API promises: not
    /// JSON, cut short, a required field missing or of the wrong type, an id
    /// that is not numeric, another record than the one asked for. Nothing of
    /// such a body is used. Never retried.
    #[error("failed to read the answer to {endpoint}: {detail}{}", Cid(.correlation_id))]
    Malformed {
        /// The call.
        endpoint: Endpoint,
        /// HubSpot's correlation id, from the header.
        correlation_id: Option<String>,
        /// Where the body went wrong (never a value from it).
        detail: String,
    },
}

impl HttpError {
    /// HubSpot's correlation id, for errors that came from a response.
    pub fn correlation_id(&self) -> Option<&str> {
        match self {
            HttpError::Unauthorized { correlation_id, .. }
            | HttpError::RateLimited { correlation_id, .. }
            | HttpError::Status { correlation_id, .. }
            | HttpError::Malformed { correlation_id, .. } => correlation_id.as_deref(),
            HttpError::InvalidSettings { .. }
            | HttpError::InvalidRequest { .. }
            | HttpError::Timeout { .. }
            | HttpError::Connection { .. } => None,
        }
    }

    /// The HTTP status HubSpot answered with, for errors that have one.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Unauthorized { .. } => Some(401),
            HttpError::RateLimited { .. } => Some(429),
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The call that failed; `None` for a client that could not be set up.
    pub fn endpoint(&self) -> Option<&Endpoint> {
        match self {
            HttpError::InvalidSettings { .. } => None,
            HttpError::InvalidRequest { endpoint, .. }
            | HttpError::Timeout { endpoint, .. }
            | HttpError::Connection { endpoint, .. }
            | HttpError::Unauthorized { endpoint, .. }
            | HttpError::RateLimited { endpoint, .. }
            | HttpError::Status { endpoint, .. }
            | HttpError::Malformed { endpoint, .. } => Some(endpoint),
        }
    }
}

/// A failed CRM read or write.
///
/// Transport, status, rate-limit, authentication and malformed-body failures
/// are [`CrmError::Http`]; the two below are CRM answers that are not failures
/// of the call but must not be read as a record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CrmError {
    /// The call failed; see [`HttpError`].
    #[error(transparent)]
    Http(#[from] HttpError),
    /// 404: the record does not exist (or is archived).
    #[error("failed to find {object} {id} in the crm{}", Cid(.correlation_id))]
    NotFound {
        /// The object type asked for.
        object: ObjectType,
        /// The record id asked for.
        id: u64,
        /// HubSpot's correlation id.
        correlation_id: Option<String>,
    },
    /// A search by email address matched more than one contact. The client
    /// never picks one: the caller must treat the customer as unmatched.
    #[error("failed to match one contact by email address: the crm holds {total} contacts with it{}", Cid(.correlation_id))]
    Ambiguous {
        /// How many contacts matched (at least two).
        total: u64,
        /// HubSpot's correlation id.
        correlation_id: Option<String>,
    },
}

impl CrmError {
    /// HubSpot's correlation id, for errors that came from a response.
    pub fn correlation_id(&self) -> Option<&str> {
        match self {
            CrmError::Http(error) => error.correlation_id(),
            CrmError::NotFound { correlation_id, .. } | CrmError::Ambiguous { correlation_id, .. } => {
                correlation_id.as_deref()
            }
        }
    }
}

/// ` (correlation id …)` when there is one.
pub(crate) struct Cid<'a>(pub(crate) &'a Option<String>);

impl fmt::Display for Cid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(id) => write!(f, " (correlation id {id})"),
            None => Ok(()),
        }
    }
}

/// ` (INVALID_AUTHENTICATION)` when the category is known.
struct Category<'a>(&'a str);

impl fmt::Display for Category<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() { Ok(()) } else { write!(f, " ({})", self.0) }
    }
}

/// ` (policy SECONDLY)` when HubSpot named one.
struct Policy<'a>(&'a Option<String>);

impl fmt::Display for Policy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(name) => write!(f, " (policy {name})"),
            None => Ok(()),
        }
    }
}

/// ` (retry after 60s)` when HubSpot sent `Retry-After`.
struct RetryAfter<'a>(&'a Option<Duration>);

impl fmt::Display for RetryAfter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(delay) => write!(f, " (retry after {delay:?})"),
            None => Ok(()),
        }
    }
}

/// ` VALIDATION_ERROR: message` from HubSpot's error body.
struct Summary<'a>(&'a Option<Box<ErrorBody>>);

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(body) = self.0 else { return Ok(()) };
        if !body.category.is_empty() {
            write!(f, " {}", body.category)?;
        }
        if !body.message.is_empty() {
            write!(f, ": {}", body.message)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> Endpoint {
        Endpoint { method: "GET", path: "/crm/v3/objects/contacts/7".into() }
    }

    #[test]
    fn messages_read_as_failed_to() {
        let error = HttpError::Status {
            endpoint: endpoint(),
            status: 400,
            attempts: 1,
            error: Some(Box::new(ErrorBody {
                category: "VALIDATION_ERROR".into(),
                message: "Property values were not valid".into(),
                ..ErrorBody::default()
            })),
            correlation_id: Some("abc".into()),
        };
        assert_eq!(
            error.to_string(),
            "failed to call GET /crm/v3/objects/contacts/7: hubspot answered 400 VALIDATION_ERROR: \
             Property values were not valid (correlation id abc) (attempt 1)"
        );
        let limited = HttpError::RateLimited {
            endpoint: endpoint(),
            attempts: 1,
            policy_name: Some("DAILY".into()),
            retry_after: None,
            correlation_id: None,
        };
        assert_eq!(
            limited.to_string(),
            "failed to call GET /crm/v3/objects/contacts/7: rate limited by hubspot (policy DAILY) after 1 attempt(s)"
        );
        let not_found = CrmError::NotFound { object: ObjectType::Ticket, id: 9, correlation_id: None };
        assert_eq!(not_found.to_string(), "failed to find ticket 9 in the crm");
    }

    #[test]
    fn accessors() {
        let error = HttpError::Unauthorized {
            endpoint: endpoint(),
            category: "EXPIRED_AUTHENTICATION".into(),
            correlation_id: Some("c".into()),
        };
        assert_eq!(error.status(), Some(401));
        assert_eq!(error.correlation_id(), Some("c"));
        assert_eq!(error.endpoint(), Some(&endpoint()));
        assert_eq!(CrmError::from(error).correlation_id(), Some("c"));
    }
}
