//! The swap domain's store: intents, proposals with their participants, asset values, runs.
//! Each backend implements [`SwapStore`] (`src/store/<backend>/swap.rs`).

use std::collections::BTreeMap;

use crate::actor::ActorRef;
use crate::store::{CoreStore, StoreError, Table, Tx};

use super::types::{CycleProposal, IntentStatus, MatchingRun, ProposalStatus, SwapIntent};

/// An intent with the caller that submitted it (a partner may submit for its users).
#[derive(Clone, Debug)]
pub struct StoredIntent {
    pub intent: SwapIntent,
    pub created_by: ActorRef,
}

/// What expiry and replacement need to know about a marketplace proposal.
#[derive(Clone, Debug)]
pub struct ProposalLifecycle {
    pub id: String,
    pub status: ProposalStatus,
    pub expires_at: String,
}

pub trait SwapStore: CoreStore {
    fn insert_intent(
        &mut self,
        intent: &SwapIntent,
        created_by: &ActorRef,
    ) -> Result<(), StoreError>;
    /// Inserts or replaces an intent (fixture loading).
    fn put_intent(&mut self, intent: &SwapIntent, created_by: &ActorRef) -> Result<(), StoreError>;
    fn intent(&self, id: &str) -> Result<Option<StoredIntent>, StoreError>;
    fn set_intent_status(&mut self, id: &str, status: IntentStatus) -> Result<(), StoreError>;
    /// Intents whose actor is `actor` or that `actor` submitted, by id, after `after`.
    fn intents_of(
        &self,
        actor: &ActorRef,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SwapIntent>, StoreError>;
    /// Active intents of user actors, by id: the engine's input.
    fn matchable_intents(&self) -> Result<Vec<SwapIntent>, StoreError>;

    fn asset_values(&self) -> Result<BTreeMap<String, serde_json::Number>, StoreError>;
    fn put_asset_values(
        &mut self,
        values: &BTreeMap<String, serde_json::Number>,
    ) -> Result<(), StoreError>;

    fn proposal(&self, id: &str) -> Result<Option<CycleProposal>, StoreError>;
    /// Inserts or replaces a proposal and its participant rows.
    fn put_proposal(&mut self, proposal: &CycleProposal) -> Result<(), StoreError>;
    fn delete_proposal(&mut self, id: &str) -> Result<(), StoreError>;
    /// Marketplace-sourced proposals, by id.
    fn marketplace_proposals(&self) -> Result<Vec<ProposalLifecycle>, StoreError>;
    fn proposals_owned_by(
        &self,
        owner: &ActorRef,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CycleProposal>, StoreError>;
    fn proposals_with_participant(
        &self,
        actor: &ActorRef,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CycleProposal>, StoreError>;

    /// Stores a run under its sequence number (the counter value in its id).
    fn insert_run(&mut self, run: &MatchingRun, seq: u64) -> Result<(), StoreError>;
    fn run(&self, run_id: &str) -> Result<Option<MatchingRun>, StoreError>;
    /// Runs newest first, older than `before` (a run id) when given.
    fn runs_page(
        &self,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<MatchingRun>, StoreError>;
    fn run_seq(&self, run_id: &str) -> Result<Option<u64>, StoreError>;
}

/// The request's transaction as the swap store.
pub fn of(tx: &mut dyn Tx) -> Result<&mut (dyn SwapStore + 'static), StoreError> {
    tx.domain::<dyn SwapStore>()
}

/// The swap domain's tables, in reset order (children before parents).
pub const TABLES: &[Table] = &[
    Table::new("cycle_proposal_participants", "proposal_id, position"),
    Table::new("cycle_proposals", "id"),
    Table::new("marketplace_asset_values", "asset_id"),
    Table::new("marketplace_matching_runs", "seq"),
    Table::new("swap_intents", "id"),
];

/// Its migrations, in order (the SQL is each backend's).
pub const MIGRATIONS: &[&str] = &[
    "0001_tables",
    "0002_partial_creator_index",
    "0003_health_counters",
];

/// The counters `/healthz` reports, kept by the database as rows come and go.
pub const HEALTH_COUNTERS: &[&str] = &[
    "intents",
    "proposals",
    "marketplace_asset_values",
    "marketplace_matching_runs",
    "marketplace_matching_proposals",
];
