//! The injected clock: real time for the agent, a hand-driven time for tests and the harness.
//!
//! Nothing in the crate reads the system time directly. Code that needs "now"
//! (token expiry, retry back-off, latency stamps) takes a [`Clock`] or a
//! [`Timestamp`] obtained from one, so a scenario can advance time by fifteen
//! minutes in a microsecond and tests never sleep.
//!
//! ```
//! use jiff::{SignedDuration, Timestamp};
//! use leakproof_config::clock::{Clock, ManualClock};
//!
//! let start: Timestamp = "2024-05-01T09:00:00Z".parse()?;
//! let clock = ManualClock::new(start);
//! let handle = clock.clone(); // shares the same time
//!
//! handle.advance(SignedDuration::from_mins(15));
//! assert_eq!(clock.now(), "2024-05-01T09:15:00Z".parse()?);
//! # Ok::<(), jiff::Error>(())
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use jiff::{SignedDuration, Timestamp};

/// A source of the current time.
///
/// `Send + Sync` so one clock can be shared by the agent, the mocks and the
/// harness across tasks; `Debug` so the structures holding one stay printable.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}

/// The operating system's wall clock: what a deployed agent uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to.
///
/// Cloning is cheap and every clone shares the same time, so the harness can
/// keep one handle to advance time while the agent holds another to read it.
#[derive(Debug, Clone)]
pub struct ManualClock {
    /// Shared so that clones observe each other's `set` and `advance`.
    now: Arc<Mutex<Timestamp>>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timestamp) -> Self {
        ManualClock { now: Arc::new(Mutex::new(start)) }
    }

    /// Moves the clock to `now`, forwards or backwards.
    pub fn set(&self, now: Timestamp) {
        *self.lock() = now;
    }

    /// Moves the clock by `by` (negative moves it back) and returns the new time.
    ///
    /// The time saturates at [`Timestamp::MIN`] and [`Timestamp::MAX`] instead
    /// of overflowing, so a generated "let a century pass" step cannot panic.
    pub fn advance(&self, by: SignedDuration) -> Timestamp {
        let mut now = self.lock();
        let next =
            now.checked_add(by).unwrap_or(if by.is_negative() { Timestamp::MIN } else { Timestamp::MAX });
        *now = next;
        next
    }

    /// Locks the shared time. A `Timestamp` cannot be left half-written, so a
    /// lock poisoned by a panicking holder still guards a valid value.
    fn lock(&self) -> std::sync::MutexGuard<'_, Timestamp> {
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> Timestamp {
        "2024-05-01T09:00:00Z".parse().unwrap()
    }

    #[test]
    fn manual_clock_stays_put_until_moved() {
        let clock = ManualClock::new(start());
        assert_eq!(clock.now(), start());
        assert_eq!(clock.now(), start());
    }

    #[test]
    fn clones_share_one_time() {
        let clock = ManualClock::new(start());
        let handle = clock.clone();
        let moved = handle.advance(SignedDuration::from_mins(15));
        assert_eq!(moved, "2024-05-01T09:15:00Z".parse().unwrap());
        assert_eq!(clock.now(), moved);

        clock.set(start());
        assert_eq!(handle.now(), start());
    }

    #[test]
    fn advance_can_go_back_and_saturates() {
        let clock = ManualClock::new(start());
        clock.advance(SignedDuration::from_secs(-60));
        assert_eq!(clock.now(), "2024-05-01T08:59:00Z".parse().unwrap());

        assert_eq!(clock.advance(SignedDuration::MAX), Timestamp::MAX);
        assert_eq!(clock.advance(SignedDuration::MIN), Timestamp::MIN);
    }

    #[test]
    fn shared_clock_works_behind_pointers() {
        let clock = ManualClock::new(start());
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let boxed: Box<dyn Clock> = Box::new(clock.clone());
        clock.advance(SignedDuration::from_secs(1));
        assert_eq!(shared.now(), clock.now());
        assert_eq!(boxed.now(), clock.now());
        let by_ref: &dyn Clock = &clock;
        assert_eq!(by_ref.now(), clock.now());
    }

    #[test]
    fn system_clock_is_after_2020() {
        let floor: Timestamp = "2020-01-01T00:00:00Z".parse().unwrap();
        assert!(SystemClock.now() > floor);
    }
}
