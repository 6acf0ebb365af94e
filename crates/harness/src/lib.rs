//! The scenario harness: scenario files, the runner, the independent oracle, reports and snapshots.
//!
//! - [`scenario`]: the scenario file format, loaded with every error placed.
//! - [`runner`]: a fresh world per scenario run; steps carried out, everything observable recorded.
//! - [`target`]: the agent under test, in process or over HTTP.
//! - [`transcript`]: what a run observed.
//! - [`oracle`]: leaks, unauthorised writes, misdirected mails and email-capture violations, judged from observations alone.
//! - [`expect`]: the expectations a scenario states.
//! - [`crm_state`]: the mock CRM's state and answers, replayed from its log, for the oracle and the expectations.
//! - [`text`]: finding CRM values, addresses and requests in free text.
//! - [`report`]: terminal, JSON and JUnit reports, pass^k and latency.
//! - [`snapshot`]: the transcript and decisions of a run, redacted, for insta.
//! - [`sessions`]: values of one run's world seen in another's: state carried between sessions.
//! - [`twin`]: the twin-world check: the same steps in a world whose secrets are replaced must look the same.
//! - [`fuzz`]: generated conversations on a reused rig, shrunk failures written as scenario files, and the liveness check.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod crm_state;
pub mod expect;
pub mod fuzz;
pub mod generate;
pub mod oracle;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod sessions;
pub mod snapshot;
pub mod target;
pub mod text;
pub mod transcript;
pub mod twin;

pub use oracle::{Check, Finding, FindingKind, Judgement};
pub use report::Report;
pub use runner::{RunError, RunResult, SuiteOptions, run, run_suite};
pub use scenario::Scenario;
pub use target::Target;
