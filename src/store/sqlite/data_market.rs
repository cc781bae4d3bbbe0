//! The data marketplace's store on SQLite.

use std::any::Any;
use std::collections::BTreeSet;

use rusqlite::{OptionalExtension, params};

use crate::domain::data_market::store::{
    self, ContractFilter, DataMarketCounts, DataMarketStore, IntentFilter, OfferFilter, Sequenced,
};
use crate::domain::data_market::training::Model;
use crate::domain::data_market::types::{
    Contract, ContractState, Offer, OfferStatus, RoundIntent, RoundIntentStatus, TimelineEvent,
    TrainingRound,
};
use crate::store::StoreError;

use super::{SqliteTx, encode, sql_error, sql_limit};

pub(super) const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_tables",
        include_str!("migrations/data_market/0001_tables.sql"),
    ),
    (
        "0002_one_active_offer",
        include_str!("migrations/data_market/0002_one_active_offer.sql"),
    ),
];

pub(super) fn view<'a>(tx: &'a mut (dyn Any + 'static)) -> &'a mut (dyn DataMarketStore + 'static) {
    super::sqlite_tx(tx)
}

fn after_param(after_seq: Option<u64>) -> i64 {
    after_seq.map_or(0, |seq| i64::try_from(seq).unwrap_or(i64::MAX))
}

impl SqliteTx {
    fn timeline(&self, contract_id: &str) -> Result<Vec<TimelineEvent>, StoreError> {
        self.documents(
            "SELECT document FROM data_contract_timeline WHERE contract_id = ?1 ORDER BY seq",
            params![contract_id],
            "reading a timeline",
        )
    }

    fn with_timelines(&self, mut contracts: Vec<Contract>) -> Result<Vec<Contract>, StoreError> {
        for contract in &mut contracts {
            contract.timeline = self.timeline(&contract.contract_id)?;
        }
        Ok(contracts)
    }
}

impl DataMarketStore for SqliteTx {
    fn seq_of(&self, table: Sequenced, id: &str) -> Result<Option<u64>, StoreError> {
        let (table, key) = table.table_and_key();
        self.conn()
            .query_row(
                &format!("SELECT seq FROM {table} WHERE {key} = ?1"),
                params![id],
                |row| row.get(0),
            )
            .optional()
            .map_err(sql_error("reading a cursor"))
    }

    fn insert_offer(&mut self, offer: &Offer, seq: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO data_offers (offer_id, seq, seller_node_id, status, dataset_fingerprint, document)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![offer.offer_id, seq, offer.seller_node_id, offer.status.as_str(), offer.dataset_fingerprint, encode(offer)?],
            "inserting an offer",
        )
    }

    fn update_offer(&mut self, offer: &Offer) -> Result<(), StoreError> {
        self.execute(
            "UPDATE data_offers SET status = ?2, document = ?3 WHERE offer_id = ?1",
            params![offer.offer_id, offer.status.as_str(), encode(offer)?],
            "updating an offer",
        )
    }

    fn offer(&self, offer_id: &str) -> Result<Option<Offer>, StoreError> {
        self.document(
            "SELECT document FROM data_offers WHERE offer_id = ?1",
            params![offer_id],
            "reading an offer",
        )
    }

    fn offers_page(
        &self,
        filter: &OfferFilter<'_>,
        after_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Offer>, StoreError> {
        self.documents(
            "SELECT document FROM data_offers
             WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR seller_node_id = ?2) AND seq > ?3
             ORDER BY seq LIMIT ?4",
            params![
                filter.status,
                filter.seller_node_id,
                after_param(after_seq),
                sql_limit(limit)
            ],
            "listing offers",
        )
    }

    fn all_offers(&self) -> Result<Vec<Offer>, StoreError> {
        self.documents(
            "SELECT document FROM data_offers ORDER BY seq",
            [],
            "reading offers",
        )
    }

    fn active_offer_for(
        &self,
        seller: &str,
        fingerprint: &str,
        except: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        self.conn()
            .query_row(
                "SELECT offer_id FROM data_offers
                 WHERE seller_node_id = ?1 AND dataset_fingerprint = ?2 AND status = ?3 AND offer_id != ?4
                 ORDER BY seq LIMIT 1",
                params![seller, fingerprint, OfferStatus::Active.as_str(), except.unwrap_or("")],
                |row| row.get(0),
            )
            .optional()
            .map_err(sql_error("looking for a duplicate offer"))
    }

    fn committed_offer_ids(&self) -> Result<BTreeSet<String>, StoreError> {
        let mut statement = self
            .conn()
            .prepare_cached(
                "SELECT DISTINCT o.offer_id FROM data_contract_offers o
                 JOIN data_contracts c ON c.contract_id = o.contract_id
                 WHERE c.state != ?1",
            )
            .map_err(sql_error("reading committed offers"))?;
        let rows = statement
            .query_map(params![ContractState::EscrowReleased.as_str()], |row| {
                row.get::<_, String>(0)
            })
            .map_err(sql_error("reading committed offers"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sql_error("reading committed offers"))
    }

    fn insert_round_intent(&mut self, intent: &RoundIntent, seq: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO data_round_intents (intent_id, seq, model_owner_id, status, document) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![intent.intent_id, seq, intent.model_owner_id, intent.status.as_str(), encode(intent)?],
            "inserting a round intent",
        )
    }

    fn update_round_intent(&mut self, intent: &RoundIntent) -> Result<(), StoreError> {
        self.execute(
            "UPDATE data_round_intents SET status = ?2, document = ?3 WHERE intent_id = ?1",
            params![intent.intent_id, intent.status.as_str(), encode(intent)?],
            "updating a round intent",
        )
    }

    fn round_intent(&self, intent_id: &str) -> Result<Option<RoundIntent>, StoreError> {
        self.document(
            "SELECT document FROM data_round_intents WHERE intent_id = ?1",
            params![intent_id],
            "reading a round intent",
        )
    }

    fn round_intents_page(
        &self,
        filter: &IntentFilter<'_>,
        after_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<RoundIntent>, StoreError> {
        self.documents(
            "SELECT document FROM data_round_intents
             WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR model_owner_id = ?2) AND seq > ?3
             ORDER BY seq LIMIT ?4",
            params![
                filter.status,
                filter.model_owner_id,
                after_param(after_seq),
                sql_limit(limit)
            ],
            "listing round intents",
        )
    }

    fn insert_contract(&mut self, contract: &Contract, seq: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO data_contracts (contract_id, seq, round_intent_id, state, document) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![contract.contract_id, seq, contract.round_intent_id, contract.state.as_str(), encode(&store::stored_contract(contract))?],
            "inserting a contract",
        )?;
        for offer in &contract.selected_offers {
            self.execute(
                "INSERT INTO data_contract_offers (contract_id, offer_id) VALUES (?1, ?2)",
                params![contract.contract_id, offer.offer_id],
                "inserting a contract offer",
            )?;
        }
        Ok(())
    }

    fn update_contract(&mut self, contract: &Contract) -> Result<(), StoreError> {
        self.execute(
            "UPDATE data_contracts SET state = ?2, document = ?3 WHERE contract_id = ?1",
            params![
                contract.contract_id,
                contract.state.as_str(),
                encode(&store::stored_contract(contract))?
            ],
            "updating a contract",
        )
    }

    fn append_timeline(
        &mut self,
        contract_id: &str,
        event: &TimelineEvent,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO data_contract_timeline (contract_id, seq, document) VALUES (?1, ?2, ?3)",
            params![contract_id, event.seq, encode(event)?],
            "appending to a timeline",
        )
    }

    fn contract(&self, contract_id: &str) -> Result<Option<Contract>, StoreError> {
        let contract: Option<Contract> = self.document(
            "SELECT document FROM data_contracts WHERE contract_id = ?1",
            params![contract_id],
            "reading a contract",
        )?;
        Ok(self.with_timelines(contract.into_iter().collect())?.pop())
    }

    fn contracts_page(
        &self,
        filter: &ContractFilter<'_>,
        after_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Contract>, StoreError> {
        let contracts = self.documents(
            "SELECT document FROM data_contracts
             WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR round_intent_id = ?2) AND seq > ?3
             ORDER BY seq LIMIT ?4",
            params![
                filter.state,
                filter.round_intent_id,
                after_param(after_seq),
                sql_limit(limit)
            ],
            "listing contracts",
        )?;
        self.with_timelines(contracts)
    }

    fn contracts_in_state(&self, state: ContractState) -> Result<Vec<Contract>, StoreError> {
        let contracts = self.documents(
            "SELECT document FROM data_contracts WHERE state = ?1 ORDER BY seq",
            params![state.as_str()],
            "reading contracts",
        )?;
        self.with_timelines(contracts)
    }

    fn pending_contracts(&self) -> Result<Vec<Contract>, StoreError> {
        let contracts = self.documents(
            "SELECT document FROM data_contracts WHERE state != ?1 ORDER BY seq",
            params![ContractState::EscrowReleased.as_str()],
            "reading pending contracts",
        )?;
        self.with_timelines(contracts)
    }

    fn insert_round(&mut self, round: &TrainingRound, seq: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO training_rounds (round_id, seq, document) VALUES (?1, ?2, ?3)",
            params![round.round_id, seq, encode(round)?],
            "inserting a training round",
        )
    }

    fn round(&self, round_id: &str) -> Result<Option<TrainingRound>, StoreError> {
        self.document(
            "SELECT document FROM training_rounds WHERE round_id = ?1",
            params![round_id],
            "reading a training round",
        )
    }

    fn rounds_page(
        &self,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<TrainingRound>, StoreError> {
        let before = before_seq.map_or(i64::MAX, |seq| i64::try_from(seq).unwrap_or(i64::MAX));
        self.documents(
            "SELECT document FROM training_rounds WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2",
            params![before, sql_limit(limit)],
            "listing training rounds",
        )
    }

    fn model(&self) -> Result<Option<Model>, StoreError> {
        self.document(
            "SELECT document FROM training_model WHERE id = 1",
            [],
            "reading the model",
        )
    }

    fn put_model(&mut self, model: &Model) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO training_model (id, document) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET document = excluded.document",
            params![encode(model)?],
            "writing the model",
        )
    }

    fn data_market_counts(&self) -> Result<DataMarketCounts, StoreError> {
        let count =
            |sql: &str, param: &str| -> Result<u64, StoreError> { self.count(sql, params![param]) };
        let contracts_by = |state: ContractState| {
            count(
                "SELECT COUNT(*) FROM data_contracts WHERE state = ?1",
                state.as_str(),
            )
        };
        let unreleased = self.documents::<Contract>(
            "SELECT document FROM data_contracts WHERE state != ?1",
            params![ContractState::EscrowReleased.as_str()],
            "summing escrow",
        )?;
        let released = self.documents::<Contract>(
            "SELECT document FROM data_contracts WHERE state = ?1",
            params![ContractState::EscrowReleased.as_str()],
            "summing payouts",
        )?;
        Ok(DataMarketCounts {
            offers_total: self.count("SELECT COUNT(*) FROM data_offers", [])?,
            offers_active: count(
                "SELECT COUNT(*) FROM data_offers WHERE status = ?1",
                OfferStatus::Active.as_str(),
            )?,
            open_intents: count(
                "SELECT COUNT(*) FROM data_round_intents WHERE status = ?1",
                RoundIntentStatus::Open.as_str(),
            )?,
            contracts_created: contracts_by(ContractState::Created)?,
            contracts_bound: contracts_by(ContractState::BoundToRound)?,
            contracts_released: contracts_by(ContractState::EscrowReleased)?,
            locked_escrow_total: unreleased
                .iter()
                .map(|c| c.agreed_price_per_round_total)
                .sum(),
            released_payout_total: released
                .iter()
                .flat_map(|c| &c.payouts)
                .map(|p| p.amount)
                .sum(),
        })
    }
}
