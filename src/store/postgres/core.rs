//! What every request's transaction offers on Postgres: idempotency records, id counters, the
//! activity log, health counters, reset and dump.

use std::collections::BTreeMap;

use postgres::Row;
use postgres::types::Type;
use serde_json::{Map, Value};

use crate::store::{
    ActivityEvent, ActivityStore, AdminStore, CounterStore, HealthStore, IdempotencyRecord,
    IdempotencyScope, IdempotencyStore, RecordedActivity, StoreError,
};

use super::{PostgresTx, big, decode, encode, sql_limit, unsigned};

/// The activity log's last number, in `health_counters`.
const ACTIVITY_NUMBER: &str = "operation_events_seq";

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

fn record_of(row: &Row) -> IdempotencyRecord {
    IdempotencyRecord {
        request_hash: row.get(0),
        status: u16::try_from(row.get::<_, i64>(1)).unwrap_or_default(),
        body: row.get(2),
    }
}

impl IdempotencyStore for PostgresTx {
    fn claim_idempotency(
        &mut self,
        scope: &IdempotencyScope<'_>,
        request_hash: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        // A concurrent claim of the same key, on any instance, makes this insert wait for its
        // transaction; after its commit the insert does nothing and the record is read (a
        // statement of a READ COMMITTED transaction sees every commit before it began).
        let inserted = self.execute(
            "INSERT INTO idempotency_records
             (actor_type, actor_id, operation_id, idempotency_key, request_hash, status, body)
             VALUES ($1, $2, $3, $4, $5, 0, '')
             ON CONFLICT DO NOTHING",
            &[
                &scope.actor_type,
                &scope.actor_id,
                &scope.operation_id,
                &scope.key,
                &request_hash,
            ],
            "claiming an idempotency key",
        )?;
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
            "UPDATE idempotency_records SET status = $5, body = $6
             WHERE actor_type = $1 AND actor_id = $2 AND operation_id = $3 AND idempotency_key = $4",
            &[
                &scope.actor_type,
                &scope.actor_id,
                &scope.operation_id,
                &scope.key,
                &i64::from(status),
                &body,
            ],
            "recording an idempotent answer",
        )
        .map(drop)
    }

    fn idempotency_record(
        &self,
        scope: &IdempotencyScope<'_>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        Ok(self
            .row(
                "SELECT request_hash, status, body FROM idempotency_records
                 WHERE actor_type = $1 AND actor_id = $2 AND operation_id = $3
                   AND idempotency_key = $4",
                &[
                    &scope.actor_type,
                    &scope.actor_id,
                    &scope.operation_id,
                    &scope.key,
                ],
                "reading an idempotency record",
            )?
            .as_ref()
            .map(record_of))
    }
}

impl CounterStore for PostgresTx {
    fn next_counter(&mut self, name: &str) -> Result<u64, StoreError> {
        self.reserve_counter(name, 1)
    }

    fn reserve_counter(&mut self, name: &str, count: u64) -> Result<u64, StoreError> {
        // The upsert locks the counter's row until this transaction ends: the next request
        // that needs the counter waits, then continues from what this one committed, or from
        // where it was if this one rolled back. Ids stay gapless and unique across instances.
        let row = self.row(
            "INSERT INTO counters (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = counters.value + EXCLUDED.value
             RETURNING value",
            &[&name, &big(count)],
            "reserving counter values",
        )?;
        let last = row.map_or(0, |row| unsigned(row.get::<_, i64>(0)));
        Ok(last + 1 - count)
    }

    fn set_counter(&mut self, name: &str, value: u64) -> Result<(), StoreError> {
        self.execute(
            "INSERT INTO counters (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            &[&name, &big(value)],
            "setting a counter",
        )
        .map(drop)
    }

    fn next_instance(&mut self) -> Result<u64, StoreError> {
        let row = self.row(
            "INSERT INTO runtime_instances DEFAULT VALUES RETURNING instance",
            &[],
            "registering a runtime instance",
        )?;
        Ok(row.map_or(0, |row| unsigned(row.get::<_, i64>(0))))
    }
}

impl PostgresTx {
    fn activity(
        &self,
        sql: &str,
        params: super::Params<'_>,
    ) -> Result<Vec<RecordedActivity>, StoreError> {
        const CONTEXT: &str = "reading activity";
        self.rows(sql, params, CONTEXT)?
            .iter()
            .map(|row| {
                Ok(RecordedActivity {
                    seq: unsigned(row.get::<_, i64>(0)),
                    event: decode(row.get::<_, &str>(1), CONTEXT)?,
                })
            })
            .collect()
    }
}

