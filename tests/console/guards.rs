//! The mistakes the page keeps a new user from: an answer left on the page after the attempt
//! it answered, and a preview sent without the intent to preview.

use super::support::{Console, in_browser};

/// A step's answer belongs to the attempt it answered. An attempt the page refuses itself, and
/// a change of the acting role, take the previous answer off the page instead of leaving it to
/// pass for the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_does_not_outlive_its_attempt() {
    in_browser("the answer check", answers).await;
}

async fn answers(page: &Console, _: &str) {
    page.act_as("provider", "agent").await;
    page.click("#offer-example").await;
    page.click("#offer-submit").await;
    page.wait_text("#offer-result", "offer_000001").await;
    page.refreshed_after("dataOffers.create").await;
    page.fill("#offer-quality_score", "1.5").await;
    page.click("#offer-submit").await;
    page.wait_text("#offer-summary", "nothing was sent").await;
    page.shows_nothing(
        "#offer-result",
        "the first offer's success is not this attempt's answer",
    )
    .await;

    page.click("#intent-example").await;
    page.click("#intent-submit").await;
    page.wait_text("#intent-result", "auth_scope_missing").await;
    page.refreshed_after("roundIntents.create").await;
    page.act_as("owner", "user").await;
    page.shows_nothing(
        "#intent-result",
        "the provider's refusal is not an answer to the owner",
    )
    .await;
}

/// A preview names a stored intent (the form offers no inline one): an empty or blank id is
/// caught in the page, which says what to do, and nothing is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_without_an_intent_id_is_caught_in_the_page() {
    in_browser("the preview check", no_intent_id).await;
}

async fn no_intent_id(page: &Console, _: &str) {
    page.act_as("operator", "partner").await;
    let hint = page.text("#preview-round_intent_id-hint").await;
    assert!(hint.contains("Required."), "{hint}");

    for blank in ["", "   "] {
        page.fill("#preview-round_intent_id", blank).await;
        page.click("#preview-submit").await;
        page.wait_text("#preview-summary", "nothing was sent").await;
        let said = page
            .wait_text(
                "#preview-round_intent_id-error",
                "Name the intent to preview",
            )
            .await;
        assert!(
            said.contains("post one in step 2") && said.contains("round_intent_id_required"),
            "{said}"
        );
        let focused = page.js("return document.activeElement.id").await;
        assert_eq!(focused, "preview-round_intent_id", "{blank:?}");
        page.shows_nothing("#preview-result", &format!("an answer to {blank:?}"))
            .await;
    }
    let updated = page.text("#dash-updated").await;
    assert!(
        updated.contains("page load"),
        "no preview was sent: {updated}"
    );
}
