//! Fault injection: what goes wrong, on which endpoint, for how many calls.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The endpoints of the mocks, as faults and the request log name them. Each covers its
/// date-versioned paths too (`/crm/objects/2026-03/contacts/search` is [`Endpoint::Search`]).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `POST /crm/v3/objects/contacts/search` (and the other objects' searches).
    Search,
    /// `GET /crm/v3/objects/contacts/{id}`.
    GetContact,
    /// `GET /crm/v3/objects/tickets/{id}`.
    GetTicket,
    /// `GET /crm/v3/objects/companies/{id}`.
    GetCompany,
    /// `PATCH /crm/v3/objects/contacts/{id}`.
    UpdateContact,
    /// `PATCH /crm/v3/objects/tickets/{id}`.
    UpdateTicket,
    /// `PATCH /crm/v3/objects/companies/{id}`.
    UpdateCompany,
    /// `GET /crm/v3/objects/contacts` (and the other objects' lists): a page of records.
    List,
    /// `POST /crm/v3/objects/contacts/batch/read` (and the other objects').
    BatchRead,
    /// `GET /crm/v4/objects/{type}/{id}/associations/{toType}`.
    Associations,
    /// `POST /crm/v3/associations/{type}/{toType}/batch/read`, and v4's.
    AssociationsBatchRead,
    /// `GET /crm/v3/properties/{type}` and `…/{type}/{name}`.
    Properties,
    /// `POST /marketing/v3/transactional/single-email/send`.
    SendMail,
    /// Every endpoint of the server the fault is injected into.
    Any,
}

impl Endpoint {
    /// Whether a fault for `self` applies to a request to `endpoint`.
    pub fn covers(self, endpoint: Endpoint) -> bool {
        self == Endpoint::Any || self == endpoint
    }

    /// The name used in scenario files and reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Endpoint::Search => "search",
            Endpoint::GetContact => "get_contact",
            Endpoint::GetTicket => "get_ticket",
            Endpoint::GetCompany => "get_company",
            Endpoint::UpdateContact => "update_contact",
            Endpoint::UpdateTicket => "update_ticket",
            Endpoint::UpdateCompany => "update_company",
            Endpoint::List => "list",
            Endpoint::BatchRead => "batch_read",
            Endpoint::Associations => "associations",
            Endpoint::AssociationsBatchRead => "associations_batch_read",
            Endpoint::Properties => "properties",
            Endpoint::SendMail => "send_mail",
            Endpoint::Any => "any",
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// HubSpot's rate-limit policies, as a 429 body's `policyName` names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RateLimitPolicy {
    /// The per-second limit; clients retry after about a second.
    Secondly,
    /// The burst limit over a rolling ten seconds.
    TenSecondlyRolling,
    /// The daily limit; retrying the same day is pointless.
    Daily,
}

impl RateLimitPolicy {
    /// The `policyName` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            RateLimitPolicy::Secondly => "SECONDLY",
            RateLimitPolicy::TenSecondlyRolling => "TEN_SECONDLY_ROLLING",
            RateLimitPolicy::Daily => "DAILY",
        }
    }

    /// The message HubSpot sends with it; the official Node client keys its
    /// retry on the secondly one, word for word.
    pub const fn message(self) -> &'static str {
        match self {
            RateLimitPolicy::Secondly => "You have reached your secondly limit.",
            RateLimitPolicy::TenSecondlyRolling => "You have reached your ten_secondly_rolling limit.",
            RateLimitPolicy::Daily => "You have reached your daily limit.",
        }
    }
}

/// What goes wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultKind {
    /// Answer with this status and HubSpot's error body; the request is not applied. An
    /// error status, 400 to 599: files giving another are refused when read.
    Status(#[serde(deserialize_with = "error_status")] u16),
    /// Apply the request, but answer this much later.
    #[serde(with = "humane_duration")]
    #[schemars(with = "String")]
    Delay(Duration),
    /// Never answer in any reasonable time (an hour); the request is not applied.
    Timeout,
    /// Answer 200 with a body that is not JSON; the request is not applied.
    Malformed,
    /// Answer 200 with the first half of the right JSON body; the request is not applied.
    Truncated,
    /// Answer 429 with HubSpot's rate-limit body; the request is not applied.
    RateLimited {
        /// The `Retry-After` header in seconds, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after: Option<u64>,
        /// The `policyName` in the body.
        #[serde(default = "default_policy")]
        policy: RateLimitPolicy,
    },
}

/// The lowest and highest status a [`FaultKind::Status`] may have.
pub const ERROR_STATUSES: std::ops::RangeInclusive<u16> = 400..=599;

/// The status a [`FaultKind::Status`] of `code` answers with: `code` when it is an error
/// status, otherwise 500 (a fault built in code; files giving one are refused when read).
pub fn answered_status(code: u16) -> u16 {
    if ERROR_STATUSES.contains(&code) { code } else { 500 }
}

fn error_status<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<u16, D::Error> {
    let code = u16::deserialize(deserializer)?;
    if ERROR_STATUSES.contains(&code) {
        Ok(code)
    } else {
        Err(serde::de::Error::custom(format!(
            "status {code} is not an error status: a fault answers with 400 to 599"
        )))
    }
}

