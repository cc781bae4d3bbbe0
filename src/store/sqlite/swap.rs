//! The swap domain's store on SQLite.

use std::any::Any;
use std::collections::BTreeMap;

use rayon::prelude::*;
use rusqlite::{OptionalExtension, params};

use crate::actor::{ActorRef, ActorType};
use crate::domain::swap::store::{ProposalLifecycle, StoredIntent, SwapStore};
use crate::domain::swap::types::{CycleProposal, IntentStatus, MatchingRun, SwapIntent};
use crate::store::StoreError;

use super::{SqliteTx, decode, encode, sql_error, sql_limit};

pub(super) const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_tables",
        include_str!("migrations/swap/0001_tables.sql"),
    ),
    (
        "0002_partial_creator_index",
        include_str!("migrations/swap/0002_partial_creator_index.sql"),
    ),
    (
        "0003_health_counters",
        include_str!("migrations/swap/0003_health_counters.sql"),
    ),
];

pub(super) fn view<'a>(tx: &'a mut (dyn Any + 'static)) -> &'a mut (dyn SwapStore + 'static) {
    super::sqlite_tx(tx)
}

impl SqliteTx {
    /// Inserts an intent; `on_conflict` is what an existing id does (nothing: the insert
    /// fails).
    fn write_intent(
        &self,
        intent: &SwapIntent,
        created_by: &ActorRef,
        on_conflict: &str,
    ) -> Result<(), StoreError> {
        let document = encode(intent)?;
        self.conn()
            .prepare_cached(&format!(
                "INSERT INTO swap_intents
                 (id, actor_type, actor_id, created_by_type, created_by_id, status, document)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) {on_conflict}"
            ))
            .and_then(|mut statement| {
                statement.execute(params![
                    intent.id,
                    intent.actor.kind.as_str(),
                    intent.actor.id,
                    created_by.kind.as_str(),
                    created_by.id,
                    intent.status.as_str(),
                    document
                ])
            })
            .map(drop)
            .map_err(sql_error("writing an intent"))
    }
}

impl SwapStore for SqliteTx {
    fn insert_intent(
        &mut self,
        intent: &SwapIntent,
        created_by: &ActorRef,
    ) -> Result<(), StoreError> {
        self.write_intent(intent, created_by, "")
    }

    fn put_intent(&mut self, intent: &SwapIntent, created_by: &ActorRef) -> Result<(), StoreError> {
        // An upsert, not `INSERT OR REPLACE`: a replace deletes the row without firing the
        // delete trigger that keeps the health counters.
        self.write_intent(
            intent,
            created_by,
            "ON CONFLICT (id) DO UPDATE SET actor_type = excluded.actor_type,
               actor_id = excluded.actor_id, created_by_type = excluded.created_by_type,
               created_by_id = excluded.created_by_id, status = excluded.status,
               document = excluded.document",
        )
    }

