//! Signals, consensus and the public catalog (spec sections 6 and 7).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::json::JsNumber;

use super::enums::{Decision, DeploymentStatus, Stage, Task, Timeframe};
use super::models::MetricsSource;
use super::rounds::Symbol;

/// One signal as a deployment writes it. Attribution is the token's: a `vendor_id` or
/// `deployment_id` here must name the token's own, or the whole array is refused.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignalWrite {
    pub symbol: Symbol,
    pub timeframe: Timeframe,
    pub decision: Decision,
    #[schemars(range(min = 0, max = 1))]
    pub confidence: JsNumber,
    #[schemars(length(min = 1, max = 40))]
    pub model_version: String,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20))]
    pub rationale: Option<Vec<Rationale>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
}

/// One line of a signal's reasoning.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct Rationale(#[schemars(length(max = 500))] pub String);

/// The body of `POST /api/signals/store`: 1 to 500 signals, stored together or not at all.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct SignalBatch(#[schemars(length(min = 1, max = 500))] pub Vec<SignalWrite>);

/// A stored signal with its attribution.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Signal {
    pub signal_id: String,
    pub vendor_id: String,
    pub deployment_id: String,
    pub model_id: String,
    pub version_id: String,
    pub symbol: String,
    pub timeframe: Timeframe,
    pub decision: Decision,
    pub confidence: JsNumber,
    pub model_version: String,
    pub timestamp: String,
    pub rationale: Vec<Rationale>,
    pub metadata: Map<String, Value>,
    pub received_at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignalsStored {
    pub deployment_id: String,
    pub stored: u64,
    pub signal_ids: Vec<String>,
}

/// One source's say in a consensus.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Contribution {
    pub decision: Decision,
    #[schemars(range(min = 0, max = 1))]
    pub weight: JsNumber,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
    pub confidence: Option<JsNumber>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsensusWrite {
    pub symbol: Symbol,
    pub timeframe: Timeframe,
    pub decision: Decision,
    #[schemars(range(min = 0, max = 1))]
    pub confidence: JsNumber,
    #[schemars(length(min = 1, max = 40))]
    pub model_version: String,
    #[schemars(extend("format" = "date-time"))]
    pub timestamp: String,
    #[schemars(length(min = 1, max = 100))]
    pub contributions: BTreeMap<String, Contribution>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
}

/// A consensus: written by a consensus model, or computed from the latest signal of each
/// deployment, weighted by confidence (`computed: true`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Consensus {
    pub consensus_id: Option<String>,
    pub symbol: String,
    pub timeframe: Timeframe,
    pub decision: Decision,
    pub confidence: JsNumber,
    pub model_version: Option<String>,
    pub timestamp: String,
    pub contributions: BTreeMap<String, Contribution>,
    pub vendor_id: Option<String>,
    pub deployment_id: Option<String>,
    pub computed: bool,
}

/// One model of the public catalog: every field is there, `null` when not known.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CatalogEntry {
    /// The model's id.
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// The vendor's id (what the `vendor` filter takes).
    pub vendor: String,
    pub vendor_name: String,
    pub task: Task,
    /// The highest live stage of its versions (`prod` over `pilot`).
    pub stage: Stage,
    /// The version at that stage.
    pub version_id: String,
    pub version: String,
    pub created_at: String,
    pub updated_at: String,
    pub last_heartbeat_at: Option<String>,
    /// Its best deployment's status (ready over the others); `null` without deployments.
    pub status: Option<DeploymentStatus>,
    /// The version's out-of-sample (validation) Sharpe.
    pub last_oos_sharpe: Option<JsNumber>,
    pub avg_confidence: Option<JsNumber>,
    pub total_predictions: u64,
    pub deployment_count: u64,
    pub metrics_source: Option<MetricsSource>,
}
