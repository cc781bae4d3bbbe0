//! The ML model marketplace (`../shared/spec/ml-marketplace.md`): vendors and their keys,
//! dataset rounds with signed URLs, models with versions and stages, deployments with their
//! tokens and heartbeats, the public catalog, and the signals and consensus deployments write.
//!
//! Its credentials (vendor keys, deployment tokens) are core rows the request pipeline
//! authenticates with, by the scheme each operation declares in the manifest; its files live in
//! the server's data folder ([`files`]). Its training runs are trained by the worker pool it
//! owns ([`training`]), with the pure [`trainer`].

use crate::api::{ConsoleSection, Domain, StoreTrait};

pub mod admin;
pub mod console;
pub mod dataset;
pub mod files;
pub mod handlers;
pub mod issue;
pub mod rules;
pub mod store;
pub mod trainer;
pub mod training;
pub mod types;

pub static DOMAIN: Domain = Domain {
    name: "ml_market",
    handlers: handlers::HANDLERS,
    schemas: types::schemas,
    store: Some(StoreTrait::of::<dyn store::MlStore>("MlStore")),
    migrations: store::MIGRATIONS,
    tables: store::TABLES,
    health_counters: &[],
    console: Some(ConsoleSection {
        tag: "ml-marketplace",
        facts: console::console_facts,
    }),
    workers: training::workers,
};
