//! Preview and match requests, and what a selection reports (spec section 4).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::json::JsNumber;

use super::super::money::Money;
use super::intents::RoundIntentCreateRequest;
use super::offers::Modality;

/// Body of `dataMarketplace.match`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchRequest {
    #[schemars(length(min = 1))]
    pub round_intent_id: String,
    /// How many offers to select at most (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 25))]
    pub max_offers: Option<u32>,
}

/// Body of `dataMarketplace.preview`: an existing intent or an inline one, with overrides.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub round_intent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<RoundIntentCreateRequest>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 25))]
    pub max_offers: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_overrides: Option<PolicyOverrides>,
}

/// What a preview may try instead of the intent's own policy.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(max = 1_000_000_000), extend("exclusiveMinimum" = 0))]
    pub budget_total: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
    pub min_quality_score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("uniqueItems" = true))]
    pub required_modalities: Option<Vec<Modality>>,
}

/// The policy a selection ran under.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EffectivePolicy {
    pub task_type: String,
    pub required_modalities: Vec<Modality>,
    pub min_quality_score: JsNumber,
    pub budget_total: Money,
    pub max_offers: u32,
    #[schemars(extend("format" = "date-time"))]
    pub evaluated_at: String,
}

/// Score parts, each rounded to 6 decimals.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoreBreakdown {
    /// 0.5 × quality_score.
    pub quality: JsNumber,
    /// 0.3 / (1 + price_per_round).
    pub cost: JsNumber,
    /// 0.2 × (1 when verified, else 0.5).
    pub trust: JsNumber,
    pub total: JsNumber,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RankedOffer {
    pub offer_id: String,
    pub score_breakdown: ScoreBreakdown,
    pub selected: bool,
    pub skipped_for_budget: bool,
}

/// Why offers did and did not match.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectionDiagnostics {
    /// Offers looked at (every offer in the store).
    pub offers_evaluated: u64,
    /// Offers that passed every eligibility rule.
    pub compatible_offers: u64,
    /// Compatible offers skipped because their price would exceed the budget.
    pub budget_rejected: u64,
    /// Failed eligibility rules, counted per rule (an offer may fail several).
    pub rejection_reasons: BTreeMap<String, u64>,
    /// The best-ranked compatible offers (at most 5).
    pub top_ranked_offers: Vec<RankedOffer>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelectedOffer {
    pub offer_id: String,
    pub seller_node_id: String,
    pub price_per_round: Money,
    pub quality_score: JsNumber,
    pub sample_count: u64,
    pub dataset_fingerprint: String,
    /// The total score.
    pub score: JsNumber,
    pub score_breakdown: ScoreBreakdown,
}

/// What a preview would select.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Preview {
    pub policy: EffectivePolicy,
    pub selected_offers: Vec<SelectedOffer>,
    pub agreed_price_per_round_total: Money,
    pub diagnostics: SelectionDiagnostics,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewResponse {
    pub correlation_id: String,
    pub preview: Preview,
}
