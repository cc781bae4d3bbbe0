//! Swap intents, cycle proposals and matching runs as they cross the wire (spec
//! `swap-matching.md` sections 3 to 7). Every object is closed: unknown fields are rejected.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::actor::ActorRef;
use crate::contracts::schemas::{Direction, NamedSchema, generate};
use crate::json::{JsNumber, NonNegativeNumber};

/// The schemas of the swap operations.
pub fn schemas() -> Vec<NamedSchema> {
    use Direction::{Request, Response};
    vec![
        generate::<SwapIntentCreateRequest>(Request),
        generate::<MatchingRunRequest>(Request),
        generate::<DevFixtures>(Request),
        generate::<SwapIntentResponse>(Response),
        generate::<SwapIntentListResponse>(Response),
        generate::<CycleProposalResponse>(Response),
        generate::<CycleProposalListResponse>(Response),
        generate::<MatchingRunResponse>(Response),
        generate::<MatchingRunListResponse>(Response),
        generate::<DevFixturesResponse>(Response),
    ]
}

/// What an actor offers and what it wants in return.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwapIntent {
    /// Unique id, chosen by the client.
    #[schemars(length(min = 1, max = 200))]
    pub id: String,
    /// Whose intent this is.
    pub actor: ActorRef,
    #[serde(default)]
    pub status: IntentStatus,
    /// What the intent gives.
    #[schemars(length(min = 1))]
    pub offer: Vec<AssetRef>,
    pub want_spec: WantSpec,
    /// Bounds on the value of what the intent receives.
    pub value_band: ValueBand,
    pub trust_constraints: TrustConstraints,
    pub time_constraints: TimeConstraints,
    pub settlement_preferences: SettlementPreferences,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IntentStatus {
    #[default]
    Active,
    Cancelled,
}

impl IntentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IntentStatus::Active => "active",
            IntentStatus::Cancelled => "cancelled",
        }
    }
}

/// An asset on a platform. Its key is `<platform>:<asset_id>`; values are looked up by the bare
/// `asset_id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetRef {
    pub platform: Platform,
    #[schemars(length(min = 1))]
    pub asset_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<AppId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// Free-form; `category` is what category wants match, `estimated_value_usd` and
    /// `value_usd` may price the asset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<AssetProof>,
    /// A price hint used when no stored or requested value exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_value_usd: Option<NonNegativeNumber>,
    /// A price hint used when no stored or requested value exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_usd: Option<NonNegativeNumber>,
}

impl AssetRef {
    pub fn key(&self) -> String {
        format!("{}:{}", self.platform.as_str(), self.asset_id)
    }

    pub fn category(&self) -> Option<&str> {
        self.metadata.as_ref()?.get("category")?.as_str()
    }

    /// The first finite number >= 0 among the asset's price hints, in the contract's order.
    pub fn value_hint(&self) -> Option<serde_json::Number> {
        let direct = [&self.estimated_value_usd, &self.value_usd]
            .into_iter()
            .flatten()
            .map(|number| number.0.clone());
        let from_metadata = ["estimated_value_usd", "value_usd"]
            .into_iter()
            .filter_map(|key| self.metadata.as_ref()?.get(key)?.as_number().cloned());
        direct
            .chain(from_metadata)
            .find(|number| number.as_f64().is_some_and(|x| x.is_finite() && x >= 0.0))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Steam,
}

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Steam => "steam",
        }
    }
}

