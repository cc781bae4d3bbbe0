//! `mp`'s integration tests: the binary against a marketref server it reaches only by HTTP.
//! One binary, one module per group of commands.

mod support;

mod account;
mod data;
mod models;
mod train;
