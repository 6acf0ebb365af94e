//! The mock transactional-email service: captures each send, by recipient, with the link inside it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use jiff::Timestamp;
use serde::Serialize;
use url::Url;

use super::{
    Admission, Core, Endpoint, FaultKind, Handler, MockOptions, MockResponse, MockService, Shared,
    error_response, fault_response, hubspot_response, hubspot_time, launch, lock, unauthorized,
};
use leakproof_hubspot::crm::ExchangeRequest;
use leakproof_hubspot::crm::wire::{EmailSendStatusView, SingleSendRequest};

/// The path of HubSpot's transactional single-send v3.
pub const SEND_PATH: &str = "/marketing/v3/transactional/single-email/send";

/// Whether `method` `path` is the single send: v3's path, or a date-versioned one
/// (`/marketing/transactional/2026-03/single-email/send`).
fn is_send(method: &str, path: &str) -> bool {
    let path = path.strip_suffix('/').unwrap_or(path);
    let dated = path
        .strip_prefix("/marketing/transactional/")
        .and_then(|rest| rest.strip_suffix("/single-email/send"))
        .is_some_and(|version| crate::DATE_VERSIONS.contains(&version));
    method == "POST" && (path == SEND_PATH || dated)
}

/// Whether `path` is one of the mail service's, not the CRM's: on one host
/// (`mocks serve --single-host`) requests are told apart by it, as HubSpot's are.
pub(super) fn is_mail_path(path: &str) -> bool {
    path.starts_with("/marketing/")
}

/// The custom property the reference agent puts its link in; links in any
/// other custom property are found too, so external agents need not use it.
pub const LINK_PROPERTY: &str = "verification_link";

/// One mail the service accepted.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CapturedMail {
    /// Its place among all captured mails, from 0.
    pub index: usize,
    /// When it was sent, by the mock's clock.
    #[schemars(with = "String")]
    pub at: Timestamp,
    /// The recipient, as sent.
    pub to: String,
    /// The sender, if given.
    pub from: Option<String>,
    /// The transactional template.
    pub email_id: i64,
    /// The idempotency key, if given.
    pub send_id: Option<String>,
    /// Template values from the contact.
    pub contact_properties: BTreeMap<String, String>,
    /// Template values from the sender, where a verification link lives.
    pub custom_properties: BTreeMap<String, serde_json::Value>,
    /// The mail as the recipient would read it.
    pub text: String,
    /// The first http(s) link in it, if any: the verification link.
    pub link: Option<Url>,
    /// The send's status id.
    pub status_id: String,
}

/// The mock mail service's state: the mails it captured.
#[derive(Debug, Default)]
pub struct MailState(Mutex<Mails>);

/// The mails captured, and the request each `sendId` was first sent with.
#[derive(Debug, Default)]
struct Mails {
    list: Vec<CapturedMail>,
    /// `sendId` → (the mail's index, the request that sent it).
    send_ids: std::collections::HashMap<String, (usize, SingleSendRequest)>,
}

/// The mock mail service.
pub type MockMail = MockService<MailState>;

impl MockMail {
    /// Starts the mock mail service on `listener` or on a free loopback port.
    pub async fn start(
        options: MockOptions,
        listener: Option<std::net::TcpListener>,
    ) -> std::io::Result<MockMail> {
        Ok(launch(options, MailState::default(), listener).await)
    }

    /// Every mail captured, in order.
    pub fn all(&self) -> Vec<CapturedMail> {
        lock(&self.shared.state.0).list.clone()
    }

    /// How many mails were captured: `all().len()` without copying them.
    pub fn mails_len(&self) -> usize {
        lock(&self.shared.state.0).list.len()
    }

    /// How many mails were sent to `address` (compared without case):
    /// `mailbox(address).len()` without copying them.
    pub fn mailbox_len(&self, address: &str) -> usize {
        let address = address.trim();
        lock(&self.shared.state.0)
            .list
            .iter()
            .filter(|mail| mail.to.trim().eq_ignore_ascii_case(address))
            .count()
    }

    /// Makes the service as it was when started: no mails, an empty request
    /// log, no faults, request numbering from 0. See [`Mocks::reset`](super::Mocks::reset).
    pub fn reset(&self) {
        self.shared.core.reset();
        *lock(&self.shared.state.0) = Mails::default();
    }

