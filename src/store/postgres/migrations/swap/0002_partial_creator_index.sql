-- Intents a user creates for itself (nearly all of them) need no entry in the index of
-- creators: only those a partner submitted for someone else do. One random index insert fewer
-- per create is what the bulk load of the benchmark feels most.
DROP INDEX swap_intents_by_creator;
CREATE INDEX swap_intents_by_other_creator ON swap_intents (created_by_type, created_by_id, id)
    WHERE created_by_type != actor_type OR created_by_id != actor_id;
