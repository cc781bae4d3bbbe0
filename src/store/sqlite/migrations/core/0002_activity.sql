-- The activity log: one row per call of an operation that records activity.

CREATE TABLE operation_events (
    seq          INTEGER PRIMARY KEY,
    operation_id TEXT NOT NULL,
    status       INTEGER NOT NULL,
    document     TEXT NOT NULL
) STRICT;
CREATE INDEX operation_events_by_operation ON operation_events (operation_id, seq);
