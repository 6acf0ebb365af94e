//! How many verification mails may go to one address: a shared count that bounds how hard anyone can flood an inbox through the agent.
//!
//! Every verification mail is counted against its recipient before it is sent, in a
//! [`MailThrottle`] that the agents of one server share (clones share one count): at most
//! [`MAILS_PER_ADDRESS_PER_HOUR`] mails to one address in any hour, whichever conversation or
//! session asks. The hour is measured on the clock the agent is given (`now`), so a harness
//! that moves time by hand moves the window too. A mail that is refused is not sent, and the
//! customer is told exactly what they are told when it is: the throttle never shows in a reply.
//!
//! ```
//! use leakproof_agent::{MAILS_PER_ADDRESS_PER_HOUR, MailThrottle};
//!
//! let throttle = MailThrottle::default();
//! let service: url::Url = "https://api.hubapi.com".parse()?;
//! let now: jiff::Timestamp = "2026-05-01T09:00:00Z".parse()?;
//! let shared = throttle.clone();
//! for _ in 0..MAILS_PER_ADDRESS_PER_HOUR {
//!     assert!(shared.admit(&service, "Ada@Example.com", now));
//! }
//! // The same inbox, however the address is typed, from any clone: refused for the hour.
//! assert!(!throttle.admit(&service, "ada@example.com", now));
//! assert!(throttle.admit(&service, "ada@example.com", now + jiff::SignedDuration::from_hours(1)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use jiff::{SignedDuration, Timestamp};
use url::Url;

/// The verification mails one address may receive in any hour, from every conversation and
/// session sharing the throttle. A customer needs one link, perhaps a second when the first
/// went to spam or expired; three is generous for them and keeps a flood of an inbox to three
/// mails an hour.
pub const MAILS_PER_ADDRESS_PER_HOUR: usize = 3;

/// The verification mails one conversation may send in all, to whichever addresses: a
/// conversation that switches back and forth between accounts stops mailing after this many.
pub const MAILS_PER_CONVERSATION: usize = 5;

/// The window [`MAILS_PER_ADDRESS_PER_HOUR`] counts in.
const WINDOW: SignedDuration = SignedDuration::from_hours(1);

/// The addresses remembered before those with no mail in the window are forgotten: keeps the
/// memory bounded however many addresses are mailed.
const TRACKED: usize = 10_000;

/// A count of the verification mails sent to each address in the last hour, shared by its
/// clones: give one to every agent of a server ([`Agent::with_mail_throttle`]) and the limit
/// holds across all their conversations and sessions.
///
/// Addresses are counted per mail service (its base URL): the same address at another mail
/// service (a harness world's own mock server) is counted apart.
///
/// [`Agent::with_mail_throttle`]: crate::Agent::with_mail_throttle
#[derive(Clone, Debug, Default)]
pub struct MailThrottle(Arc<Mutex<Sent>>);

/// When mails went, by mail service and address (lowercased, trimmed).
#[derive(Debug, Default)]
struct Sent {
    by_address: HashMap<(String, String), VecDeque<Timestamp>>,
}

impl MailThrottle {
    /// A throttle with no mail counted yet.
    pub fn new() -> MailThrottle {
        MailThrottle::default()
    }

    /// Whether a mail to `address` through the mail service at `service` may go at `now`;
    /// when it may, it is counted (whether or not the sending then works: a send that timed
    /// out may have gone).
    ///
    /// A mail counts for an hour from its time. One dated after `now` (another session's clock
    /// ahead of this one) counts as within the hour: the throttle errs on the side of fewer
    /// mails.
    pub fn admit(&self, service: &Url, address: &str, now: Timestamp) -> bool {
        let mut sent = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let recent = |at: &Timestamp| now.duration_since(*at) < WINDOW;
        if sent.by_address.len() >= TRACKED {
            sent.by_address.retain(|_, times| times.iter().any(recent));
        }
        let key = (service.as_str().to_owned(), address.trim().to_lowercase());
        let times = sent.by_address.entry(key).or_default();
        times.retain(recent);
        if times.len() >= MAILS_PER_ADDRESS_PER_HOUR {
            return false;
        }
        times.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> Timestamp {
        let start: Timestamp = "2026-05-01T09:00:00Z".parse().unwrap();
        start + SignedDuration::from_mins(minutes)
    }

    #[test]
    fn the_hour_slides_and_services_are_apart() {
        let throttle = MailThrottle::new();
        let one: Url = "http://127.0.0.1:1".parse().unwrap();
        let two: Url = "http://127.0.0.1:2".parse().unwrap();
        assert!(throttle.admit(&one, "a@x.org", at(0)));
        assert!(throttle.admit(&one, "a@x.org", at(20)));
        assert!(throttle.admit(&one, "a@x.org", at(40)));
        assert!(!throttle.admit(&one, "a@x.org", at(59)));
        assert!(throttle.admit(&two, "a@x.org", at(59)));
        assert!(throttle.admit(&one, "b@x.org", at(59)));
        // The first mail's hour is over: one more may go.
        assert!(throttle.admit(&one, "A@X.ORG ", at(60)));
        assert!(!throttle.admit(&one, "a@x.org", at(61)));
        // A clock that went back counts every mail as recent.
        assert!(!throttle.admit(&one, "a@x.org", at(-600)));
    }

    #[test]
    fn memory_is_bounded() {
        let throttle = MailThrottle::new();
        let service: Url = "http://127.0.0.1:1".parse().unwrap();
        for i in 0..TRACKED + 5 {
            assert!(throttle.admit(&service, &format!("{i}@x.org"), at(0)));
        }
        assert!(throttle.admit(&service, "late@x.org", at(120)));
        let tracked = throttle.0.lock().unwrap().by_address.len();
        assert!(tracked < 10, "{tracked}");
    }
}
