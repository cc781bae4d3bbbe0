-- The ML model marketplace (spec ml-marketplace.md). JSON documents are stored in canonical
-- form; the columns beside them are what queries filter and sort on. `seq` comes from the id
-- counters, so that pages keep creation order. Credentials are the core's `credentials` table.

CREATE TABLE ml_vendors (
    vendor_id TEXT PRIMARY KEY,
    seq       INTEGER NOT NULL UNIQUE,
    document  TEXT NOT NULL
) STRICT;

CREATE TABLE ml_rounds (
    round_id   TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL UNIQUE,
    is_current INTEGER NOT NULL,
    document   TEXT NOT NULL
) STRICT;
-- At most one current round, whichever process makes one current.
CREATE UNIQUE INDEX ml_rounds_one_current ON ml_rounds (is_current) WHERE is_current = 1;

CREATE TABLE ml_models (
    model_id  TEXT PRIMARY KEY,
    seq       INTEGER NOT NULL UNIQUE,
    vendor_id TEXT NOT NULL,
    document  TEXT NOT NULL
) STRICT;
CREATE INDEX ml_models_by_vendor ON ml_models (vendor_id, seq);

CREATE TABLE ml_versions (
    version_id TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL UNIQUE,
    model_id   TEXT NOT NULL REFERENCES ml_models (model_id),
    version    TEXT NOT NULL,
    stage      TEXT NOT NULL,
    document   TEXT NOT NULL,
    UNIQUE (model_id, version)
) STRICT;
CREATE INDEX ml_versions_by_stage ON ml_versions (stage, seq);

CREATE TABLE ml_deployments (
    deployment_id TEXT PRIMARY KEY,
    seq           INTEGER NOT NULL UNIQUE,
    vendor_id     TEXT NOT NULL,
    model_id      TEXT NOT NULL,
    document      TEXT NOT NULL
) STRICT;
CREATE INDEX ml_deployments_by_vendor ON ml_deployments (vendor_id, seq);
CREATE INDEX ml_deployments_by_model ON ml_deployments (model_id, seq);

-- Every heartbeat, appended; the deployment's document holds the last one.
CREATE TABLE ml_heartbeats (
    deployment_id TEXT NOT NULL REFERENCES ml_deployments (deployment_id),
    seq           INTEGER NOT NULL,
    document      TEXT NOT NULL,
    PRIMARY KEY (deployment_id, seq)
) STRICT;

CREATE TABLE ml_signals (
    signal_id     TEXT PRIMARY KEY,
    seq           INTEGER NOT NULL UNIQUE,
    vendor_id     TEXT NOT NULL,
    deployment_id TEXT NOT NULL,
    model_id      TEXT NOT NULL,
    symbol        TEXT NOT NULL,
    timeframe     TEXT NOT NULL,
    document      TEXT NOT NULL
) STRICT;
CREATE INDEX ml_signals_by_deployment ON ml_signals (deployment_id, seq);
CREATE INDEX ml_signals_by_vendor ON ml_signals (vendor_id, seq);
CREATE INDEX ml_signals_by_market ON ml_signals (symbol, timeframe, deployment_id, seq);

-- What the catalog shows of a model's signals, kept in the transaction that stores them.
CREATE TABLE ml_model_signal_stats (
    model_id       TEXT PRIMARY KEY,
    count          INTEGER NOT NULL,
    confidence_sum REAL NOT NULL
) STRICT;

CREATE TABLE ml_consensus (
    consensus_id TEXT PRIMARY KEY,
    seq          INTEGER NOT NULL UNIQUE,
    symbol       TEXT NOT NULL,
    timeframe    TEXT NOT NULL,
    document     TEXT NOT NULL
) STRICT;
CREATE INDEX ml_consensus_by_market ON ml_consensus (symbol, timeframe, seq);
