//! Round intents as they cross the wire (spec section 3).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::json::JsNumber;

use super::super::money::Money;
use super::offers::{Modality, TimeInput};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoundIntentStatus {
    Open,
    Matched,
    Cancelled,
    Closed,
}

impl RoundIntentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RoundIntentStatus::Open => "open",
            RoundIntentStatus::Matched => "matched",
            RoundIntentStatus::Cancelled => "cancelled",
            RoundIntentStatus::Closed => "closed",
        }
    }
}

/// Body of `roundIntents.create`, and the inline `intent` of a preview.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundIntentCreateRequest {
    /// The model owner; the caller, unless the caller operates the marketplace.
    #[schemars(length(min = 1, max = 120))]
    pub model_owner_id: String,
    /// The task to train (matched against offers' `allowed_tasks`).
    #[schemars(length(min = 1, max = 120))]
    pub task_type: String,
    /// Modalities accepted; empty means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("uniqueItems" = true))]
    pub required_modalities: Option<Vec<Modality>>,
    /// Offers below this quality are rejected (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
    pub min_quality_score: Option<f64>,
    /// USD the round may spend, > 0, at most 6 decimals; there is no "unlimited".
    #[schemars(range(max = 1_000_000_000), extend("exclusiveMinimum" = 0))]
    pub budget_total: f64,
    /// Default: created + 1 hour; must be in the future.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ts: Option<TimeInput>,
    /// A label of the owner's own round naming.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 120))]
    pub round_id: Option<String>,
    /// Only "open" at creation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<RoundIntentStatus>,
}

/// Body of `roundIntents.update`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundIntentUpdateRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 120))]
    pub task_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("uniqueItems" = true))]
    pub required_modalities: Option<Vec<Modality>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
    pub min_quality_score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 1_000_000_000), extend("exclusiveMinimum" = 0))]
    pub budget_total: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_ts: Option<TimeInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 120))]
    pub round_id: Option<String>,
    /// A transition the status table allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<RoundIntentStatus>,
}

/// A model owner's wish to fund one training round.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundIntent {
    /// `intent_` + a 6-digit counter.
    pub intent_id: String,
    pub model_owner_id: String,
    pub task_type: String,
    pub required_modalities: Vec<Modality>,
    pub min_quality_score: JsNumber,
    pub budget_total: Money,
    #[schemars(extend("format" = "date-time"))]
    pub deadline_ts: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_id: Option<String>,
    pub status: RoundIntentStatus,
    /// The contract a match made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract_id: Option<String>,
    #[schemars(extend("format" = "date-time"))]
    pub created_at: String,
    #[schemars(extend("format" = "date-time"))]
    pub updated_at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundIntentResponse {
    pub correlation_id: String,
    pub intent: RoundIntent,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundIntentListResponse {
    pub correlation_id: String,
    pub intents: Vec<RoundIntent>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
