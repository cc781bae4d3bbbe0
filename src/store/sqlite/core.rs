//! What every request's transaction offers on SQLite: idempotency records, id counters, the
//! activity log, health counters, reset and dump.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};
use serde_json::{Map, Value};

use crate::store::{
    ActivityEvent, ActivityStore, AdminStore, CounterStore, HealthStore, IdempotencyRecord,
    IdempotencyScope, IdempotencyStore, RecordedActivity, StoreError,
};

use super::{SqliteTx, decode, encode, sql_error, sql_limit};

pub(super) const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_counters_idempotency",
        include_str!("migrations/core/0001_counters_idempotency.sql"),
    ),
    (
        "0002_activity",
        include_str!("migrations/core/0002_activity.sql"),
    ),
    (
        "0003_health_counters",
        include_str!("migrations/core/0003_health_counters.sql"),
    ),
    (
        "0004_runtime_instances",
        include_str!("migrations/core/0004_runtime_instances.sql"),
    ),
    (
        "0005_credentials_and_rate_windows",
        include_str!("migrations/core/0005_credentials_and_rate_windows.sql"),
    ),
    (
        "0006_health_counter_shards",
        include_str!("migrations/core/0006_health_counter_shards.sql"),
    ),
];

impl IdempotencyStore for SqliteTx {
    fn claim_idempotency(
        &mut self,
        scope: &IdempotencyScope<'_>,
        request_hash: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        // The claim's status and body are written by `complete_idempotency` before commit, so
        // no other transaction ever sees them empty.
        let inserted = self
            .conn()
            .prepare_cached(
                "INSERT INTO idempotency_records
                 (actor_type, actor_id, operation_id, idempotency_key, request_hash, status, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, '')
                 ON CONFLICT DO NOTHING",
            )
            .and_then(|mut statement| {
                statement.execute(params![
                    scope.actor_type,
                    scope.actor_id,
                    scope.operation_id,
                    scope.key,
                    request_hash
                ])
            })
            .map_err(sql_error("claiming an idempotency key"))?;
        if inserted == 1 {
            return Ok(None);
        }
        self.idempotency_record(scope)
    }

    fn complete_idempotency(
        &mut self,
        scope: &IdempotencyScope<'_>,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        self.execute(
            "UPDATE idempotency_records SET status = ?5, body = ?6
             WHERE actor_type = ?1 AND actor_id = ?2 AND operation_id = ?3 AND idempotency_key = ?4",
            params![
                scope.actor_type,
                scope.actor_id,
                scope.operation_id,
                scope.key,
                status,
                body
            ],
            "recording an idempotent answer",
        )
    }

    fn idempotency_record(
        &self,
        scope: &IdempotencyScope<'_>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.conn()
            .prepare_cached(
                "SELECT request_hash, status, body FROM idempotency_records
                 WHERE actor_type = ?1 AND actor_id = ?2 AND operation_id = ?3 AND idempotency_key = ?4",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(
                        params![scope.actor_type, scope.actor_id, scope.operation_id, scope.key],
                        |row| {
                            Ok(IdempotencyRecord {
                                request_hash: row.get(0)?,
                                status: row.get(1)?,
                                body: row.get(2)?,
                            })
                        },
                    )
                    .optional()
            })
            .map_err(sql_error("reading an idempotency record"))
    }
}

