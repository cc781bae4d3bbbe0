-- Vendor keys and deployment tokens: found by id (the id inside the token), verified against
-- the argon2id hash of the secret; never the secret itself.
CREATE TABLE credentials (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    vendor_id     TEXT NOT NULL,
    deployment_id TEXT,
    scopes        TEXT NOT NULL,
    salt          TEXT NOT NULL,
    hash          TEXT NOT NULL,
    hash_params   TEXT NOT NULL,
    last4         TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    revoked_at    TEXT,
    last_used_at  TEXT
) STRICT;
CREATE INDEX credentials_by_vendor ON credentials (vendor_id, kind, id);
CREATE INDEX credentials_by_deployment ON credentials (deployment_id, id)
    WHERE deployment_id IS NOT NULL;

-- Requests counted per rate-limit bucket and subject in fixed windows of the request clock.
CREATE TABLE rate_windows (
    bucket       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (bucket, subject, window_start)
) STRICT;
