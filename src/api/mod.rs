//! What a domain implements and what its handlers see, below both the runtime (`http`) and
//! the domains, so that neither imports the other.
//!
//! - [`Domain`]: the one value each domain folder exports, declaring its handlers, schemas,
//!   store trait, migrations, tables, health counters, console facts and background workers.
//! - [`Handler`] and [`OpContext`]: an operation's logic and everything it may know about its
//!   request; [`Caller`], the authenticated identity; [`Env`], what the runtime shares.
//! - [`Page`]: the cursor pagination every list operation shares.
//! - [`field`]: body failures in the one shape every error body uses.

mod context;
mod domain;
pub mod field;
mod page;
mod stream;

pub use context::{
    Caller, DeploymentCaller, Env, FileReply, Handler, OpContext, Principal, QueryValue, Reply,
    respond,
};
pub(crate) use domain::StopSignal;
pub use domain::{ConsoleSection, Domain, StoreTrait, WorkerContext, WorkerSpec};
pub use field::{BodyError, field_name};
pub use page::Page;
pub use stream::{EventsReply, Poll, Polled, StreamEvent};
