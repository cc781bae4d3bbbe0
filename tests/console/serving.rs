//! The page as the server serves it, and the browser tests' own failure without a browser.

use serde_json::Value;

use super::support::program;
use crate::support::TestServer;

#[test]
#[should_panic(expected = "install Chromium and chromedriver with scripts/install-browser.sh")]
fn a_missing_browser_fails_the_browser_tests() {
    program(
        "MARKETREF_TEST_NO_SUCH_VARIABLE",
        &["no-such-browser-anywhere"],
    );
}

#[tokio::test]
async fn the_console_is_served_at_the_root_without_auth() {
    let server = TestServer::start().await;
    let reply = reqwest::get(format!("{}/", server.base)).await.unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(
        reply.headers()["content-type"],
        "text/html; charset=utf-8",
        "the manifest's response_media_type"
    );
    let page = reply.text().await.unwrap();
    assert!(page.starts_with("<!doctype html>"));
    let contract = page
        .split(r#"<script type="application/json" id="marketref-contract">"#)
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("the contract document is in the page");
    let contract: Value = serde_json::from_str(contract).unwrap();
    assert_eq!(
        contract["schemas"]["OfferCreateRequest"],
        marketref::contracts::schemas::named("OfferCreateRequest").unwrap(),
        "the page validates with the runtime's own schema"
    );
    assert_eq!(
        contract["operations"]["escrow.release"]["path"],
        "/marketplace/escrow/release"
    );
    server.stop().await;
}