    /// The mails sent to `address` (compared without case), in order.
    pub fn mailbox(&self, address: &str) -> Vec<CapturedMail> {
        let address = address.trim();
        lock(&self.shared.state.0)
            .list
            .iter()
            .filter(|mail| mail.to.trim().eq_ignore_ascii_case(address))
            .cloned()
            .collect()
    }

    /// The link in the latest mail to `address`.
    pub fn latest_link(&self, address: &str) -> Option<Url> {
        self.mailbox(address).into_iter().rev().find_map(|mail| mail.link)
    }
}

impl Handler for MailState {
    fn handle(shared: &Shared<Self>, request: &ExchangeRequest<'_>) -> MockResponse {
        Inner { core: &shared.core, mails: &shared.state.0 }.handle(request)
    }
}

/// The mail service's parts, borrowed for one request.
struct Inner<'a> {
    core: &'a Core,
    mails: &'a Mutex<Mails>,
}

/// Why a send was refused.
enum Refusal {
    /// 400: the request is not a send.
    Invalid(String),
    /// 409: its `sendId` was already used for another send.
    Conflict(String),
}

impl Inner<'_> {
    fn handle(&self, request: &ExchangeRequest<'_>) -> MockResponse {
        let mut entry = match self.core.admit(request, "mail request") {
            Admission::Serve(entry) => entry,
            Admission::Refuse(response, entry) => {
                if let Some(mut entry) = entry {
                    entry.endpoint = is_send(&entry.method, &entry.path).then_some(Endpoint::SendMail);
                    self.core.record(entry);
                }
                return response;
            }
        };
        let (served, correlation_id, now) = (entry.seq, entry.correlation_id.clone(), entry.at);
        let routed = is_send(&entry.method, &entry.path);
        entry.endpoint = routed.then_some(Endpoint::SendMail);
        let response = if !self.core.authorized(request) {
            entry.status = 401;
            unauthorized(&correlation_id, served)
        } else if !routed {
            entry.status = 404;
            error_response(
                404,
                "OBJECT_NOT_FOUND",
                format!(
                    "Unable to route {} {}: the mock mail service does not serve this endpoint; it serves \
                     POST {SEND_PATH} and POST /marketing/transactional/{{{}}}/single-email/send only.",
                    entry.method,
                    entry.path,
                    crate::DATE_VERSIONS.join(", ")
                ),
                &correlation_id,
                served,
                None,
            )
        } else {
            let fault = lock(&self.core.faults).strike(Endpoint::SendMail);
            match fault {
                // A delayed send is still sent; every other fault loses it.
                None | Some(FaultKind::Delay(_)) => {
                    let result = self.send(request.body, now, served);
                    let refused = |status: u16, category: &str, message: String, send_id: Option<&str>| {
                        let mut body = serde_json::json!({
                            "status": "error", "message": message, "correlationId": correlation_id,
                            "category": category,
                        });
                        if let Some(send_id) = send_id {
                            body["context"] = serde_json::json!({ "sendId": [send_id] });
                        }
                        (status, body)
                    };
                    let (status, body) = match result {
                        Ok(view) => (200, serde_json::to_value(view).unwrap_or_default()),
                        Err(Refusal::Invalid(message)) => refused(400, "VALIDATION_ERROR", message, None),
                        Err(Refusal::Conflict(send_id)) => {
                            let message = format!(
                                "sendId {send_id:?} was already used for another send; no more than one \
                                 email is sent per sendId"
                            );
                            refused(409, "CONFLICT", message, Some(&send_id))
                        }
                    };
                    entry.status = status;
                    match fault {
                        Some(kind) => {
                            entry.fault = Some(kind.clone());
                            fault_response(&kind, &correlation_id, served, || (status, body))
                        }
                        None => hubspot_response(status, &correlation_id, served).json(body),
                    }
                }
                Some(kind) => {
                    entry.fault = Some(kind.clone());
                    entry.status = match kind {
                        FaultKind::Status(code) => super::fault::answered_status(code),
                        FaultKind::Timeout => 504,
                        FaultKind::RateLimited { .. } => 429,
                        _ => 200,
                    };
                    let would_be =
                        || (200, serde_json::to_value(status_view(served, now)).unwrap_or_default());
                    fault_response(&kind, &correlation_id, served, would_be)
                }
            }
        };
        entry.log("mail request");
        self.core.record(entry);
        response
    }

    /// Captures a send. HubSpot's spec says of `sendId`: "No more than one
    /// email will be sent per sendId". So a send repeating an earlier one
    /// with the same `sendId` word for word (the recipient compared without
    /// case) sends nothing and answers the first send's status, as a retry
    /// expects; a send reusing the `sendId` for anything else (another
    /// recipient, template or values) sends nothing and is a 409 `CONFLICT`,
    /// never a silent drop. Only captured mails were sent.
    fn send(&self, body: &[u8], now: Timestamp, served: usize) -> Result<EmailSendStatusView, Refusal> {
        let send: SingleSendRequest = serde_json::from_slice(body)
            .map_err(|err| Refusal::Invalid(format!("Invalid input JSON: {err}")))?;
        let to = send.message.to.trim();
        if to.is_empty() || !to.contains('@') {
            return Err(Refusal::Invalid(format!(
                "message.to {:?} is not an email address",
                send.message.to
            )));
        }
        let mut mails = lock(self.mails);
        if let Some(send_id) = &send.message.send_id
            && let Some((index, first)) = mails.send_ids.get(send_id)
        {
            if !same_send(first, &send) {
                return Err(Refusal::Conflict(send_id.clone()));
            }
            let first = &mails.list[*index];
            return Ok(EmailSendStatusView {
                status_id: first.status_id.clone(),
                ..status_view(first.index, now)
            });
        }
        let index = mails.list.len();
        if let Some(send_id) = &send.message.send_id {
            mails.send_ids.insert(send_id.clone(), (index, send.clone()));
        }
        let view = status_view(served, now);
        let custom_properties = send.custom_properties.unwrap_or_default();
        let contact_properties = send.contact_properties.unwrap_or_default();
        let link = find_link(&custom_properties);
        let text = render_text(send.email_id, &contact_properties, &custom_properties);
        mails.list.push(CapturedMail {
            index,
            at: now,
            to: send.message.to.clone(),
            from: send.message.from.clone(),
            email_id: send.email_id,
            send_id: send.message.send_id.clone(),
            contact_properties,
            custom_properties,
            text,
            link,
            status_id: view.status_id.clone(),
        });
        Ok(view)
    }
}

