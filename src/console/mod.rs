//! The web console: one HTML page, served by `GET /` (the `console.page` operation of
//! `system`) from assets compiled into the binary, with a section for each domain that
//! declares one (today the data-marketplace loop).
//!
//! The page holds no second copy of the contract. [`page::render`] writes into it, as JSON, the
//! manifest entries of the operations it calls (paths, auth rules, field reasons), their request
//! schemas as the runtime validates with them, the reason-code messages, and each section's
//! facts computed from its domain's rules ([`crate::api::ConsoleSection`]). The page builds
//! its forms, field guidance and in-page validation from that document and calls the API by
//! operation id. It names no domain: sections come from the domain list.

pub mod page;
