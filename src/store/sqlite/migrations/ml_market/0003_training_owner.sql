-- The runtime instance whose worker claimed a run (`runtime_instances.instance`): a `running`
-- run whose instance is no longer alive is failed `interrupted` by another instance. NULL for
-- a run claimed before this column, or never claimed.

ALTER TABLE ml_training_runs ADD COLUMN owner_instance INTEGER;
