//! The model-server contract (spec section 8): what a vendor's deployment answers, so that
//! `mp validate` (and anyone else) can check a model server against the manifest's schemas.
//! The platform never serves these routes; the manifest's `model_server` section names them.
//! Only the signal task's pair is defined: the consensus and optimizer pairs are not yet.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::enums::{Decision, Timeframe};
use super::rounds::Symbol;
use super::signals::Rationale;
use crate::json::JsNumber;

/// `GET /health`: the process is up.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ModelServerHealth {
    /// `ok`.
    #[schemars(regex(pattern = r"^ok$"))]
    pub status: String,
}

/// `GET /ready`: 200 with `ready: true` when it can answer `/infer`, 503 with `ready: false`
/// and a reason otherwise.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ModelServerReady {
    pub ready: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `POST /infer` of a signal model: bars (oldest first) or the features themselves.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignalInferenceRequest {
    pub symbol: Symbol,
    pub timeframe: Timeframe,
    /// `[unix_seconds, open, high, low, close, volume]` per bar, oldest first; the model
    /// computes the round's features of the last bar from them (21 bars at least).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ohlcv: Option<Vec<[JsNumber; 6]>>,
    /// The round's features by name, instead of bars.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<BTreeMap<String, JsNumber>>,
}

/// A signal model's answer: what a deployment would write as a signal.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct SignalInferenceResponse {
    pub decision: Decision,
    #[schemars(range(min = 0, max = 1))]
    pub confidence: JsNumber,
    #[schemars(length(min = 1, max = 40))]
    pub model_version: String,
    /// The time of the bar the decision is for.
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20))]
    pub rationale: Option<Vec<Rationale>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}
