//! `mp login`, `logout`, `whoami`, `doctor`: the key kept 0600 and never shown whole, a config
//! others can read refused, and the exit codes.

use std::os::unix::fs::PermissionsExt;

use crate::support::{Server, Terminal, mode};

#[test]
fn login_keeps_the_key_private_and_whoami_shows_only_its_prefix() {
    let server = Server::start();
    let terminal = Terminal::new();
    let key = server.vendor("Acme Quant");
    let login = terminal
        .mp(&["login", "--api-url", &server.url, "--key", &key, "--json"])
        .ok();
    let document = login.json();
    assert_eq!(document["vendor_id"], "vendor_000001", "{document}");
    let config = terminal.config_dir().join("config.toml");
    assert_eq!(document["config"], config.display().to_string());
    assert_eq!(mode(&config), 0o600);
    assert_eq!(mode(&terminal.config_dir()), 0o700);
    assert!(std::fs::read_to_string(&config).unwrap().contains(&key));

    let whoami = terminal.mp(&["whoami", "--json"]).ok();
    let me = whoami.json();
    assert_eq!(me["name"], "Acme Quant");
    assert_eq!(me["api_url"], server.url);
    let shown = me["key"].as_str().unwrap();
    assert!(shown.starts_with("vk_key_000001_…"), "{shown}");
    assert_eq!(shown.chars().count(), "vk_key_000001_…".chars().count() + 4);
    let human = terminal.mp(&["whoami"]).ok();
    for run in [&login, &whoami, &human] {
        assert!(
            !run.stdout.contains(&key) && !run.stderr.contains(&key),
            "the whole key was printed: {run:?}"
        );
    }
    assert!(
        human.stdout.contains("Acme Quant (vendor_000001)"),
        "{}",
        human.stdout
    );

    let logout = terminal.mp(&["logout", "--json"]).ok();
    assert_eq!(logout.json()["removed"], true);
    assert!(!config.exists());
    let after = terminal.mp(&["whoami"]);
    assert_eq!(after.code, 2, "{after:?}");
    assert!(after.stderr.contains("not logged in"), "{}", after.stderr);
}

#[test]
fn a_key_from_stdin_logs_in_and_a_wrong_key_is_refused_with_its_reason() {
    let server = Server::start();
    let terminal = Terminal::new();
    let key = server.vendor("Piped");
    terminal
        .mp_with(
            &["login", "--api-url", &server.url],
            &[],
            Some(&format!("{key}\n")),
        )
        .ok();
    assert!(terminal.config_dir().join("config.toml").exists());

    let other = Terminal::new();
    let wrong = other.mp(&[
        "login",
        "--api-url",
        &server.url,
        "--key",
        "vk_key_000001_notthekey",
        "--json",
    ]);
    assert_eq!(wrong.code, 1, "{wrong:?}");
    let error = wrong.json();
    assert_eq!(error["error"]["status"], 401, "{error}");
    assert!(error["error"]["reason_code"].is_string(), "{error}");
    assert!(
        wrong.stderr.contains("the server said no (401 "),
        "{}",
        wrong.stderr
    );
    assert!(
        !other.config_dir().join("config.toml").exists(),
        "nothing written for a refused key"
    );
}

#[test]
fn a_config_others_can_read_is_refused_until_mended() {
    let server = Server::start();
    let terminal = Terminal::new();
    let key = terminal.logged_in(&server, "Careless");
    let config = terminal.config_dir().join("config.toml");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = terminal.mp(&["whoami"]);
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(
        refused.stderr.contains("can be read by others (mode 644)"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("chmod 600"), "{}", refused.stderr);
    assert!(!refused.stderr.contains(&key));

    // Login writes a new one without reading the old.
    terminal
        .mp(&["login", "--api-url", &server.url, "--key", &key])
        .ok();
    assert_eq!(mode(&config), 0o600);
    terminal.mp(&["whoami"]).ok();

    std::fs::set_permissions(
        terminal.config_dir(),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let open_dir = terminal.mp(&["whoami"]);
    assert_eq!(
        open_dir.code, 2,
        "a folder others can list is refused too: {open_dir:?}"
    );
}

#[test]
fn usage_and_local_errors_exit_2_and_help_shows_an_example() {
    let terminal = Terminal::new();
    let usage = terminal.mp(&["train", "start", "--hp"]);
    assert_eq!(usage.code, 2, "{usage:?}");
    let unreachable = terminal.mp(&["catalog", "--api-url", "http://127.0.0.1:9"]);
    assert_eq!(unreachable.code, 2, "{unreachable:?}");
    assert!(
        unreachable
            .stderr
            .contains("cannot reach http://127.0.0.1:9"),
        "{}",
        unreachable.stderr
    );
    let bad_hp = terminal.mp(&[
        "train",
        "start",
        "--hp",
        "epochs",
        "--api-url",
        "http://127.0.0.1:9",
    ]);
    assert_eq!(bad_hp.code, 2, "{bad_hp:?}");
    for command in [
        vec!["login"],
        vec!["logout"],
        vec!["whoami"],
        vec!["doctor"],
        vec!["data", "list"],
        vec!["data", "info"],
        vec!["data", "pull"],
        vec!["train", "start"],
        vec!["train", "status"],
        vec!["train", "logs"],
        vec!["train", "stop"],
        vec!["train", "list"],
        vec!["train", "report"],
        vec!["register"],
        vec!["deploy"],
        vec!["heartbeat"],
        vec!["catalog"],
    ] {
        let mut args = command.clone();
        args.push("--help");
        let help = terminal.mp(&args).ok();
        assert!(
            help.stdout.contains("Example:\n  mp "),
            "{command:?}:\n{}",
            help.stdout
        );
    }
}

#[test]
fn mp_api_url_and_the_flag_override_the_config() {
    let server = Server::start();
    let other = Server::start();
    let terminal = Terminal::new();
    terminal.logged_in(&server, "Configured");
    other.round("elsewhere", 200);
    // The public catalog of either server, by the config, the variable or the flag.
    let by_config = terminal.mp(&["data", "list", "--json"]).ok().json();
    assert_eq!(
        by_config["items"],
        serde_json::json!([]),
        "the config's server has no round"
    );
    let by_env = terminal
        .mp_with(&["catalog", "--json"], &[("MP_API_URL", &other.url)], None)
        .ok()
        .json();
    assert!(by_env["items"].is_array());
    let wrong = terminal.mp_with(&["whoami"], &[("MP_API_URL", "http://127.0.0.1:9")], None);
    assert_eq!(wrong.code, 2, "MP_API_URL wins over the config: {wrong:?}");
    let flag = terminal.mp_with(
        &["whoami", "--api-url", &server.url],
        &[("MP_API_URL", "http://127.0.0.1:9")],
        None,
    );
    assert_eq!(flag.code, 0, "and the flag over MP_API_URL: {flag:?}");
}

#[test]
fn doctor_checks_the_server_the_key_the_contract_and_the_clock() {
    let server = Server::start();
    let terminal = Terminal::new();
    terminal.logged_in(&server, "Doctor");
    let run = terminal.mp(&["doctor", "--json"]).ok();
    let report = run.json();
    assert_eq!(report["passed"], true, "{report}");
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["reachable", "contracts", "clock", "key"]);

    terminal.mp(&["logout"]).ok();
    let without_key = terminal.mp(&["doctor", "--json", "--api-url", &server.url]);
    assert_eq!(without_key.code, 1, "{without_key:?}");
    let report = without_key.json();
    assert_eq!(
        report["passed"], false,
        "one document, the checks: {report}"
    );
    assert_eq!(report["checks"][3]["passed"], false);
}
