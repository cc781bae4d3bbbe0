-- The swap-matching domain (spec swap-matching.md): intents, cycle proposals with their
-- participants, asset values and matching runs. JSON documents are stored in canonical form
-- (sorted keys, no white space); the columns beside them are what queries filter and sort on.

CREATE TABLE swap_intents (
    id              TEXT PRIMARY KEY,
    actor_type      TEXT NOT NULL,
    actor_id        TEXT NOT NULL,
    created_by_type TEXT NOT NULL,
    created_by_id   TEXT NOT NULL,
    status          TEXT NOT NULL,
    document        TEXT NOT NULL
) STRICT;
CREATE INDEX swap_intents_by_actor ON swap_intents (actor_type, actor_id, id);
CREATE INDEX swap_intents_by_creator ON swap_intents (created_by_type, created_by_id, id);
CREATE INDEX swap_intents_matchable ON swap_intents (status, actor_type, id);

CREATE TABLE cycle_proposals (
    id              TEXT PRIMARY KEY,
    status          TEXT NOT NULL,
    origin          TEXT NOT NULL,
    owner_type      TEXT NOT NULL,
    owner_id        TEXT NOT NULL,
    matching_run_id TEXT,
    expires_at      TEXT NOT NULL,
    document        TEXT NOT NULL
) STRICT;
CREATE INDEX cycle_proposals_by_owner ON cycle_proposals (owner_type, owner_id, id);
CREATE INDEX cycle_proposals_by_origin ON cycle_proposals (origin, id);

CREATE TABLE cycle_proposal_participants (
    proposal_id TEXT NOT NULL REFERENCES cycle_proposals (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    intent_id   TEXT NOT NULL,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    PRIMARY KEY (proposal_id, position)
) STRICT;
CREATE INDEX cycle_proposal_participants_by_actor
    ON cycle_proposal_participants (actor_type, actor_id, proposal_id);

-- Values are JSON number text, kept exactly as written (100 stays 100).
CREATE TABLE marketplace_asset_values (
    asset_id  TEXT PRIMARY KEY,
    value_usd TEXT NOT NULL
) STRICT;

CREATE TABLE marketplace_matching_runs (
    run_id            TEXT PRIMARY KEY,
    seq               INTEGER NOT NULL UNIQUE,
    requested_by_type TEXT NOT NULL,
    requested_by_id   TEXT NOT NULL,
    document          TEXT NOT NULL
) STRICT;
