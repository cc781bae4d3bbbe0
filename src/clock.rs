//! The server clock, injectable so that nothing a test or a milestone checks reads the wall.
//!
//! Requests carry their own clock (`x-now-iso`, or a body field such as `recorded_at`); the
//! server clock is only the last fallback.

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}

/// The wall clock, for the real server.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that always answers the same instant, for tests and the in-process verifier.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub OffsetDateTime);

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// A clock a test moves by hand: how a wall-clock limit (a training budget) is tested without
/// waiting for it.
#[derive(Debug)]
pub struct ManualClock(std::sync::Mutex<OffsetDateTime>);

impl ManualClock {
    pub fn new(at: OffsetDateTime) -> ManualClock {
        ManualClock(std::sync::Mutex::new(at))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: time::Duration) {
        let mut now = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Parses an RFC 3339 date-time (`2026-03-01T00:00:00Z`, with or without fraction or offset).
pub fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Formats an instant as UTC with milliseconds: `2026-03-01T00:00:00.000Z`.
pub fn format_rfc3339_millis(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_utc_with_millis() {
        let at = parse_rfc3339("2026-02-28T20:00:00Z").unwrap();
        assert_eq!(format_rfc3339_millis(at), "2026-02-28T20:00:00.000Z");
        let offset = parse_rfc3339("2026-02-28T21:30:00.250+01:30").unwrap();
        assert_eq!(format_rfc3339_millis(offset), "2026-02-28T20:00:00.250Z");
        assert!(parse_rfc3339("2026-02-28").is_none());
        assert!(parse_rfc3339("yesterday").is_none());
    }
}
