//! The verifier's integration tests: one binary, one module per theme.
//!
//! Each test that runs milestones uses its own artifacts folder and, when it edits anything, its
//! own copy of the repository's contract files; none reads the wall clock or sleeps.

mod support;

mod advisory;
mod cli;
mod conformance;
mod determinism;
mod divergent;
mod external;
mod failing;
mod load_errors;
mod milestones;
mod reconnect;
mod secrets;
mod seeding;
mod update_expected;
mod waiting;
