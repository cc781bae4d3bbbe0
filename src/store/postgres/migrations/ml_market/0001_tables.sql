-- The ML model marketplace (spec ml-marketplace.md). JSON documents are stored in canonical
-- form; the columns beside them are what queries filter and sort on. `seq` comes from the id
-- counters, so that pages keep creation order. Credentials are the core's `credentials` table.

CREATE TABLE ml_vendors (
    vendor_id TEXT COLLATE "C" PRIMARY KEY,
    seq       BIGINT NOT NULL UNIQUE,
    document  TEXT COLLATE "C" NOT NULL
);

CREATE TABLE ml_rounds (
    round_id   TEXT COLLATE "C" PRIMARY KEY,
    seq        BIGINT NOT NULL UNIQUE,
    is_current BIGINT NOT NULL,
    document   TEXT COLLATE "C" NOT NULL
);
-- At most one current round, whichever process makes one current.
CREATE UNIQUE INDEX ml_rounds_one_current ON ml_rounds (is_current) WHERE is_current = 1;

CREATE TABLE ml_models (
    model_id  TEXT COLLATE "C" PRIMARY KEY,
    seq       BIGINT NOT NULL UNIQUE,
    vendor_id TEXT COLLATE "C" NOT NULL,
    document  TEXT COLLATE "C" NOT NULL
);
CREATE INDEX ml_models_by_vendor ON ml_models (vendor_id, seq);

CREATE TABLE ml_versions (
    version_id TEXT COLLATE "C" PRIMARY KEY,
    seq        BIGINT NOT NULL UNIQUE,
    model_id   TEXT COLLATE "C" NOT NULL REFERENCES ml_models (model_id),
    version    TEXT COLLATE "C" NOT NULL,
    stage      TEXT COLLATE "C" NOT NULL,
    document   TEXT COLLATE "C" NOT NULL,
    UNIQUE (model_id, version)
);
CREATE INDEX ml_versions_by_stage ON ml_versions (stage, seq);

CREATE TABLE ml_deployments (
    deployment_id TEXT COLLATE "C" PRIMARY KEY,
    seq           BIGINT NOT NULL UNIQUE,
    vendor_id     TEXT COLLATE "C" NOT NULL,
    model_id      TEXT COLLATE "C" NOT NULL,
    document      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX ml_deployments_by_vendor ON ml_deployments (vendor_id, seq);
CREATE INDEX ml_deployments_by_model ON ml_deployments (model_id, seq);

-- Every heartbeat, appended; the deployment's document holds the last one.
CREATE TABLE ml_heartbeats (
    deployment_id TEXT COLLATE "C" NOT NULL REFERENCES ml_deployments (deployment_id),
    seq           BIGINT NOT NULL,
    document      TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (deployment_id, seq)
);

CREATE TABLE ml_signals (
    signal_id     TEXT COLLATE "C" PRIMARY KEY,
    seq           BIGINT NOT NULL UNIQUE,
    vendor_id     TEXT COLLATE "C" NOT NULL,
    deployment_id TEXT COLLATE "C" NOT NULL,
    model_id      TEXT COLLATE "C" NOT NULL,
    symbol        TEXT COLLATE "C" NOT NULL,
    timeframe     TEXT COLLATE "C" NOT NULL,
    document      TEXT COLLATE "C" NOT NULL
);
CREATE INDEX ml_signals_by_deployment ON ml_signals (deployment_id, seq);
CREATE INDEX ml_signals_by_vendor ON ml_signals (vendor_id, seq);
CREATE INDEX ml_signals_by_market ON ml_signals (symbol, timeframe, deployment_id, seq);

-- What the catalog shows of a model's signals, kept in the transaction that stores them.
CREATE TABLE ml_model_signal_stats (
    model_id       TEXT COLLATE "C" PRIMARY KEY,
    count          BIGINT NOT NULL,
    confidence_sum DOUBLE PRECISION NOT NULL
);

CREATE TABLE ml_consensus (
    consensus_id TEXT COLLATE "C" PRIMARY KEY,
    seq          BIGINT NOT NULL UNIQUE,
    symbol       TEXT COLLATE "C" NOT NULL,
    timeframe    TEXT COLLATE "C" NOT NULL,
    document     TEXT COLLATE "C" NOT NULL
);
CREATE INDEX ml_consensus_by_market ON ml_consensus (symbol, timeframe, seq);
