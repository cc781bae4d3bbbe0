-- Counters that /healthz reports, one row per name. Each domain's migrations seed the rows of
-- its counters and add the triggers that keep them, so that the database maintains them in the
-- same transaction as the rows they count, whichever code path writes, and a health probe
-- reads a few rows at any size. Not data: neither reset nor dumped.
CREATE TABLE health_counters (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value BIGINT NOT NULL
);
