//! `--base-url`: the verifier drives any server over HTTP. The reference runtime served by the
//! test gives the same outcomes as in process (its clock is the wall clock, which nothing the
//! milestones check may depend on); a server that breaks the contract fails even when the
//! milestone's own expectations hold; an absent server fails every step.

use std::sync::Arc;

use marketref::clock::SystemClock;
use marketref::http::{AppState, RuntimeConfig};
use marketref::store::SqliteStore;

use crate::support::{self, RepoCopy, Served, path_str};

/// The reference runtime on 127.0.0.1:0, with its dev routes or without, on a fresh store
/// (dropped with the returned folder).
pub(crate) fn serve_reference(dev: bool) -> (Served, tempfile::TempDir) {
    let db = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&db.path().join("served.db")).unwrap());
    (serve_reference_on(store, dev, db.path()), db)
}

/// The reference runtime on 127.0.0.1:0 on `store`, its data folder under `dir`.
pub(crate) fn serve_reference_on(
    store: Arc<dyn marketref::store::Store>,
    dev: bool,
    dir: &std::path::Path,
) -> Served {
    let state = AppState::new(RuntimeConfig {
        store,
        clock: Arc::new(SystemClock),
        dev,
        options: marketref::http::RuntimeOptions {
            data_dir: Some(dir.join("data")),
            ..marketref::http::RuntimeOptions::default()
        },
    })
    .unwrap();
    Served::start(|listener, stopped| {
        tokio::spawn(async move {
            marketref::http::run(listener, state, async {
                let _ = stopped.await;
            })
            .await
            .expect("the served runtime stops cleanly");
        })
    })
}

fn verify_against(
    url: &str,
    milestone: &str,
    seed: verify::SeedChoice,
) -> (verify::Verdict, String, serde_json::Value) {
    let out = tempfile::tempdir().unwrap();
    let options = verify::Options {
        paths: vec![support::milestone(milestone)],
        base_url: Some(url.to_owned()),
        out: Some(out.path().to_path_buf()),
        seed,
        ..verify::Options::default()
    };
    let mut terminal = Vec::new();
    let verdict = verify::verify(&options, &mut terminal).unwrap();
    let id = milestone.trim_end_matches(".yaml");
    let report = std::fs::read_to_string(
        out.path()
            .join(format!("milestones/{id}/latest/report.json")),
    );
    let report = serde_json::from_str(&report.unwrap()).unwrap();
    (
        verdict,
        String::from_utf8_lossy(&terminal).into_owned(),
        report,
    )
}

