-- The data-marketplace domain (spec data-marketplace.md). Ordering columns (`seq`) come from
-- the id counters, so that ids and pages stay in creation order past 999999.

CREATE TABLE data_offers (
    offer_id            TEXT COLLATE "C" PRIMARY KEY,
    seq                 BIGINT NOT NULL UNIQUE,
    seller_node_id      TEXT COLLATE "C" NOT NULL,
    status              TEXT COLLATE "C" NOT NULL,
    dataset_fingerprint TEXT COLLATE "C" NOT NULL,
    document            TEXT COLLATE "C" NOT NULL
);
CREATE INDEX data_offers_by_seller ON data_offers (seller_node_id, dataset_fingerprint, status);

CREATE TABLE data_round_intents (
    intent_id      TEXT COLLATE "C" PRIMARY KEY,
    seq            BIGINT NOT NULL UNIQUE,
    model_owner_id TEXT COLLATE "C" NOT NULL,
    status         TEXT COLLATE "C" NOT NULL,
    document       TEXT COLLATE "C" NOT NULL
);

CREATE TABLE data_contracts (
    contract_id     TEXT COLLATE "C" PRIMARY KEY,
    seq             BIGINT NOT NULL UNIQUE,
    round_intent_id TEXT COLLATE "C" NOT NULL,
    state           TEXT COLLATE "C" NOT NULL,
    document        TEXT COLLATE "C" NOT NULL
);
CREATE INDEX data_contracts_by_state ON data_contracts (state, seq);

-- Which offers a contract holds: what `offer_already_committed` asks.
CREATE TABLE data_contract_offers (
    contract_id TEXT COLLATE "C" NOT NULL REFERENCES data_contracts (contract_id),
    offer_id    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (contract_id, offer_id)
);
CREATE INDEX data_contract_offers_by_offer ON data_contract_offers (offer_id);

-- The contract timeline: appended, never truncated, ordered by seq.
CREATE TABLE data_contract_timeline (
    contract_id TEXT COLLATE "C" NOT NULL REFERENCES data_contracts (contract_id),
    seq         BIGINT NOT NULL,
    document    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (contract_id, seq)
);

CREATE TABLE training_rounds (
    round_id TEXT COLLATE "C" PRIMARY KEY,
    seq      BIGINT NOT NULL UNIQUE,
    document TEXT COLLATE "C" NOT NULL
);

-- The global model the next round starts from.
CREATE TABLE training_model (
    id       BIGINT PRIMARY KEY CHECK (id = 1),
    document TEXT COLLATE "C" NOT NULL
);
