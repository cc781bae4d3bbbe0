//! The verifier's integration tests: one binary, one module per theme.
//!
//! Each test that runs milestones uses its own artifacts folder and, when it edits anything, its
//! own copy of the repository's contract files; none reads the wall clock or sleeps.

#[path = "../../tests/postgres_cluster.rs"]
mod postgres_cluster;
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
mod on_postgres;
mod reconnect;
mod secrets;
mod seeding;
mod update_expected;
mod waiting;
