//! Offers, round intents, contracts, training rounds and the marketplace summaries as they cross
//! the wire (spec `data-marketplace.md`). Requests are closed objects; every field rule here is
//! also a field-guidance rule (the manifest maps each field to its reason code).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::actor::ActorRef;
use crate::contracts::schemas::{Direction, NamedSchema, generate};
use crate::json::JsNumber;
use crate::store::RecordedActivity;

/// The schemas of the data-marketplace operations.
pub fn schemas() -> Vec<NamedSchema> {
    use Direction::{Request, Response};
    vec![
        generate::<OfferCreateRequest>(Request),
        generate::<OfferUpdateRequest>(Request),
        generate::<RoundIntentCreateRequest>(Request),
        generate::<RoundIntentUpdateRequest>(Request),
        generate::<MatchRequest>(Request),
        generate::<PreviewRequest>(Request),
        generate::<EscrowReleaseRequest>(Request),
        generate::<TrainingRoundRequest>(Request),
        generate::<OfferResponse>(Response),
        generate::<OfferListResponse>(Response),
        generate::<RoundIntentResponse>(Response),
        generate::<RoundIntentListResponse>(Response),
        generate::<PreviewResponse>(Response),
        generate::<ContractResponse>(Response),
        generate::<ContractListResponse>(Response),
        generate::<TimelineResponse>(Response),
        generate::<TrainingRoundResponse>(Response),
        generate::<TrainingRoundListResponse>(Response),
        generate::<TrainingStatusResponse>(Response),
        generate::<MetricsSummaryResponse>(Response),
        generate::<PrometheusText>(Response),
    ]
}

use super::money::Money;

/// What kind of data an offer holds.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Modality {
    Image,
    Tabular,
    Text,
    Audio,
    Timeseries,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AttestationStatus {
    Unknown,
    Pending,
    Verified,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OfferStatus {
    Active,
    Paused,
    Retired,
}

impl OfferStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OfferStatus::Active => "active",
            OfferStatus::Paused => "paused",
            OfferStatus::Retired => "retired",
        }
    }
}

/// A time given as an RFC 3339 date-time or as Unix seconds; answered as RFC 3339.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum TimeInput {
    Text(#[schemars(extend("format" = "date-time"))] String),
    UnixSeconds(#[schemars(range(min = 0))] i64),
}

/// Body of `dataOffers.create`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferCreateRequest {
    /// The providing node; the caller, unless the caller operates the marketplace.
    #[schemars(length(min = 1, max = 120))]
    pub seller_node_id: String,
    /// `<algorithm>:<hex digest>` of the dataset, e.g. `sha256:9f86d0...`.
    #[schemars(length(min = 1), regex(pattern = r"^[a-z0-9]+:[0-9a-fA-F]{8,128}$"))]
    pub dataset_fingerprint: String,
    /// 1 to 120 characters (default "Untitled Offer").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 120))]
    pub title: Option<String>,
    /// At most 2000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2000))]
    pub description: Option<String>,
    pub modality: Modality,
    /// Default "unknown".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 120))]
    pub label_schema: Option<String>,
    /// Default "dp-ready".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 120))]
    pub privacy_profile: Option<String>,
    /// Number of samples (default 0); weighs the offer in a training round.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1_000_000_000))]
    pub sample_count: Option<u64>,
    /// Quality in [0, 1].
    #[schemars(range(min = 0, max = 1))]
    pub quality_score: f64,
    /// Tasks the data may train; empty means any task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(inner(length(min = 1, max = 120)), extend("uniqueItems" = true))]
    pub allowed_tasks: Option<Vec<String>>,
    /// Default "unknown"; only an operator may set "verified".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation_status: Option<AttestationStatus>,
    /// USD per training round, >= 0, at most 6 decimals.
    #[schemars(range(min = 0, max = 1_000_000_000))]
    pub price_per_round: f64,
    /// Rounds the provider commits to (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10_000))]
    pub min_rounds: Option<u32>,
    /// Must be in the future.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<TimeInput>,
    /// Default "active".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OfferStatus>,
}

