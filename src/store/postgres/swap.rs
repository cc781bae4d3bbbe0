//! The swap domain's store on Postgres.

use std::any::Any;
use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::actor::{ActorRef, ActorType};
use crate::domain::swap::store::{ProposalLifecycle, StoredIntent, SwapStore};
use crate::domain::swap::types::{CycleProposal, IntentStatus, MatchingRun, SwapIntent};
use crate::store::StoreError;

use super::{MATCHING_LOCK, PostgresTx, Role, big, decode, encode, sql_limit};

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
    super::postgres_tx(tx)
}

impl PostgresTx {
    /// Inserts an intent; `on_conflict` is what an existing id does (nothing: the insert
    /// fails).
    fn write_intent(
        &self,
        intent: &SwapIntent,
        created_by: &ActorRef,
        on_conflict: &str,
    ) -> Result<(), StoreError> {
        let document = encode(intent)?;
        self.execute(
            &format!(
                "INSERT INTO swap_intents
                 (id, actor_type, actor_id, created_by_type, created_by_id, status, document)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) {on_conflict}"
            ),
            &[
                &intent.id,
                &intent.actor.kind.as_str(),
                &intent.actor.id,
                &created_by.kind.as_str(),
                &created_by.id,
                &intent.status.as_str(),
                &document,
            ],
            "writing an intent",
        )
        .map(drop)
    }
}

impl SwapStore for PostgresTx {
    fn insert_intent(
        &mut self,
        intent: &SwapIntent,
        created_by: &ActorRef,
    ) -> Result<(), StoreError> {
        self.write_intent(intent, created_by, "")
    }

    fn put_intent(&mut self, intent: &SwapIntent, created_by: &ActorRef) -> Result<(), StoreError> {
        self.write_intent(
            intent,
            created_by,
            "ON CONFLICT (id) DO UPDATE SET actor_type = EXCLUDED.actor_type,
               actor_id = EXCLUDED.actor_id, created_by_type = EXCLUDED.created_by_type,
               created_by_id = EXCLUDED.created_by_id, status = EXCLUDED.status,
               document = EXCLUDED.document",
        )
    }

    fn intent(&self, id: &str) -> Result<Option<StoredIntent>, StoreError> {
        const CONTEXT: &str = "reading an intent";
        let Some(row) = self.row(
            &format!(
                "SELECT document, created_by_type, created_by_id FROM swap_intents WHERE id = $1{}",
                self.for_update()
            ),
            &[&id],
            CONTEXT,
        )?
        else {
            return Ok(None);
        };
        let intent: SwapIntent = decode(row.get::<_, &str>(0), CONTEXT)?;
        let created_by = ActorRef {
            kind: ActorType::parse(row.get::<_, &str>(1)).unwrap_or(intent.actor.kind),
            id: row.get(2),
        };
        Ok(Some(StoredIntent { intent, created_by }))
    }

