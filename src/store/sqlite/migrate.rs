//! Schema migrations: the core's, then each domain's in the order of the domain list, each
//! recorded by `(domain, name)` in `schema_migrations` when it ran. A database that records a
//! migration this binary does not know was written by a newer one and is refused.

use rusqlite::{Connection, params};

use crate::api::Domain;
use crate::store::StoreError;
use crate::store::migrations::{self, Step};

use super::MIGRATIONS;

/// Every migration of the core and of `domains`, with SQLite's SQL.
pub(super) fn plan(domains: &[&Domain]) -> Result<Vec<Step>, StoreError> {
    migrations::plan("SQLite", MIGRATIONS, domains)
}

/// Applies the steps not yet recorded, each in its own transaction.
pub(super) fn run(conn: &mut Connection, steps: &[Step]) -> Result<(), StoreError> {
    let fail = |context| move |e: rusqlite::Error| StoreError::new(context, e);
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             domain TEXT NOT NULL,
             name   TEXT NOT NULL,
             PRIMARY KEY (domain, name)
         ) STRICT",
    )
    .map_err(fail("creating schema_migrations"))?;
    record_legacy(conn)?;
    let applied: Vec<(String, String)> = {
        let mut statement = conn
            .prepare("SELECT domain, name FROM schema_migrations ORDER BY domain, name")
            .map_err(fail("reading schema_migrations"))?;
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .and_then(Iterator::collect)
            .map_err(fail("reading schema_migrations"))?
    };
    migrations::refuse_unknown(&applied, steps, "a new file")?;
    for step in steps {
        if applied
            .iter()
            .any(|(domain, name)| domain == step.domain && name == step.name)
        {
            continue;
        }
        let tx = conn.transaction().map_err(fail("migrating the schema"))?;
        tx.execute_batch(step.sql)
            .and_then(|()| {
                tx.execute(
                    "INSERT INTO schema_migrations (domain, name) VALUES (?1, ?2)",
                    params![step.domain, step.name],
                )
            })
            .and_then(|_| tx.commit())
            .map_err(|e| {
                StoreError::new(
                    "migrating the schema",
                    format!("{}/{}: {e}", step.domain, step.name),
                )
            })?;
    }
    Ok(())
}

/// Databases written before migrations were recorded by name counted them in
/// `PRAGMA user_version`; these are the named migrations each of those counts had run.
const LEGACY: &[&[(&str, &str)]] = &[
    &[
        ("core", "0001_counters_idempotency"),
        ("swap", "0001_tables"),
    ],
    &[("core", "0002_activity"), ("data_market", "0001_tables")],
    &[("swap", "0002_partial_creator_index")],
];

fn record_legacy(conn: &Connection) -> Result<(), StoreError> {
    let fail = |e: rusqlite::Error| StoreError::new("recording legacy migrations", e);
    let version: usize = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(fail)?;
    if version == 0 {
        return Ok(());
    }
    for migrations in LEGACY.iter().take(version) {
        for (domain, name) in *migrations {
            conn.execute(
                "INSERT OR IGNORE INTO schema_migrations (domain, name) VALUES (?1, ?2)",
                params![domain, name],
            )
            .map_err(fail)?;
        }
    }
    conn.pragma_update(None, "user_version", 0).map_err(fail)
}