/// Body of `dataOffers.update`: the same rules as create, every field optional; the seller and
/// the fingerprint never change.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferUpdateRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 120))]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2000))]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modality: Option<Modality>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 120))]
    pub label_schema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 120))]
    pub privacy_profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1_000_000_000))]
    pub sample_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1))]
    pub quality_score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(inner(length(min = 1, max = 120)), extend("uniqueItems" = true))]
    pub allowed_tasks: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attestation_status: Option<AttestationStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 1_000_000_000))]
    pub price_per_round: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10_000))]
    pub min_rounds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<TimeInput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<OfferStatus>,
}

/// A data offer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    /// `offer_` + a 6-digit counter.
    pub offer_id: String,
    pub seller_node_id: String,
    pub dataset_fingerprint: String,
    pub title: String,
    pub description: String,
    pub modality: Modality,
    pub label_schema: String,
    pub privacy_profile: String,
    pub sample_count: u64,
    pub quality_score: JsNumber,
    /// Empty means any task.
    pub allowed_tasks: Vec<String>,
    pub attestation_status: AttestationStatus,
    pub price_per_round: Money,
    pub min_rounds: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub expires_at: Option<String>,
    pub status: OfferStatus,
    #[schemars(extend("format" = "date-time"))]
    pub created_at: String,
    #[schemars(extend("format" = "date-time"))]
    pub updated_at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferResponse {
    pub correlation_id: String,
    pub offer: Offer,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferListResponse {
    pub correlation_id: String,
    /// In creation order.
    pub offers: Vec<Offer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContractState {
    Created,
    BoundToRound,
    EscrowReleased,
}

impl ContractState {
    pub fn as_str(self) -> &'static str {
        match self {
            ContractState::Created => "created",
            ContractState::BoundToRound => "bound_to_round",
            ContractState::EscrowReleased => "escrow_released",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EscrowStatus {
    Locked,
    Released,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PayoutStatus {
    Pending,
    Released,
}

/// What a seller is paid on release: in proportion to its price, which makes it its price.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Payout {
    pub offer_id: String,
    pub seller_node_id: String,
    pub amount: Money,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimelineEventKind {
    ContractCreated,
    BoundToRound,
    EscrowReleased,
}

/// One state change of a contract.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimelineEvent {
    /// 1, 2, 3, ... in the order the changes happened.
    pub seq: u64,
    #[schemars(extend("format" = "date-time"))]
    pub at: String,
    pub event: TimelineEventKind,
    pub actor: ActorRef,
    pub data: Map<String, Value>,
}

/// A matched round intent: the selected offers, the money, and everything that happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Contract {
    /// `contract_` + a 6-digit counter.
    pub contract_id: String,
    pub round_intent_id: String,
    /// The intent's round label, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_id: Option<String>,
    pub model_owner_id: String,
    pub selected_offers: Vec<SelectedOffer>,
    pub offer_count: u64,
    pub agreed_price_per_round_total: Money,
    pub state: ContractState,
    pub escrow_status: EscrowStatus,
    pub payout_status: PayoutStatus,
    /// The training round that bound the contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_round: Option<String>,
    /// Set on release.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payouts: Vec<Payout>,
    pub selection_diagnostics: SelectionDiagnostics,
    /// Every state change, in order; never truncated.
    pub timeline: Vec<TimelineEvent>,
    #[schemars(extend("format" = "date-time"))]
    pub created_at: String,
    #[schemars(extend("format" = "date-time"))]
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub released_at: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractResponse {
    pub correlation_id: String,
    pub contract: Contract,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractListResponse {
    pub correlation_id: String,
    pub contracts: Vec<Contract>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimelineResponse {
    pub correlation_id: String,
    pub contract_id: String,
    pub state: ContractState,
    pub timeline: Vec<TimelineEvent>,
}

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
