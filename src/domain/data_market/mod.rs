//! The data-marketplace loop (`../shared/spec/data-marketplace.md`): providers offer datasets,
//! model owners post round intents, the operator previews and matches them into contracts, a
//! training round binds the contracts and runs federated averaging, the operator releases the
//! escrow, and everyone reads the timeline, `/training/status` and `/metrics_summary`.

use crate::api::{ConsoleSection, Domain, StoreTrait};

pub mod handlers;
pub mod money;
pub mod rules;
pub mod store;
pub mod training;
pub mod types;

pub static DOMAIN: Domain = Domain {
    name: "data_market",
    handlers: handlers::HANDLERS,
    schemas: types::schemas,
    store: Some(StoreTrait::of::<dyn store::DataMarketStore>(
        "DataMarketStore",
    )),
    migrations: store::MIGRATIONS,
    tables: store::TABLES,
    health_counters: &[],
    console: Some(ConsoleSection {
        tag: "data-marketplace",
        facts: rules::console_facts,
    }),
    workers: Domain::no_workers,
};
