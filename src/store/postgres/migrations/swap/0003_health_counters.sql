-- The swap domain's /healthz counters, kept by triggers in the writing transaction. Seeded
-- from the rows already there, so that a database made before them counts right.
INSERT INTO health_counters (name, value) VALUES
    ('intents', (SELECT COUNT(*) FROM swap_intents)),
    ('proposals', (SELECT COUNT(*) FROM cycle_proposals)),
    ('marketplace_asset_values', (SELECT COUNT(*) FROM marketplace_asset_values)),
    ('marketplace_matching_runs', (SELECT COUNT(*) FROM marketplace_matching_runs)),
    ('marketplace_matching_proposals',
        (SELECT COUNT(*) FROM cycle_proposals WHERE origin = 'marketplace'));

-- Moves a counter by `delta` in the shard of this connection (core's 0006): concurrent
-- writers, on other connections, move other rows.
CREATE FUNCTION health_count(counter TEXT, delta BIGINT) RETURNS void LANGUAGE sql AS $$
    INSERT INTO health_counters (name, shard, value) VALUES (counter, pg_backend_pid() % 16, delta)
    ON CONFLICT (name, shard) DO UPDATE SET value = health_counters.value + EXCLUDED.value;
$$;

-- Moves the counter named by the trigger's argument by one row in or out.
CREATE FUNCTION health_count_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM health_count(TG_ARGV[0], CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END);
    RETURN NULL;
END;
$$;

-- The marketplace proposals among them: in, out, or across by a change of origin.
CREATE FUNCTION health_count_marketplace_proposals() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    delta BIGINT := 0;
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.origin = 'marketplace' THEN
        delta := delta + 1;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') AND OLD.origin = 'marketplace' THEN
        delta := delta - 1;
    END IF;
    IF delta != 0 THEN
        PERFORM health_count('marketplace_matching_proposals', delta);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER swap_intents_counted AFTER INSERT OR DELETE ON swap_intents
    FOR EACH ROW EXECUTE FUNCTION health_count_rows('intents');
CREATE TRIGGER cycle_proposals_counted AFTER INSERT OR DELETE ON cycle_proposals
    FOR EACH ROW EXECUTE FUNCTION health_count_rows('proposals');
CREATE TRIGGER cycle_proposals_marketplace_counted
    AFTER INSERT OR DELETE OR UPDATE OF origin ON cycle_proposals
    FOR EACH ROW EXECUTE FUNCTION health_count_marketplace_proposals();
CREATE TRIGGER marketplace_asset_values_counted AFTER INSERT OR DELETE ON marketplace_asset_values
    FOR EACH ROW EXECUTE FUNCTION health_count_rows('marketplace_asset_values');
CREATE TRIGGER marketplace_matching_runs_counted AFTER INSERT OR DELETE ON marketplace_matching_runs
    FOR EACH ROW EXECUTE FUNCTION health_count_rows('marketplace_matching_runs');
