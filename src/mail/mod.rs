//! Sending mail: the client the agent sends verification links with, over HubSpot's transactional single-send v3, and the throttle that bounds how many go to one address.
//!
//! [`Mailer`] shares its transport with the [`crm`](crate::crm) client: the
//! same timeouts, [`RetryPolicy`], injectable [`Sleeper`] and [`HttpError`].

mod error;
mod mailer;
mod throttle;

pub use crate::crm::{HttpError, RetryPolicy, Sleeper};
pub use error::MailError;
pub use mailer::{MailSettings, Mailer, SendReceipt, VERIFICATION_LINK_PROPERTY, VerificationMail};
pub use throttle::{MAILS_PER_ADDRESS_PER_HOUR, MAILS_PER_CONVERSATION, MailThrottle};
