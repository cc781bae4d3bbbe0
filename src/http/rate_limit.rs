//! The rate-limit stage: an operation whose manifest entry has a `rate_limit` counts every
//! request its credential authenticates (refused and replayed ones too) in the store, so that
//! the count holds across instances. A request that reaches its transaction is counted there,
//! first, before the savepoint its handler runs under (so the count survives the handler's
//! failure, and costs no commit of its own); one refused on the way (its query, key, media type
//! or body) is counted in a write of its own, and answered 429 instead when that count is past
//! the limit, as it would have been had the count come first. The window is the request clock's.

use std::sync::Arc;

use axum::http::{HeaderName, HeaderValue};
use time::OffsetDateTime;

use crate::api::{Caller, Principal};
use crate::error::ApiError;
use crate::headers;
use crate::manifest::{RateLimit, RateSubject};
use crate::reason::Reason;
use crate::store::{StoreError, Tx};

use super::AppState;

/// Where a principal stands in its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Standing {
    pub limit: u32,
    pub count: u64,
    /// Seconds until the window ends.
    pub reset_s: i64,
}

impl Standing {
    pub fn exceeded(&self) -> bool {
        self.count > u64::from(self.limit)
    }

    /// The headers every answer of the operation carries from here on (and `Retry-After` on
    /// the refusal).
    pub fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let remaining = u64::from(self.limit).saturating_sub(self.count);
        let mut out = Vec::with_capacity(7);
        for (names, value) in [
            (
                [headers::RATE_LIMIT_LIMIT, headers::X_RATE_LIMIT_LIMIT],
                u64::from(self.limit),
            ),
            (
                [
                    headers::RATE_LIMIT_REMAINING,
                    headers::X_RATE_LIMIT_REMAINING,
                ],
                remaining,
            ),
            (
                [headers::RATE_LIMIT_RESET, headers::X_RATE_LIMIT_RESET],
                self.reset_s.unsigned_abs(),
            ),
        ] {
            for name in names {
                out.push((HeaderName::from_static(name), HeaderValue::from(value)));
            }
        }
        if self.exceeded() {
            out.push((
                HeaderName::from_static(headers::RETRY_AFTER),
                HeaderValue::from(self.reset_s.unsigned_abs()),
            ));
        }
        out
    }

    pub fn refusal(&self, limit: &RateLimit) -> ApiError {
        ApiError::new(Reason::RateLimited)
            .with("limit", limit.limit)
            .with("window_s", limit.window_s)
            .with("retry_after_s", self.reset_s)
    }
}

/// The start of the window `now` falls in, and the seconds until it ends.
fn window(now: OffsetDateTime, window_s: u32) -> (i64, i64) {
    let now = now.unix_timestamp();
    let length = i64::from(window_s);
    let start = now - now.rem_euclid(length);
    (start, start + length - now)
}

/// One request's place in its subject's window, to be counted.
#[derive(Clone, Debug)]
pub(super) struct Pending {
    limit: RateLimit,
    subject: String,
    window_start: i64,
    reset_s: i64,
}

impl Pending {
    /// The count `limit` asks of this request of `caller` at `now`.
    pub fn new(
        limit: &RateLimit,
        caller: &Caller,
        now: OffsetDateTime,
    ) -> Result<Pending, ApiError> {
        let subject = match (&limit.per, &caller.principal) {
            (RateSubject::Deployment, Principal::Deployment { deployment_id, .. }) => {
                deployment_id.clone()
            }
            (RateSubject::Vendor, Principal::Vendor { vendor_id, .. }) => vendor_id.clone(),
            _ => {
                return Err(ApiError::internal(
                    "a rate limit whose subject is not the caller",
                ));
            }
        };
        let (window_start, reset_s) = window(now, limit.window_s);
        Ok(Pending {
            limit: limit.clone(),
            subject,
            window_start,
            reset_s,
        })
    }

    /// Counts the request in `tx`, the request's own transaction.
    pub fn count_in(&self, tx: &mut dyn Tx) -> Result<Standing, StoreError> {
        let count = tx.count_request(&self.limit.bucket, &self.subject, self.window_start)?;
        Ok(Standing {
            limit: self.limit.limit,
            count,
            reset_s: self.reset_s,
        })
    }

    /// Counts the request in a write of its own: for a request refused before its transaction.
    pub async fn count_alone(&self, state: &AppState) -> Result<Standing, ApiError> {
        let store = Arc::clone(&state.runtime().store);
        let pending = self.clone();
        state
            .runtime()
            .writer
            .run(move || -> Result<Standing, StoreError> {
                let mut tx = store.write()?;
                let standing = pending.count_in(tx.as_mut())?;
                tx.commit()?;
                Ok(standing)
            })
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::from)
    }

    pub fn refusal(&self, standing: &Standing) -> ApiError {
        standing.refusal(&self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_aligned_to_the_epoch_by_the_request_clock() {
        let at = |text: &str| crate::clock::parse_rfc3339(text).unwrap();
        let (start, reset) = window(at("2026-03-01T09:00:30Z"), 60);
        assert_eq!(start % 60, 0);
        assert_eq!(reset, 30);
        assert_eq!(window(at("2026-03-01T09:00:00Z"), 60).1, 60);
    }

    #[test]
    fn the_sixty_first_is_over_with_its_headers() {
        let standing = Standing {
            limit: 60,
            count: 61,
            reset_s: 12,
        };
        assert!(standing.exceeded());
        let headers = standing.headers();
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.as_str() == name)
                .map(|(_, v)| v.to_str().unwrap().to_owned())
        };
        assert_eq!(get("ratelimit-remaining").as_deref(), Some("0"));
        assert_eq!(get("x-ratelimit-limit").as_deref(), Some("60"));
        assert_eq!(get("retry-after").as_deref(), Some("12"));
        let within = Standing {
            count: 60,
            ..standing
        };
        assert!(!within.exceeded());
        assert!(
            within
                .headers()
                .iter()
                .all(|(n, _)| n.as_str() != "retry-after")
        );
    }
}
