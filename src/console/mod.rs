//! The web console: one HTML page, served by `GET /` (the `console.page` operation of
//! `system`) from assets compiled into the binary, with a section for each domain that
//! declares one (the data-marketplace loop, and the ML model marketplace), each a tab of its own.
//!
//! The page holds no second copy of the contract. [`page::render`] writes into it, as JSON, the
//! manifest entries of the operations it calls (paths, auth rules, query parameters, field
//! reasons), their request schemas as the runtime validates with them, the reason codes with
//! their messages and statuses, the header names, each section's roles with the scopes and
//! actor type the manifest gives their operations ([`roles`]), and each section's facts
//! computed from its domain's rules ([`crate::api::ConsoleSection`]). The page builds its
//! forms, field guidance and in-page validation from that document and calls the API by
//! operation id. It names no domain: sections come from the domain list. A test (`restated`)
//! keeps its scripts and HTML free of any scope, status, query limit or header name.

pub mod page;
pub mod roles;

#[cfg(test)]
mod restated;
