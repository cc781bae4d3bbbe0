//! The ML marketplace over HTTP: its auth schemes, rate limits, signed dataset URLs, the
//! lifecycle from vendor to catalog, and who may read what.

mod support;

mod auth;
mod cli;
mod datasets;
mod follow;
mod instances;
mod lifecycle;
mod logs;
mod rate_limit;
mod tenancy;
mod training;

pub use support::reason_rows;
pub use training::reason_rows as training_reason_rows;
