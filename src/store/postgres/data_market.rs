//! The data marketplace's store on Postgres.
//!
//! The same statements as on SQLite, with what several instances on one database need: a row
//! read by key in a write transaction (an offer, an intent, a contract, a round, the model) is
//! read `FOR UPDATE`, because the handler that reads it may rewrite it, and a second writer
//! must wait and then see the first one's commit rather than overwrite it. Pages lock
//! nothing; two reads that a write acts on as a whole take turns too: a matching run's offers
//! (under an advisory lock) and the contracts a round binds (`FOR UPDATE`).

use std::any::Any;
use std::collections::BTreeSet;

use crate::domain::data_market::store::{
    self, ContractFilter, DataMarketCounts, DataMarketStore, IntentFilter, OfferFilter, Sequenced,
};
use crate::domain::data_market::training::Model;
use crate::domain::data_market::types::{
    Contract, ContractState, Offer, OfferStatus, RoundIntent, RoundIntentStatus, TimelineEvent,
    TrainingRound,
};
use crate::store::StoreError;

use super::{OFFER_MATCHING_LOCK, PostgresTx, Role, big, encode, sql_limit};

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
    super::postgres_tx(tx)
}

fn after_param(after_seq: Option<u64>) -> i64 {
    after_seq.map_or(0, big)
}

