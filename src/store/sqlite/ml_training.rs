//! The ML marketplace's training runs and their logs on SQLite.

use rusqlite::params;

use crate::domain::ml_market::store::{TrainingRecord, TrainingStore};
use crate::domain::ml_market::types::{Provider, TrainingStatus};
use crate::store::StoreError;

use super::{SqliteTx, decode, encode, sql_error, sql_limit};

impl TrainingStore for SqliteTx {
    fn insert_training_run(&mut self, run: &TrainingRecord, seq: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO ml_training_runs (run_id, seq, vendor_id, provider, status, document)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                run.run_id,
                seq,
                run.vendor_id,
                run.provider.as_str(),
                run.status.as_str(),
                encode(run)?
            ],
            "storing a training run",
        )
    }

    fn training_run(&self, run_id: &str) -> Result<Option<TrainingRecord>, StoreError> {
        self.document(
            "SELECT document FROM ml_training_runs WHERE run_id = ?1",
            params![run_id],
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
        let after = after_seq.map_or(0, |seq| i64::try_from(seq).unwrap_or(i64::MAX));
        self.documents(
            "SELECT document FROM ml_training_runs
             WHERE vendor_id = ?1 AND (?2 IS NULL OR status = ?2) AND seq > ?3
             ORDER BY seq LIMIT ?4",
            params![
                vendor_id,
                status.map(TrainingStatus::as_str),
                after,
                sql_limit(limit)
            ],
            "listing training runs",
        )
    }

    fn update_training_run(
        &mut self,
        run: &TrainingRecord,
        expected: TrainingStatus,
    ) -> Result<bool, StoreError> {
        self.conn()
            .prepare_cached(
                "UPDATE ml_training_runs SET status = ?3, document = ?4
                 WHERE run_id = ?1 AND status = ?2",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    run.run_id,
                    expected.as_str(),
                    run.status.as_str(),
                    encode(run).map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?
                ])
            })
            .map(|changed| changed == 1)
            .map_err(sql_error("updating a training run"))
    }

    fn oldest_queued_run(&self, provider: Provider) -> Result<Option<TrainingRecord>, StoreError> {
        self.document(
            "SELECT document FROM ml_training_runs WHERE status = 'queued' AND provider = ?1
             ORDER BY seq LIMIT 1",
            params![provider.as_str()],
            "reading the training queue",
        )
    }

    fn claim_training_run(
        &mut self,
        running: &TrainingRecord,
        owner: u64,
    ) -> Result<bool, StoreError> {
        // A write transaction holds the database's write lock: a claim in another process
        // waits for this one and then finds the run no longer queued.
        self.conn()
            .prepare_cached(
                "UPDATE ml_training_runs SET status = ?2, document = ?3, owner_instance = ?4
                 WHERE run_id = ?1 AND status = 'queued'",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    running.run_id,
                    running.status.as_str(),
                    encode(running)
                        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?,
                    owner
                ])
            })
            .map(|changed| changed == 1)
            .map_err(sql_error("claiming a training run"))
    }

    fn running_runs_with_owner(
        &self,
        provider: Provider,
    ) -> Result<Vec<(TrainingRecord, Option<u64>)>, StoreError> {
        let context = "listing running training runs";
        let mut statement = self
            .conn()
            .prepare_cached(
                "SELECT document, owner_instance FROM ml_training_runs
                 WHERE status = 'running' AND provider = ?1 ORDER BY seq",
            )
            .map_err(sql_error(context))?;
        let rows = statement
            .query_map(params![provider.as_str()], |row| {
                Ok((
                    decode::<TrainingRecord>(row.get_ref(0)?.as_str()?)?,
                    row.get::<_, Option<u64>>(1)?,
                ))
            })
            .map_err(sql_error(context))?;
        rows.collect::<Result<_, _>>().map_err(sql_error(context))
    }

    fn append_training_log(&mut self, run_id: &str, line: &str) -> Result<u64, StoreError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO ml_training_logs (run_id, seq, line)
                 SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2 FROM ml_training_logs WHERE run_id = ?1
                 RETURNING seq",
            )
            .and_then(|mut statement| statement.query_row(params![run_id, line], |row| row.get(0)))
            .map_err(sql_error("appending a training log line"))
    }

    fn training_log(
        &self,
        run_id: &str,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<(u64, String)>, StoreError> {
        let mut statement = self
            .conn()
            .prepare_cached(
                "SELECT seq, line FROM ml_training_logs WHERE run_id = ?1 AND seq > ?2
                 ORDER BY seq LIMIT ?3",
            )
            .map_err(sql_error("reading a training log"))?;
        let after = i64::try_from(after_seq).unwrap_or(i64::MAX);
        let rows = statement
            .query_map(params![run_id, after, sql_limit(limit)], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .map_err(sql_error("reading a training log"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sql_error("reading a training log"))
    }
}
