//! `/training/status`, `/metrics_summary` and `/metrics` (spec section 6).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::json::JsNumber;
use crate::store::RecordedActivity;

use super::super::money::Money;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundMetrics {
    pub round_id: String,
    pub accuracy: JsNumber,
    pub loss: JsNumber,
    #[schemars(extend("format" = "date-time"))]
    pub completed_at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PendingContractSummary {
    pub contract_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_id: Option<String>,
    pub offer_count: u64,
    pub agreed_price_per_round_total: Money,
}

/// Contracts whose escrow is not released yet.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PendingContracts {
    pub count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest: Option<PendingContractSummary>,
    pub locked_escrow_total: Money,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingStatusResponse {
    pub correlation_id: String,
    /// The newest round; absent before the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_round: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_round_metrics: Option<RoundMetrics>,
    pub rounds_completed: u64,
    pub marketplace_pending_contracts: PendingContracts,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractsByState {
    pub created: u64,
    pub bound_to_round: u64,
    pub escrow_released: u64,
}

/// The marketplace in numbers.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketplaceSnapshot {
    pub offers_total: u64,
    pub offers_active: u64,
    pub open_intents: u64,
    pub contracts_total: u64,
    pub contracts_by_state: ContractsByState,
    pub locked_escrow_total: Money,
    pub released_payout_total: Money,
    /// Calls of `dataMarketplace.match` that reached matching.
    pub match_attempts: u64,
    /// Of those, the ones that created no contract.
    pub match_failures: u64,
    /// Eligibility failures over every match attempt, per rule.
    pub rejection_reasons_total: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsSummaryResponse {
    pub correlation_id: String,
    pub marketplace: MarketplaceSnapshot,
    /// The newest operation events (at most 20), newest first.
    pub operations: Vec<RecordedActivity>,
}

/// The Prometheus text exposition of the marketplace snapshot.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct PrometheusText(pub String);
