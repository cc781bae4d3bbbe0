//! The milestone file as text: the YAML options it is parsed with, and how a position in it or a
//! YAML error becomes a located [`Error`] with a hint.

use serde_saphyr::Location;

use crate::error::{Error, ErrorKind, SourceLocation};

const FORMAT_DOC: &str = "docs/milestone-format.md";

/// Milestones carry JSON bodies, so YAML 1.1 surprises are off: only `true`/`false` are
/// booleans (`yes`, `on` and `n` stay text), and `010` or `1_000` stay text rather than
/// becoming numbers nobody meant.
pub(super) fn yaml_options() -> serde_saphyr::Options {
    serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
    }
}

/// The file being loaded, for locations and snippets.
pub(super) struct Source<'t> {
    pub(super) display_path: String,
    pub(super) text: &'t str,
}

impl Source<'_> {
    pub(super) fn location(&self, at: &Location) -> SourceLocation {
        let line = at.line();
        let line_text = usize::try_from(line)
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|index| self.text.lines().nth(index))
            .map(str::to_owned);
        SourceLocation {
            file: self.display_path.clone(),
            line: line.max(1),
            column: at.column().max(1),
            line_text,
        }
    }

    pub(super) fn yaml_error(&self, error: &serde_saphyr::Error) -> Error {
        let plain = error.without_snippet().to_string();
        // The plain form ends with " at line L, column C"; the location is reported separately.
        let message = plain
            .rfind(" at line ")
            .map_or(plain.as_str(), |cut| &plain[..cut])
            .to_owned();
        let hint = yaml_hint(&message);
        match error.location() {
            Some(at) if at.line() > 0 => Error::at(self.location(&at), message, hint),
            _ => Error::new(
                ErrorKind::Milestone,
                format!("{}: {message}", self.display_path),
            )
            .with_hint(hint),
        }
    }
}

fn yaml_hint(message: &str) -> String {
    if message.contains("unknown field") {
        format!("remove this key or fix its spelling; {FORMAT_DOC} lists every key")
    } else if message.contains("missing field") {
        format!("add the missing key to this mapping; {FORMAT_DOC} says which keys are required")
    } else if message.contains("duplicate") {
        "a key may appear only once in a mapping; remove one of them".to_owned()
    } else if message.contains("unknown variant") {
        "use one of the values listed in the message".to_owned()
    } else if [
        "indentation",
        "not allowed",
        "while scanning",
        "did not find",
        "unterminated",
        "quoted",
        "end of",
    ]
    .iter()
    .any(|syntax| message.contains(syntax))
    {
        "check the indentation and quoting around this position (quote text that contains `: ` or starts with a special character)".to_owned()
    } else if message.contains("invalid") || message.contains("expected") {
        format!("this value has the wrong type; {FORMAT_DOC} gives the type of each key")
    } else {
        "check the indentation and quoting around this position (quote text that contains `: ` or starts with a special character)".to_owned()
    }
}