    fn set_intent_status(&mut self, id: &str, status: IntentStatus) -> Result<(), StoreError> {
        let Some(mut stored) = self.intent(id)? else {
            return Ok(());
        };
        stored.intent.status = status;
        let document = encode(&stored.intent)?;
        self.execute(
            "UPDATE swap_intents SET status = $2, document = $3 WHERE id = $1",
            &[&id, &status.as_str(), &document],
            "updating an intent",
        )
        .map(drop)
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
               WHERE actor_type = $1 AND actor_id = $2 AND id > $3
             UNION
             SELECT document, id FROM swap_intents
               WHERE created_by_type = $1 AND created_by_id = $2 AND id > $3
                 AND (created_by_type != actor_type OR created_by_id != actor_id)
             ORDER BY id LIMIT $4",
            &[
                &actor.kind.as_str(),
                &actor.id,
                &after.unwrap_or(""),
                &sql_limit(limit),
            ],
            "listing intents",
        )
    }

    fn matchable_intents(&self) -> Result<Vec<SwapIntent>, StoreError> {
        const CONTEXT: &str = "reading matchable intents";
        // A run in a write transaction holds the matching lock until it commits, so that two
        // runs, on any instances, take turns; the one statement below reads one snapshot of
        // the intents, whatever is created meanwhile.
        if self.role == Role::Writer {
            self.execute(
                "SELECT pg_advisory_xact_lock($1)",
                &[&MATCHING_LOCK],
                "waiting for the matching lock",
            )?;
        }
        let rows = self.rows(
            "SELECT document FROM swap_intents
             WHERE status = 'active' AND actor_type = 'user' ORDER BY id",
            &[],
            CONTEXT,
        )?;
        rows.par_iter()
            .map(|row| decode::<SwapIntent>(row.get::<_, &str>(0), CONTEXT))
            .collect()
    }

    fn asset_values(&self) -> Result<BTreeMap<String, serde_json::Number>, StoreError> {
        const CONTEXT: &str = "reading asset values";
        self.rows(
            "SELECT asset_id, value_usd FROM marketplace_asset_values",
            &[],
            CONTEXT,
        )?
        .iter()
        .map(|row| Ok((row.get(0), decode(row.get::<_, &str>(1), CONTEXT)?)))
        .collect()
    }

    fn put_asset_values(
        &mut self,
        values: &BTreeMap<String, serde_json::Number>,
    ) -> Result<(), StoreError> {
        for (asset_id, value) in values {
            self.execute(
                "INSERT INTO marketplace_asset_values (asset_id, value_usd) VALUES ($1, $2)
                 ON CONFLICT (asset_id) DO UPDATE SET value_usd = EXCLUDED.value_usd",
                &[asset_id, &value.to_string()],
                "writing asset values",
            )?;
        }
        Ok(())
    }

    fn proposal(&self, id: &str) -> Result<Option<CycleProposal>, StoreError> {
        self.document(
            &format!(
                "SELECT document FROM cycle_proposals WHERE id = $1{}",
                self.for_update()
            ),
            &[&id],
            "reading a proposal",
        )
    }

    fn put_proposal(&mut self, proposal: &CycleProposal) -> Result<(), StoreError> {
        self.delete_proposal(&proposal.id)?;
        let document = encode(proposal)?;
        self.execute(
            "INSERT INTO cycle_proposals
             (id, status, origin, owner_type, owner_id, matching_run_id, expires_at, document)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &proposal.id,
                &proposal.status.as_str(),
                &proposal.origin.as_str(),
                &proposal.owner.kind.as_str(),
                &proposal.owner.id,
                &proposal.matching_run_id,
                &proposal.expires_at,
                &document,
            ],
            "inserting a proposal",
        )?;
        for (position, participant) in proposal.participants.iter().enumerate() {
            self.execute(
                "INSERT INTO cycle_proposal_participants
                 (proposal_id, position, intent_id, actor_type, actor_id)
                 VALUES ($1, $2, $3, $4, $5)",
                &[
                    &proposal.id,
                    &big(position as u64),
                    &participant.intent_id,
                    &participant.actor.kind.as_str(),
                    &participant.actor.id,
                ],
                "inserting participants",
            )?;
        }
        Ok(())
    }

    fn delete_proposal(&mut self, id: &str) -> Result<(), StoreError> {
        self.execute(
            "DELETE FROM cycle_proposals WHERE id = $1",
            &[&id],
            "deleting a proposal",
        )
        .map(drop)
    }

    fn marketplace_proposals(&self) -> Result<Vec<ProposalLifecycle>, StoreError> {
        const CONTEXT: &str = "reading marketplace proposals";
        self.rows(
            "SELECT id, status, expires_at FROM cycle_proposals
             WHERE origin = 'marketplace' ORDER BY id",
            &[],
            CONTEXT,
        )?
        .iter()
        .map(|row| {
            let status: &str = row.get(1);
            Ok(ProposalLifecycle {
                id: row.get(0),
                status: decode(&format!("\"{status}\""), CONTEXT)?,
                expires_at: row.get(2),
            })
        })
        .collect()
    }

    fn proposals_owned_by(
        &self,
        owner: &ActorRef,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<CycleProposal>, StoreError> {
        self.documents(
            "SELECT document FROM cycle_proposals
             WHERE owner_type = $1 AND owner_id = $2 AND id > $3 ORDER BY id LIMIT $4",
            &[
                &owner.kind.as_str(),
                &owner.id,
                &after.unwrap_or(""),
                &sql_limit(limit),
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
                 WHERE actor_type = $1 AND actor_id = $2)
               AND id > $3 ORDER BY id LIMIT $4",
            &[
                &actor.kind.as_str(),
                &actor.id,
                &after.unwrap_or(""),
                &sql_limit(limit),
            ],
            "listing proposals",
        )
    }

    fn insert_run(&mut self, run: &MatchingRun, seq: u64) -> Result<(), StoreError> {
        let document = encode(run)?;
        self.execute(
            "INSERT INTO marketplace_matching_runs
             (run_id, seq, requested_by_type, requested_by_id, document)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &run.run_id,
                &big(seq),
                &run.requested_by.kind.as_str(),
                &run.requested_by.id,
                &document,
            ],
            "inserting a run",
        )
        .map(drop)
    }

    fn run(&self, run_id: &str) -> Result<Option<MatchingRun>, StoreError> {
        self.document(
            "SELECT document FROM marketplace_matching_runs WHERE run_id = $1",
            &[&run_id],
            "reading a run",
        )
    }

    fn runs_page(
        &self,
        before_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<MatchingRun>, StoreError> {
        let before = before_seq.map_or(i64::MAX, big);
        self.documents(
            "SELECT document FROM marketplace_matching_runs
             WHERE seq < $1 ORDER BY seq DESC LIMIT $2",
            &[&before, &sql_limit(limit)],
            "listing runs",
        )
    }

    fn run_seq(&self, run_id: &str) -> Result<Option<u64>, StoreError> {
        self.seq(
            "SELECT seq FROM marketplace_matching_runs WHERE run_id = $1",
            &[&run_id],
            "reading a run",
        )
    }
}
