//! A database of its own for one run, made beside the one a URL names and dropped after: how
//! the verifier runs each milestone on a fresh Postgres store, and the HTTP bench its load,
//! on a server they are given (its user needs `CREATEDB`).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::store::StoreError;

use super::redacted;

/// Dropped with this value (`DROP DATABASE ... WITH (FORCE)`), however the run ended.
#[derive(Debug)]
pub struct ScratchDatabase {
    /// The URL it was made from, through whose database it is dropped.
    admin_url: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    /// Makes an empty database named `<prefix>_<pid>_<n>` on the server of `url`.
    pub fn create(url: &str, prefix: &str) -> Result<ScratchDatabase, StoreError> {
        static MADE: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            MADE.fetch_add(1, Ordering::SeqCst)
        );
        let scratch = ScratchDatabase {
            admin_url: url.to_owned(),
            url: with_database(url, &name),
            name,
        };
        scratch.admin(&format!("CREATE DATABASE {}", scratch.name))?;
        Ok(scratch)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs one statement through the database of the given URL, on a thread of its own (the
    /// callers are often async tasks, whose threads must not block on a database).
    fn admin(&self, statement: &str) -> Result<(), StoreError> {
        crate::store::off_async(|| -> Result<(), StoreError> {
            let mut client = super::connect(&self.admin_url).map_err(|e| {
                StoreError::new(
                    "making a scratch database",
                    format!("{}: {e}", redacted(&self.admin_url)),
                )
            })?;
            client
                .batch_execute(statement)
                .map_err(|e| StoreError::new("making a scratch database", e))
        })
        .unwrap_or_else(|_| {
            Err(StoreError::new(
                "making a scratch database",
                "the thread panicked",
            ))
        })
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if let Err(error) = self.admin(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )) {
            tracing::warn!(%error, database = %self.name, "dropping a scratch database failed");
        }
    }
}

/// `url` naming the database `name` instead of its own, its parameters kept.
pub fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (address, query) = match rest.split_once('?') {
        Some((address, query)) => (address, Some(query)),
        None => (rest, None),
    };
    let authority = address
        .split_once('/')
        .map_or(address, |(authority, _)| authority);
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn a_scratch_url_keeps_everything_but_the_database() {
        assert_eq!(
            with_database("postgres://u:p@h:5/main?sslmode=require", "s1"),
            "postgres://u:p@h:5/s1?sslmode=require"
        );
        assert_eq!(with_database("postgres://h", "s1"), "postgres://h/s1");
        assert_eq!(
            with_database("postgresql://u@/main?host=/run/pg", "s1"),
            "postgresql://u@/s1?host=/run/pg"
        );
    }
}
