-- Core tables shared by every domain: id counters and idempotency records.
-- JSON documents are stored in canonical form (sorted keys, no white space); the columns beside
-- them are what queries filter and sort on.

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) STRICT;

CREATE TABLE idempotency_records (
    actor_type      TEXT NOT NULL,
    actor_id        TEXT NOT NULL,
    operation_id    TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash    TEXT NOT NULL,
    status          INTEGER NOT NULL,
    body            TEXT NOT NULL,
    PRIMARY KEY (actor_type, actor_id, operation_id, idempotency_key)
) STRICT;
