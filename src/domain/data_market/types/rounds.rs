//! Escrow release and training rounds (spec section 5).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::json::JsNumber;

/// Body of `escrow.release`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EscrowReleaseRequest {
    #[schemars(length(min = 1))]
    pub contract_id: String,
}

/// Body of `trainingRounds.create` (and of its alias `POST /trigger_fl`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingRoundRequest {
    /// Bind just these contracts (each must be waiting for a round); default: every contract in
    /// state `created`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 100), inner(length(min = 1)), extend("uniqueItems" = true))]
    pub contract_ids: Option<Vec<String>>,
}

/// One offer's part in a round.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundParticipant {
    pub contract_id: String,
    pub offer_id: String,
    pub seller_node_id: String,
    pub dataset_fingerprint: String,
    /// Samples of the synthetic shard the local update trained on.
    pub shard_samples: u64,
    /// The offer's share of the average (its sample count over the round's).
    pub weight: JsNumber,
}

/// A completed round of federated averaging.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingRound {
    /// `round_` + a 6-digit counter.
    pub round_id: String,
    pub round_number: u64,
    pub bound_contract_ids: Vec<String>,
    pub participants: Vec<RoundParticipant>,
    /// Accuracy of the averaged model on the fixed evaluation set.
    pub accuracy: JsNumber,
    /// Mean logistic loss of the averaged model on the evaluation set.
    pub loss: JsNumber,
    #[schemars(extend("format" = "date-time"))]
    pub started_at: String,
    #[schemars(extend("format" = "date-time"))]
    pub completed_at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingRoundResponse {
    pub correlation_id: String,
    pub round: TrainingRound,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingRoundListResponse {
    pub correlation_id: String,
    /// Newest first.
    pub rounds: Vec<TrainingRound>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}
