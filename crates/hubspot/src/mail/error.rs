//! What can go wrong sending a verification mail.

use std::fmt;

use crate::crm::HttpError;
use crate::crm::error::Cid;

/// A verification mail that was not sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The call failed; see [`HttpError`].
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The mail cannot be sent as given: the recipient is not one email
    /// address, or the send id is empty. Nothing was sent.
    #[error("failed to send the verification mail: {detail}")]
    InvalidMail {
        /// What is wrong (never the address itself).
        detail: String,
    },
    /// HubSpot accepted the request but will not deliver the mail: the send
    /// was canceled or its `sendResult` is a failure such as
    /// `INVALID_TO_ADDRESS` or `PREVIOUSLY_BOUNCED`.
    #[error(
        "failed to send the verification mail: hubspot reports {status}{} (status id {status_id}){}",
        SendResult(.send_result), Cid(.correlation_id)
    )]
    Rejected {
        /// `PENDING`, `PROCESSING`, `CANCELED` or `COMPLETE`.
        status: String,
        /// HubSpot's `sendResult`, when it gave one.
        send_result: Option<String>,
        /// The send's status id.
        status_id: String,
        /// HubSpot's correlation id.
        correlation_id: Option<String>,
    },
}

impl MailError {
    /// HubSpot's correlation id, for errors that came from a response.
    pub fn correlation_id(&self) -> Option<&str> {
        match self {
            MailError::Http(error) => error.correlation_id(),
            MailError::InvalidMail { .. } => None,
            MailError::Rejected { correlation_id, .. } => correlation_id.as_deref(),
        }
    }
}

/// ` INVALID_TO_ADDRESS` when HubSpot gave a send result.
struct SendResult<'a>(&'a Option<String>);

impl fmt::Display for SendResult<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(result) => write!(f, " {result}"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_message() {
        let error = MailError::Rejected {
            status: "COMPLETE".into(),
            send_result: Some("INVALID_TO_ADDRESS".into()),
            status_id: "s-1".into(),
            correlation_id: Some("c".into()),
        };
        assert_eq!(
            error.to_string(),
            "failed to send the verification mail: hubspot reports COMPLETE INVALID_TO_ADDRESS (status id s-1) (correlation id c)"
        );
        assert_eq!(error.correlation_id(), Some("c"));
    }
}
