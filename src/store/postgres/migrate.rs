//! Schema migrations on Postgres: the same ordered list as every backend
//! (`store::migrations`), recorded by `(domain, name)` in `schema_migrations`, each in its own
//! transaction. Instances starting at once take turns under an advisory lock.

use postgres::Client;

use crate::store::StoreError;
use crate::store::migrations::{self, Step};

use super::tls::Target;
use super::{MIGRATION_LOCK, MIGRATIONS};

/// Brings the database at `target` up to this binary's schema (`marketref migrate`, and every
/// start). A database that records a migration this binary does not know is refused.
pub(super) fn migrate(target: &Target) -> Result<(), StoreError> {
    let steps = migrations::plan("Postgres", MIGRATIONS, crate::domain::ALL)?;
    let mut client = target.connect_or_say()?;
    run(&mut client, &steps)
}

fn run(client: &mut Client, steps: &[Step]) -> Result<(), StoreError> {
    let fail = |context| move |e: postgres::Error| StoreError::new(context, e);
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .map_err(fail("waiting for other migrations"))?;
    let result = apply(client, steps);
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .map_err(fail("ending the migration"));
    result.and(unlocked.map(drop))
}

fn apply(client: &mut Client, steps: &[Step]) -> Result<(), StoreError> {
    let fail = |context| move |e: postgres::Error| StoreError::new(context, e);
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 domain TEXT COLLATE \"C\" NOT NULL,
                 name   TEXT COLLATE \"C\" NOT NULL,
                 PRIMARY KEY (domain, name)
             )",
        )
        .map_err(fail("creating schema_migrations"))?;
    let applied: Vec<(String, String)> = client
        .query(
            "SELECT domain, name FROM schema_migrations ORDER BY domain, name",
            &[],
        )
        .map_err(fail("reading schema_migrations"))?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    migrations::refuse_unknown(&applied, steps, "a new database")?;
    for step in steps {
        if applied
            .iter()
            .any(|(domain, name)| domain == step.domain && name == step.name)
        {
            continue;
        }
        let failed = |e: postgres::Error| {
            StoreError::new(
                "migrating the schema",
                format!("{}/{}: {e}", step.domain, step.name),
            )
        };
        let mut tx = client.transaction().map_err(failed)?;
        tx.batch_execute(step.sql).map_err(failed)?;
        tx.execute(
            "INSERT INTO schema_migrations (domain, name) VALUES ($1, $2)",
            &[&step.domain, &step.name],
        )
        .map_err(failed)?;
        tx.commit().map_err(failed)?;
    }
    Ok(())
}
