//! Every store backend on main, held to the same rules: the suite again on Postgres, one
//! schema on both, migrations that refuse a newer database, and several `marketref serve`
//! processes on one Postgres database.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use marketref::store::{PostgresStore, SqliteStore};
use serde_json::{Value, json};

use crate::postgres_cluster::Cluster;
use crate::support::{TEST_STORE, intent};

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
        .args(["--skip", "backends::", "--test-threads", "4"])
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
    let database = url.rsplit('/').next().unwrap();
    let postgres = postgres_schema(&mut Cluster::get().client(database));
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
    let database = url.rsplit('/').next().unwrap();
    Cluster::get()
        .client(database)
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

/// A `marketref serve --dev` process on a Postgres database, on a port of its own.
struct Instance {
    child: Child,
    base: String,
}

impl Instance {
    fn start(url: &str, data_dir: &std::path::Path) -> Instance {
        let mut child = Command::new(env!("CARGO_BIN_EXE_marketref"))
            .args(["serve", "--dev", "--addr", "127.0.0.1:0", "--db", url])
            .arg("--data-dir")
            .arg(data_dir)
            .env("MARKETREF_TOKEN_PEPPER", "the-instances-pepper")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (found, address) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent && let Some(rest) = line.strip_prefix("marketref: serving on ") {
                    let base = rest.split_whitespace().next().unwrap_or("").to_owned();
                    let _ = found.send(base);
                    sent = true;
                }
            }
        });
        let base = address
            .recv_timeout(Duration::from_secs(60))
            .expect("the instance said where it serves");
        Instance { child, base }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two instances on one database: 32 requests with one idempotency key, sent to both at once,
/// execute once, and the rest replay the same answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_idempotency_key_sent_to_two_instances_executes_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = tokio::task::spawn_blocking(|| Cluster::get().database())
        .await
        .unwrap();
    let instances = Arc::new([
        Instance::start(&url, dir.path()),
        Instance::start(&url, dir.path()),
    ]);
    let client = reqwest::Client::new();
    let body = json!({"intent": intent("contended", "u1", "knife", "gloves")});
    let sends: Vec<_> = (0..32)
        .map(|index| {
            let request = client
                .post(format!("{}/swap-intents", instances[index % 2].base))
                .header("x-actor-type", "user")
                .header("x-actor-id", "u1")
                .header("x-auth-scopes", "swap_intents:write")
                .header("idempotency-key", "one-key")
                .json(&body);
            tokio::spawn(async move {
                let reply = request.send().await.unwrap();
                let replayed = reply.headers().get("idempotent-replayed").is_some();
                (
                    reply.status().as_u16(),
                    replayed,
                    reply.text().await.unwrap(),
                )
            })
        })
        .collect();
    let mut executed = 0;
    let mut bodies = Vec::new();
    for send in sends {
        let (status, replayed, body) = send.await.unwrap();
        assert_eq!(status, 201, "{body}");
        executed += usize::from(!replayed);
        bodies.push(body);
    }
    assert_eq!(
        executed, 1,
        "the key ran once; every other request replayed"
    );
    assert!(bodies.windows(2).all(|pair| pair[0] == pair[1]));
    let database = url.rsplit('/').next().unwrap().to_owned();
    let rows: i64 = tokio::task::spawn_blocking(move || {
        Cluster::get()
            .client(&database)
            .query_one("SELECT COUNT(*) FROM swap_intents", &[])
            .unwrap()
            .get(0)
    })
    .await
    .unwrap();
    assert_eq!(rows, 1);
    let health: Value = client
        .get(format!("{}/healthz", instances[1].base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["store"]["backend"], "postgres", "{health}");
}
