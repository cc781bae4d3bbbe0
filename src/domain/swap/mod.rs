//! Swap intents, the matching engine, matching runs and cycle proposals
//! (`../shared/spec/swap-matching.md`, milestone M111).

pub mod engine;
pub mod handlers;
pub mod selection;
pub mod store;
pub mod types;
