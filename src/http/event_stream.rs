//! Event streams (`text/event-stream`): what a handler's [`EventsReply`] becomes once its
//! transaction has ended. The stream asks the handler's poll again in a read transaction of its
//! own every [`POLL_INTERVAL`] (what another instance wrote shows up too), sends what it finds
//! with each event's id, and ends after the end event. It ends early, without one, when the
//! server begins to shut down; the client resumes with `Last-Event-ID`.
//!
//! A stream holds no transaction between polls and no task of its own: it is the response
//! body, so a client that goes away drops it (hyper notices at the next write, which a
//! keep-alive comment forces every [`KEEP_ALIVE`]). [`Streams::open`] counts the live ones.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;

use crate::api::{EventsReply, StreamEvent};
use crate::store::Store;

/// How often a stream looks for what is new.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How often an idle stream writes a comment, which is how a gone client is noticed.
pub const KEEP_ALIVE: Duration = Duration::from_secs(1);

/// What the runtime knows of its streams: how many are open, and whether shutdown began.
pub struct Streams {
    open: Arc<AtomicUsize>,
    closing: watch::Sender<bool>,
}

impl Default for Streams {
    fn default() -> Streams {
        Streams {
            open: Arc::new(AtomicUsize::new(0)),
            closing: watch::channel(false).0,
        }
    }
}

impl Streams {
    /// Streams whose client has not gone away and whose end has not been sent.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Ends every stream at its next look: the server is shutting down.
    pub(super) fn close(&self) {
        self.closing.send_replace(true);
    }
}

/// Counts a stream while it lives.
struct Counted(Arc<AtomicUsize>);

impl Counted {
    fn new(open: &Arc<AtomicUsize>) -> Counted {
        open.fetch_add(1, Ordering::SeqCst);
        Counted(open.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

struct State {
    store: Arc<dyn Store>,
    reply: EventsReply,
    after: u64,
    end_event: String,
    pending: VecDeque<Event>,
    ended: bool,
    closing: watch::Receiver<bool>,
    _counted: Counted,
}

/// The response that streams `reply` from after `after`.
pub(super) fn respond(
    streams: &Streams,
    store: Arc<dyn Store>,
    reply: EventsReply,
    after: u64,
    end_event: &str,
) -> Response {
    let state = State {
        store,
        reply,
        after,
        end_event: end_event.to_owned(),
        pending: VecDeque::new(),
        ended: false,
        closing: streams.closing.subscribe(),
        _counted: Counted::new(&streams.open),
    };
    let events = futures_util::stream::unfold(state, |mut state| async move {
        next(&mut state)
            .await
            .map(|event| (Ok::<_, Infallible>(event), state))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response()
}

/// The stream's next event, or `None` when it is over.
async fn next(state: &mut State) -> Option<Event> {
    loop {
        if let Some(event) = state.pending.pop_front() {
            return Some(event);
        }
        if state.ended || *state.closing.borrow() {
            return None;
        }
        let (store, poll, after) = (state.store.clone(), state.reply.poll.clone(), state.after);
        let polled = tokio::task::spawn_blocking(move || {
            let mut tx = store.read().map_err(crate::error::ApiError::from)?;
            poll(tx.as_mut(), after)
        })
        .await;
        let polled = match polled {
            Ok(Ok(polled)) => polled,
            Ok(Err(error)) => {
                tracing::error!(error = %error, "an event stream could not read the store");
                return None;
            }
            Err(panic) => {
                tracing::error!(error = %panic, "an event stream's poll panicked");
                return None;
            }
        };
        let quiet = polled.events.is_empty() && polled.end.is_none();
        for StreamEvent { id, name, data } in polled.events {
            state.after = id;
            state
                .pending
                .push_back(Event::default().id(id.to_string()).event(name).data(data));
        }
        if let Some(end) = polled.end {
            state
                .pending
                .push_back(Event::default().event(&state.end_event).data(end));
            state.ended = true;
        }
        if quiet {
            let mut closing = state.closing.clone();
            tokio::select! {
                () = tokio::time::sleep(POLL_INTERVAL) => {}
                _ = closing.changed() => {}
            }
        }
    }
}
