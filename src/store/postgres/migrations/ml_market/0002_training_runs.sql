-- Training runs (spec section 4) and their logs. `status` and `provider` are beside the
-- document for the workers' queue (oldest queued first) and the vendor's filter.

CREATE TABLE ml_training_runs (
    run_id    TEXT COLLATE "C" PRIMARY KEY,
    seq       BIGINT NOT NULL UNIQUE,
    vendor_id TEXT COLLATE "C" NOT NULL,
    provider  TEXT COLLATE "C" NOT NULL,
    status    TEXT COLLATE "C" NOT NULL,
    document  TEXT COLLATE "C" NOT NULL
);
CREATE INDEX ml_training_runs_by_vendor ON ml_training_runs (vendor_id, seq);
CREATE INDEX ml_training_runs_by_status ON ml_training_runs (status, provider, seq);

-- One row per log line, numbered from 1 within its run.
CREATE TABLE ml_training_logs (
    run_id TEXT COLLATE "C" NOT NULL REFERENCES ml_training_runs (run_id),
    seq    BIGINT NOT NULL,
    line   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (run_id, seq)
);
