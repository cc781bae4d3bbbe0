//! marketref's integration tests: one binary, one module per theme. Every test talks to a real
//! server on `127.0.0.1:0` (see `support`) or runs the `marketref` binary.

mod postgres_cluster;
mod support;

mod architecture;
mod auth;
mod backends;
mod bench;
mod cli;
mod console;
mod contracts;
mod data_market;
mod database_rules;
mod deploying;
mod doc_blocks;
mod docs;
mod errors;
mod idempotency;
mod instances;
mod matching;
mod ml_market;
mod openapi;
mod proposals;
mod reasons;
mod startup;
mod store;
mod swap_intents;
