-- A health counter may be kept in several rows (shards) whose values add up, so that writers
-- on a database server that runs many at once move different rows instead of queueing on one
-- (Postgres does). SQLite has one writer: every counter keeps its one row, shard 0, and the
-- triggers go on updating it by name.
--
-- The table is made again under its name; legacy renaming leaves the triggers that write to
-- it (on other tables, naming it in their bodies) as they are.
PRAGMA legacy_alter_table = ON;
CREATE TABLE health_counters_sharded (
    name  TEXT NOT NULL,
    shard INTEGER NOT NULL DEFAULT 0,
    value INTEGER NOT NULL,
    PRIMARY KEY (name, shard)
) STRICT;
INSERT INTO health_counters_sharded (name, shard, value) SELECT name, 0, value FROM health_counters;
DROP TABLE health_counters;
ALTER TABLE health_counters_sharded RENAME TO health_counters;
PRAGMA legacy_alter_table = OFF;
