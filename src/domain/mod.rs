//! The marketplace domains, and the one list of them.
//!
//! Each domain folder has the same shape and exports one [`Domain`] value, `DOMAIN`:
//!
//! - `types.rs`: request, response and record types (the serde and schemars boundary), and the
//!   list of its schemas.
//! - a pure module (`engine.rs`, `rules.rs`): no I/O, no clock, no randomness.
//! - `store.rs`: its store trait, a subtrait of [`crate::store::CoreStore`], with its tables and
//!   migrations by name; each backend implements it under `src/store/<backend>/`.
//! - `handlers.rs`: one function per manifest operation, and the table binding operation ids
//!   to them.
//!
//! A domain never imports another. `system` holds what belongs to no marketplace: health, the
//! OpenAPI document, dev reset and the web console's page.

use crate::api::Domain;

pub mod data_market;
pub mod ml_market;
pub mod swap;
pub mod system;

/// Every domain the runtime serves, in the order their migrations run. Adding a domain adds
/// one line here (see `docs/adding-a-domain.md`).
pub static ALL: &[&Domain] = &[
    &system::DOMAIN,
    &swap::DOMAIN,
    &data_market::DOMAIN,
    &ml_market::DOMAIN,
];
