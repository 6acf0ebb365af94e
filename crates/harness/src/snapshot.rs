//! The snapshot of a run: its transcript, the agent's decisions and the mocks' writes and mails, with volatile values (tokens, nonces, times, ports, session ids) redacted, ready for insta.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use super::oracle::Finding;
use super::runner::RunResult;
use super::transcript::Occurrence;

/// One step as snapshotted.
#[derive(Debug, Serialize)]
pub struct Step {
    /// The step, from 1 (0: the scenario's first conversation).
    pub step: usize,
    /// Minutes since the scenario's start, as `+16m`.
    pub at: String,
    /// What happened, redacted.
    #[serde(flatten)]
    pub what: serde_json::Value,
    /// Mails sent during the step: to whom.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mails_to: Vec<String>,
    /// Writes the CRM received during the step.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub writes: Vec<serde_json::Value>,
}

/// A run as snapshotted.
#[derive(Debug, Serialize)]
pub struct Snapshot {
    /// The scenario.
    pub scenario: String,
    /// Each step.
    pub steps: Vec<Step>,
    /// What was found wrong (empty when the run passed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

static VOLATILE: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"/verify/[A-Za-z0-9_.~%-]+", "/verify/[token]"),
        (r"\b[0-9a-f]{32}\b", "[nonce]"),
        (r"(127\.0\.0\.1|localhost|\[::1\]):\d+", "$1:[port]"),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "[time]"),
    ]
    .into_iter()
    .filter_map(|(pattern, with)| Regex::new(pattern).ok().map(|re| (re, with)))
    .collect()
});

/// `text` with tokens, ports and times replaced by placeholders.
pub fn redact(text: &str) -> String {
    VOLATILE.iter().fold(text.to_owned(), |text, (re, with)| re.replace_all(&text, *with).into_owned())
}

fn redact_value(value: serde_json::Value, session: &str) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => {
            let s = if session.is_empty() { s } else { s.replace(session, "[session]") };
            Value::String(redact(&s))
        }
        Value::Array(items) => Value::Array(items.into_iter().map(|v| redact_value(v, session)).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, redact_value(v, session))).collect())
        }
        other => other,
    }
}

/// The snapshot of `result`, a run of a scenario that started at `start`.
pub fn of(result: &RunResult, start: jiff::Timestamp) -> Snapshot {
    let observed = &result.observed;
    let steps = observed
        .entries
        .iter()
        .map(|entry| {
            let what = match &entry.what {
                // The mail index is an implementation detail; the mailbox says which.
                Occurrence::LinkOpened(link) => serde_json::json!({
                    "kind": "link_opened",
                    "mailbox": link.mailbox,
                    "tampered": link.tampered,
                    "status": link.status,
                    "message": link.message,
                }),
                other => serde_json::to_value(other).unwrap_or_default(),
            };
            let minutes = start.duration_until(entry.at).as_secs() / 60;
            Step {
                step: entry.step,
                at: format!("+{minutes}m"),
                what: redact_value(what, &result.session),
                mails_to: observed.mails[entry.mails.clone()].iter().map(|m| m.to.clone()).collect(),
                writes: observed.writes[entry.writes.clone()]
                    .iter()
                    .map(|w| {
                        serde_json::json!({
                            "object": w.object,
                            "id": w.id,
                            "properties": w.properties,
                            "applied": w.applied,
                        })
                    })
                    .collect(),
            }
        })
        .collect();
    Snapshot { scenario: result.scenario.clone(), steps, findings: result.findings.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_ports_and_times_are_redacted() {
        assert_eq!(
            redact(
                "open http://127.0.0.1:43121/v1/sessions/s-1/verify/eyJh.bG9n-x_y at 2026-05-01T09:16:00Z"
            ),
            "open http://127.0.0.1:[port]/v1/sessions/s-1/verify/[token] at [time]"
        );
        assert_eq!(redact("nothing volatile"), "nothing volatile");
        assert_eq!(
            redact("token 0f8d2b203b05bb7096608709a1ef8119 was already used"),
            "token [nonce] was already used"
        );
    }
}