impl PostgresTx {
    fn timeline(&self, contract_id: &str) -> Result<Vec<TimelineEvent>, StoreError> {
        self.documents(
            "SELECT document FROM data_contract_timeline WHERE contract_id = $1 ORDER BY seq",
            &[&contract_id],
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

// An optional filter is `$n::TEXT IS NULL OR column = $n`: the cast names the parameter's type
// where it is first met, which Postgres otherwise cannot tell from `IS NULL` and refuses.
impl DataMarketStore for PostgresTx {
    fn seq_of(&self, table: Sequenced, id: &str) -> Result<Option<u64>, StoreError> {
        let (table, key) = table.table_and_key();
        self.seq(
            &format!("SELECT seq FROM {table} WHERE {key} = $1"),
            &[&id],
            "reading a cursor",
        )
    }

    fn insert_offer(&mut self, offer: &Offer, seq: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO data_offers (offer_id, seq, seller_node_id, status, dataset_fingerprint, document)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &offer.offer_id,
                &big(seq),
                &offer.seller_node_id,
                &offer.status.as_str(),
                &offer.dataset_fingerprint,
                &encode(offer)?,
            ],
            "inserting an offer",
        )
        .map(drop)
    }

    fn update_offer(&mut self, offer: &Offer) -> Result<(), StoreError> {
        self.execute(
            "UPDATE data_offers SET status = $2, document = $3 WHERE offer_id = $1",
            &[&offer.offer_id, &offer.status.as_str(), &encode(offer)?],
            "updating an offer",
        )
        .map(drop)
    }

    fn offer(&self, offer_id: &str) -> Result<Option<Offer>, StoreError> {
        self.document(
            &format!(
                "SELECT document FROM data_offers WHERE offer_id = $1{}",
                self.for_update()
            ),
            &[&offer_id],
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
             WHERE ($1::TEXT IS NULL OR status = $1) AND ($2::TEXT IS NULL OR seller_node_id = $2)
               AND seq > $3
             ORDER BY seq LIMIT $4",
            &[
                &filter.status,
                &filter.seller_node_id,
                &after_param(after_seq),
                &sql_limit(limit),
            ],
            "listing offers",
        )
    }

    fn all_offers(&self) -> Result<Vec<Offer>, StoreError> {
        // What a matching run evaluates before it commits some offers to a contract. In a
        // write transaction the run holds the matching lock until it commits, so that two
        // runs, on any instances, take turns, and the second reads the offers and contracts
        // after the first's commit: no offer goes to two contracts, as on SQLite, where the
        // write lock orders whole transactions.
        if self.role == Role::Writer {
            self.execute(
                "SELECT pg_advisory_xact_lock($1)",
                &[&OFFER_MATCHING_LOCK],
                "waiting for the matching lock",
            )?;
        }
        self.documents(
            "SELECT document FROM data_offers ORDER BY seq",
            &[],
            "reading offers",
        )
    }

    fn active_offer_for(
        &self,
        seller: &str,
        fingerprint: &str,
        except: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        // Not locked: the partial unique index refuses a second active offer, whoever writes
        // it.
        Ok(self
            .row(
                "SELECT offer_id FROM data_offers
                 WHERE seller_node_id = $1 AND dataset_fingerprint = $2 AND status = $3
                   AND offer_id != $4
                 ORDER BY seq LIMIT 1",
                &[
                    &seller,
                    &fingerprint,
                    &OfferStatus::Active.as_str(),
                    &except.unwrap_or(""),
                ],
                "looking for a duplicate offer",
            )?
            .map(|row| row.get::<_, String>(0)))
    }

    fn committed_offer_ids(&self) -> Result<BTreeSet<String>, StoreError> {
        Ok(self
            .rows(
                "SELECT DISTINCT o.offer_id FROM data_contract_offers o
                 JOIN data_contracts c ON c.contract_id = o.contract_id
                 WHERE c.state != $1",
                &[&ContractState::EscrowReleased.as_str()],
                "reading committed offers",
            )?
            .iter()
            .map(|row| row.get::<_, String>(0))
            .collect())
    }

    fn insert_round_intent(&mut self, intent: &RoundIntent, seq: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO data_round_intents (intent_id, seq, model_owner_id, status, document)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &intent.intent_id,
                &big(seq),
                &intent.model_owner_id,
                &intent.status.as_str(),
                &encode(intent)?,
            ],
            "inserting a round intent",
        )
        .map(drop)
    }

    fn update_round_intent(&mut self, intent: &RoundIntent) -> Result<(), StoreError> {
        self.execute(
            "UPDATE data_round_intents SET status = $2, document = $3 WHERE intent_id = $1",
            &[&intent.intent_id, &intent.status.as_str(), &encode(intent)?],
            "updating a round intent",
        )
        .map(drop)
    }

    fn round_intent(&self, intent_id: &str) -> Result<Option<RoundIntent>, StoreError> {
        self.document(
            &format!(
                "SELECT document FROM data_round_intents WHERE intent_id = $1{}",
                self.for_update()
            ),
            &[&intent_id],
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
             WHERE ($1::TEXT IS NULL OR status = $1) AND ($2::TEXT IS NULL OR model_owner_id = $2)
               AND seq > $3
             ORDER BY seq LIMIT $4",
            &[
                &filter.status,
                &filter.model_owner_id,
                &after_param(after_seq),
                &sql_limit(limit),
            ],
            "listing round intents",
        )
    }

    fn insert_contract(&mut self, contract: &Contract, seq: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO data_contracts (contract_id, seq, round_intent_id, state, document)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &contract.contract_id,
                &big(seq),
                &contract.round_intent_id,
                &contract.state.as_str(),
                &encode(&store::stored_contract(contract))?,
            ],
            "inserting a contract",
        )?;
        for offer in &contract.selected_offers {
            self.execute(
                "INSERT INTO data_contract_offers (contract_id, offer_id) VALUES ($1, $2)",
                &[&contract.contract_id, &offer.offer_id],
                "inserting a contract offer",
            )?;
        }
        Ok(())
    }

    fn update_contract(&mut self, contract: &Contract) -> Result<(), StoreError> {
        self.execute(
            "UPDATE data_contracts SET state = $2, document = $3 WHERE contract_id = $1",
            &[
                &contract.contract_id,
                &contract.state.as_str(),
                &encode(&store::stored_contract(contract))?,
            ],
            "updating a contract",
        )
        .map(drop)
    }

    fn append_timeline(
        &mut self,
        contract_id: &str,
        event: &TimelineEvent,
    ) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO data_contract_timeline (contract_id, seq, document) VALUES ($1, $2, $3)",
            &[&contract_id, &big(event.seq), &encode(event)?],
            "appending to a timeline",
        )
        .map(drop)
    }

    fn contract(&self, contract_id: &str) -> Result<Option<Contract>, StoreError> {
        // The contract's row is the lock of its timeline too: whoever appends to it has read
        // the contract first.
        let contract: Option<Contract> = self.document(
            &format!(
                "SELECT document FROM data_contracts WHERE contract_id = $1{}",
                self.for_update()
            ),
            &[&contract_id],
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
             WHERE ($1::TEXT IS NULL OR state = $1) AND ($2::TEXT IS NULL OR round_intent_id = $2)
               AND seq > $3
             ORDER BY seq LIMIT $4",
            &[
                &filter.state,
                &filter.round_intent_id,
                &after_param(after_seq),
                &sql_limit(limit),
            ],
            "listing contracts",
        )?;
        self.with_timelines(contracts)
    }

    fn contracts_in_state(&self, state: ContractState) -> Result<Vec<Contract>, StoreError> {
        // Locked in a write transaction: a round binds the contracts it reads here. A second
        // round waits for the first's commit, and then leaves out the contracts it bound
        // (Postgres tests `state` again on the committed row), as on SQLite. `seq` never
        // changes, so the order holds under the lock.
        let contracts = self.documents(
            &format!(
                "SELECT document FROM data_contracts WHERE state = $1 ORDER BY seq{}",
                self.for_update()
            ),
            &[&state.as_str()],
            "reading contracts",
        )?;
        self.with_timelines(contracts)
    }

    fn pending_contracts(&self) -> Result<Vec<Contract>, StoreError> {
        let contracts = self.documents(
            "SELECT document FROM data_contracts WHERE state != $1 ORDER BY seq",
            &[&ContractState::EscrowReleased.as_str()],
            "reading pending contracts",
        )?;
        self.with_timelines(contracts)
    }

    fn insert_round(&mut self, round: &TrainingRound, seq: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO training_rounds (round_id, seq, document) VALUES ($1, $2, $3)",
            &[&round.round_id, &big(seq), &encode(round)?],
            "inserting a training round",
        )
        .map(drop)
    }

    fn round(&self, round_id: &str) -> Result<Option<TrainingRound>, StoreError> {
        self.document(
            &format!(
                "SELECT document FROM training_rounds WHERE round_id = $1{}",
                self.for_update()
            ),
            &[&round_id],
            "reading a training round",
        )
    }

    fn rounds_page(
        &self,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<TrainingRound>, StoreError> {
        let before = before_seq.map_or(i64::MAX, big);
        self.documents(
            "SELECT document FROM training_rounds WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
            &[&before, &sql_limit(limit)],
            "listing training rounds",
        )
    }

    fn model(&self) -> Result<Option<Model>, StoreError> {
        // Locks the model once it exists; before the first `put_model` there is no row to
        // lock, and the upsert lets the second of two first writers overwrite the first.
        self.document(
            &format!(
                "SELECT document FROM training_model WHERE id = 1{}",
                self.for_update()
            ),
            &[],
            "reading the model",
        )
    }

    fn put_model(&mut self, model: &Model) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO training_model (id, document) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET document = EXCLUDED.document",
            &[&encode(model)?],
            "writing the model",
        )
        .map(drop)
    }

    fn data_market_counts(&self) -> Result<DataMarketCounts, StoreError> {
        let count =
            |sql: &str, param: &str| -> Result<u64, StoreError> { self.count(sql, &[&param]) };
        let contracts_by = |state: ContractState| {
            count(
                "SELECT COUNT(*) FROM data_contracts WHERE state = $1",
                state.as_str(),
            )
        };
        let unreleased = self.documents::<Contract>(
            "SELECT document FROM data_contracts WHERE state != $1",
            &[&ContractState::EscrowReleased.as_str()],
            "summing escrow",
        )?;
        let released = self.documents::<Contract>(
            "SELECT document FROM data_contracts WHERE state = $1",
            &[&ContractState::EscrowReleased.as_str()],
            "summing payouts",
        )?;
        Ok(DataMarketCounts {
            offers_total: self.count("SELECT COUNT(*) FROM data_offers", &[])?,
            offers_active: count(
                "SELECT COUNT(*) FROM data_offers WHERE status = $1",
                OfferStatus::Active.as_str(),
            )?,
            open_intents: count(
                "SELECT COUNT(*) FROM data_round_intents WHERE status = $1",
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
