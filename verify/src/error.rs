//! What stops the verifier before it can judge anything. A failed check is not an error: it is
//! a verdict (exit 1). An [`Error`] means the milestone, the command line or the environment is
//! wrong (exit 2).

use std::fmt;
use std::path::Path;

/// Where in a milestone file something is, 1-based.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceLocation {
    /// The file as the user named it (or relative to the repository root).
    pub file: String,
    pub line: u64,
    pub column: u64,
    /// The text of that line, for the snippet.
    pub line_text: Option<String>,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The command line is wrong: a path that does not exist, a bad URL.
    Usage,
    /// A milestone file does not load: YAML, an unknown key, operation, actor, pointer ...
    Milestone,
    /// Reading or writing a file failed.
    Io,
    /// The in-process runtime could not start, or the async runtime failed.
    Runtime,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Usage => "usage error",
            ErrorKind::Milestone => "milestone error",
            ErrorKind::Io => "i/o error",
            ErrorKind::Runtime => "runtime error",
        })
    }
}

/// An error of the verifier's machinery, with, for milestone errors, the file, line and column
/// and a one-line hint to fix it (Hurl style). Boxed: errors are rare and results are many.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.render())]
pub struct Error(Box<Inner>);

#[derive(Debug)]
struct Inner {
    kind: ErrorKind,
    message: String,
    location: Option<SourceLocation>,
    hint: Option<String>,
    /// Further errors found in the same pass (several milestone files, several problems in one).
    others: Vec<Error>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error(Box::new(Inner {
            kind,
            message: message.into(),
            location: None,
            hint: None,
            others: Vec::new(),
        }))
    }

    pub fn usage(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Usage, message)
    }

    pub fn io(path: &Path, source: std::io::Error) -> Error {
        // The cause is in the message; nothing upstream walks a source chain.
        Error::new(ErrorKind::Io, format!("{}: {source}", path.display()))
    }

    /// A milestone problem at a place in its file.
    pub fn at(
        location: SourceLocation,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Error {
        let mut error = Error::new(ErrorKind::Milestone, message);
        error.0.location = Some(location);
        error.0.hint = Some(hint.into());
        error
    }

    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Error {
        self.0.hint = Some(hint.into());
        self
    }

    /// One error standing for several; `None` when there are none.
    pub fn many(mut errors: Vec<Error>) -> Option<Error> {
        if errors.is_empty() {
            return None;
        }
        let mut first = errors.remove(0);
        first.0.others.extend(errors);
        Some(first)
    }

    pub fn kind(&self) -> ErrorKind {
        self.0.kind
    }

    pub fn message(&self) -> &str {
        &self.0.message
    }

    pub fn location(&self) -> Option<&SourceLocation> {
        self.0.location.as_ref()
    }

    pub fn hint(&self) -> Option<&str> {
        self.0.hint.as_deref()
    }

    /// This error and the others it carries, in order.
    pub fn all(&self) -> impl Iterator<Item = &Error> {
        std::iter::once(self).chain(self.0.others.iter())
    }

    /// Every error here is the user's to fix (milestone, command line, environment): exit 2 in
    /// every case, because nothing was judged.
    pub fn exit_code(&self) -> u8 {
        2
    }

    fn render_one(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.0;
        match &inner.location {
            Some(location) => {
                writeln!(f, "{location}: error: {}", inner.message)?;
                if let Some(text) = &location.line_text {
                    let number = location.line.to_string();
                    let pad = " ".repeat(number.len());
                    writeln!(f, "{pad} |")?;
                    writeln!(f, "{number} | {text}")?;
                    let caret_pad: String = text
                        .chars()
                        .take(usize::try_from(location.column.saturating_sub(1)).unwrap_or(0))
                        .map(|c| if c == '\t' { '\t' } else { ' ' })
                        .collect();
                    writeln!(f, "{pad} | {caret_pad}^")?;
                }
            }
            None => writeln!(f, "error: {}: {}", inner.kind, inner.message)?,
        }
        if let Some(hint) = &inner.hint {
            writeln!(f, "  = help: {hint}")?;
        }
        Ok(())
    }
}

impl Error {
    /// Every error carried, each with its location, snippet and hint.
    fn render(&self) -> Rendered<'_> {
        Rendered(self)
    }
}

struct Rendered<'e>(&'e Error);

impl fmt::Display for Rendered<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.all().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            error.render_one(f)?;
        }
        Ok(())
    }
}
