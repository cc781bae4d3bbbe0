//! The ML marketplace over HTTP: its auth schemes, rate limits, signed dataset URLs, the
//! lifecycle from vendor to catalog, and who may read what.

mod support;

mod auth;
mod cli;
mod datasets;
mod lifecycle;
mod logs;
mod rate_limit;
mod tenancy;

pub use support::reason_rows;
