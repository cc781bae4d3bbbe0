//! Proposal visibility (spec section 7): a partner sees what it owns, a user what it takes
//! part in.

use crate::support::{TestServer, first_run_body};

const READ: &str = "cycle_proposals:read";

async fn server_after_first_run() -> TestServer {
    let server = TestServer::start().await;
    server.seed_worked_example().await;
    let run = server
        .op("marketplaceMatching.run", &[])
        .partner("settlement:write")
        .key("r1")
        .json(&first_run_body())
        .send()
        .await;
    assert_eq!(run.status, 200);
    server
}

fn ids(reply: &crate::support::Reply) -> Vec<String> {
    reply.body["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_owning_partner_sees_every_proposal_by_id() {
    let server = server_after_first_run().await;
    let reply = server
        .op("cycleProposals.list", &[])
        .partner(READ)
        .send()
        .await;
    assert_eq!(ids(&reply), ["cycle_4f27eb196224", "cycle_961f2288e6f7"]);
    let other = server
        .op("cycleProposals.list", &[])
        .actor("partner", "someone_else", READ)
        .send()
        .await;
    assert!(ids(&other).is_empty());
    let hidden = server
        .op("cycleProposals.get", &[("id", "cycle_961f2288e6f7")])
        .actor("partner", "someone_else", READ)
        .send()
        .await;
    assert_eq!(hidden.status, 404);
    assert_eq!(hidden.reason(), "cycle_proposal_not_found");
}

#[tokio::test]
async fn a_participating_user_sees_only_its_proposals() {
    let server = server_after_first_run().await;
    let d = server
        .op("cycleProposals.list", &[])
        .actor("user", "user_d", READ)
        .send()
        .await;
    assert_eq!(ids(&d), ["cycle_961f2288e6f7"]);
    let got = server
        .op("cycleProposals.get", &[("id", "cycle_961f2288e6f7")])
        .actor("user", "user_e", READ)
        .send()
        .await;
    assert_eq!(got.status, 200);
    let f = server
        .op("cycleProposals.list", &[])
        .actor("user", "user_f", READ)
        .send()
        .await;
    assert!(ids(&f).is_empty(), "f's cycle was not selected");
    let not_theirs = server
        .op("cycleProposals.get", &[("id", "cycle_961f2288e6f7")])
        .actor("user", "user_a", READ)
        .send()
        .await;
    assert_eq!(not_theirs.status, 404);
}

#[tokio::test]
async fn pages_follow_the_cursor() {
    let server = server_after_first_run().await;
    let first = server
        .call("GET", "/cycle-proposals?limit=1")
        .partner(READ)
        .send()
        .await;
    assert_eq!(ids(&first), ["cycle_4f27eb196224"]);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let second = server
        .call("GET", &format!("/cycle-proposals?limit=1&cursor={cursor}"))
        .partner(READ)
        .send()
        .await;
    assert_eq!(ids(&second), ["cycle_961f2288e6f7"]);
    assert!(second.body.get("next_cursor").is_none());
}
