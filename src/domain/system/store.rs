//! The activity log: calls of the operations whose manifest entry says `records_activity`,
//! written by the dispatcher in the request's transaction (a failure's rolled-back writes do not
//! take the record of the attempt with them).

use rusqlite::params;

use crate::store::StoreError;
use crate::store::sqlite::{SqliteTx, decode, encode, sql_error, sql_limit};

use super::types::{ActivityEvent, RecordedActivity};

pub trait ActivityStore {
    fn record_activity(&mut self, event: &ActivityEvent) -> Result<(), StoreError>;
    /// The newest `limit` events, newest first.
    fn recent_activity(&self, limit: usize) -> Result<Vec<RecordedActivity>, StoreError>;
    /// Every event of one operation, oldest first.
    fn activity_of(&self, operation_id: &str) -> Result<Vec<RecordedActivity>, StoreError>;
}

impl SqliteTx<'_> {
    fn activity(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<RecordedActivity>, StoreError> {
        let mut statement = self
            .conn()
            .prepare_cached(sql)
            .map_err(sql_error("reading activity"))?;
        let rows = statement
            .query_map(params, |row| {
                let seq: u64 = row.get(0)?;
                let document = row.get_ref(1)?.as_str()?;
                let event: ActivityEvent = decode(document)?;
                Ok(RecordedActivity { seq, event })
            })
            .map_err(sql_error("reading activity"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sql_error("reading activity"))
    }
}

impl ActivityStore for SqliteTx<'_> {
    fn record_activity(&mut self, event: &ActivityEvent) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO operation_events (operation_id, status, document) VALUES (?1, ?2, ?3)",
            params![event.operation_id, event.status, encode(event)?],
            "recording activity",
        )
    }

    fn recent_activity(&self, limit: usize) -> Result<Vec<RecordedActivity>, StoreError> {
        self.activity(
            "SELECT seq, document FROM operation_events ORDER BY seq DESC LIMIT ?1",
            params![sql_limit(limit)],
        )
    }

    fn activity_of(&self, operation_id: &str) -> Result<Vec<RecordedActivity>, StoreError> {
        self.activity(
            "SELECT seq, document FROM operation_events WHERE operation_id = ?1 ORDER BY seq",
            params![operation_id],
        )
    }
}
