//! Where a store lives, as `--db` names it: a SQLite file (a path, or `sqlite://` and a path)
//! or a Postgres database (`postgres://` or `postgresql://`, libpq style).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use super::{PostgresStore, SqliteStore, Store, StoreError, postgres};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    /// Opens the store, creating and migrating it as needed.
    pub fn open(&self) -> Result<Arc<dyn Store>, StoreError> {
        Ok(match self {
            Location::Sqlite(path) => Arc::new(SqliteStore::open(path)?),
            Location::Postgres(url) => Arc::new(PostgresStore::open(url)?),
        })
    }
}

impl FromStr for Location {
    type Err = String;

    fn from_str(db: &str) -> Result<Location, String> {
        if postgres::is_url(db) {
            return Ok(Location::Postgres(db.to_owned()));
        }
        let path = db.strip_prefix("sqlite://").unwrap_or(db);
        if path.is_empty() {
            return Err("a SQLite file needs a path".to_owned());
        }
        if path.contains("://") {
            return Err(format!(
                "`{}`: a store is a SQLite file (a path, or sqlite://PATH) or a Postgres URL \
                 (postgres://USER@HOST:PORT/DB)",
                postgres::redacted(db)
            ));
        }
        Ok(Location::Sqlite(PathBuf::from(path)))
    }
}

/// The location as messages show it: a Postgres URL without its password.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => f.write_str(&postgres::redacted(url)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_urls_name_their_backend() {
        assert_eq!(
            "./marketref.db".parse(),
            Ok(Location::Sqlite(PathBuf::from("./marketref.db")))
        );
        assert_eq!(
            "sqlite:///var/lib/m.db".parse(),
            Ok(Location::Sqlite(PathBuf::from("/var/lib/m.db")))
        );
        assert_eq!(
            "postgres://app:pw@db:5432/market"
                .parse::<Location>()
                .map(|l| l.to_string()),
            Ok("postgres://app:***@db:5432/market".to_owned())
        );
        assert!("mysql://db/market".parse::<Location>().is_err());
        assert!("sqlite://".parse::<Location>().is_err());
    }
}
