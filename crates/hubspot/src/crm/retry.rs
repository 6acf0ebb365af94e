//! When and how long the HubSpot clients wait before trying a request again, and the injectable sleeper that waits.
//!
//! The rules, shared by [`Crm`](super::Crm) and [`Mailer`](crate::mail::Mailer):
//!
//! - **5xx, timeouts and connection failures** are retried with exponential
//!   backoff: `base_delay × 2^(attempt − 1)`, capped at `max_delay`.
//! - **429** is retried after `Retry-After` (delta-seconds or an HTTP date);
//!   without the header, by HubSpot's `policyName`: `SECONDLY` waits
//!   1 s × attempt, `TEN_SECONDLY_ROLLING` 10 s × attempt (what HubSpot's own
//!   Node client does), `DAILY` is not retried (the quota returns tomorrow),
//!   and any other 429 falls back to the exponential backoff. A wait longer
//!   than `max_retry_after` is not attempted: the client gives up at once.
//! - **Every other 4xx** is final: asking again cannot change the answer.
//! - **A write (PATCH)** is repeated only after a 429 or a 503, answers that
//!   say it was not applied. After a timeout, a broken connection or another
//!   5xx it may have landed: it is not repeated, and the caller reads the
//!   record back ([`CrmError::outcome_unknown`](super::CrmError::outcome_unknown)).
//! - At most `max_attempts` requests are made in all.
//!
//! Waiting goes through a [`Sleeper`], so tests can record the delays asked
//! for ([`RecordingSleeper`]) instead of sleeping.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How often and how patiently a client retries.
///
/// ```
/// use std::time::Duration;
/// use leakproof_hubspot::crm::RetryPolicy;
///
/// let policy = RetryPolicy::default();
/// assert_eq!(policy.max_attempts, 3);
/// assert_eq!(policy.backoff(1), Duration::from_millis(200));
/// assert_eq!(policy.backoff(2), Duration::from_millis(400));
/// // Never more than max_delay.
/// assert_eq!(policy.backoff(30), policy.max_delay);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Requests made in all, the first included; `0` is treated as `1`.
    /// Three keeps a customer waiting at most a few seconds on a chat turn.
    pub max_attempts: u32,
    /// The first backoff after a 5xx or transport failure. 200 ms is what
    /// HubSpot's Node client waits after a 5xx.
    pub base_delay: Duration,
    /// The longest backoff after a 5xx or transport failure.
    pub max_delay: Duration,
    /// The longest wait a 429 may ask for (by `Retry-After` or `policyName`);
    /// beyond it the client gives up instead of stalling the conversation.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries: one request, then the answer.
    pub fn none() -> Self {
        RetryPolicy { max_attempts: 1, ..RetryPolicy::default() }
    }

    /// Requests made in all, at least one.
    pub fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// The wait after failed attempt `attempt` (1-based) of a 5xx or
    /// transport failure: `base_delay × 2^(attempt − 1)`, at most `max_delay`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(31);
        self.base_delay
            .checked_mul(1_u32 << exponent)
            .map_or(self.max_delay, |delay| delay.min(self.max_delay))
    }

    /// The wait HubSpot's rate-limit policy implies after failed attempt
    /// `attempt` of a 429 without `Retry-After`, or `None` when the 429 must
    /// not be retried (`DAILY`).
    pub fn rate_limit_delay(&self, policy_name: Option<&str>, attempt: u32) -> Option<Duration> {
        let attempt = attempt.max(1);
        match policy_name {
            Some("DAILY") => None,
            Some("SECONDLY") => Some(Duration::from_secs(1).saturating_mul(attempt)),
            Some("TEN_SECONDLY_ROLLING") => Some(Duration::from_secs(10).saturating_mul(attempt)),
            _ => Some(self.backoff(attempt)),
        }
    }
}

/// Parses a `Retry-After` header value: delta-seconds (`7`) or an HTTP date
/// (`Wed, 21 Oct 2015 07:28:00 GMT`, measured from `now`; a past date is no
/// wait). Anything else is `None`, as if the header were absent.
///
/// ```
/// use std::time::Duration;
/// use leakproof_hubspot::crm::parse_retry_after;
///
/// let now = "2015-10-21T07:27:00Z".parse().unwrap();
/// assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
/// assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(Duration::from_secs(60)));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More digits than a u64 holds is "longer than any cap".
        return Some(value.parse().map_or(Duration::MAX, Duration::from_secs));
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(value).ok()?;
    Some(Duration::try_from(now.duration_until(at)).unwrap_or(Duration::ZERO))
}

/// Waits between attempts. The default, [`TokioSleeper`], really sleeps;
/// tests inject a [`RecordingSleeper`] that notes the delay and returns at once.
pub trait Sleeper: Send + Sync {
    /// Waits for `delay`.
    fn sleep(&self, delay: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// Sleeps with `tokio::time::sleep` (so `tokio::time::pause()` applies).
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, delay: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(delay))
    }
}

/// Records each delay asked for and returns immediately. Clones share the
/// record, so a test keeps one clone and gives the other to the client.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use leakproof_hubspot::crm::{RecordingSleeper, Sleeper};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let sleeper = RecordingSleeper::default();
/// let shared: Arc<dyn Sleeper> = Arc::new(sleeper.clone());
/// shared.sleep(Duration::from_secs(7)).await; // returns at once
/// assert_eq!(sleeper.delays(), [Duration::from_secs(7)]);
/// # });
/// ```
#[derive(Clone, Debug, Default)]
pub struct RecordingSleeper {
    delays: Arc<Mutex<Vec<Duration>>>,
}

impl RecordingSleeper {
    /// The delays asked for so far, in order.
    pub fn delays(&self) -> Vec<Duration> {
        self.delays.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Sleeper for RecordingSleeper {
    fn sleep(&self, delay: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.delays.lock().unwrap_or_else(PoisonError::into_inner).push(delay);
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(1),
        };
        let delays: Vec<_> = (1..=5).map(|a| policy.backoff(a).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 500, 500]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_millis(500));
        assert_eq!(policy.backoff(0), Duration::from_millis(100));
    }

    #[test]
    fn backoff_survives_huge_base() {
        let policy = RetryPolicy {
            base_delay: Duration::MAX,
            max_delay: Duration::from_secs(3),
            ..RetryPolicy::default()
        };
        assert_eq!(policy.backoff(5), Duration::from_secs(3));
    }

    #[test]
    fn rate_limit_delays_follow_hubspot_policies() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.rate_limit_delay(Some("SECONDLY"), 2), Some(Duration::from_secs(2)));
        assert_eq!(policy.rate_limit_delay(Some("TEN_SECONDLY_ROLLING"), 1), Some(Duration::from_secs(10)));
        assert_eq!(policy.rate_limit_delay(Some("DAILY"), 1), None);
        assert_eq!(policy.rate_limit_delay(None, 1), Some(policy.base_delay));
    }

    #[test]
    fn zero_attempts_means_one() {
        assert_eq!(RetryPolicy { max_attempts: 0, ..RetryPolicy::default() }.attempts(), 1);
        assert_eq!(RetryPolicy::none().attempts(), 1);
    }

    #[test]
    fn retry_after_forms() {
        let now = at("2015-10-21T07:27:00Z");
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("99999999999999999999999", now), Some(Duration::MAX));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:26:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("1.5", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }
}
