//! Every store backend on main, held to the same rules: the suite again on Postgres, one
//! schema on both, and migrations that refuse a newer database. Several instances on one
//! database are `instances`.

use std::process::Command;
use std::sync::Arc;

use marketref::store::{PostgresStore, SqliteStore, Store, StoreError};

use crate::postgres_cluster::Cluster;
use crate::support::TEST_STORE;

/// The modules whose tests build their servers with `TestServer::start`, and so run on the
/// store it opens; the rest (files, the binary, the browser, documents) are about SQLite or
/// about no store and run once.
const ON_EVERY_STORE: &[&str] = &[
    "auth::",
    "data_market::",
    "database_rules::",
    "errors::",
    "idempotency::",
    "matching::",
    "ml_market::",
    "proposals::",
    "reasons::",
    "store::",
    "swap_intents::",
];

/// The integration tests of the modules above, run again by this binary with every
/// `TestServer::start` on a new database of a throwaway Postgres cluster.
#[test]
fn the_suite_passes_on_postgres() {
    if std::env::var(TEST_STORE).is_ok() {
        return;
    }
    let output = Command::new(std::env::current_exe().unwrap())
        .env(TEST_STORE, "postgres")
        .args(ON_EVERY_STORE)
        .args([
            "--skip",
            "backends::",
            "--skip",
            "instances::",
            "--test-threads",
            "4",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the suite failed on Postgres:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let passed = stdout
        .lines()
        .find_map(|line| line.strip_prefix("test result: ok. "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|count| count.parse::<usize>().ok())
        .unwrap_or(0);
    assert!(
        passed >= 60,
        "only {passed} tests ran on Postgres:\n{stdout}"
    );
}

/// Tables, columns with their types (as mapped), primary keys, unique rules and indexes: the
/// migrations of the two backends make one schema.
#[test]
fn the_two_backends_make_the_same_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schema.db");
    drop(SqliteStore::open(&path).unwrap());
    let url = Cluster::get().database();
    drop(PostgresStore::open(&url).unwrap());
    let sqlite = sqlite_schema(&rusqlite::Connection::open(&path).unwrap());
    let postgres = postgres_schema(&mut marketref::store::postgres::connect(&url).unwrap());
    let diff = similar::TextDiff::from_lines(&sqlite, &postgres)
        .unified_diff()
        .header("sqlite", "postgres")
        .to_string();
    assert!(diff.is_empty(), "the schemas differ:\n{diff}");
    assert!(sqlite.contains("table ml_training_runs"), "{sqlite}");
}

/// One line per fact, sorted: `table T`, `column T.C TYPE [not null]`, `primary key T (C, ..)`,
/// `unique T (C, ..)` for every unique rule (constraint or index, named or not), and
/// `index T NAME (C, ..) [partial]` for the others.
fn sqlite_schema(conn: &rusqlite::Connection) -> String {
    let mut facts = Vec::new();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for table in tables {
        facts.push(format!("table {table}"));
        let mut pk: Vec<(i64, String)> = Vec::new();
        let mut statement = conn
            .prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)")
            .unwrap();
        let columns = statement
            .query_map([&table], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, bool>(2)?,
                    row.get::<_, i64>(3)?,
                ))
            })
            .unwrap();
        for column in columns {
            let (name, kind, not_null, pk_position) = column.unwrap();
            let kind = match kind.as_str() {
                "INTEGER" => "bigint",
                "TEXT" => "text",
                "REAL" => "double precision",
                other => panic!("a SQLite type the schema test does not map: {other}"),
            };
            if pk_position > 0 {
                pk.push((pk_position, name.clone()));
            }
            let not_null = if not_null || pk_position > 0 {
                " not null"
            } else {
                ""
            };
            facts.push(format!("column {table}.{name} {kind}{not_null}"));
        }
        pk.sort();
        let pk: Vec<String> = pk.into_iter().map(|(_, name)| name).collect();
        facts.push(format!("primary key {table} ({})", pk.join(", ")));
        let mut statement = conn
            .prepare("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1)")
            .unwrap();
        let indexes: Vec<(String, bool, String, bool)> = statement
            .query_map([&table], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        for (name, unique, origin, partial) in indexes {
            if origin == "pk" {
                continue;
            }
            let columns: Vec<String> = conn
                .prepare("SELECT name FROM pragma_index_info(?1) ORDER BY seqno")
                .unwrap()
                .query_map([&name], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            facts.push(index_fact(
                &table,
                &name,
                &columns,
                unique,
                origin == "c",
                partial,
            ));
        }
    }
    facts.sort();
    facts.join("\n") + "\n"
}