    fn intent(&self, id: &str) -> Result<Option<StoredIntent>, StoreError> {
        self.conn()
            .prepare_cached(
                "SELECT document, created_by_type, created_by_id FROM swap_intents WHERE id = ?1",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(params![id], |row| {
                        let intent = decode::<SwapIntent>(row.get_ref(0)?.as_str()?)?;
                        let kind: String = row.get(1)?;
                        let created_by = ActorRef {
                            kind: ActorType::parse(&kind).unwrap_or(intent.actor.kind),
                            id: row.get(2)?,
                        };
                        Ok(StoredIntent { intent, created_by })
                    })
                    .optional()
            })
            .map_err(sql_error("reading an intent"))
    }

    fn set_intent_status(&mut self, id: &str, status: IntentStatus) -> Result<(), StoreError> {
        let Some(mut stored) = self.intent(id)? else {
            return Ok(());
        };
        stored.intent.status = status;
        let document = encode(&stored.intent)?;
        self.conn()
            .execute(
                "UPDATE swap_intents SET status = ?2, document = ?3 WHERE id = ?1",
                params![id, status.as_str(), document],
            )
            .map(drop)
            .map_err(sql_error("updating an intent"))
    }

    fn intents_of(
        &self,
        actor: &ActorRef,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SwapIntent>, StoreError> {
        self.documents(
            // Two indexed halves: the caller's own intents, and those it submitted for others
            // (the partial index holds only those).
            "SELECT document, id FROM swap_intents
               WHERE actor_type = ?1 AND actor_id = ?2 AND id > ?3
             UNION
             SELECT document, id FROM swap_intents
               WHERE created_by_type = ?1 AND created_by_id = ?2 AND id > ?3
                 AND (created_by_type != actor_type OR created_by_id != actor_id)
             ORDER BY id LIMIT ?4",
            params![
                actor.kind.as_str(),
                actor.id,
                after.unwrap_or(""),
                sql_limit(limit)
            ],
            "listing intents",
        )
    }

    fn matchable_intents(&self) -> Result<Vec<SwapIntent>, StoreError> {
        // Decoding is most of the cost at scale: read the documents, then decode them on all
        // cores, in order.
        const CONTEXT: &str = "reading matchable intents";
        let mut statement = self
            .conn()
            .prepare_cached(
                "SELECT document FROM swap_intents
                 WHERE status = 'active' AND actor_type = 'user' ORDER BY id",
            )
            .map_err(sql_error(CONTEXT))?;
        let documents = statement
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(sql_error(CONTEXT))?
            .collect::<Result<Vec<String>, _>>()
            .map_err(sql_error(CONTEXT))?;
        documents
            .par_iter()
            .map(|document| decode::<SwapIntent>(document))
            .collect::<Result<Vec<SwapIntent>, _>>()
            .map_err(sql_error(CONTEXT))
    }

    fn asset_values(&self) -> Result<BTreeMap<String, serde_json::Number>, StoreError> {
        let mut statement = self
            .conn()
            .prepare_cached("SELECT asset_id, value_usd FROM marketplace_asset_values")
            .map_err(sql_error("reading asset values"))?;
        let rows = statement
            .query_map([], |row| {
                let asset_id: String = row.get(0)?;
                let number = decode::<serde_json::Number>(row.get_ref(1)?.as_str()?)?;
                Ok((asset_id, number))
            })
            .map_err(sql_error("reading asset values"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sql_error("reading asset values"))
    }

    fn put_asset_values(
        &mut self,
        values: &BTreeMap<String, serde_json::Number>,
    ) -> Result<(), StoreError> {
        let mut statement = self
            .conn()
            .prepare_cached(
                "INSERT INTO marketplace_asset_values (asset_id, value_usd) VALUES (?1, ?2)
                 ON CONFLICT (asset_id) DO UPDATE SET value_usd = excluded.value_usd",
            )
            .map_err(sql_error("writing asset values"))?;
        for (asset_id, value) in values {
            statement
                .execute(params![asset_id, value.to_string()])
                .map_err(sql_error("writing asset values"))?;
        }
        Ok(())
    }

    fn proposal(&self, id: &str) -> Result<Option<CycleProposal>, StoreError> {
        self.document(
            "SELECT document FROM cycle_proposals WHERE id = ?1",
            params![id],
            "reading a proposal",
        )
    }

    fn put_proposal(&mut self, proposal: &CycleProposal) -> Result<(), StoreError> {
        self.delete_proposal(&proposal.id)?;
        let document = encode(proposal)?;
        let conn = self.conn();
        conn.prepare_cached(
            "INSERT INTO cycle_proposals
             (id, status, origin, owner_type, owner_id, matching_run_id, expires_at, document)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )
        .and_then(|mut statement| {
            statement.execute(params![
                proposal.id,
                proposal.status.as_str(),
                proposal.origin.as_str(),
                proposal.owner.kind.as_str(),
                proposal.owner.id,
                proposal.matching_run_id,
                proposal.expires_at,
                document
            ])
        })
        .map_err(sql_error("inserting a proposal"))?;
        let mut statement = conn
            .prepare_cached(
                "INSERT INTO cycle_proposal_participants
                 (proposal_id, position, intent_id, actor_type, actor_id) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(sql_error("inserting participants"))?;
        for (position, participant) in proposal.participants.iter().enumerate() {
            statement
                .execute(params![
                    proposal.id,
                    position,
                    participant.intent_id,
                    participant.actor.kind.as_str(),
                    participant.actor.id
                ])
                .map_err(sql_error("inserting participants"))?;
        }
        Ok(())
    }

    fn delete_proposal(&mut self, id: &str) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached("DELETE FROM cycle_proposals WHERE id = ?1")
            .and_then(|mut statement| statement.execute(params![id]))
            .map(drop)
            .map_err(sql_error("deleting a proposal"))
    }

    fn marketplace_proposals(&self) -> Result<Vec<ProposalLifecycle>, StoreError> {
        let mut statement = self
            .conn()
            .prepare_cached(
                "SELECT id, status, expires_at FROM cycle_proposals WHERE origin = 'marketplace' ORDER BY id",
            )
            .map_err(sql_error("reading marketplace proposals"))?;
        let rows = statement
            .query_map([], |row| {
                let status: String = row.get(1)?;
                Ok(ProposalLifecycle {
                    id: row.get(0)?,
                    status: decode(&format!("\"{status}\""))?,
                    expires_at: row.get(2)?,
                })
            })
            .map_err(sql_error("reading marketplace proposals"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sql_error("reading marketplace proposals"))
    }

    fn proposals_owned_by(
        &self,
        owner: &ActorRef,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CycleProposal>, StoreError> {
        self.documents(
            "SELECT document FROM cycle_proposals
             WHERE owner_type = ?1 AND owner_id = ?2 AND id > ?3 ORDER BY id LIMIT ?4",
            params![
                owner.kind.as_str(),
                owner.id,
                after.unwrap_or(""),
                sql_limit(limit)
            ],
            "listing proposals",
        )
    }

    fn proposals_with_participant(
        &self,
        actor: &ActorRef,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CycleProposal>, StoreError> {
        self.documents(
            "SELECT document FROM cycle_proposals WHERE id IN (
                 SELECT proposal_id FROM cycle_proposal_participants
                 WHERE actor_type = ?1 AND actor_id = ?2)
               AND id > ?3 ORDER BY id LIMIT ?4",
            params![
                actor.kind.as_str(),
                actor.id,
                after.unwrap_or(""),
                sql_limit(limit)
            ],
            "listing proposals",
        )
    }

    fn insert_run(&mut self, run: &MatchingRun, seq: u64) -> Result<(), StoreError> {
        let document = encode(run)?;
        self.conn()
            .execute(
                "INSERT INTO marketplace_matching_runs
                 (run_id, seq, requested_by_type, requested_by_id, document) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![run.run_id, seq, run.requested_by.kind.as_str(), run.requested_by.id, document],
            )
            .map(drop)
            .map_err(sql_error("inserting a run"))
    }

    fn run(&self, run_id: &str) -> Result<Option<MatchingRun>, StoreError> {
        self.document(
            "SELECT document FROM marketplace_matching_runs WHERE run_id = ?1",
            params![run_id],
            "reading a run",
        )
    }

    fn runs_page(
        &self,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<MatchingRun>, StoreError> {
        let before = before_seq.map_or(i64::MAX, |seq| i64::try_from(seq).unwrap_or(i64::MAX));
        self.documents(
            "SELECT document FROM marketplace_matching_runs WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2",
            params![before, sql_limit(limit)],
            "listing runs",
        )
    }

    fn run_seq(&self, run_id: &str) -> Result<Option<u64>, StoreError> {
        self.conn()
            .query_row(
                "SELECT seq FROM marketplace_matching_runs WHERE run_id = ?1",
                params![run_id],
                |row| row.get(0),
            )
            .optional()
            .map_err(sql_error("reading a run"))
    }
}
