//! The one ordered list of migrations, and each backend's SQL for it.
//!
//! The core and every domain declare their migrations by name ([`super::CORE_MIGRATIONS`],
//! `Domain::migrations`); each backend holds its own SQL for each name. A plan is the
//! declared list with one backend's SQL: a declared name without SQL on that backend, or SQL
//! that nobody declares, is refused, so that the backends cannot drift apart in what they
//! migrate (the schema test compares what the SQL makes).

use crate::api::Domain;

use super::{CORE_MIGRATIONS, CORE_TABLES, StoreError, Table};

/// One backend's SQL, by domain name (`core` for the core's), then by migration name.
pub type BackendMigrations = &'static [(&'static str, &'static [(&'static str, &'static str)])];

/// One migration to apply: whose, which, and its SQL on this backend.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    pub domain: &'static str,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration of the core and of `domains`, in order, with `backend`'s SQL.
pub fn plan(
    backend: &str,
    available: BackendMigrations,
    domains: &[&Domain],
) -> Result<Vec<Step>, StoreError> {
    let declared = std::iter::once(("core", CORE_MIGRATIONS)).chain(
        domains
            .iter()
            .map(|domain| (domain.name, domain.migrations)),
    );
    let mut steps = Vec::new();
    for (domain, names) in declared {
        let sql_of = available
            .iter()
            .find(|(name, _)| *name == domain)
            .map_or(&[][..], |(_, migrations)| *migrations);
        for &name in names {
            let sql = sql_of
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, sql)| *sql)
                .ok_or_else(|| disagreement(format!("no {backend} migration {domain}/{name}")))?;
            steps.push(Step { domain, name, sql });
        }
        if let Some((extra, _)) = sql_of.iter().find(|(known, _)| !names.contains(known)) {
            return Err(disagreement(format!(
                "the {backend} migration {domain}/{extra} is not declared by its domain"
            )));
        }
    }
    Ok(steps)
}

fn disagreement(message: String) -> StoreError {
    StoreError::new("planning migrations", message)
}

/// The first recorded migration that `steps` does not know, refused: the database was
/// migrated by a newer binary.
pub fn refuse_unknown(
    applied: &[(String, String)],
    steps: &[Step],
    what: &str,
) -> Result<(), StoreError> {
    match applied.iter().find(|(domain, name)| {
        !steps
            .iter()
            .any(|step| step.domain == domain && step.name == name)
    }) {
        Some((domain, name)) => Err(StoreError::new(
            "checking the schema version",
            format!(
                "the database has migration {domain}/{name}, which this binary does not know: \
                 it was written by a newer marketref; run that version, or start on {what}"
            ),
        )),
        None => Ok(()),
    }
}

/// The data tables of the core and of `domains`, in reset order.
pub fn data_tables(domains: &[&Domain]) -> Vec<Table> {
    CORE_TABLES
        .iter()
        .chain(domains.iter().flat_map(|domain| domain.tables))
        .copied()
        .collect()
}
