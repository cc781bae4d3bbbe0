//! The data marketplace's store: offers, round intents, contracts with their offers and
//! timeline, training rounds and the global model. Each backend implements
//! [`DataMarketStore`] (`src/store/<backend>/data_market.rs`).

use std::collections::BTreeSet;

use crate::store::{CoreStore, StoreError, Table, Tx};

use super::money::Money;
use super::training::Model;
use super::types::{Contract, ContractState, Offer, RoundIntent, TimelineEvent, TrainingRound};

/// Filters of `dataOffers.list`.
#[derive(Clone, Debug, Default)]
pub struct OfferFilter<'a> {
    pub status: Option<&'a str>,
    pub seller_node_id: Option<&'a str>,
}

/// Filters of `roundIntents.list`.
#[derive(Clone, Debug, Default)]
pub struct IntentFilter<'a> {
    pub status: Option<&'a str>,
    pub model_owner_id: Option<&'a str>,
}

/// Filters of `dataContracts.list`.
#[derive(Clone, Debug, Default)]
pub struct ContractFilter<'a> {
    pub state: Option<&'a str>,
    pub round_intent_id: Option<&'a str>,
}

/// Counts for the marketplace snapshot.
#[derive(Clone, Debug, Default)]
pub struct DataMarketCounts {
    pub offers_total: u64,
    pub offers_active: u64,
    pub open_intents: u64,
    pub contracts_created: u64,
    pub contracts_bound: u64,
    pub contracts_released: u64,
    pub locked_escrow_total: Money,
    pub released_payout_total: Money,
}

/// Tables whose rows are ordered by a `seq` next to their id.
#[derive(Clone, Copy, Debug)]
pub enum Sequenced {
    Offers,
    Intents,
    Contracts,
    Rounds,
}

impl Sequenced {
    /// The table and its id column, as every backend's schema names them.
    pub fn table_and_key(self) -> (&'static str, &'static str) {
        match self {
            Sequenced::Offers => ("data_offers", "offer_id"),
            Sequenced::Intents => ("data_round_intents", "intent_id"),
            Sequenced::Contracts => ("data_contracts", "contract_id"),
            Sequenced::Rounds => ("training_rounds", "round_id"),
        }
    }
}

pub trait DataMarketStore: CoreStore {
    /// The `seq` of a row, for cursors.
    fn seq_of(&self, table: Sequenced, id: &str) -> Result<Option<u64>, StoreError>;

    fn insert_offer(&mut self, offer: &Offer, seq: u64) -> Result<(), StoreError>;
    fn update_offer(&mut self, offer: &Offer) -> Result<(), StoreError>;
    fn offer(&self, offer_id: &str) -> Result<Option<Offer>, StoreError>;
    fn offers_page(
        &self,
        filter: &OfferFilter<'_>,
        after_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Offer>, StoreError>;
    /// Every offer, in creation order: what matching evaluates.
    fn all_offers(&self) -> Result<Vec<Offer>, StoreError>;
    /// An active offer of `seller` for `fingerprint`, other than `except`.
    fn active_offer_for(
        &self,
        seller: &str,
        fingerprint: &str,
        except: Option<&str>,
    ) -> Result<Option<String>, StoreError>;
    /// Offers held by contracts whose escrow is not released.
    fn committed_offer_ids(&self) -> Result<BTreeSet<String>, StoreError>;

    fn insert_round_intent(&mut self, intent: &RoundIntent, seq: u64) -> Result<(), StoreError>;
    fn update_round_intent(&mut self, intent: &RoundIntent) -> Result<(), StoreError>;
    fn round_intent(&self, intent_id: &str) -> Result<Option<RoundIntent>, StoreError>;
    fn round_intents_page(
        &self,
        filter: &IntentFilter<'_>,
        after_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<RoundIntent>, StoreError>;

    /// Stores a contract (its timeline goes through [`DataMarketStore::append_timeline`]).
    fn insert_contract(&mut self, contract: &Contract, seq: u64) -> Result<(), StoreError>;
    fn update_contract(&mut self, contract: &Contract) -> Result<(), StoreError>;
    fn append_timeline(
        &mut self,
        contract_id: &str,
        event: &TimelineEvent,
    ) -> Result<(), StoreError>;
    /// A contract with its whole timeline.
    fn contract(&self, contract_id: &str) -> Result<Option<Contract>, StoreError>;
    fn contracts_page(
        &self,
        filter: &ContractFilter<'_>,
        after_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Contract>, StoreError>;
    /// Contracts in `state`, oldest first.
    fn contracts_in_state(&self, state: ContractState) -> Result<Vec<Contract>, StoreError>;
    /// Contracts whose escrow is not released, oldest first.
    fn pending_contracts(&self) -> Result<Vec<Contract>, StoreError>;

    fn insert_round(&mut self, round: &TrainingRound, seq: u64) -> Result<(), StoreError>;
    fn round(&self, round_id: &str) -> Result<Option<TrainingRound>, StoreError>;
    /// Rounds newest first, older than `before_seq` when given.
    fn rounds_page(
        &self,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<TrainingRound>, StoreError>;
    fn model(&self) -> Result<Option<Model>, StoreError>;
    fn put_model(&mut self, model: &Model) -> Result<(), StoreError>;

    fn data_market_counts(&self) -> Result<DataMarketCounts, StoreError>;
}

/// A contract as every backend stores its document: without its timeline, which has a table
/// of its own.
pub fn stored_contract(contract: &Contract) -> Contract {
    Contract {
        timeline: Vec::new(),
        ..contract.clone()
    }
}

/// The request's transaction as the data-marketplace store.
pub fn of(tx: &mut dyn Tx) -> Result<&mut (dyn DataMarketStore + 'static), StoreError> {
    tx.domain::<dyn DataMarketStore>()
}

/// The data marketplace's tables, in reset order (children before parents).
pub const TABLES: &[Table] = &[
    Table::new("data_contract_timeline", "contract_id, seq"),
    Table::new("data_contract_offers", "contract_id, offer_id"),
    Table::new("data_contracts", "seq"),
    Table::new("data_offers", "seq"),
    Table::new("data_round_intents", "seq"),
    Table::new("training_rounds", "seq"),
    Table::new("training_model", "id"),
];

/// Its migrations, in order (the SQL is each backend's).
pub const MIGRATIONS: &[&str] = &["0001_tables", "0002_one_active_offer"];
