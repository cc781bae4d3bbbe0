//! Every milestone on Postgres, in process (`verify --db`: the same pins as on SQLite, and the
//! same bytes in every artifact of `latest/`) and over `--base-url` (a server on Postgres).

use crate::postgres_cluster::Cluster;
use crate::support::{self, path_str};

#[test]
fn every_milestone_keeps_its_pin_on_postgres_and_writes_what_sqlite_writes() {
    let dir = support::repo_root().join("milestones");
    let on_sqlite = tempfile::tempdir().unwrap();
    let on_postgres = tempfile::tempdir().unwrap();
    let run = support::verify(&[path_str(&dir), "--out", path_str(on_sqlite.path())]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    // Each milestone makes a database of its own beside this one, and drops it after.
    let url = Cluster::get().url("postgres");
    let run = support::verify(&[
        path_str(&dir),
        "--db",
        &url,
        "--out",
        path_str(on_postgres.path()),
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.last_line(), "overall=true");
    let milestones = std::fs::read_dir(on_sqlite.path().join("milestones")).unwrap();
    let mut compared = 0;
    for milestone in milestones {
        let name = milestone.unwrap().file_name();
        let sqlite = on_sqlite
            .path()
            .join("milestones")
            .join(&name)
            .join("latest");
        let postgres = on_postgres
            .path()
            .join("milestones")
            .join(&name)
            .join("latest");
        for file in std::fs::read_dir(&sqlite).unwrap() {
            let file = file.unwrap().file_name();
            let a = std::fs::read(sqlite.join(&file)).unwrap();
            let b = std::fs::read(postgres.join(&file)).unwrap();
            assert!(
                a == b,
                "{name:?}/{file:?} differs between SQLite and Postgres"
            );
            compared += 1;
        }
    }
    assert!(compared >= 20, "only {compared} artifacts compared");
    let mut admin = Cluster::get().client("postgres");
    let left: i64 = admin
        .query_one(
            "SELECT COUNT(*) FROM pg_database WHERE datname LIKE 'marketref_verify_%'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "every milestone's database is dropped");
}

#[test]
fn every_milestone_keeps_its_pin_against_a_server_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let url = Cluster::get().database();
    let store = std::sync::Arc::new(marketref::store::PostgresStore::open(&url).unwrap());
    let served = crate::external::serve_reference_on(store, true, dir.path());
    let out = tempfile::tempdir().unwrap();
    let milestones = support::repo_root().join("milestones");
    let run = support::verify(&[
        path_str(&milestones),
        "--base-url",
        &served.url,
        "--out",
        path_str(out.path()),
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.last_line(), "overall=true");
    assert!(!run.stdout.contains("(differs)"), "{}", run.stdout);
    drop(served);
}
