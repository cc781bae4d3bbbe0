//! The ML marketplace's training runs and their logs on Postgres.
//!
//! Workers of several instances share one queue. A run read by id in a write transaction is
//! locked (`FOR UPDATE`); a claim reads the queue `FOR UPDATE SKIP LOCKED` in its write
//! transaction, so that a worker passes over the run another instance's worker is claiming
//! rather than waiting for it, and the conditional update of the claim (`queued` still)
//! settles the rest.

use crate::domain::ml_market::store::{TrainingRecord, TrainingStore};
use crate::domain::ml_market::types::{Provider, TrainingStatus};
use crate::store::StoreError;

use super::{PostgresTx, Role, big, decode, encode, sql_limit, unsigned};

impl TrainingStore for PostgresTx {
    fn insert_training_run(&mut self, run: &TrainingRecord, seq: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO ml_training_runs (run_id, seq, vendor_id, provider, status, document)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &run.run_id,
                &big(seq),
                &run.vendor_id,
                &run.provider.as_str(),
                &run.status.as_str(),
                &encode(run)?,
            ],
            "storing a training run",
        )
        .map(drop)
    }

    fn training_run(&self, run_id: &str) -> Result<Option<TrainingRecord>, StoreError> {
        self.document(
            &format!(
                "SELECT document FROM ml_training_runs WHERE run_id = $1{}",
                self.for_update()
            ),
            &[&run_id],
            "reading a training run",
        )
    }

    fn training_runs_page(
        &self,
        vendor_id: &str,
        status: Option<TrainingStatus>,
        after_seq: Option<u64>,
        limit: usize,
    ) -> Result<Vec<TrainingRecord>, StoreError> {
        let after = after_seq.map_or(0, big);
        // The cast names the parameter's type where it is first met: from `IS NULL` alone
        // Postgres cannot tell it, and refuses the statement.
        self.documents(
            "SELECT document FROM ml_training_runs
             WHERE vendor_id = $1 AND ($2::TEXT IS NULL OR status = $2) AND seq > $3
             ORDER BY seq LIMIT $4",
            &[
                &vendor_id,
                &status.map(TrainingStatus::as_str),
                &after,
                &sql_limit(limit),
            ],
            "listing training runs",
        )
    }

    fn update_training_run(
        &mut self,
        run: &TrainingRecord,
        expected: TrainingStatus,
    ) -> Result<bool, StoreError> {
        // Under READ COMMITTED a concurrent writer of the row makes this wait, then test
        // `status` again on what it committed: of a cancel and a worker's write, one wins.
        let changed = self.execute(
            "UPDATE ml_training_runs SET status = $3, document = $4
             WHERE run_id = $1 AND status = $2",
            &[
                &run.run_id,
                &expected.as_str(),
                &run.status.as_str(),
                &encode(run)?,
            ],
            "updating a training run",
        )?;
        Ok(changed == 1)
    }

    fn oldest_queued_run(&self, provider: Provider) -> Result<Option<TrainingRecord>, StoreError> {
        // A run another worker's transaction holds is passed over rather than waited for.
        let lock = match self.role {
            Role::Writer => " FOR UPDATE SKIP LOCKED",
            Role::Reader => "",
        };
        self.document(
            &format!(
                "SELECT document FROM ml_training_runs WHERE status = 'queued' AND provider = $1
                 ORDER BY seq LIMIT 1{lock}"
            ),
            &[&provider.as_str()],
            "reading the training queue",
        )
    }

    fn claim_training_run(
        &mut self,
        running: &TrainingRecord,
        owner: u64,
    ) -> Result<bool, StoreError> {
        let changed = self.execute(
            "UPDATE ml_training_runs SET status = $2, document = $3, owner_instance = $4
             WHERE run_id = $1 AND status = 'queued'",
            &[
                &running.run_id,
                &running.status.as_str(),
                &encode(running)?,
                &big(owner),
            ],
            "claiming a training run",
        )?;
        Ok(changed == 1)
    }

    fn running_runs_with_owner(
        &self,
        provider: Provider,
    ) -> Result<Vec<(TrainingRecord, Option<u64>)>, StoreError> {
        let context = "listing running training runs";
        // Nothing locked: whoever ends one of these does it by a conditional update.
        self.rows(
            "SELECT document, owner_instance FROM ml_training_runs
             WHERE status = 'running' AND provider = $1 ORDER BY seq",
            &[&provider.as_str()],
            context,
        )?
        .iter()
        .map(|row| {
            Ok((
                decode(row.get::<_, &str>(0), context)?,
                row.get::<_, Option<i64>>(1).map(unsigned),
            ))
        })
        .collect()
    }

    fn append_training_log(&mut self, run_id: &str, line: &str) -> Result<u64, StoreError> {
        // The run's row is the lock of its log: two appenders take turns, and the second
        // numbers its line after the first's commit, so the numbers have no gap or repeat.
        self.row(
            &format!(
                "SELECT 1 FROM ml_training_runs WHERE run_id = $1{}",
                self.for_update()
            ),
            &[&run_id],
            "locking a training run",
        )?;
        // An aggregate without `GROUP BY` is one row, so the insert always answers one.
        self.seq(
            "INSERT INTO ml_training_logs (run_id, seq, line)
             SELECT $1::TEXT, COALESCE(MAX(seq), 0) + 1, $2::TEXT
             FROM ml_training_logs WHERE run_id = $1
             RETURNING seq",
            &[&run_id, &line],
            "appending a training log line",
        )?
        .ok_or_else(|| {
            StoreError::new(
                "appending a training log line",
                "the insert answered no row",
            )
        })
    }

    fn training_log(
        &self,
        run_id: &str,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        Ok(self
            .rows(
                "SELECT seq, line FROM ml_training_logs WHERE run_id = $1 AND seq > $2
                 ORDER BY seq LIMIT $3",
                &[&run_id, &big(after_seq), &sql_limit(limit)],
                "reading a training log",
            )?
            .into_iter()
            .map(|row| (unsigned(row.get::<_, i64>(0)), row.get::<_, String>(1)))
            .collect())
    }
}
