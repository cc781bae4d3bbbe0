//! Milestone files: loading, and every check that can be made before a request is sent.
//!
//! [`load`] parses the YAML ([`raw`]) and resolves it against the embedded manifest and the
//! reason-code registry into a [`Milestone`]. Anything wrong (malformed YAML, an unknown key,
//! operation, actor, reason or capture, a bad JSON pointer or regex) is an
//! [`Error`](crate::error::Error) carrying the file, line and column and a one-line hint. The
//! format is documented key by key in `docs/milestone-format.md`.
//!
//! This file holds what a loaded milestone is; the loading is split by the part of the file it
//! checks:
//!
//! - `raw`: the YAML exactly as written, with spans;
//! - `source`: the file as text, positions and YAML errors as located errors;
//! - `loader`: [`load`] and the milestone-level sections (id, clock, operations, floor,
//!   actors, scenarios, the pinned outcome);
//! - `seed`: the `seed:` section: the generated dev steps, the API steps, the steps after;
//! - `step`: one step's request and captures;
//! - `expect`: one step's `expect:`;
//! - `hints`: the "did you mean" of the errors.

pub mod raw;

mod expect;
mod hints;
mod loader;
mod seed;
mod source;
mod step;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use marketref::actor::ActorType;
use marketref::reason::Reason;
use regex::Regex;
use serde_json::Value;
use time::OffsetDateTime;

use crate::rules::Rule;

pub use loader::{find_root, load};

/// The name of the scenario the verifier builds from the `seed:` section.
pub const SEED_SCENARIO: &str = "seed";

/// A loaded, checked milestone.
#[derive(Debug)]
pub struct Milestone {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// The file as the user named it; used in messages.
    pub display_path: String,
    /// The file, absolute.
    pub path: PathBuf,
    /// The repository root above the file (it holds `schemas/manifest.yaml`).
    pub root: PathBuf,
    /// The file relative to the root, with `/`: what reports record.
    pub relative_path: String,
    /// The request clock sent as `x-now-iso` unless a step says otherwise; also the fixed clock
    /// of the in-process runtime.
    pub clock: String,
    pub clock_instant: OffsetDateTime,
    /// Operations the milestone covers, as listed.
    pub operations: Vec<String>,
    pub reason_floor: Vec<Reason>,
    pub actors: BTreeMap<String, Actor>,
    pub seed: Option<Seed>,
    /// In file order, which is run order: those that run `before_seed` come first.
    pub scenarios: Vec<Scenario>,
    /// Contract rules whose breaks are reported but do not fail the run.
    pub advisory: BTreeSet<Rule>,
    pub expected_outcome: Option<PinnedOutcome>,
    /// The file's text, for `--update-expected`.
    pub text: String,
}

/// `expected_outcome_sha256` and where its value sits in the file.
#[derive(Clone, Debug)]
pub struct PinnedOutcome {
    pub sha256: String,
    pub byte_offset: usize,
    pub byte_len: usize,
}

#[derive(Clone, Debug)]
pub struct Actor {
    pub kind: ActorType,
    pub id: String,
    pub scopes: Vec<String>,
}

/// How the store gets the state the scenarios start from. Two paths reach the same state: the
/// dev routes (`reset`, then the `fixtures` as they are) and the public operations (`api`),
/// for a server that does not offer the dev routes; `steps` follow either.
#[derive(Debug)]
pub struct Seed {
    /// `POST /dev/reset`, when the seed resets the store first.
    pub reset: Option<Step>,
    /// One `POST /dev/fixtures` per fixture file.
    pub fixtures: Vec<Step>,
    /// The state through the public operations; `None` when the milestone declares no such
    /// path, `Some(empty)` when the empty store is the whole seed.
    pub api: Option<Vec<Step>>,
    /// Steps after the loading, on both paths.
    pub steps: Vec<Step>,
}

impl Seed {
    /// Whether the seed uses the dev routes when they are there.
    pub fn has_dev(&self) -> bool {
        self.reset.is_some() || !self.fixtures.is_empty()
    }

    /// What the dev path loads after its reset: the fixtures, or the API steps when the seed
    /// has no fixtures (then the dev routes only empty the store first).
    pub fn dev_loading(&self) -> &[Step] {
        if self.fixtures.is_empty() {
            self.api.as_deref().unwrap_or_default()
        } else {
            &self.fixtures
        }
    }
}

