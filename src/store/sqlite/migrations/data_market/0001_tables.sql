-- The data-marketplace domain (spec data-marketplace.md). Ordering columns (`seq`) come from
-- the id counters, so that ids and pages stay in creation order past 999999.

CREATE TABLE data_offers (
    offer_id            TEXT PRIMARY KEY,
    seq                 INTEGER NOT NULL UNIQUE,
    seller_node_id      TEXT NOT NULL,
    status              TEXT NOT NULL,
    dataset_fingerprint TEXT NOT NULL,
    document            TEXT NOT NULL
) STRICT;
CREATE INDEX data_offers_by_seller ON data_offers (seller_node_id, dataset_fingerprint, status);

CREATE TABLE data_round_intents (
    intent_id      TEXT PRIMARY KEY,
    seq            INTEGER NOT NULL UNIQUE,
    model_owner_id TEXT NOT NULL,
    status         TEXT NOT NULL,
    document       TEXT NOT NULL
) STRICT;

CREATE TABLE data_contracts (
    contract_id     TEXT PRIMARY KEY,
    seq             INTEGER NOT NULL UNIQUE,
    round_intent_id TEXT NOT NULL,
    state           TEXT NOT NULL,
    document        TEXT NOT NULL
) STRICT;
CREATE INDEX data_contracts_by_state ON data_contracts (state, seq);

-- Which offers a contract holds: what `offer_already_committed` asks.
CREATE TABLE data_contract_offers (
    contract_id TEXT NOT NULL REFERENCES data_contracts (contract_id),
    offer_id    TEXT NOT NULL,
    PRIMARY KEY (contract_id, offer_id)
) STRICT;
CREATE INDEX data_contract_offers_by_offer ON data_contract_offers (offer_id);

-- The contract timeline: appended, never truncated, ordered by seq.
CREATE TABLE data_contract_timeline (
    contract_id TEXT NOT NULL REFERENCES data_contracts (contract_id),
    seq         INTEGER NOT NULL,
    document    TEXT NOT NULL,
    PRIMARY KEY (contract_id, seq)
) STRICT;

CREATE TABLE training_rounds (
    round_id TEXT PRIMARY KEY,
    seq      INTEGER NOT NULL UNIQUE,
    document TEXT NOT NULL
) STRICT;

-- The global model the next round starts from.
CREATE TABLE training_model (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    document TEXT NOT NULL
) STRICT;
