//! What belongs to no marketplace: health, the OpenAPI document, dev reset (milestones start
//! from a known state) and the web console's page. It keeps no tables of its own: health reads
//! the counters the other domains declare, reset empties every domain's tables.

use crate::api::Domain;

pub mod handlers;
pub mod types;

pub static DOMAIN: Domain = Domain {
    name: "system",
    handlers: handlers::HANDLERS,
    schemas: types::schemas,
    store: None,
    migrations: &[],
    tables: &[],
    health_counters: &[],
    console: None,
    workers: Domain::no_workers,
};
