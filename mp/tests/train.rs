//! `mp train start|status|logs|stop|list|report`: a local run started, followed to its end
//! (exit 0 when it succeeds), its refusals with exit 1, and a byoc run's report.

use crate::support::{Server, Terminal};

#[test]
fn a_run_is_started_and_followed_to_its_end() {
    let server = Server::start();
    let terminal = Terminal::new();
    terminal.logged_in(&server, "Trainer");
    server.round("r1", 400);
    let started = terminal
        .mp(&[
            "train", "start", "--round", "r1", "--hp", "epochs=5", "--hp", "lr=0.1", "--seed", "7",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(started["run_id"], "run_000001", "{started}");
    assert_eq!(started["spec"]["hyperparams"]["epochs"], 5);
    assert_eq!(started["spec"]["seed"], 7);

    let followed = terminal
        .mp(&["train", "logs", "run_000001", "--follow"])
        .ok();
    let lines: Vec<&str> = followed.stdout.lines().collect();
    assert_eq!(
        lines[0], "queued for a local training worker",
        "{}",
        followed.stdout
    );
    assert!(
        lines.iter().filter(|l| l.starts_with("epoch ")).count() == 5,
        "{}",
        followed.stdout
    );
    assert_eq!(lines.last(), Some(&"run_000001 succeeded"));

    let as_json = terminal
        .mp(&["train", "logs", "run_000001", "--follow", "--json"])
        .ok()
        .json();
    assert_eq!(as_json["status"], "succeeded");
    assert_eq!(
        as_json["lines"].as_array().unwrap().len(),
        8,
        "queued, started, 5 epochs, succeeded: {as_json}"
    );
    assert_eq!(as_json["lines"][7]["seq"], 8);

    let since = terminal
        .mp(&["train", "logs", "run_000001", "--since", "7", "--json"])
        .ok()
        .json();
    assert_eq!(since["lines"].as_array().unwrap().len(), 1, "{since}");

    let status = terminal
        .mp(&["train", "status", "run_000001", "--json"])
        .ok()
        .json();
    assert_eq!(status["status"], "succeeded");
    assert!(status["metrics"]["val_sharpe"].is_number(), "{status}");
    let list = terminal
        .mp(&["train", "list", "--status", "succeeded", "--json"])
        .ok()
        .json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let stop = terminal.mp(&["train", "stop", "run_000001", "--json"]);
    assert_eq!(stop.code, 1, "{stop:?}");
    assert_eq!(
        stop.json()["error"]["reason_code"],
        "training_run_not_cancellable"
    );
    assert!(
        stop.stderr.contains("training_run_not_cancellable"),
        "{}",
        stop.stderr
    );
}

#[test]
fn a_run_that_does_not_succeed_ends_the_follow_with_exit_1() {
    let server = Server::start();
    let terminal = Terminal::new();
    terminal.logged_in(&server, "Canceller");
    server.round("r1", 4000);
    terminal
        .mp(&[
            "train",
            "start",
            "--round",
            "r1",
            "--hp",
            "epochs=1000",
            "--hp",
            "batch_size=1",
        ])
        .ok();
    let stopped = terminal
        .mp(&["train", "stop", "run_000001", "--json"])
        .ok()
        .json();
    assert!(
        ["cancelled", "running"].contains(&stopped["status"].as_str().unwrap()),
        "{stopped}"
    );
    let followed = terminal.mp(&["train", "logs", "run_000001", "--follow", "--json"]);
    assert_eq!(followed.code, 1, "{followed:?}");
    assert_eq!(
        followed.json()["status"],
        "cancelled",
        "one document, the outcome"
    );
    let unknown = terminal.mp(&["train", "status", "run_999999"]);
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(
        unknown.stderr.contains("404 training_run_not_found"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn a_byoc_run_reports_its_metrics() {
    let server = Server::start();
    let terminal = Terminal::new();
    terminal.logged_in(&server, "Own GPU");
    server.round("r1", 400);
    terminal
        .mp(&["train", "start", "--round", "r1", "--provider", "byoc"])
        .ok();
    std::fs::write(
        terminal.path("metrics.json"),
        r#"{"val_sharpe": 1.25, "win_rate": 0.55}"#,
    )
    .unwrap();
    let reported = terminal
        .mp(&[
            "train",
            "report",
            "run_000001",
            "--metrics",
            "metrics.json",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(reported["status"], "succeeded", "{reported}");
    assert_eq!(reported["metrics_source"], "self_reported");
    assert_eq!(reported["metrics"]["val_sharpe"], 1.25);
    std::fs::write(terminal.path("broken.json"), "{").unwrap();
    let broken = terminal.mp(&["train", "report", "run_000001", "--metrics", "broken.json"]);
    assert_eq!(broken.code, 2, "{broken:?}");
}