/// Whether `again` repeats `first`: the same request, the recipient compared
/// trimmed and without case.
fn same_send(first: &SingleSendRequest, again: &SingleSendRequest) -> bool {
    let recipient = |send: &SingleSendRequest| send.message.to.trim().to_lowercase();
    let rest = |send: &SingleSendRequest| {
        let mut send = send.clone();
        send.message.to.clear();
        send
    };
    recipient(first) == recipient(again) && rest(first) == rest(again)
}

fn status_view(served: usize, now: Timestamp) -> EmailSendStatusView {
    EmailSendStatusView {
        status_id: format!("00000000-0000-4000-9000-{:012x}", served + 1),
        status: "PENDING".to_owned(),
        requested_at: Some(hubspot_time(now)),
        send_result: None,
    }
}

/// The verification link in a send's custom properties: the `verification_link`
/// value if it is a link, else the first http(s) URL in any value.
fn find_link(custom: &BTreeMap<String, serde_json::Value>) -> Option<Url> {
    let preferred = custom.get(LINK_PROPERTY).into_iter();
    let others = custom.iter().filter(|(key, _)| key.as_str() != LINK_PROPERTY).map(|(_, value)| value);
    preferred.chain(others).find_map(|value| match value {
        serde_json::Value::String(text) => first_url(text),
        other => first_url(&other.to_string()),
    })
}

fn first_url(text: &str) -> Option<Url> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '(' | ')'))
        .filter(|word| word.starts_with("http://") || word.starts_with("https://"))
        .find_map(|word| Url::parse(word.trim_end_matches(['.', ',', ';'])).ok())
}

/// The mail as its template would render it: what a person sees.
fn render_text(
    email_id: i64,
    contact: &BTreeMap<String, String>,
    custom: &BTreeMap<String, serde_json::Value>,
) -> String {
    let mut text = format!("[transactional email {email_id}]\n");
    for (key, value) in contact.iter() {
        text.push_str(&format!("{key}: {value}\n"));
    }
    for (key, value) in custom {
        let value = value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string());
        text.push_str(&format!("{key}: {value}\n"));
    }
    text
}
