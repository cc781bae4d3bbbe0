//! The milestone file exactly as written: serde types with source spans, every mapping closed
//! (`deny_unknown_fields`), so that a misspelt key is an error at its line and column.
//! `docs/milestone-format.md` documents each key; keep the two in step.

use std::collections::BTreeMap;

use marketref::actor::ActorType;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_saphyr::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMilestone {
    pub milestone: Spanned<String>,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    pub clock: Spanned<String>,
    pub operations: Vec<Spanned<String>>,
    #[serde(default)]
    pub reason_floor: Vec<Spanned<String>>,
    #[serde(default)]
    pub actors: BTreeMap<String, RawActor>,
    #[serde(default)]
    pub seed: Option<Spanned<RawSeed>>,
    /// Names of contract rules whose breaks are reported but do not fail the run.
    #[serde(default)]
    pub advisory: Vec<Spanned<String>>,
    pub scenarios: Vec<RawScenario>,
    #[serde(default)]
    pub expected_outcome_sha256: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawActor {
    #[serde(rename = "type")]
    pub kind: ActorType,
    pub id: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSeed {
    #[serde(default = "yes")]
    pub reset: bool,
    #[serde(default)]
    pub fixtures: Vec<Spanned<String>>,
    /// The same state through the public operations, for a server without the dev routes.
    /// Present (even empty) means the milestone can be seeded without them.
    #[serde(default)]
    pub api: Option<Spanned<Vec<RawStep>>>,
    #[serde(default)]
    pub steps: Vec<RawStep>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Runs on the empty store: after the seed's reset, before it loads anything.
    #[serde(default)]
    pub before_seed: bool,
    pub steps: Vec<RawStep>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// A few words naming what this step checks, for the conformance report's description of
    /// a server whose answer differs (`malformed JSON`).
    #[serde(default)]
    pub divergence: Option<String>,
    /// The step's failure is reported but does not fail the run.
    #[serde(default)]
    pub advisory: bool,
    #[serde(default)]
    pub operation: Option<Spanned<String>>,
    #[serde(default)]
    pub method: Option<Spanned<String>>,
    #[serde(default)]
    pub path: Option<Spanned<String>>,
    #[serde(default)]
    pub params: BTreeMap<String, Spanned<Text>>,
    #[serde(default)]
    pub query: BTreeMap<String, Spanned<Text>>,
    #[serde(default)]
    pub actor: Option<Spanned<String>>,
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<Text>>,
    #[serde(default)]
    pub idempotency_key: Option<Spanned<Text>>,
    #[serde(default)]
    pub clock: Option<Spanned<String>>,
    #[serde(default)]
    pub body: Option<Spanned<Value>>,
    #[serde(default)]
    pub body_raw: Option<Spanned<String>>,
    #[serde(default)]
    pub body_file: Option<Spanned<String>>,
    #[serde(default)]
    pub body_repeat: Option<Spanned<RawRepeat>>,
    /// Send the step again until its answer holds a value (a run that trains in the
    /// background, say); only the last answer is kept.
    #[serde(default)]
    pub wait_for: Option<Spanned<RawWaitFor>>,
    #[serde(default)]
    pub expect: Option<RawExpect>,
    #[serde(default)]
    pub capture: BTreeMap<String, Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWaitFor {
    pub at: Spanned<String>,
    /// Required, and `equals: null` waits for a null: see [`present`].
    #[serde(default, deserialize_with = "present")]
    pub equals: Option<Value>,
    #[serde(default)]
    pub timeout_ms: Option<Spanned<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRepeat {
    pub text: String,
    pub times: usize,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    #[serde(default)]
    pub status: Option<Spanned<u16>>,
    #[serde(default)]
    pub error_code: Option<Spanned<String>>,
    #[serde(default)]
    pub reason_code: Option<Spanned<String>>,
    /// Header name to its exact value; `null` means the header must be absent.
    #[serde(default)]
    pub headers: BTreeMap<String, Option<Text>>,
    /// The SHA-256 (lower-case hex) of the response body's bytes, as sent.
    #[serde(default)]
    pub body_sha256: Option<Spanned<Text>>,
    #[serde(default)]
    pub json: Vec<RawJsonCheck>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawJsonCheck {
    pub at: Spanned<String>,
    /// `equals: null` must mean "equals null", not "no expectation": see [`present`].
    #[serde(default, deserialize_with = "present")]
    pub equals: Option<Value>,
    #[serde(default)]
    pub count: Option<usize>,
    #[serde(default)]
    pub matches: Option<Spanned<String>>,
    #[serde(default)]
    pub absent: Option<bool>,
}

/// A key that is present holds a value, even `null`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// A scalar written as text: `limit: 2`, `Idempotent-Replayed: true` and `"true"` all mean the
/// text the HTTP request or response carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(text) => Ok(Text(text)),
            Value::Number(number) => Ok(Text(number.to_string())),
            Value::Bool(flag) => Ok(Text(flag.to_string())),
            Value::Null | Value::Array(_) | Value::Object(_) => Err(serde::de::Error::custom(
                "expected a scalar (text, number or boolean)",
            )),
        }
    }
}
