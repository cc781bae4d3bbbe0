-- Vendor keys and deployment tokens: found by id (the id inside the token), verified against
-- the argon2id hash of the secret; never the secret itself.
CREATE TABLE credentials (
    id            TEXT COLLATE "C" PRIMARY KEY,
    kind          TEXT COLLATE "C" NOT NULL,
    vendor_id     TEXT COLLATE "C" NOT NULL,
    deployment_id TEXT COLLATE "C",
    scopes        TEXT COLLATE "C" NOT NULL,
    salt          TEXT COLLATE "C" NOT NULL,
    hash          TEXT COLLATE "C" NOT NULL,
    hash_params   TEXT COLLATE "C" NOT NULL,
    last4         TEXT COLLATE "C" NOT NULL,
    created_at    TEXT COLLATE "C" NOT NULL,
    expires_at    TEXT COLLATE "C" NOT NULL,
    revoked_at    TEXT COLLATE "C",
    last_used_at  TEXT COLLATE "C"
);
CREATE INDEX credentials_by_vendor ON credentials (vendor_id, kind, id);
CREATE INDEX credentials_by_deployment ON credentials (deployment_id, id)
    WHERE deployment_id IS NOT NULL;

-- Requests counted per rate-limit bucket and subject in fixed windows of the request clock.
CREATE TABLE rate_windows (
    bucket       TEXT COLLATE "C" NOT NULL,
    subject      TEXT COLLATE "C" NOT NULL,
    window_start BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    PRIMARY KEY (bucket, subject, window_start)
);
