//! A `text/event-stream` body as steps check it and records keep it:
//! `{"events": [{"id", "event", "data"}, ...]}`, read by [`marketref::sse`] as a browser's
//! `EventSource` reads it, so that steps check its events with the same JSON expectations as
//! any other body. Keep-alive comments leave no trace.

use serde_json::{Value, json};

pub use marketref::sse::is_event_stream;

/// The body as steps see it and records keep it.
pub fn as_json(body: &[u8]) -> Value {
    let events: Vec<Value> = marketref::sse::parse(&String::from_utf8_lossy(body))
        .into_iter()
        .map(|event| json!({"id": event.id, "event": event.event, "data": event.data}))
        .collect();
    json!({ "events": events })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_json_lists_the_events() {
        assert_eq!(
            as_json(b"id: 1\nevent: log\ndata: a\n\n: keep-alive\n\n"),
            json!({"events": [{"id": "1", "event": "log", "data": "a"}]})
        );
        assert_eq!(as_json(b""), json!({"events": []}));
    }
}