fn postgres_schema(client: &mut postgres::Client) -> String {
    let mut facts = Vec::new();
    for row in client
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
            &[],
        )
        .unwrap()
    {
        facts.push(format!("table {}", row.get::<_, String>(0)));
    }
    for row in client
        .query(
            "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text
             FROM information_schema.columns WHERE table_schema = 'public'",
            &[],
        )
        .unwrap()
    {
        let not_null = if row.get::<_, String>(3) == "NO" {
            " not null"
        } else {
            ""
        };
        facts.push(format!(
            "column {}.{} {}{not_null}",
            row.get::<_, String>(0),
            row.get::<_, String>(1),
            row.get::<_, String>(2)
        ));
    }
    for row in client
        .query(
            "SELECT t.relname::text, i.relname::text, x.indisunique, x.indisprimary,
                    x.indpred IS NOT NULL, EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid),
                    ARRAY(SELECT a.attname::text FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)
                          JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
                          ORDER BY k.n)
             FROM pg_index x
             JOIN pg_class t ON t.oid = x.indrelid
             JOIN pg_class i ON i.oid = x.indexrelid
             JOIN pg_namespace n ON n.oid = t.relnamespace
             WHERE n.nspname = 'public'",
            &[],
        )
        .unwrap()
    {
        let table: String = row.get(0);
        let name: String = row.get(1);
        let columns: Vec<String> = row.get(6);
        if row.get::<_, bool>(3) {
            facts.push(format!("primary key {table} ({})", columns.join(", ")));
            continue;
        }
        let by_constraint: bool = row.get(5);
        facts.push(index_fact(
            &table,
            &name,
            &columns,
            row.get(2),
            !by_constraint,
            row.get(4),
        ));
    }
    facts.sort();
    facts.join("\n") + "\n"
}

/// A unique rule is told by its columns (a constraint's index has a name of each backend's
/// choosing); an index made by name is told by its name.
fn index_fact(
    table: &str,
    name: &str,
    columns: &[String],
    unique: bool,
    named: bool,
    partial: bool,
) -> String {
    let partial = if partial { " partial" } else { "" };
    match (unique, named) {
        (true, false) => format!("unique {table} ({})", columns.join(", ")),
        (true, true) => format!("unique {table} {name} ({}){partial}", columns.join(", ")),
        (false, _) => format!("index {table} {name} ({}){partial}", columns.join(", ")),
    }
}

#[test]
fn a_postgres_database_a_newer_binary_migrated_is_refused() {
    let url = Cluster::get().database();
    drop(PostgresStore::open(&url).unwrap());
    // Opening again runs nothing: every migration is recorded.
    drop(PostgresStore::open(&url).unwrap());
    marketref::store::postgres::connect(&url)
        .unwrap()
        .execute(
            "INSERT INTO schema_migrations (domain, name) VALUES ('core', '9999_from_the_future')",
            &[],
        )
        .unwrap();
    let error = PostgresStore::open(&url).unwrap_err().to_string();
    assert!(error.contains("core/9999_from_the_future"), "{error}");
    assert!(error.contains("newer marketref"), "{error}");
    let serve = Command::new(env!("CARGO_BIN_EXE_marketref"))
        .args(["migrate", "--db", &url])
        .output()
        .unwrap();
    assert_eq!(serve.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&serve.stderr).contains("newer marketref"));
}

/// `sslmode=require`: TLS through rustls, verified against `sslrootcert` (here the cluster's
/// own certificate); a server whose certificate chains to nothing the client trusts is
/// refused, and a URL that asks for no TLS connects without it.
#[test]
fn a_database_asked_for_over_tls_is_reached_over_tls_and_verified() {
    let cluster = Cluster::get();
    let url = cluster.database();
    let root = cluster.certificate().display().to_string();
    let over_tls = format!("{url}?sslmode=require&sslrootcert={root}");
    drop(PostgresStore::open(&over_tls).unwrap());
    let uses_tls = |url: &str| -> bool {
        marketref::store::postgres::connect(url)
            .unwrap()
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get(0)
    };
    assert!(uses_tls(&over_tls));
    assert!(uses_tls(&format!(
        "{url}?sslmode=verify-full&sslrootcert={root}"
    )));
    assert!(!uses_tls(&url));
    // The system's roots do not know the cluster's certificate.
    let error = PostgresStore::open(&format!("{url}?sslmode=require"))
        .unwrap_err()
        .to_string();
    assert!(error.to_lowercase().contains("certificate"), "{error}");
}

/// Two write transactions that each hold a row the other wants: Postgres gives one of them up
/// (a deadlock), and the store calls that contention, which the pipeline answers by running
/// the request again rather than with a 500.
#[test]
fn a_deadlock_on_postgres_is_contention() {
    let store = Arc::new(PostgresStore::open(&Cluster::get().database()).unwrap());
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let sides: Vec<_> = [("a", "b"), ("b", "a")]
        .into_iter()
        .map(|(first, second)| {
            let store = store.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || -> Result<(), StoreError> {
                let mut tx = store.write()?;
                tx.set_counter(first, 1)?;
                barrier.wait();
                tx.set_counter(second, 2)?;
                tx.commit()
            })
        })
        .collect();
    let outcomes: Vec<Result<(), StoreError>> =
        sides.into_iter().map(|side| side.join().unwrap()).collect();
    let failed: Vec<&StoreError> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert_eq!(failed.len(), 1, "{outcomes:?}");
    assert!(failed[0].is_contention(), "{}", failed[0]);
    assert!(
        marketref::error::ApiError::from(StoreError::of_kind(
            marketref::store::StoreErrorKind::Contention,
            "test",
            "deadlock"
        ))
        .is_contention()
    );
}
