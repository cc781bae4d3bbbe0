//! Health, OpenAPI and dev fixture documents.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::swap::types::{CycleProposal, SwapIntent};
use crate::json::NonNegativeNumber;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthResponse {
    pub correlation_id: String,
    pub ok: bool,
    pub store: StoreSummary,
    pub summary: HealthSummary,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreSummary {
    /// `sqlite`.
    pub backend: String,
    /// The database file.
    pub path: String,
}

/// Row counts of the store.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthSummary {
    pub intents: u64,
    pub proposals: u64,
    pub marketplace_asset_values: u64,
    pub marketplace_matching_runs: u64,
    pub marketplace_matching_proposals: u64,
}

/// The OpenAPI 3.1 document of the served operations.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct OpenApiDocument(pub Map<String, Value>);

/// A seed state for a milestone: loaded as is, replacing rows with the same ids.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DevFixtures {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intents: Vec<SwapIntent>,
    /// Proposals with their status, origin, owner and run attribution.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proposals: Vec<CycleProposal>,
    /// Stored asset values by bare asset id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = {"minLength": 1}))]
    pub asset_values_usd: BTreeMap<String, NonNegativeNumber>,
    #[serde(default)]
    pub counters: DevCounters,
}

/// Id counters to start from: the next id is the value plus one.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DevCounters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace_matching_run: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DevFixturesResponse {
    pub correlation_id: String,
    pub loaded: LoadedCounts,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadedCounts {
    pub intents: u64,
    pub proposals: u64,
    pub asset_values: u64,
    pub counters: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DevResetResponse {
    pub correlation_id: String,
    pub reset: bool,
}

/// One call of an operation that records activity: who, what, when, and how it ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivityEvent {
    /// The request clock (`x-now-iso`), else the server clock.
    pub at: String,
    pub operation_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<crate::domain::ActorRef>,
    pub status: u16,
    /// The reason of a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<crate::reason::Reason>,
    /// The details of a failure (diagnostics of a match that found nothing, for example).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Map<String, Value>>,
}

/// An [`ActivityEvent`] with its place in the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordedActivity {
    pub seq: u64,
    #[serde(flatten)]
    pub event: ActivityEvent,
}
