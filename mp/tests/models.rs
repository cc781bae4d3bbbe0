//! `mp register`, `deploy`, `heartbeat`, `catalog`: a trained run to a deployment that beats,
//! shown in the catalog; the token written 0600 and never printed whole with `--env-file`.

use crate::support::{Server, Terminal, mode};

#[test]
fn a_trained_run_is_registered_deployed_and_beats_into_the_catalog() {
    let server = Server::start();
    let terminal = Terminal::new();
    terminal.logged_in(&server, "Acme Quant");
    server.round("r1", 400);
    terminal
        .mp(&["train", "start", "--round", "r1", "--hp", "epochs=3"])
        .ok();
    terminal
        .mp(&["train", "logs", "run_000001", "--follow", "--quiet"])
        .ok();

    let registered = terminal.registered_in_pilot(&server, "eurusd-momentum");
    assert_eq!(registered["created_model"], true, "{registered}");
    assert_eq!(registered["version"]["metrics_source"], "platform");
    let model_id = registered["model_id"].as_str().unwrap().to_owned();
    let version_id = registered["version"]["version_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = terminal
        .mp(&[
            "register",
            "--name",
            "eurusd-momentum",
            "--version",
            "1.1.0",
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(
        (&second["created_model"], &second["model_id"]),
        (&serde_json::json!(false), &serde_json::json!(model_id))
    );

    let deployed = terminal
        .mp(&[
            "deploy",
            "--model",
            "eurusd-momentum",
            "--version",
            "1.0.0",
            "--env-file",
            "deploy.env",
            "--json",
        ])
        .ok();
    let document = deployed.json();
    let env = std::fs::read_to_string(terminal.path("deploy.env")).unwrap();
    assert_eq!(mode(&terminal.path("deploy.env")), 0o600);
    let token = env
        .lines()
        .find_map(|l| l.strip_prefix("MP_DEPLOYMENT_TOKEN="))
        .unwrap();
    assert!(
        !deployed.stdout.contains(token) && !deployed.stderr.contains(token),
        "{deployed:?}"
    );
    assert!(document["infra_token"].as_str().unwrap().contains('…'));

    let beat = terminal
        .mp(&[
            "heartbeat",
            "--status",
            "ready",
            "--env-file",
            "deploy.env",
            "--json",
        ])
        .ok()
        .json();
    assert!(beat.is_object(), "{beat}");
    let catalog = terminal
        .mp(&["catalog", "--task", "signal", "--json"])
        .ok()
        .json();
    let entry = &catalog["items"][0];
    assert_eq!(entry["name"], "eurusd-momentum", "{catalog}");
    assert_eq!(entry["status"], "ready", "{catalog}");
    assert_eq!(entry["metrics_source"], "platform");

    let printed = terminal
        .mp(&[
            "deploy",
            "--model",
            &model_id,
            "--version",
            &version_id,
            "--json",
        ])
        .ok()
        .json();
    assert!(
        printed["infra_token"].as_str().unwrap().starts_with("sit_"),
        "without --env-file the token is shown, once: {printed}"
    );
    let missing = terminal.mp(&["deploy", "--model", "eurusd-momentum", "--version", "9.9.9"]);
    assert_eq!(missing.code, 2, "{missing:?}");
    let no_token = terminal.mp(&["heartbeat", "--status", "ready"]);
    assert_eq!(no_token.code, 2, "{no_token:?}");
}
