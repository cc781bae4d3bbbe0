//! An event stream a read operation answers (`?follow=true`, as the manifest's `event_stream`
//! declares): the handler says how to find what comes after an event id, the runtime sends it
//! as `text/event-stream` after the request's transaction has ended, asking again in read
//! transactions of its own until the handler's poll reports the end.

use std::sync::Arc;

use crate::error::ApiError;
use crate::store::Tx;

/// One event: its id (a sequence number a client resumes after), its name, its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamEvent {
    pub id: u64,
    pub name: &'static str,
    pub data: String,
}

/// What one look at the store found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Polled {
    /// Events after the id asked for, in order.
    pub events: Vec<StreamEvent>,
    /// Set when nothing more will come after `events`: the data of the end event.
    pub end: Option<String>,
}

/// Looks in a read transaction for the events after an id.
pub type Poll = Arc<dyn Fn(&mut dyn Tx, u64) -> Result<Polled, ApiError> + Send + Sync>;

/// A handler's answer that streams.
#[derive(Clone)]
pub struct EventsReply {
    /// Where the stream starts: after this id (`?since=N`); a `Last-Event-ID` header, which the
    /// runtime reads, overrides it.
    pub after: u64,
    pub poll: Poll,
}

impl std::fmt::Debug for EventsReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventsReply")
            .field("after", &self.after)
            .finish_non_exhaustive()
    }
}
