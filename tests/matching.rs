//! Matching runs over HTTP: the worked example of spec section 9, counts across runs, values.

use serde_json::json;

use crate::support::{SERVER_NOW, TestServer, first_run_body, intent};

const WRITE: &str = "settlement:write";
const READ: &str = "settlement:read";

#[tokio::test]
async fn the_worked_example_first_and_second_runs() {
    let server = TestServer::start().await;
    server.seed_worked_example().await;
    let first = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("r1")
        .json(&first_run_body())
        .send()
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let run = &first.body["run"];
    assert_eq!(
        run["run_id"], "mrun_000002",
        "the fixture's counter says one run happened before"
    );
    assert_eq!(run["expired_proposals_count"], 1);
    assert_eq!(run["replaced_proposals_count"], 0);
    assert_eq!(run["selected_proposals_count"], 2);
    assert_eq!(run["stored_proposals_count"], 2);
    assert_eq!(run["proposal_ids"][0], "cycle_961f2288e6f7");
    assert_eq!(
        run["stats"],
        json!({"intents_active": 6, "edges": 7, "candidate_cycles": 3, "candidate_proposals": 3, "selected_proposals": 2})
    );
    assert_eq!(run["recorded_at"], "2026-02-28T20:00:00Z");
    assert_eq!(
        run["requested_by"],
        json!({"type": "partner", "id": "partner_demo"})
    );

    let second = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("r2")
        .json(&json!({"recorded_at": "2026-02-28T20:00:00Z", "max_proposals": 1}))
        .send()
        .await;
    let run = &second.body["run"];
    assert_eq!(run["run_id"], "mrun_000003");
    assert_eq!(run["replaced_proposals_count"], 2);
    assert_eq!(run["expired_proposals_count"], 0);
    assert_eq!(run["selected_proposals_count"], 1);
    assert_eq!(
        run["stats"]["selected_proposals"], 2,
        "stats are before the cut"
    );
    assert_eq!(run["proposal_ids"], json!(["cycle_961f2288e6f7"]));

    let read = server
        .op("marketplaceMatchingRun.get", &[("run_id", "mrun_000002")])
        .partner(READ)
        .send()
        .await;
    assert_eq!(read.body["run"], first.body["run"]);
    let list = server
        .op("marketplaceMatchingRun.list", &[])
        .partner(READ)
        .send()
        .await;
    let ids: Vec<&str> = list.body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["mrun_000003", "mrun_000002"], "newest first");
}

#[tokio::test]
async fn the_proposal_records_the_contract_numbers() {
    let server = TestServer::start().await;
    server.seed_worked_example().await;
    server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("r1")
        .json(&first_run_body())
        .send()
        .await;
    let reply = server
        .op("cycleProposals.get", &[("id", "cycle_961f2288e6f7")])
        .partner("cycle_proposals:read")
        .send()
        .await;
    let proposal = &reply.body["proposal"];
    assert_eq!(proposal["confidence_score"], json!(0.8804));
    assert_eq!(proposal["value_spread"], json!(0.0196));
    assert_eq!(proposal["fee_breakdown"][0]["fee_usd"], json!(0.51));
    assert_eq!(proposal["fee_breakdown"][1]["fee_usd"], json!(0.5));
    assert_eq!(proposal["origin"], "marketplace");
    assert_eq!(proposal["matching_run_id"], "mrun_000002");
    assert_eq!(proposal["participants"][0]["intent_id"], "intent_d");
    assert_eq!(proposal["participants"][0]["get"][0]["asset_id"], "assetE");
}

#[tokio::test]
async fn the_request_clock_then_the_server_clock_date_the_run() {
    let server = TestServer::start().await;
    server.seed_worked_example().await;
    let by_header = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("h")
        .header("x-now-iso", "2026-02-28T20:30:00Z")
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(by_header.body["run"]["recorded_at"], "2026-02-28T20:30:00Z");
    let by_server = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("s")
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(
        by_server.body["run"]["recorded_at"],
        "2026-02-28T19:00:00.000Z"
    );
    assert!(SERVER_NOW.starts_with("2026-02-28T19:00:00"));
}

#[tokio::test]
async fn asset_values_missing_is_400_and_consumes_no_run_id() {
    let server = TestServer::start().await;
    let reply = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("k1")
        .json(&first_run_body())
        .send()
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.reason(), "marketplace_matching_asset_values_missing");
    let ok = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("k2")
        .json(&json!({"asset_values_usd": {"x": 1}}))
        .send()
        .await;
    assert_eq!(ok.body["run"]["run_id"], "mrun_000001");
}