impl CounterStore for SqliteTx {
    fn next_counter(&mut self, name: &str) -> Result<u64, StoreError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO counters (name, value) VALUES (?1, 1)
                 ON CONFLICT (name) DO UPDATE SET value = value + 1
                 RETURNING value",
            )
            .and_then(|mut statement| statement.query_row(params![name], |row| row.get(0)))
            .map_err(sql_error("allocating a counter"))
    }

    fn reserve_counter(&mut self, name: &str, count: u64) -> Result<u64, StoreError> {
        let last: u64 = self
            .conn()
            .prepare_cached(
                "INSERT INTO counters (name, value) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET value = value + excluded.value
                 RETURNING value",
            )
            .and_then(|mut statement| statement.query_row(params![name, count], |row| row.get(0)))
            .map_err(sql_error("reserving counter values"))?;
        Ok(last + 1 - count)
    }

    fn set_counter(&mut self, name: &str, value: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO counters (name, value) VALUES (?1, ?2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            params![name, value],
            "setting a counter",
        )
    }

    fn next_instance(&mut self) -> Result<u64, StoreError> {
        self.conn()
            .query_row(
                "INSERT INTO runtime_instances DEFAULT VALUES RETURNING instance",
                [],
                |row| row.get(0),
            )
            .map_err(sql_error("registering a runtime instance"))
    }
}

impl SqliteTx {
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
                let event: ActivityEvent = decode(row.get_ref(1)?.as_str()?)?;
                Ok(RecordedActivity { seq, event })
            })
            .map_err(sql_error("reading activity"))?;
        rows.collect::<Result<_, _>>()
            .map_err(sql_error("reading activity"))
    }
}

impl ActivityStore for SqliteTx {
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

impl HealthStore for SqliteTx {
    fn health_counters(&self, names: &[&str]) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut statement = self
            .conn()
            .prepare_cached("SELECT COALESCE(SUM(value), 0) FROM health_counters WHERE name = ?1")
            .map_err(sql_error("reading health counters"))?;
        let mut counters = BTreeMap::new();
        for &name in names {
            let value: Option<u64> = statement
                .query_row(params![name], |row| row.get(0))
                .optional()
                .map_err(sql_error("reading health counters"))?;
            counters.insert(name.to_owned(), value.unwrap_or(0));
        }
        Ok(counters)
    }
}

impl AdminStore for SqliteTx {
    fn reset_all(&mut self) -> Result<(), StoreError> {
        for table in self.tables() {
            self.conn()
                .execute(&format!("DELETE FROM {}", table.name), [])
                .map_err(sql_error("resetting a table"))?;
        }
        // The triggers counted every row out; this only guards against a counter that was
        // seeded wrong.
        self.execute(
            "UPDATE health_counters SET value = 0",
            [],
            "resetting health counters",
        )
    }

    fn dump(&self) -> Result<Value, StoreError> {
        let mut tables = Map::new();
        let mut sorted = self.tables().to_vec();
        sorted.sort_unstable_by_key(|table| table.name);
        for table in sorted {
            let mut statement = self
                .conn()
                .prepare(&format!(
                    "SELECT * FROM {} ORDER BY {}",
                    table.name, table.order_by
                ))
                .map_err(sql_error("dumping a table"))?;
            let columns: Vec<String> = statement.column_names().map(str::to_owned).collect();
            let rows = statement
                .query_map([], |row| {
                    let mut object = Map::new();
                    for (index, column) in columns.iter().enumerate() {
                        let value = if table.hidden_columns.contains(&column.as_str()) {
                            Value::String("<hidden>".to_owned())
                        } else {
                            sql_value_to_json(row.get_ref(index)?)
                        };
                        object.insert(column.clone(), value);
                    }
                    Ok(Value::Object(object))
                })
                .and_then(Iterator::collect::<Result<Vec<Value>, _>>)
                .map_err(sql_error("dumping a table"))?;
            tables.insert(table.name.to_owned(), Value::Array(rows));
        }
        Ok(Value::Object(tables))
    }
}

/// Columns holding JSON documents are dumped as JSON, not as strings, so that the dump reads
/// like the API.
fn sql_value_to_json(value: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => Value::from(f),
        ValueRef::Text(bytes) => {
            let text = String::from_utf8_lossy(bytes);
            match text.as_bytes().first() {
                Some(b'{' | b'[') => {
                    serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned()))
                }
                _ => Value::String(text.into_owned()),
            }
        }
        ValueRef::Blob(bytes) => Value::String(hex::encode(bytes)),
    }
}
