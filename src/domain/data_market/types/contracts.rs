//! Contracts, their escrow and timeline (spec section 5).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::actor::ActorRef;

use super::super::money::Money;
use super::matching::{SelectedOffer, SelectionDiagnostics};

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
