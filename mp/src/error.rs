//! What can go wrong, by kind, and the exit code each kind means: 1 when the server said no (its
//! reason code is printed), 2 for a wrong command line or anything local (a config file others
//! can read, a server that cannot be reached, a file that cannot be written).

use std::fmt;
use std::process::ExitCode;

use serde_json::{Value, json};

#[derive(Debug)]
pub enum Kind {
    /// The server answered with an error envelope (or a status without one).
    Refused {
        status: u16,
        /// `error.details.reason_code`, when the answer had one.
        reason_code: Option<String>,
    },
    /// A check `mp` makes of what the server sent failed: a download whose SHA-256 differs, a
    /// training run that did not succeed, a doctor check.
    Failed,
    /// The command line, the config or the machine.
    Local,
    /// Stopped by a signal (Ctrl-C, SIGTERM) while it ran in the foreground: exit 130, as a
    /// shell reports an interrupted command.
    Stopped,
}

#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    pub hint: Option<String>,
    /// The command already printed its `--json` document (a doctor's checks, a followed run's
    /// outcome), so the error adds none: stdout holds one document.
    pub printed: bool,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn local(message: impl Into<String>) -> Error {
        Error {
            kind: Kind::Local,
            message: message.into(),
            hint: None,
            printed: false,
        }
    }

    pub fn failed(message: impl Into<String>) -> Error {
        Error {
            kind: Kind::Failed,
            message: message.into(),
            hint: None,
            printed: false,
        }
    }

    pub fn refused(status: u16, reason_code: Option<String>, message: impl Into<String>) -> Error {
        Error {
            kind: Kind::Refused {
                status,
                reason_code,
            },
            message: message.into(),
            hint: None,
            printed: false,
        }
    }

    /// Marks the error as one whose `--json` document the command printed itself.
    pub fn printed(mut self) -> Error {
        self.printed = true;
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Error {
        self.hint = Some(hint.into());
        self
    }

    pub fn exit_code(&self) -> ExitCode {
        match self.kind {
            Kind::Refused { .. } | Kind::Failed => ExitCode::from(1),
            Kind::Local => ExitCode::from(2),
            Kind::Stopped => ExitCode::from(130),
        }
    }

    /// The reason code of a refusal.
    pub fn reason_code(&self) -> Option<&str> {
        match &self.kind {
            Kind::Refused { reason_code, .. } => reason_code.as_deref(),
            _ => None,
        }
    }

    /// The error as `--json` prints it.
    pub fn to_json(&self) -> Value {
        let mut error = json!({"message": self.message});
        if let Kind::Refused {
            status,
            reason_code,
        } = &self.kind
        {
            error["status"] = json!(status);
            error["reason_code"] = json!(reason_code);
        }
        if let Some(hint) = &self.hint {
            error["hint"] = json!(hint);
        }
        json!({ "error": error })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Refused {
                status,
                reason_code: Some(reason),
            } => write!(
                f,
                "the server said no ({status} {reason}): {}",
                self.message
            )?,
            Kind::Refused { status, .. } => {
                write!(f, "the server said no ({status}): {}", self.message)?;
            }
            Kind::Failed | Kind::Local | Kind::Stopped => write!(f, "{}", self.message)?,
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Error {
        Error::local(error.to_string())
    }
}
