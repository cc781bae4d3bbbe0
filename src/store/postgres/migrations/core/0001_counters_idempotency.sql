-- Core tables shared by every domain: id counters and idempotency records.
-- JSON documents are stored in canonical form (sorted keys, no white space); the columns beside
-- them are what queries filter and sort on.

CREATE TABLE counters (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE idempotency_records (
    actor_type      TEXT COLLATE "C" NOT NULL,
    actor_id        TEXT COLLATE "C" NOT NULL,
    operation_id    TEXT COLLATE "C" NOT NULL,
    idempotency_key TEXT COLLATE "C" NOT NULL,
    request_hash    TEXT COLLATE "C" NOT NULL,
    status          BIGINT NOT NULL,
    body            TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (actor_type, actor_id, operation_id, idempotency_key)
);
