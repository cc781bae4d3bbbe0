//! marketref: marketplace API contracts, their reference runtime, and the proof that an
//! implementation keeps them.
//!
//! # Layout
//!
//! From the bottom up (see `ARCHITECTURE.md`):
//!
//! - [`actor`], [`headers`], [`reason`], [`error`], [`json`], [`clock`]: the contract's
//!   vocabulary. [`reason`] is the registry: one declaration per failure binds its error class,
//!   HTTP status and fixed message; [`error::ApiError`] builds every error body from it.
//! - [`manifest`]: the API manifest (`schemas/manifest.yaml`), the one list of operations with
//!   their auth rules, idempotency, schemas, field guidance and reason codes.
//! - [`store`]: the backend-neutral store traits (`Store`, `Tx`, `CoreStore`) and, beside them,
//!   the SQLite backend, which implements every domain's store trait.
//! - [`api`]: what a domain declares ([`api::Domain`]) and what its handlers see
//!   ([`api::OpContext`]).
//! - [`domain`]: one folder per marketplace domain, each with the same shape, and the one list of
//!   them ([`domain::ALL`]).
//! - [`http`]: the runtime. [`http::app`] builds the router from the manifest and the domain
//!   list, [`http::run`] serves it. Auth, idempotency, body limits and request validation live
//!   there once. [`contracts`]: the generated schemas, the drift check, the OpenAPI document.
//!   [`console`]: the web console's page.
//! - [`sse`]: reading an event stream (a followed training log), for the verifier, `mp` and the
//!   tests.
//! - [`bench`]: the matching and HTTP benchmarks behind `marketref bench` (`BENCHMARKS.md`).
//!
//! # How a request flows
//!
//! The router has one route per manifest operation. Each route calls
//! [`http::dispatch`], which reads the correlation id and the request clock, checks the caller's
//! identity, actor type and scopes against the operation's auth rule, reads the body under the
//! size limit, opens one store transaction, answers a replay from the idempotency record when
//! there is one, validates the body against the operation's request schema, and only then calls
//! the domain handler. A failing handler's writes are rolled back; the response is recorded for
//! idempotent operations and the transaction commits.

pub mod actor;
pub mod api;
pub mod bench;
pub mod clock;
pub mod console;
pub mod contracts;
pub mod credentials;
pub mod domain;
pub mod error;
pub mod headers;
pub mod http;
pub mod json;
pub mod log;
pub mod manifest;
pub mod reason;
pub mod sse;
pub mod store;

pub use error::{ApiError, Error, ErrorKind};