#[derive(Debug)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    /// Runs on the empty store, after the seed's reset and before it loads anything.
    pub before_seed: bool,
    pub steps: Vec<Step>,
}

#[derive(Debug)]
pub struct Step {
    pub name: String,
    pub description: Option<String>,
    pub line: u64,
    pub request: RequestSpec,
    pub expect: Expect,
    /// Send again until the answer holds a value; only the last answer is kept.
    pub wait_for: Option<WaitFor>,
    /// Capture name and the JSON pointer it reads, in file order.
    pub captures: Vec<(String, String)>,
    /// What the step checks, in a few words, for the conformance report.
    pub divergence: Option<String>,
    /// A failure is reported but does not fail the run.
    pub advisory: bool,
}

impl Step {
    /// The correlation id the verifier sends for this step.
    pub fn correlation_id(milestone: &str, scenario: &str, step: &str) -> String {
        format!("verify:{milestone}:{scenario}:{step}")
    }
}

/// What to send. Strings may hold `${capture}` references, resolved when the step runs.
#[derive(Debug)]
pub struct RequestSpec {
    pub target: RequestTarget,
    /// The operation that answers, when the manifest declares one for this method and path;
    /// a raw step with references in its path is matched when it runs.
    pub operation_id: Option<String>,
    pub query: Vec<(String, String)>,
    pub actor: Option<String>,
    /// Lower-case names; sent after (so they override) the headers the verifier generates.
    pub headers: Vec<(String, String)>,
    pub idempotency_key: Option<String>,
    pub clock: String,
    pub body: Body,
}

#[derive(Debug)]
pub enum RequestTarget {
    Operation {
        operation_id: String,
        params: BTreeMap<String, String>,
    },
    Raw {
        method: String,
        path: String,
    },
    /// A link the server handed out (a captured path with its query, a signed URL say),
    /// called with the operation's method and answered by that operation.
    Link {
        operation_id: String,
        path: String,
    },
}

#[derive(Debug)]
pub enum Body {
    None,
    Json(Value),
    /// Sent byte for byte (malformed JSON on purpose).
    Raw(String),
    /// `text` repeated `times` (an oversized body).
    Repeat {
        text: String,
        times: usize,
    },
}

/// A step's `wait_for:`: the step is sent again, `POLL_INTERVAL` apart, until the value at `at`
/// of its (normalised) answer equals `equals`, the answer is not a success, or `timeout` has
/// passed.
#[derive(Debug)]
pub struct WaitFor {
    pub at: String,
    /// May hold `${capture}` references.
    pub equals: Value,
    pub timeout: std::time::Duration,
}

impl WaitFor {
    /// How long a step waits when it does not say.
    pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
    /// The longest wait a step may ask for.
    pub const MAX_TIMEOUT_MS: u64 = 120_000;
    /// Between two sends of a waiting step.
    pub const POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(20);
}

#[derive(Debug)]
pub struct Expect {
    pub status: u16,
    pub error_code: Option<String>,
    pub reason_code: Option<Reason>,
    /// Lower-case header name and its exact value, or `None` for "absent".
    pub headers: Vec<(String, Option<String>)>,
    /// The SHA-256 of the body's bytes, lower-case hex; may be a `${capture}`.
    pub body_sha256: Option<String>,
    pub json: Vec<JsonCheck>,
}

#[derive(Debug)]
pub struct JsonCheck {
    pub at: String,
    pub matcher: Matcher,
}

#[derive(Debug)]
pub enum Matcher {
    Equals(Value),
    /// The number of items of an array or members of an object.
    Count(usize),
    /// A regular expression that a string (or the JSON text of another value) must match.
    Matches(Regex),
    Absent,
}

impl Matcher {
    pub fn describe(&self) -> &'static str {
        match self {
            Matcher::Equals(_) => "equals",
            Matcher::Count(_) => "count",
            Matcher::Matches(_) => "matches",
            Matcher::Absent => "absent",
        }
    }
}

/// Letters, digits, `_`, `-`, `.`; starting with a letter or digit.
pub fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain() {
        assert!(is_name("M111"));
        assert!(is_name("first-run.replay_1"));
        assert!(!is_name("-x"));
        assert!(!is_name("a b"));
        assert!(!is_name(""));
    }
}
