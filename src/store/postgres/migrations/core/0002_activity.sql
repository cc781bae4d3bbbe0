-- The activity log: one row per call of an operation that records activity.

CREATE TABLE operation_events (
    seq          BIGINT PRIMARY KEY,
    operation_id TEXT COLLATE "C" NOT NULL,
    status       BIGINT NOT NULL,
    document     TEXT COLLATE "C" NOT NULL
);
CREATE INDEX operation_events_by_operation ON operation_events (operation_id, seq);