/// A platform application id, as a number (`730`) or a string (`"730"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AppId {
    Number(u64),
    Text(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetProof {
    #[schemars(length(min = 1))]
    pub inventory_snapshot_id: String,
    #[schemars(extend("format" = "date-time"))]
    pub verified_at: String,
}

/// What the intent accepts: any one of the clauses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WantSpec {
    #[serde(rename = "type")]
    pub kind: WantSpecKind,
    #[schemars(length(min = 1))]
    pub any_of: Vec<WantClause>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WantSpecKind {
    Set,
}

/// One acceptable thing: a specific asset, or any asset of a category.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum WantClause {
    /// Met by an offered asset with this key (`steam:assetA`).
    SpecificAsset {
        platform: Platform,
        #[schemars(length(min = 1))]
        asset_key: String,
    },
    /// Met by an offered asset whose `metadata.category` equals `category` exactly.
    Category {
        platform: Platform,
        app_id: AppId,
        #[schemars(length(min = 1))]
        category: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        constraints: Option<Map<String, Value>>,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueBand {
    pub min_usd: NonNegativeNumber,
    pub max_usd: NonNegativeNumber,
    #[schemars(length(min = 1))]
    pub pricing_source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustConstraints {
    /// The longest cycle this intent accepts.
    #[schemars(range(min = 2, max = 6))]
    pub max_cycle_length: u8,
    #[schemars(range(min = 0, max = 5))]
    pub min_counterparty_reliability: serde_json::Number,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_risk_tiers: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeConstraints {
    #[schemars(extend("format" = "date-time"))]
    pub expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<Urgency>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Urgency {
    Low,
    Normal,
    High,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SettlementPreferences {
    pub require_escrow: bool,
}

/// Body of `swapIntents.create`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwapIntentCreateRequest {
    pub intent: SwapIntent,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwapIntentResponse {
    pub correlation_id: String,
    pub intent: SwapIntent,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwapIntentListResponse {
    pub correlation_id: String,
    /// The caller's intents, by id.
    pub intents: Vec<SwapIntent>,
    /// Pass as `cursor` to read the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A proposed swap cycle: each participant gives its offer and gets the next one's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CycleProposal {
    /// `cycle_` + the first 12 hex digits of SHA-256 of the intent ids joined by `>`.
    #[schemars(length(min = 1))]
    pub id: String,
    pub status: ProposalStatus,
    /// `marketplace` for proposals a matching run made; runs replace and expire only these.
    pub origin: ProposalOrigin,
    /// The partner that owns the proposal.
    pub owner: ActorRef,
    /// The run that made it, when a run did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matching_run_id: Option<String>,
    #[schemars(extend("format" = "date-time"))]
    pub created_at: String,
    /// The earliest `expires_at` of the participants.
    #[schemars(extend("format" = "date-time"))]
    pub expires_at: String,
    #[schemars(length(min = 2))]
    pub participants: Vec<Participant>,
    pub confidence_score: JsNumber,
    pub value_spread: JsNumber,
    pub fee_breakdown: Vec<Fee>,
    pub explainability: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProposalStatus {
    Proposed,
    Accepted,
    Reserved,
    Settled,
}

impl ProposalStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalStatus::Proposed => "proposed",
            ProposalStatus::Accepted => "accepted",
            ProposalStatus::Reserved => "reserved",
            ProposalStatus::Settled => "settled",
        }
    }

    /// A proposal in use is never expired or replaced by a run.
    pub fn in_use(self) -> bool {
        self != ProposalStatus::Proposed
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProposalOrigin {
    Marketplace,
    Partner,
}

impl ProposalOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalOrigin::Marketplace => "marketplace",
            ProposalOrigin::Partner => "partner",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Participant {
    pub intent_id: String,
    pub actor: ActorRef,
    pub give: Vec<AssetRef>,
    pub get: Vec<AssetRef>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fee {
    pub actor: ActorRef,
    pub fee_usd: JsNumber,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CycleProposalResponse {
    pub correlation_id: String,
    pub proposal: CycleProposal,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CycleProposalListResponse {
    pub correlation_id: String,
    /// Proposals visible to the caller, by id.
    pub proposals: Vec<CycleProposal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Body of `marketplaceMatching.run`; every field is optional.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchingRunRequest {
    /// Delete the marketplace's earlier proposals that are not in use (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replace_existing: Option<bool>,
    /// How many selected proposals to store (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 200))]
    pub max_proposals: Option<u32>,
    /// The run's timestamp; defaults to `x-now-iso`, then the server clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date-time"))]
    pub recorded_at: Option<String>,
    /// Asset values by bare asset id; they override stored and derived values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("propertyNames" = {"minLength": 1}))]
    pub asset_values_usd: Option<BTreeMap<String, NonNegativeNumber>>,
    /// How to choose among the candidates: `greedy` (default, the M111 contract) or `optimal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<super::selection::Strategy>,
    /// What `optimal` maximises: the total `score` (default) or the matched `intents`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objective: Option<super::selection::Objective>,
    /// The selection's work budget in milliseconds (default 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10_000))]
    pub max_solve_ms: Option<u32>,
}

/// The record of one matching run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchingRun {
    #[schemars(regex(pattern = r"^mrun_\d{6,}$"))]
    pub run_id: String,
    pub requested_by: ActorRef,
    /// The effective timestamp, as given.
    pub recorded_at: String,
    pub replace_existing: bool,
    pub max_proposals: u32,
    /// Active user intents fed to the engine.
    pub active_intents_count: u64,
    /// Selected proposals kept after the `max_proposals` cut.
    pub selected_proposals_count: u64,
    /// Kept proposals written to the store (a kept proposal whose id is held by a proposal in
    /// use is not overwritten, and not counted here).
    pub stored_proposals_count: u64,
    pub replaced_proposals_count: u64,
    pub expired_proposals_count: u64,
    /// Stored proposals, in engine order.
    pub proposal_ids: Vec<String>,
    pub stats: RunStats,
    pub diagnostics: RunDiagnostics,
}

/// Engine counts before the `max_proposals` cut.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunStats {
    pub intents_active: u64,
    pub edges: u64,
    pub candidate_cycles: u64,
    pub candidate_proposals: u64,
    pub selected_proposals: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunDiagnostics {
    /// Candidate edges left out because an offered asset has no known value.
    pub edges_skipped_missing_value: u64,
    /// Cycles dropped because a participant's `max_cycle_length` is shorter.
    pub cycles_dropped_max_length: u64,
    /// How the proposals were chosen and how close to optimal; present when the request chose
    /// a `selection`, an `objective` or a `max_solve_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selection: Option<super::selection::SelectionReport>,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchingRunResponse {
    pub correlation_id: String,
    pub run: MatchingRun,
}

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchingRunListResponse {
    pub correlation_id: String,
    /// Runs, newest first.
    pub runs: Vec<MatchingRun>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

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
