//! The web console of the data-marketplace loop: one HTML page, served by `GET /` from assets
//! compiled into the binary, that walks a person through the six steps of the loop.
//!
//! The page holds no second copy of the contract. [`page::render`] writes into it, as JSON, the
//! manifest entries of the operations it calls (paths, auth rules, field reasons), their request
//! schemas as the runtime validates with them, the reason-code messages, and the intent status
//! table evaluated from [`crate::domain::data_market::rules`]. The page builds its forms, its
//! field guidance and its in-page validation from that document, and calls the API by
//! operation id.
//!
//! Not a marketplace domain, so it has no rules or store of its own: `types.rs` (the page as a
//! schema type), `page.rs` (the document and the page), `handlers.rs` (the operation).

pub mod handlers;
pub mod page;
pub mod types;
