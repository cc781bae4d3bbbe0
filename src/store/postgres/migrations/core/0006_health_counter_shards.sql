-- A health counter may be kept in several rows (shards) whose values add up: each writing
-- transaction moves the shard of its connection (the backend's pid modulo 16), so that
-- concurrent writers do not queue on one row from their write to their commit, which would
-- make every insert of a counted table wait for the previous one's flush.
ALTER TABLE health_counters ADD COLUMN shard BIGINT NOT NULL DEFAULT 0;
ALTER TABLE health_counters DROP CONSTRAINT health_counters_pkey;
ALTER TABLE health_counters ADD PRIMARY KEY (name, shard);
