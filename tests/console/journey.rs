//! The loop a new user walks, step by step, with its failure views and a screenshot of each.

use fantoccini::key::Key;
use serde_json::json;

use super::support::{Console, OPERATOR, OWNER, PROVIDER, api, in_browser};

/// The six steps of the loop, the forbidden action, and the failure views: a rule broken in
/// the page, a rule only the server checks, no match, a lost status race, a second release.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_in_a_browser() {
    in_browser("the browser journey", journey).await;
}

async fn journey(page: &Console, base: &str) {
    // Step 1, first a value the page refuses itself: nothing is sent.
    page.act_as("provider", "agent").await;
    page.fill("#offer-dataset_fingerprint", "sha256:9f86d081884c7d65")
        .await;
    page.fill("#offer-title", "Clinic vitals").await;
    page.choose("#offer-modality", "tabular").await;
    page.fill("#offer-sample_count", "1200").await;
    page.fill("#offer-quality_score", "1.5").await;
    page.fill("#offer-allowed_tasks", "classification").await;
    page.fill("#offer-price_per_round", "12.5000001").await;
    let at_field = page
        .wait_text("#offer-quality_score-error", "Must be at most 1.")
        .await;
    assert!(
        at_field.contains("maximum") && at_field.contains("invalid_quality_score"),
        "{at_field}"
    );
    page.click("#offer-submit").await;
    page.wait_text("#offer-summary", "nothing was sent").await;
    let (_, offers) = api(base, "GET", "/marketplace/offers", PROVIDER, None).await;
    assert_eq!(offers["offers"], json!([]), "the page sent nothing");
    page.shot("01-offer-checked-in-the-page", "#offer-quality_score")
        .await;

    // A rule only the server checks (at most 6 decimals): its 400 is shown at its field.
    page.fill("#offer-quality_score", "0.92").await;
    page.wait_until(
        "the quality error to clear",
        "return document.getElementById('offer-quality_score-error').textContent === ''",
    )
    .await;
    page.click("#offer-submit").await;
    let at_price = page
        .wait_text("#offer-price_per_round-error", "Server answered 400")
        .await;
    assert!(
        at_price.contains("max_6_decimals") && at_price.contains("invalid_price_per_round"),
        "{at_price}"
    );
    page.wait_text("#offer-result", "refused at price_per_round")
        .await;
    page.shot("02-offer-refused-by-the-server", "#offer-price_per_round")
        .await;

    page.fill("#offer-price_per_round", "12.5").await;
    page.click("#offer-submit").await;
    page.wait_text("#offer-result", "offer_000001").await;
    page.refreshed_after("dataOffers.create").await;
    page.wait_text("#offers-list", "Clinic vitals").await;
    page.wait_text("[data-metric=offers_total]", "1").await;
    page.shot("03-step1-offer-created", "#offer-result").await;

    // The provider may not post an intent: the server's 403 is shown.
    page.click("#intent-example").await;
    page.wait_text("#step-intent .needs", "the server will answer 403")
        .await;
    page.click("#intent-submit").await;
    let refused = page.wait_text("#intent-result", "403").await;
    assert!(refused.contains("auth_scope_missing"), "{refused}");
    page.shot("04-forbidden-for-the-provider", "#intent-result")
        .await;

    // Step 2: the model owner posts the intent.
    page.act_as("owner", "user").await;
    assert_eq!(
        page.el("#intent-model_owner_id")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("owner_ada")
    );
    page.click("#intent-submit").await;
    page.wait_text("#intent-result", "intent_000001").await;
    page.wait_text("#intents-list", "intent_000001").await;
    page.shot("05-step2-intent-posted", "#intent-result").await;

    // Step 3: the operator previews; each offer's score breakdown is drawn.
    page.act_as("operator", "partner").await;
    page.click("#preview-submit").await;
    page.wait_text("#preview-result", "A match would select 1 offer")
        .await;
    let selected = page.text("#preview-selected").await;
    for part in [
        "quality", "0.46", "cost", "0.022222", "trust", "0.1", "total", "0.582222",
    ] {
        assert!(selected.contains(part), "{part} in {selected}");
    }
    page.shot("06-step3-preview", "#preview-result").await;

    // A preview under a smaller budget shows the budget rejection, and changes nothing.
    page.fill("#preview-policy_overrides-budget_total", "10")
        .await;
    page.click("#preview-submit").await;
    page.wait_text("#preview-result", "would select 0 offers")
        .await;
    assert_eq!(
        page.text("#preview-result [data-count=budget_rejected]")
            .await,
        "1"
    );
    page.fill("#preview-policy_overrides-budget_total", "")
        .await;

    // A match that cannot select anything: why, per reason, in words and counts.
    page.act_as("owner", "user").await;
    page.fill("#intent-budget_total", "5").await;
    page.fill("#intent-round_id", "small-budget").await;
    page.click("#intent-submit").await;
    page.wait_text("#intent-result", "intent_000002").await;
    page.act_as("operator", "partner").await;
    page.click("#match-submit").await;
    let no_match = page
        .wait_text("#no-match", "no_compatible_offers_found")
        .await;
    assert!(
        no_match.contains("no offer matched intent_000002")
            && no_match.contains(
                "1 compatible offer was skipped because its price would have pushed the total over the intent's budget"
            ),
        "{no_match}"
    );
    assert_eq!(
        page.text("#no-match [data-count=budget_rejected]").await,
        "1"
    );
    assert_eq!(
        page.text("#no-match [data-count=offers_evaluated]").await,
        "1"
    );
    page.wait_text("[data-metric=match_failures]", "1").await;
    page.shot("07-no-match-diagnostics", "#no-match").await;

    // Step 4: the match.
    page.fill("#match-round_intent_id", "intent_000001").await;
    page.click("#match-submit").await;
    page.wait_text("#match-result", "contract_000001").await;
    page.wait_text("#contracts-list", "contract_000001").await;
    page.shot("08-step4-contract-created", "#match-result")
        .await;

    // The status controls offer what the table allows; a move that lost a race shows the 409.
    page.act_as("owner", "user").await;
    page.el("#intent-intent_000002-to-closed").await;
    let (status, _) = api(
        base,
        "PATCH",
        "/marketplace/round_intents/intent_000002",
        OWNER,
        Some(json!({"status": "cancelled"})),
    )
    .await;
    assert_eq!(status, 200, "cancelled behind the page's back");
    page.click("#intent-intent_000002-to-closed").await;
    let lost = page
        .wait_text("#intent-intent_000002-error", "invalid_status_transition")
        .await;
    assert!(lost.contains("409"), "{lost}");
    page.wait_text(
        "#intent-row-intent_000002",
        "the status table allows no move",
    )
    .await;
    assert!(
        page.disabled("#intent-intent_000001-to-closed").await,
        "a matched intent closes only after its release"
    );
    page.shot("09-intent-status-race-lost", "#intents-list")
        .await;

    // The contract page before any round: release disabled, with the server's reason. The
    // owner's lost race is not shown to the operator as an answer of theirs.
    page.act_as("operator", "partner").await;
    assert_eq!(
        page.js("return document.getElementById('intent-intent_000002-error') === null")
            .await,
        true,
        "the owner's lost race is not an answer to the operator"
    );
    page.click("#open-contract_000001").await;
    page.wait_text("#contract-detail", "contract_000001").await;
    assert!(page.disabled("#release-button").await);
    page.wait_text("#release-reason", "contract_round_not_completed")
        .await;
    page.shot("10-contract-waiting-for-a-round", "#contract-detail")
        .await;

    // Step 5: a training round binds the contract; accuracy and loss, and the chart.
    page.click("#round-submit").await;
    page.wait_text("#round-result", "round_000001").await;
    page.wait_text("#round-bound", "contract_000001").await;
    let accuracy = page.text("#round-accuracy").await;
    assert!(accuracy.parse::<f64>().is_ok(), "{accuracy}");
    page.wait_text("#accuracy-values", &format!("round 1: accuracy {accuracy}"))
        .await;
    page.wait_until(
        "the release button to be enabled",
        "const b = document.getElementById('release-button'); return !!b && !b.disabled",
    )
    .await;
    page.shot("11-step5-training-round", "#round-result").await;

    // Step 6: release asks first; Escape says no, and nothing is released.
    page.click("#release-button").await;
    page.wait_until(
        "the confirmation dialog",
        "return document.getElementById('release-dialog').open",
    )
    .await;
    page.wait_text("#release-dialog-text", "12.5 USD").await;
    page.shot("12-release-asks-first", "#step-contracts").await;
    page.client
        .active_element()
        .await
        .unwrap()
        .send_keys(&Key::Escape.to_string())
        .await
        .unwrap();
    page.wait_until(
        "the dialog to close",
        "return !document.getElementById('release-dialog').open",
    )
    .await;
    let (_, contract) = api(
        base,
        "GET",
        "/marketplace/contracts/contract_000001",
        OPERATOR,
        None,
    )
    .await;
    assert_eq!(contract["contract"]["state"], "bound_to_round");

    page.click("#release-button").await;
    page.wait_until(
        "the confirmation dialog",
        "return document.getElementById('release-dialog').open",
    )
    .await;
    page.click("#release-confirm").await;
    page.wait_text("#contract-title", "escrow_released").await;
    let events = page
        .js("return Array.from(document.querySelectorAll('#contract-timeline li')).map(li => li.dataset.event)")
        .await;
    assert_eq!(
        events,
        json!(["contract_created", "bound_to_round", "escrow_released"])
    );
    assert!(page.disabled("#release-button").await);
    page.wait_text("#release-reason", "contract_already_released")
        .await;
    page.wait_text("#dash-pending-count", "0").await;
    page.wait_text("[data-metric=released_payout_total]", "12.5 USD")
        .await;
    page.wait_text("#dash-operations", "escrow.release").await;
    assert!(
        !page.disabled("#intent-intent_000001-to-closed").await,
        "the released contract lets its intent close"
    );
    page.shot("13-step6-escrow-released", "#contract-detail")
        .await;

    // A second release is refused by the server: a contract released by someone else while
    // this page still offered the button.
    let (status, _) = api(
        base,
        "POST",
        "/marketplace/round_intents",
        OWNER,
        Some(json!({"model_owner_id": "owner_ada", "task_type": "classification", "budget_total": 40})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = api(
        base,
        "POST",
        "/marketplace/match",
        OPERATOR,
        Some(json!({"round_intent_id": "intent_000003"})),
    )
    .await;
    assert_eq!(status, 201, "contract_000002");
    page.click("#round-submit").await;
    page.wait_text("#round-result", "round_000002").await;
    page.wait_text("#accuracy-values", "round 2: accuracy")
        .await;
    page.click("#open-contract_000002").await;
    page.wait_text("#contract-title", "contract_000002").await;
    page.wait_until(
        "the release button to be enabled",
        "const b = document.getElementById('release-button'); return !!b && !b.disabled",
    )
    .await;
    let (status, _) = api(
        base,
        "POST",
        "/marketplace/escrow/release",
        OPERATOR,
        Some(json!({"contract_id": "contract_000002"})),
    )
    .await;
    assert_eq!(status, 200, "released behind the page's back");
    page.click("#release-button").await;
    page.wait_until(
        "the confirmation dialog",
        "return document.getElementById('release-dialog').open",
    )
    .await;
    page.click("#release-confirm").await;
    let refused = page
        .wait_text("#release-error", "contract_already_released")
        .await;
    assert!(refused.contains("409"), "{refused}");
    page.wait_text("#release-reason", "contract_already_released")
        .await;
    page.wait_text("#dash-operations", "contract_already_released")
        .await;
    page.shot("14-second-release-refused", "#release-error")
        .await;
    page.shot("15-dashboard", "#dashboard").await;

    // A phone's width: nothing wider than the screen.
    page.client.set_window_size(375, 812).await.unwrap();
    page.wait_until("a phone-wide window", "return window.innerWidth <= 400")
        .await;
    let overflow = page
        .js("return document.documentElement.scrollWidth - window.innerWidth")
        .await;
    assert!(
        overflow.as_i64().unwrap() <= 0,
        "the page is {overflow} px wider than a phone"
    );
    page.shot("16-phone-width", "#step-offer").await;
}
