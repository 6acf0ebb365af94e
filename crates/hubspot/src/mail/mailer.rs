//! The mail client: sends the verification link through HubSpot's transactional single-send v3 API.
//!
//! One call, `POST /marketing/v3/transactional/single-email/send`, with the
//! template id from the settings, the recipient, a `sendId` and the link in
//! `customProperties.verification_link`. The `sendId` makes the send
//! idempotent — HubSpot sends at most one mail per `sendId` — so a retry after
//! a timeout whose first attempt did land cannot mail the link twice.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::crm::http::{ApiRequest, DEFAULT_TIMEOUT, HttpClient, Transport, Verb, json_body};
use crate::crm::retry::{RetryPolicy, Sleeper};
use crate::crm::wire::{EmailSendStatusView, SingleSendMessage, SingleSendRequest};
use crate::mail::error::MailError;

/// The template's custom property the verification link goes in; the
/// template shows it as `{{ custom.verification_link }}`.
pub const VERIFICATION_LINK_PROPERTY: &str = "verification_link";

/// The send results that mean the mail is (or already was) on its way.
/// `IDEMPOTENT_IGNORE` is HubSpot's answer to a repeated `sendId` whose first
/// send went through.
const DELIVERING: [&str; 3] = ["SENT", "QUEUED", "IDEMPOTENT_IGNORE"];

/// Where the mail service is and which template to send.
///
/// ```
/// use leakproof_hubspot::mail::MailSettings;
///
/// let settings = MailSettings::new("http://127.0.0.1:8081".parse()?, "pat-na1-test", 4242);
/// assert_eq!(settings.from, None);
/// assert!(!format!("{settings:?}").contains("pat-na1-test"));
/// # Ok::<(), url::ParseError>(())
/// ```
#[derive(Clone)]
pub struct MailSettings {
    /// `https://api.hubapi.com` or a mock's base URL; a path prefix is kept.
    pub base_url: Url,
    /// The access token (scope `transactional-email`), sent as `Authorization: Bearer …`.
    pub token: String,
    /// The limit for one attempt, connecting to the last byte of the body.
    pub timeout: Duration,
    /// When to try again.
    pub retry: RetryPolicy,
    /// The transactional email template (`emailId`).
    pub email_id: i64,
    /// The sender, when not the template's own.
    pub from: Option<String>,
}

impl MailSettings {
    /// Settings with the default timeout and retry policy and the template's sender.
    pub fn new(base_url: Url, token: impl Into<String>, email_id: i64) -> Self {
        MailSettings {
            base_url,
            token: token.into(),
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            email_id,
            from: None,
        }
    }
}

impl fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailSettings")
            .field("base_url", &self.base_url.as_str())
            .field("token", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("email_id", &self.email_id)
            .field("from", &self.from)
            .finish()
    }
}

/// One verification mail: where it goes, the link, and the send's idempotency id.
///
/// ```
/// use leakproof_hubspot::mail::VerificationMail;
///
/// let mail = VerificationMail::new(
///     "ann@example.com",
///     "https://agent.example/verify/abc".parse()?,
///     "0123456789abcdef0123456789abcdef", // e.g. the token's nonce
/// )
/// .with_custom_property("agent_name", "Ava");
/// assert_eq!(mail.custom_properties["agent_name"], "Ava");
/// # Ok::<(), url::ParseError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct VerificationMail {
    /// The recipient: the address **on the contact record**, never one the
    /// customer merely typed.
    pub to: String,
    /// The verification link, sent as `customProperties.verification_link`.
    pub link: Url,
    /// HubSpot's `sendId`: one mail at most per id. Derive it from the
    /// token's nonce so that retries of one send share it and two sends never do.
    pub send_id: String,
    /// More template values, e.g. `agent_name`. A `verification_link` here is
    /// replaced by [`link`](Self::link).
    pub custom_properties: BTreeMap<String, serde_json::Value>,
    /// Contact property values for the template, e.g. `firstname`.
    pub contact_properties: BTreeMap<String, String>,
}

impl VerificationMail {
    /// A mail to `to` with `link`, under `send_id`.
    pub fn new(to: impl Into<String>, link: Url, send_id: impl Into<String>) -> Self {
        VerificationMail {
            to: to.into(),
            link,
            send_id: send_id.into(),
            custom_properties: BTreeMap::new(),
            contact_properties: BTreeMap::new(),
        }
    }

    /// Adds a custom template value.
    pub fn with_custom_property(
        mut self,
        name: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.custom_properties.insert(name.into(), value.into());
        self
    }

    /// Adds a contact property value for the template.
    pub fn with_contact_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.contact_properties.insert(name.into(), value.into());
        self
    }
}

/// HubSpot's acknowledgement of a send. Sends are asynchronous: the usual
/// first status is `PENDING` with no `send_result` yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendReceipt {
    /// The `sendId` the mail was sent under.
    pub send_id: String,
    /// The id to query the send's status with.
    pub status_id: String,
    /// `PENDING`, `PROCESSING` or `COMPLETE`.
    pub status: String,
    /// `SENT`, `QUEUED` or `IDEMPOTENT_IGNORE`, once known.
    pub send_result: Option<String>,
    /// When HubSpot took the request.
    pub requested_at: Option<String>,
    /// HubSpot's correlation id, from the header.
    pub correlation_id: Option<String>,
}

impl SendReceipt {
    /// Whether HubSpot ignored the send because one with the same `sendId`
    /// already went out.
    pub fn already_sent(&self) -> bool {
        self.send_result.as_deref() == Some("IDEMPOTENT_IGNORE")
    }
}