#[tokio::test]
async fn values_come_from_store_then_intents_then_request_and_keep_their_form() {
    let server = TestServer::start().await;
    let mut a = intent("ia", "ua", "gem", "sword");
    a["offer"][0]["estimated_value_usd"] = json!(40);
    let mut b = intent("ib", "ub", "sword", "gem");
    b["offer"][0]["metadata"] = json!({"value_usd": 41.5});
    for (body, id) in [(a, "ua"), (b, "ub")] {
        let created = server
            .op("swapIntents.create", &[])
            .actor("user", id, "swap_intents:write")
            .key("c")
            .json(&json!({"intent": body}))
            .send()
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let run = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("r")
        .json(&json!({"asset_values_usd": {"gem": 40, "other": 3.25}}))
        .send()
        .await;
    assert_eq!(
        run.body["run"]["selected_proposals_count"], 1,
        "{}",
        run.body
    );
    let values = &server.dump()["marketplace_asset_values"];
    assert_eq!(
        values,
        &json!([
            {"asset_id": "gem", "value_usd": "40"},
            {"asset_id": "other", "value_usd": "3.25"},
            {"asset_id": "sword", "value_usd": "41.5"}
        ])
    );
}

#[tokio::test]
async fn replace_existing_false_keeps_earlier_proposals() {
    let server = TestServer::start().await;
    server.seed_worked_example().await;
    server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("r1")
        .json(&first_run_body())
        .send()
        .await;
    let second = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("r2")
        .json(&json!({"recorded_at": "2026-02-28T20:00:00Z", "replace_existing": false, "max_proposals": 1}))
        .send()
        .await;
    let run = &second.body["run"];
    assert_eq!(run["replaced_proposals_count"], 0);
    assert_eq!(run["expired_proposals_count"], 0);
    let proposals = server.dump()["cycle_proposals"].as_array().unwrap().len();
    assert_eq!(
        proposals, 2,
        "the refreshed d>e proposal and the kept a>b>c one"
    );
}

#[tokio::test]
async fn proposals_in_use_are_neither_expired_nor_replaced_nor_overwritten() {
    let server = TestServer::start().await;
    let mut fixture: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/swap/worked-example.json")).unwrap();
    fixture["proposals"][0]["status"] = json!("accepted");
    server
        .op("dev.fixtures.load", &[])
        .json(&fixture)
        .send()
        .await;
    let run = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("r")
        .json(&first_run_body())
        .send()
        .await;
    assert_eq!(run.body["run"]["expired_proposals_count"], 0);
    assert_eq!(run.body["run"]["replaced_proposals_count"], 0);
    let legacy = fixture["proposals"][0]["id"].as_str().unwrap();
    let kept = server
        .op("cycleProposals.get", &[("id", legacy)])
        .partner("cycle_proposals:read")
        .send()
        .await;
    assert_eq!(kept.body["proposal"]["status"], "accepted");
}

#[tokio::test]
async fn the_run_writes_nothing_when_it_fails() {
    let server = TestServer::start().await;
    server.seed_worked_example().await;
    let before = server.dump();
    let reply = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("bad")
        .json(&json!({"recorded_at": "2026-02-28T20:00:00Z", "max_proposals": 0}))
        .send()
        .await;
    assert_eq!(reply.status, 400);
    let mut after = server.dump();
    after["idempotency_records"] = before["idempotency_records"].clone();
    assert_eq!(
        after, before,
        "only the idempotency record of the failure was written"
    );
}

#[tokio::test]
async fn run_pages_follow_the_cursor_and_refuse_an_unknown_one() {
    let server = TestServer::start().await;
    server.seed_worked_example().await;
    for key in ["r1", "r2", "r3"] {
        server
            .op("marketplaceMatching.run", &[])
            .partner(WRITE)
            .key(key)
            .json(&first_run_body())
            .send()
            .await;
    }
    let first = server
        .call("GET", "/marketplace/matching/runs?limit=2")
        .partner(READ)
        .send()
        .await;
    assert_eq!(first.body["next_cursor"], "mrun_000003");
    let rest = server
        .call(
            "GET",
            "/marketplace/matching/runs?limit=2&cursor=mrun_000003",
        )
        .partner(READ)
        .send()
        .await;
    let ids: Vec<&str> = rest.body["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["mrun_000002"]);
    let unknown = server
        .call("GET", "/marketplace/matching/runs?cursor=mrun_999999")
        .partner(READ)
        .send()
        .await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.body["error"]["details"]["rule"], "unknown_cursor");
}

/// `selection: optimal` over HTTP chooses exactly what the engine chooses for the same load,
/// reports it in the run record, and stores disjoint proposals; a run that names no selection
/// parameter keeps the M111 record (no `diagnostics.selection`).
#[tokio::test]
async fn an_optimal_run_reports_its_selection_and_stores_disjoint_proposals() {
    use marketref::bench::{self, synthetic};
    use marketref::domain::swap::engine::SelectionChoice;
    use marketref::domain::swap::selection::{Objective, Strategy};

    let load = synthetic::generate(300, 2);
    let server = TestServer::start().await;
    let loaded = server
        .op("dev.fixtures.load", &[])
        .json(&json!({"intents": load.intents, "asset_values_usd": load.asset_values_usd}))
        .send()
        .await;
    assert_eq!(loaded.status, 200, "{}", loaded.body);

    let greedy = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("greedy")
        .json(&json!({"max_proposals": 200}))
        .send()
        .await;
    assert_eq!(greedy.status, 200, "{}", greedy.body);
    assert!(greedy.body["run"]["diagnostics"].get("selection").is_none());

    let optimal = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("optimal")
        .json(&json!({"max_proposals": 200, "selection": "optimal", "max_solve_ms": 100}))
        .send()
        .await;
    assert_eq!(optimal.status, 200, "{}", optimal.body);
    let run = &optimal.body["run"];
    let report = &run["diagnostics"]["selection"];
    assert_eq!(report["strategy"], "optimal");
    assert_eq!(report["objective"], "score");
    assert!(report["upper_bound"].as_f64().unwrap() >= report["value"].as_f64().unwrap());

    let engine = bench::matching::run(
        &load,
        200,
        Some(SelectionChoice {
            strategy: Strategy::Optimal,
            objective: Objective::Score,
            max_solve_ms: 100,
        }),
        None,
    )
    .unwrap();
    assert_eq!(report["value"].as_f64(), Some(engine.selected_score_sum));
    assert_eq!(report["upper_bound"].as_f64(), engine.upper_bound);
    assert_eq!(
        run["stats"]["selected_proposals"].as_u64(),
        Some(engine.selected_proposals)
    );
    assert!(
        engine.selected_proposals
            > greedy.body["run"]["stats"]["selected_proposals"]
                .as_u64()
                .unwrap(),
        "optimal keeps more proposals than greedy on this load"
    );

    let mut seen = std::collections::BTreeSet::new();
    let mut score = 0.0;
    for id in run["proposal_ids"].as_array().unwrap() {
        let proposal = server
            .op("cycleProposals.get", &[("id", id.as_str().unwrap())])
            .partner("cycle_proposals:read")
            .send()
            .await;
        assert_eq!(proposal.status, 200, "{}", proposal.body);
        let proposal = &proposal.body["proposal"];
        score += proposal["confidence_score"].as_f64().unwrap();
        for participant in proposal["participants"].as_array().unwrap() {
            let intent = participant["intent_id"].as_str().unwrap().to_owned();
            assert!(seen.insert(intent), "two stored proposals share an intent");
        }
    }
    if run["proposal_ids"].as_array().unwrap().len() as u64
        == run["stats"]["selected_proposals"].as_u64().unwrap()
    {
        assert!((score - engine.selected_score_sum).abs() < 1e-6);
    }
}

/// Selection parameters outside the contract are 400 and consume no run id.
#[tokio::test]
async fn bad_selection_parameters_are_refused_and_consume_no_run_id() {
    let server = TestServer::start().await;
    server.seed_worked_example().await;
    for (key, body) in [
        ("a", json!({"selection": "fastest"})),
        ("b", json!({"objective": "profit"})),
        ("c", json!({"max_solve_ms": 0})),
        ("d", json!({"max_solve_ms": 10_001})),
        ("e", json!({"max_solve_ms": "500"})),
        ("f", json!({"selection": null})),
    ] {
        let reply = server
            .op("marketplaceMatching.run", &[])
            .partner(WRITE)
            .key(key)
            .json(&body)
            .send()
            .await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert_eq!(reply.reason(), "marketplace_matching_invalid_request");
    }
    let run = server
        .op("marketplaceMatching.run", &[])
        .partner(WRITE)
        .key("ok")
        .json(&json!({"selection": "optimal", "max_solve_ms": 10_000}))
        .send()
        .await;
    assert_eq!(run.status, 200, "{}", run.body);
    assert_eq!(run.body["run"]["run_id"], "mrun_000002");
}
