//! `mp`'s integration tests: the binary against a marketref server it reaches only by HTTP.
//! One binary, one module per group of commands.

#[path = "../../tests/doc_blocks.rs"]
mod doc_blocks;
mod support;

mod account;
mod data;
mod guide;
mod models;
mod templates;
mod train;
mod validate;