impl ActivityStore for PostgresTx {
    fn record_activity(&mut self, event: &ActivityEvent) -> Result<(), StoreError> {
        // Numbered as SQLite numbers its rows, from 1 after a reset and with no gap where a
        // request rolled back: from a number kept beside the health counters (which a reset
        // zeroes and a dump leaves out), whose row this transaction then holds to its commit,
        // so that the writers of the log take turns from here. One round trip.
        self.execute(
            "WITH next AS (
                 INSERT INTO health_counters (name, shard, value) VALUES ($1, 0, 1)
                 ON CONFLICT (name, shard) DO UPDATE SET value = health_counters.value + 1
                 RETURNING value)
             INSERT INTO operation_events (seq, operation_id, status, document)
             SELECT value, $2, $3, $4 FROM next",
            &[
                &ACTIVITY_NUMBER,
                &event.operation_id,
                &i64::from(event.status),
                &encode(event)?,
            ],
            "recording activity",
        )
        .map(drop)
    }

    fn recent_activity(&self, limit: usize) -> Result<Vec<RecordedActivity>, StoreError> {
        self.activity(
            "SELECT seq, document FROM operation_events ORDER BY seq DESC LIMIT $1",
            &[&sql_limit(limit)],
        )
    }

    fn activity_of(&self, operation_id: &str) -> Result<Vec<RecordedActivity>, StoreError> {
        self.activity(
            "SELECT seq, document FROM operation_events WHERE operation_id = $1 ORDER BY seq",
            &[&operation_id],
        )
    }
}

impl HealthStore for PostgresTx {
    fn health_counters(&self, names: &[&str]) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut counters: BTreeMap<String, u64> =
            names.iter().map(|name| ((*name).to_owned(), 0)).collect();
        let names: Vec<&str> = names.to_vec();
        for row in self.rows(
            "SELECT name, SUM(value)::BIGINT FROM health_counters WHERE name = ANY($1) GROUP BY name",
            &[&names],
            "reading health counters",
        )? {
            counters.insert(row.get(0), unsigned(row.get::<_, i64>(1)));
        }
        Ok(counters)
    }
}

impl AdminStore for PostgresTx {
    fn reset_all(&mut self) -> Result<(), StoreError> {
        for table in self.tables() {
            self.batch(&format!("DELETE FROM {}", table.name), "resetting a table")?;
        }
        self.batch(
            "UPDATE health_counters SET value = 0",
            "resetting health counters",
        )
    }

    fn dump(&self) -> Result<Value, StoreError> {
        let mut tables = Map::new();
        let mut sorted = self.tables().to_vec();
        sorted.sort_unstable_by_key(|table| table.name);
        for table in sorted {
            let rows = self.rows(
                &format!("SELECT * FROM {} ORDER BY {}", table.name, table.order_by),
                &[],
                "dumping a table",
            )?;
            let rows = rows
                .iter()
                .map(|row| {
                    let mut object = Map::new();
                    for (index, column) in row.columns().iter().enumerate() {
                        let value = if table.hidden_columns.contains(&column.name()) {
                            Value::String("<hidden>".to_owned())
                        } else {
                            column_to_json(row, index, column.type_())
                        };
                        object.insert(column.name().to_owned(), value);
                    }
                    Value::Object(object)
                })
                .collect();
            tables.insert(table.name.to_owned(), Value::Array(rows));
        }
        Ok(Value::Object(tables))
    }
}

/// A column as SQLite's dump writes it: integers and reals as numbers, text holding a JSON
/// object or array as JSON, other text as a string.
fn column_to_json(row: &Row, index: usize, kind: &Type) -> Value {
    match *kind {
        Type::INT8 => row
            .get::<_, Option<i64>>(index)
            .map_or(Value::Null, Value::from),
        Type::INT4 => row
            .get::<_, Option<i32>>(index)
            .map_or(Value::Null, Value::from),
        Type::FLOAT8 => row
            .get::<_, Option<f64>>(index)
            .map_or(Value::Null, Value::from),
        _ => match row.get::<_, Option<&str>>(index) {
            None => Value::Null,
            Some(text) => match text.as_bytes().first() {
                Some(b'{' | b'[') => {
                    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
                }
                _ => Value::String(text.to_owned()),
            },
        },
    }
}
