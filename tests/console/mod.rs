//! The web console, in a real browser: Debian's headless Chromium driven over WebDriver
//! (chromedriver) by fantoccini, against the real `marketref serve` binary. The journey walks
//! the six steps of the loop and its failure views the way a person would, asserts on what the
//! page shows, and saves a screenshot of each step under `artifacts/console/`.
//!
//! `support` drives the browser; `serving` checks the page as served; `journey` walks the
//! loop; `forms` holds the page's checks against the server's; `guards` the mistakes the page
//! keeps a user from; `ml_journey` walks a vendor from its key to the catalog, and
//! `ml_refusals` the ML section's refusals (in the page, by the server, a revoked key).
//!
//! A machine without Chromium or chromedriver gets them from `scripts/install-browser.sh`, which
//! the tests run themselves (and `.ci/run` before them); where that cannot install them, the
//! tests fail, they do not skip.

mod forms;
mod guards;
mod journey;
mod ml_journey;
mod ml_refusals;
mod serving;
mod support;