fn default_policy() -> RateLimitPolicy {
    RateLimitPolicy::Secondly
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::Status(code) => write!(f, "status {code}"),
            FaultKind::Delay(delay) => write!(f, "delay {delay:?}"),
            FaultKind::Timeout => f.write_str("timeout"),
            FaultKind::Malformed => f.write_str("malformed body"),
            FaultKind::Truncated => f.write_str("truncated body"),
            FaultKind::RateLimited { retry_after: Some(s), policy } => {
                write!(f, "429 {} (Retry-After: {s})", policy.as_str())
            }
            FaultKind::RateLimited { retry_after: None, policy } => write!(f, "429 {}", policy.as_str()),
        }
    }
}

/// How long a fault lasts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Times {
    /// Every matching call.
    #[default]
    Always,
    /// The first N matching calls, then the endpoint works again.
    First(u32),
}

/// One injected fault.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Where.
    pub endpoint: Endpoint,
    /// What.
    pub kind: FaultKind,
    /// For how long.
    #[serde(default)]
    pub times: Times,
}

impl Fault {
    /// `kind` on every call to `endpoint`.
    pub fn always(endpoint: Endpoint, kind: FaultKind) -> Self {
        Fault { endpoint, kind, times: Times::Always }
    }

    /// `kind` on the first `n` calls to `endpoint`.
    pub fn first(n: u32, endpoint: Endpoint, kind: FaultKind) -> Self {
        Fault { endpoint, kind, times: Times::First(n) }
    }
}

/// The faults injected into one server, with what is left of each.
#[derive(Debug, Default)]
pub(crate) struct FaultPlan {
    active: Vec<(Fault, Option<u32>)>,
}

impl FaultPlan {
    pub(crate) fn add(&mut self, fault: Fault) {
        let left = match fault.times {
            Times::Always => None,
            Times::First(n) => Some(n),
        };
        self.active.push((fault, left));
    }

    pub(crate) fn clear(&mut self) {
        self.active.clear();
    }

    /// The fault that strikes this call to `endpoint`, if any: the first one
    /// injected that covers it and has calls left. Using it counts one call.
    pub(crate) fn strike(&mut self, endpoint: Endpoint) -> Option<FaultKind> {
        let (fault, left) = self
            .active
            .iter_mut()
            .find(|(fault, left)| fault.endpoint.covers(endpoint) && *left != Some(0))?;
        if let Some(left) = left {
            *left -= 1;
        }
        Some(fault.kind.clone())
    }
}

/// Durations written the way people write them: `250ms`, `2s`, `1m`.
mod humane_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de};

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        let signed = jiff::SignedDuration::try_from(*duration).map_err(serde::ser::Error::custom)?;
        serializer.collect_str(&format_args!("{signed:#}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(deserializer)?;
        let signed: jiff::SignedDuration = text.trim().parse().map_err(|_| {
            de::Error::custom(format_args!("invalid duration {text:?}: write it like `250ms`, `2s` or `1m`"))
        })?;
        Duration::try_from(signed)
            .map_err(|_| de::Error::custom(format_args!("invalid duration {text:?}: must not be negative")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_n_then_healthy_and_first_match_wins() {
        let mut plan = FaultPlan::default();
        plan.add(Fault::first(2, Endpoint::Search, FaultKind::Status(503)));
        plan.add(Fault::always(Endpoint::Any, FaultKind::Malformed));
        assert_eq!(plan.strike(Endpoint::Search), Some(FaultKind::Status(503)));
        assert_eq!(plan.strike(Endpoint::Search), Some(FaultKind::Status(503)));
        assert_eq!(plan.strike(Endpoint::Search), Some(FaultKind::Malformed));
        assert_eq!(plan.strike(Endpoint::GetContact), Some(FaultKind::Malformed));
        plan.clear();
        assert_eq!(plan.strike(Endpoint::Search), None);
    }

    #[test]
    fn faults_read_from_yaml() {
        let yaml = "- { endpoint: search, kind: { status: 503 }, times: { first: 2 } }
- { endpoint: send_mail, kind: { delay: 1500ms } }
- { endpoint: get_contact, kind: { rate_limited: { retry_after: 3, policy: TEN_SECONDLY_ROLLING } } }
- { endpoint: any, kind: timeout }
";
        let faults: Vec<Fault> = serde_saphyr::from_str(yaml).unwrap();
        assert_eq!(faults[0], Fault::first(2, Endpoint::Search, FaultKind::Status(503)));
        assert_eq!(faults[1].kind, FaultKind::Delay(Duration::from_millis(1500)));
        assert_eq!(
            faults[2].kind,
            FaultKind::RateLimited { retry_after: Some(3), policy: RateLimitPolicy::TenSecondlyRolling }
        );
        assert_eq!(faults[3], Fault::always(Endpoint::Any, FaultKind::Timeout));
    }

    #[test]
    fn a_status_that_is_not_an_error_status_is_refused_when_read() {
        for status in ["0", "99", "200", "399", "600", "1000", "65535"] {
            let yaml = format!("- {{ endpoint: search, kind: {{ status: {status} }} }}");
            let error = serde_saphyr::from_str::<Vec<Fault>>(&yaml).unwrap_err().to_string();
            assert!(error.contains("not an error status"), "{status}: {error}");
        }
        for status in [400, 429, 503, 599] {
            let yaml = format!("- {{ endpoint: search, kind: {{ status: {status} }} }}");
            let faults: Vec<Fault> = serde_saphyr::from_str(&yaml).unwrap();
            assert_eq!(faults[0].kind, FaultKind::Status(status));
        }
        assert!(
            serde_saphyr::from_str::<Vec<Fault>>("- { endpoint: search, kind: { status: 70000 } }").is_err()
        );
    }
}
