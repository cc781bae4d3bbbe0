//! Reading a `text/event-stream` as a browser's `EventSource` reads it (the WHATWG HTML
//! standard, "Interpreting an event stream"): the one reader of the followed training log, for
//! the verifier (whole bodies), `mp train logs --follow` (line by line, as they come) and the
//! tests. The runtime writes streams in `http::event_stream`.
//!
//! Comments (the keep-alives a server sends while it waits) and `retry:` lines carry no event
//! and leave no trace, so what is read is the same however long the server waited.

/// The media type of an event stream.
pub use crate::manifest::EVENT_STREAM_MEDIA_TYPE;

/// One dispatched event: its name (`message` unless the stream names one), its data lines
/// joined with `\n`, and the last event id the stream had set when it was dispatched (the id a
/// client resumes from with `Last-Event-ID`; `""` before any).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub event: String,
    pub data: String,
}

/// The state between lines: the last event id, and the event being read.
#[derive(Debug, Default)]
pub struct EventReader {
    last_id: String,
    name: String,
    data: String,
}

impl EventReader {
    /// Reads one line (without its line end); the event a blank line dispatches.
    pub fn line(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            let name = std::mem::take(&mut self.name);
            if self.data.is_empty() {
                return None;
            }
            let mut data = std::mem::take(&mut self.data);
            data.pop(); // the `\n` after the last data line
            return Some(Event {
                id: self.last_id.clone(),
                event: if name.is_empty() {
                    "message".to_owned()
                } else {
                    name
                },
                data,
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "event" => value.clone_into(&mut self.name),
            "data" => {
                self.data.push_str(value);
                self.data.push('\n');
            }
            "id" if !value.contains('\0') => value.clone_into(&mut self.last_id),
            _ => {}
        }
        None
    }
}

/// The events of a whole stream, in order. An event still being written when the stream ended
/// (no blank line after it) is not dispatched, as a browser would not dispatch it.
pub fn parse(text: &str) -> Vec<Event> {
    let mut rest = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = EventReader::default();
    let mut events = Vec::new();
    // Lines end with CRLF, LF or CR; what follows the last line end is unfinished.
    while let Some(end) = rest.find(['\r', '\n']) {
        events.extend(reader.line(&rest[..end]));
        let skip = if rest[end..].starts_with("\r\n") {
            2
        } else {
            1
        };
        rest = &rest[end + skip..];
    }
    events
}

/// Whether a `content-type` value is an event stream's.
pub fn is_event_stream(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(EVENT_STREAM_MEDIA_TYPE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str, event: &str, data: &str) -> Event {
        Event {
            id: id.to_owned(),
            event: event.to_owned(),
            data: data.to_owned(),
        }
    }

    #[test]
    fn named_events_with_ids_in_order() {
        let text = "id: 1\nevent: log\ndata: queued\n\nid: 2\nevent: log\ndata: started\n\nevent: end\ndata: {\"status\":\"succeeded\"}\n\n";
        assert_eq!(
            parse(text),
            [
                event("1", "log", "queued"),
                event("2", "log", "started"),
                event("2", "end", "{\"status\":\"succeeded\"}"),
            ],
            "an event without an id keeps the stream's last one"
        );
    }

    #[test]
    fn comments_retry_and_unknown_fields_leave_no_trace() {
        let with = ": keep-alive\n\nretry: 1000\nid: 7\nfoo: bar\ndata: x\n\n: keep-alive\n\n";
        assert_eq!(parse(with), [event("7", "message", "x")]);
        assert_eq!(parse(with), parse("id: 7\ndata: x\n\n"));
    }

    #[test]
    fn data_lines_join_with_a_newline_and_one_leading_space_is_dropped() {
        assert_eq!(
            parse("data:  two spaces\ndata:none\ndata\n\n"),
            [event("", "message", " two spaces\nnone\n")]
        );
    }

    #[test]
    fn every_line_ending_counts_and_a_bom_is_skipped() {
        let expected = [event("1", "log", "a"), event("2", "log", "b")];
        for text in [
            "id: 1\nevent: log\ndata: a\n\nid: 2\nevent: log\ndata: b\n\n",
            "id: 1\r\nevent: log\r\ndata: a\r\n\r\nid: 2\r\nevent: log\r\ndata: b\r\n\r\n",
            "id: 1\revent: log\rdata: a\r\rid: 2\revent: log\rdata: b\r\r",
            "\u{feff}id: 1\nevent: log\ndata: a\n\nid: 2\nevent: log\ndata: b\n\n",
        ] {
            assert_eq!(parse(text), expected, "{text:?}");
        }
    }

    #[test]
    fn an_event_without_data_or_unfinished_is_not_dispatched() {
        assert_eq!(parse("event: log\n\nid: 3\n\n"), []);
        assert_eq!(
            parse("data: a\n\ndata: cut off"),
            [event("", "message", "a")]
        );
        assert_eq!(
            parse("id: 4\n\ndata: b\n\n"),
            [event("4", "message", "b")],
            "an id line alone still sets the last event id"
        );
        assert_eq!(
            parse("event: gone\n\ndata: c\n\n"),
            [event("", "message", "c")],
            "a name without data is forgotten at its blank line"
        );
    }

    #[test]
    fn an_id_with_a_nul_is_ignored_and_an_empty_id_resets() {
        assert_eq!(
            parse("id: 5\ndata: a\n\nid: 6\0\ndata: b\n\nid\ndata: c\n\n"),
            [
                event("5", "message", "a"),
                event("5", "message", "b"),
                event("", "message", "c"),
            ]
        );
    }

    #[test]
    fn line_by_line_reads_the_same_events() {
        let text = ": keep-alive\n\nid: 1\nevent: log\ndata: a\n\nevent: end\ndata: {}\n\n";
        let mut reader = EventReader::default();
        let read: Vec<Event> = text.lines().filter_map(|line| reader.line(line)).collect();
        assert_eq!(read, parse(text));
    }

    #[test]
    fn the_media_type_is_recognised() {
        assert!(is_event_stream("text/event-stream"));
        assert!(is_event_stream("Text/Event-Stream; charset=utf-8"));
        assert!(!is_event_stream("text/plain; charset=utf-8"));
    }
}
