//! Cursor pagination, shared by every list operation.

use crate::error::ApiError;
use crate::reason::Reason;
use crate::store::StoreError;

use super::OpContext;

/// One page of a list operation: `limit` (default 50) items after `cursor`.
pub struct Page {
    limit: usize,
}

impl Page {
    const DEFAULT_LIMIT: usize = 50;

    pub fn from_query(ctx: &OpContext<'_>) -> Page {
        let limit = ctx
            .query_int("limit")
            .and_then(|limit| usize::try_from(limit).ok())
            .unwrap_or(Page::DEFAULT_LIMIT);
        Page { limit }
    }

    /// Where a page of a list ordered by sequence starts: the sequence number of the `cursor`
    /// row, looked up by `seq_of`. A cursor naming no row is refused.
    pub fn cursor_seq(
        ctx: &OpContext<'_>,
        seq_of: impl FnOnce(&str) -> Result<Option<u64>, StoreError>,
    ) -> Result<Option<u64>, ApiError> {
        let Some(cursor) = ctx.query_str("cursor") else {
            return Ok(None);
        };
        match seq_of(cursor)? {
            Some(seq) => Ok(Some(seq)),
            None => Err(ApiError::new(Reason::QueryInvalid)
                .with("param", "cursor")
                .with("rule", "unknown_cursor")),
        }
    }

    /// How many rows to read: one more than the page, to learn whether another page follows.
    pub fn fetch(&self) -> usize {
        self.limit + 1
    }

    /// Cuts the rows to the page and names the cursor of the next page, if there is one.
    pub fn split<T>(
        &self,
        mut rows: Vec<T>,
        cursor_of: impl Fn(&T) -> String,
    ) -> (Vec<T>, Option<String>) {
        if rows.len() <= self.limit {
            return (rows, None);
        }
        rows.truncate(self.limit);
        let next = rows.last().map(cursor_of);
        (rows, next)
    }
}
