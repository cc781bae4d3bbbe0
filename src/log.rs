//! The server's log: one subscriber, built here, for `marketref serve` and for the tests that
//! prove what reaches it. Every line passes through [`RedactingWriter`], so no token reaches a
//! log whole whatever an event holds.

pub use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::credentials::RedactingWriter;

/// The variable that sets the log's filter (`info` when unset or not a filter).
pub const FILTER_VAR: &str = "MARKETREF_LOG";

/// The filter `MARKETREF_LOG` names, or `info`.
pub fn filter_from_env() -> EnvFilter {
    EnvFilter::try_from_env(FILTER_VAR).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// The log subscriber writing redacted lines to `writer`, colour only when `ansi`.
pub fn subscriber<W>(
    writer: W,
    filter: EnvFilter,
    ansi: bool,
) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_writer(RedactingWriter(writer))
        .with_ansi(ansi)
        .with_env_filter(filter)
        .finish()
}
