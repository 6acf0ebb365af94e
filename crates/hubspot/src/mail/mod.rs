//! Sending mail: the client the agent sends verification links with, over HubSpot's transactional single-send v3.
//!
//! [`Mailer`] shares its transport with the [`crm`](crate::crm) client: the
//! same timeouts, [`RetryPolicy`], injectable [`Sleeper`] and [`HttpError`].

mod error;
mod mailer;

pub use crate::crm::{HttpError, RetryPolicy, Sleeper};
pub use error::MailError;
pub use mailer::{MailSettings, Mailer, SendReceipt, VERIFICATION_LINK_PROPERTY, VerificationMail};
