//! The mistakes the page keeps a new user from: an answer left on the page after the attempt
//! it answered.

use super::support::{Console, against_served};

/// A step's answer belongs to the attempt it answered. An attempt the page refuses itself, and
/// a change of the acting role, take the previous answer off the page instead of leaving it to
/// pass for the new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_does_not_outlive_its_attempt() {
    against_served(
        "the answer check",
        |base| async move { answers(&base).await },
    )
    .await;
}

async fn answers(base: &str) {
    let page = Console::open(base).await;

    page.act_as("provider", "agent").await;
    page.click("#offer-example").await;
    page.click("#offer-submit").await;
    page.wait_text("#offer-result", "offer_000001").await;
    page.refreshed_after("dataOffers.create").await;
    page.fill("#offer-quality_score", "1.5").await;
    page.click("#offer-submit").await;
    page.wait_text("#offer-summary", "nothing was sent").await;
    assert_eq!(
        page.text("#offer-result").await,
        "",
        "the first offer's success is not this attempt's answer"
    );

    page.click("#intent-example").await;
    page.click("#intent-submit").await;
    page.wait_text("#intent-result", "auth_scope_missing").await;
    page.refreshed_after("roundIntents.create").await;
    page.act_as("owner", "user").await;
    assert_eq!(
        page.text("#intent-result").await,
        "",
        "the provider's refusal is not an answer to the owner"
    );

    page.close().await;
}
