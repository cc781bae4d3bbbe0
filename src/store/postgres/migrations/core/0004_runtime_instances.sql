-- One row per start of a runtime on this database: its number makes the ids a process makes up
-- on its own (correlation ids) unique across instances. A sequence: a number is never given
-- twice, even after rows are deleted. Not data: neither reset nor dumped.
CREATE TABLE runtime_instances (
    instance BIGSERIAL PRIMARY KEY
);
