//! The data-marketplace loop (`../shared/spec/data-marketplace.md`): providers offer datasets,
//! model owners post round intents, the operator previews and matches them into contracts, a
//! training round binds the contracts and runs federated averaging, the operator releases the
//! escrow, and everyone reads the timeline, `/training/status` and `/metrics_summary`.

pub mod handlers;
pub mod money;
pub mod rules;
pub mod store;
pub mod training;
pub mod types;