fn divergence_checks(report: &serde_json::Value) -> Vec<String> {
    report["divergences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["check"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn without_the_dev_routes_m111_seeds_through_the_api_and_keeps_its_pin() {
    let (served, _db) = serve_reference(false);
    let (verdict, printed, report) =
        verify_against(&served.url, "M111.yaml", verify::SeedChoice::Auto);
    assert!(verdict.passed(), "{printed}");
    let run = &verdict.runs[0];
    assert_eq!(run.outcome_check.state(), "matches", "{printed}");
    assert_eq!(run.seed.path, Some(verify::seeding::SeedPath::Api));
    assert!(
        printed.contains("NOTE  seed  the server does not offer the seeding routes (`dev.reset` (`POST /dev/reset`) answered 404 route_not_found)"),
        "{printed}"
    );
    assert_eq!(
        divergence_checks(&report),
        ["seed-routes"],
        "reported, not failing"
    );
    assert_eq!(report["divergences"][0]["fails_run"], false);

    // The server now holds the seed: a second run cannot start from the empty store.
    let (again, printed, _) = verify_against(&served.url, "M111.yaml", verify::SeedChoice::Auto);
    let stopped = again.runs[0]
        .seed
        .stopped
        .clone()
        .unwrap_or_else(|| panic!("{printed}"));
    assert!(
        stopped.starts_with(
            "the seed's step `early-d` was answered as a replay of a request this run did not send"
        ),
        "{stopped}"
    );
}

#[test]
fn without_the_dev_routes_a_milestone_with_no_api_seed_stops_at_the_seed() {
    let (served, _db) = serve_reference(false);
    let (verdict, printed, report) =
        verify_against(&served.url, "M111-optimal.yaml", verify::SeedChoice::Auto);
    assert!(!verdict.passed());
    let run = &verdict.runs[0];
    let stopped = run
        .seed
        .stopped
        .as_deref()
        .unwrap_or_else(|| panic!("{printed}"));
    assert!(
        stopped.starts_with("the server does not offer the seeding routes (`dev.reset` (`POST /dev/reset`) answered 404 route_not_found): this milestone declares no API seed"),
        "{stopped}"
    );
    assert_eq!(
        run.steps.iter().map(|s| s.label()).collect::<Vec<_>>(),
        ["seed/reset"],
        "nothing runs on the wrong state"
    );
    let checks = divergence_checks(&report);
    assert_eq!(
        checks.iter().filter(|c| *c == "seed").count(),
        1,
        "{checks:?}"
    );
    assert!(
        !checks.iter().any(|c| c.contains('/')),
        "no step row: {checks:?}"
    );

    let (served, _db) = serve_reference(false);
    let (verdict, printed, _) = verify_against(&served.url, "M111.yaml", verify::SeedChoice::Dev);
    let stopped = verdict.runs[0]
        .seed
        .stopped
        .clone()
        .unwrap_or_else(|| panic!("{printed}"));
    assert!(
        stopped.ends_with("--seed dev needs them; drop it to seed through the API"),
        "{stopped}"
    );
}

#[test]
fn the_reference_runtime_over_base_url_gives_the_pinned_outcomes() {
    let (served, _db) = serve_reference(true);
    let out = tempfile::tempdir().unwrap();
    let options = verify::Options {
        paths: vec![support::repo_root().join("milestones")],
        base_url: Some(served.url.clone()),
        out: Some(out.path().to_path_buf()),
        ..verify::Options::default()
    };
    let mut terminal = Vec::new();
    let verdict = verify::verify(&options, &mut terminal).unwrap();
    let printed = String::from_utf8_lossy(&terminal);
    assert!(verdict.passed(), "{printed}");
    for run in &verdict.runs {
        assert_eq!(
            run.outcome_check.state(),
            "matches",
            "{}: {printed}",
            run.id
        );
        assert!(
            run.store.is_none(),
            "no store dump for a server the verifier did not start"
        );
    }
    assert!(
        !out.path()
            .join("milestones/M111/latest/store.json")
            .exists()
    );
    drop(served);
}

#[test]
fn a_server_that_breaks_the_contract_fails_although_expectations_hold() {
    let router = axum::Router::new().fallback(|| async {
        (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            r#"{"ok":"yes"}"#,
        )
    });
    let served = Served::router(router);
    let repo = RepoCopy::new();
    repo.write(
        "milestones/FAKE.yaml",
        &support::health_milestone("FAKE", "", "\"yes\""),
    );
    let run = support::verify(&[
        path_str(&repo.path("milestones/FAKE.yaml")),
        "--base-url",
        &served.url,
        "--out",
        path_str(&repo.path("out")),
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let step = run
        .stdout
        .lines()
        .find(|l| l.contains("health/health"))
        .unwrap();
    assert!(step.starts_with("FAIL"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("json /ok equals"),
        "the milestone's own check held:\n{}",
        run.stdout
    );
    assert!(run.stdout.contains("response schema"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("FAIL  rule  correlation-id-echo broken in 2 of 2 answers"),
        "the contract rule is judged apart, once for the run:\n{}",
        run.stdout
    );
    assert_eq!(run.last_line(), "overall=false");
}

#[test]
fn an_absent_server_fails_every_exchange() {
    // Bind a port, then free it: nothing listens there any more.
    let url = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let repo = RepoCopy::new();
    repo.write(
        "milestones/FAKE.yaml",
        &support::health_milestone("FAKE", "", "\"yes\""),
    );
    let run = support::verify(&[
        path_str(&repo.path("milestones/FAKE.yaml")),
        "--base-url",
        &url,
        "--out",
        path_str(&repo.path("out")),
    ]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("FAIL  step  health/health"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("transport"), "{}", run.stdout);
}
