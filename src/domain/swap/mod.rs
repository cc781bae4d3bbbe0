//! Swap intents, the matching engine, matching runs and cycle proposals
//! (`../shared/spec/swap-matching.md`, milestone M111).

use crate::api::{Domain, StoreTrait};

pub mod engine;
pub mod handlers;
pub mod selection;
pub mod store;
pub mod types;

pub static DOMAIN: Domain = Domain {
    name: "swap",
    handlers: handlers::HANDLERS,
    schemas: types::schemas,
    store: Some(StoreTrait::of::<dyn store::SwapStore>("SwapStore")),
    migrations: store::MIGRATIONS,
    tables: store::TABLES,
    health_counters: store::HEALTH_COUNTERS,
    console: None,
    workers: Domain::no_workers,
};
