-- The swap-matching domain (spec swap-matching.md): intents, cycle proposals with their
-- participants, asset values and matching runs. JSON documents are stored in canonical form
-- (sorted keys, no white space); the columns beside them are what queries filter and sort on.

CREATE TABLE swap_intents (
    id              TEXT COLLATE "C" PRIMARY KEY,
    actor_type      TEXT COLLATE "C" NOT NULL,
    actor_id        TEXT COLLATE "C" NOT NULL,
    created_by_type TEXT COLLATE "C" NOT NULL,
    created_by_id   TEXT COLLATE "C" NOT NULL,
    status          TEXT COLLATE "C" NOT NULL,
    document        TEXT COLLATE "C" NOT NULL
);
CREATE INDEX swap_intents_by_actor ON swap_intents (actor_type, actor_id, id);
CREATE INDEX swap_intents_by_creator ON swap_intents (created_by_type, created_by_id, id);
CREATE INDEX swap_intents_matchable ON swap_intents (status, actor_type, id);

CREATE TABLE cycle_proposals (
    id              TEXT COLLATE "C" PRIMARY KEY,
    status          TEXT COLLATE "C" NOT NULL,
    origin          TEXT COLLATE "C" NOT NULL,
    owner_type      TEXT COLLATE "C" NOT NULL,
    owner_id        TEXT COLLATE "C" NOT NULL,
    matching_run_id TEXT COLLATE "C",
    expires_at      TEXT COLLATE "C" NOT NULL,
    document        TEXT COLLATE "C" NOT NULL
);
CREATE INDEX cycle_proposals_by_owner ON cycle_proposals (owner_type, owner_id, id);
CREATE INDEX cycle_proposals_by_origin ON cycle_proposals (origin, id);

CREATE TABLE cycle_proposal_participants (
    proposal_id TEXT COLLATE "C" NOT NULL REFERENCES cycle_proposals (id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    intent_id   TEXT COLLATE "C" NOT NULL,
    actor_type  TEXT COLLATE "C" NOT NULL,
    actor_id    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (proposal_id, position)
);
CREATE INDEX cycle_proposal_participants_by_actor
    ON cycle_proposal_participants (actor_type, actor_id, proposal_id);

-- Values are JSON number text, kept exactly as written (100 stays 100).
CREATE TABLE marketplace_asset_values (
    asset_id  TEXT COLLATE "C" PRIMARY KEY,
    value_usd TEXT COLLATE "C" NOT NULL
);

CREATE TABLE marketplace_matching_runs (
    run_id            TEXT COLLATE "C" PRIMARY KEY,
    seq               BIGINT NOT NULL UNIQUE,
    requested_by_type TEXT COLLATE "C" NOT NULL,
    requested_by_id   TEXT COLLATE "C" NOT NULL,
    document          TEXT COLLATE "C" NOT NULL
);
