-- Training runs (spec section 4) and their logs. `status` and `provider` are beside the
-- document for the workers' queue (oldest queued first) and the vendor's filter.

CREATE TABLE ml_training_runs (
    run_id    TEXT PRIMARY KEY,
    seq       INTEGER NOT NULL UNIQUE,
    vendor_id TEXT NOT NULL,
    provider  TEXT NOT NULL,
    status    TEXT NOT NULL,
    document  TEXT NOT NULL
) STRICT;
CREATE INDEX ml_training_runs_by_vendor ON ml_training_runs (vendor_id, seq);
CREATE INDEX ml_training_runs_by_status ON ml_training_runs (status, provider, seq);

-- One row per log line, numbered from 1 within its run.
CREATE TABLE ml_training_logs (
    run_id TEXT NOT NULL REFERENCES ml_training_runs (run_id),
    seq    INTEGER NOT NULL,
    line   TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) STRICT;