/// The transactional-email client.
///
/// Retries follow its [`RetryPolicy`]; repeating a send is safe because
/// every request carries the mail's `sendId`.
///
/// ```no_run
/// use leakproof_hubspot::mail::{MailSettings, Mailer, VerificationMail};
///
/// # async fn example() -> Result<(), leakproof_hubspot::mail::MailError> {
/// let mailer = Mailer::new(MailSettings::new("https://api.hubapi.com".parse().unwrap(), "pat-na1-…", 4242))?;
/// let mail = VerificationMail::new("ann@example.com", "https://agent.example/v/abc".parse().unwrap(), "abc");
/// let receipt = mailer.send_verification(&mail).await?;
/// println!("send {} is {}", receipt.status_id, receipt.status);
/// # Ok(())
/// # }
/// ```
pub struct Mailer {
    transport: Transport,
    email_id: i64,
    from: Option<String>,
}

impl fmt::Debug for Mailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailer")
            .field("base_url", &self.transport.base_url().as_str())
            .field("timeout", &self.transport.timeout())
            .field("retry", self.transport.retry())
            .field("email_id", &self.email_id)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A client for the settings' base URL, token and template.
    ///
    /// Fails with [`HttpError::InvalidSettings`](crate::crm::HttpError::InvalidSettings)
    /// for a base URL that is not http(s), a zero timeout, or a token that
    /// cannot be a header value.
    pub fn new(settings: MailSettings) -> Result<Self, MailError> {
        Mailer::with_http(settings, &HttpClient::new()?)
    }

    /// A client for the settings' base URL, token and template that sends
    /// with `http`, shared with other clients: no HTTP client is built.
    ///
    /// Fails as [`Mailer::new`] does.
    pub fn with_http(settings: MailSettings, http: &HttpClient) -> Result<Self, MailError> {
        let transport =
            Transport::new(http, &settings.base_url, &settings.token, settings.timeout, settings.retry)?;
        Ok(Mailer { transport, email_id: settings.email_id, from: settings.from })
    }

    /// Waits between attempts with `sleeper` instead of `tokio::time::sleep`.
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.transport.set_sleeper(sleeper);
        self
    }

    /// The base URL calls go to.
    pub fn base_url(&self) -> &Url {
        self.transport.base_url()
    }

    /// Sends `mail` with the settings' template.
    ///
    /// `Ok` means HubSpot took the send and has not reported it failed;
    /// [`MailError::Rejected`] means it will not be delivered.
    pub async fn send_verification(&self, mail: &VerificationMail) -> Result<SendReceipt, MailError> {
        let to = mail.to.trim();
        if !is_one_address(to) {
            return Err(MailError::InvalidMail {
                detail: "the recipient is not one email address".to_owned(),
            });
        }
        let send_id = mail.send_id.trim();
        if send_id.is_empty() {
            return Err(MailError::InvalidMail { detail: "the send id is empty".to_owned() });
        }
        let mut custom_properties = mail.custom_properties.clone();
        custom_properties.insert(
            VERIFICATION_LINK_PROPERTY.to_owned(),
            serde_json::Value::String(mail.link.as_str().to_owned()),
        );
        let request = SingleSendRequest {
            email_id: self.email_id,
            message: SingleSendMessage {
                to: to.to_owned(),
                from: self.from.clone(),
                send_id: Some(send_id.to_owned()),
                reply_to: None,
                cc: None,
                bcc: None,
            },
            contact_properties: (!mail.contact_properties.is_empty())
                .then(|| mail.contact_properties.clone()),
            custom_properties: Some(custom_properties),
        };
        let segments = ["marketing", "v3", "transactional", "single-email", "send"];
        let body = json_body(Verb::Post, &segments, &request)?;
        let reply = self
            .transport
            .call(&ApiRequest { verb: Verb::Post, segments: &segments, query: &[], body: Some(body) })
            .await?;
        let view: EmailSendStatusView = reply.json()?;
        if view.status_id.trim().is_empty() || view.status.trim().is_empty() {
            return Err(MailError::Http(reply.malformed("`statusId` or `status` is empty".to_owned())));
        }
        let failed = view.send_result.as_deref().is_some_and(|result| !DELIVERING.contains(&result));
        if view.status == "CANCELED" || failed {
            return Err(MailError::Rejected {
                status: view.status,
                send_result: view.send_result,
                status_id: view.status_id,
                correlation_id: reply.correlation_id,
            });
        }
        tracing::debug!(status = %view.status, send_result = ?view.send_result, "verification mail accepted");
        Ok(SendReceipt {
            send_id: send_id.to_owned(),
            status_id: view.status_id,
            status: view.status,
            send_result: view.send_result,
            requested_at: view.requested_at,
            correlation_id: reply.correlation_id,
        })
    }
}

/// Whether `to` looks like exactly one address: one `@` with text on both
/// sides, and no spaces, separators or control characters that could smuggle
/// in a second recipient.
fn is_one_address(to: &str) -> bool {
    let Some((local, domain)) = to.split_once('@') else { return false };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !to.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | ';' | '<' | '>'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_only() {
        assert!(is_one_address("ann@example.com"));
        for bad in
            ["", "ann", "@example.com", "ann@", "a@b@c", "a@b.c,b@c.d", "a b@c.d", "a@b.c\r\nBcc: x@y.z"]
        {
            assert!(!is_one_address(bad), "{bad:?}");
        }
    }
}
