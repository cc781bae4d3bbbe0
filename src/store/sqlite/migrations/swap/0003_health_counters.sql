-- The swap domain's /healthz counters, kept by triggers in the writing transaction. Seeded
-- from the rows already there, so that a database made before them counts right.
INSERT INTO health_counters (name, value) VALUES
    ('intents', (SELECT COUNT(*) FROM swap_intents)),
    ('proposals', (SELECT COUNT(*) FROM cycle_proposals)),
    ('marketplace_asset_values', (SELECT COUNT(*) FROM marketplace_asset_values)),
    ('marketplace_matching_runs', (SELECT COUNT(*) FROM marketplace_matching_runs)),
    ('marketplace_matching_proposals',
        (SELECT COUNT(*) FROM cycle_proposals WHERE origin = 'marketplace'));

CREATE TRIGGER swap_intents_counted_in AFTER INSERT ON swap_intents BEGIN
    UPDATE health_counters SET value = value + 1 WHERE name = 'intents';
END;
CREATE TRIGGER swap_intents_counted_out AFTER DELETE ON swap_intents BEGIN
    UPDATE health_counters SET value = value - 1 WHERE name = 'intents';
END;

CREATE TRIGGER cycle_proposals_counted_in AFTER INSERT ON cycle_proposals BEGIN
    UPDATE health_counters SET value = value + 1 WHERE name = 'proposals';
    UPDATE health_counters SET value = value + 1
        WHERE name = 'marketplace_matching_proposals' AND NEW.origin = 'marketplace';
END;
CREATE TRIGGER cycle_proposals_counted_out AFTER DELETE ON cycle_proposals BEGIN
    UPDATE health_counters SET value = value - 1 WHERE name = 'proposals';
    UPDATE health_counters SET value = value - 1
        WHERE name = 'marketplace_matching_proposals' AND OLD.origin = 'marketplace';
END;
CREATE TRIGGER cycle_proposals_recounted AFTER UPDATE OF origin ON cycle_proposals
    WHEN (OLD.origin = 'marketplace') != (NEW.origin = 'marketplace') BEGIN
    UPDATE health_counters
        SET value = value + CASE WHEN NEW.origin = 'marketplace' THEN 1 ELSE -1 END
        WHERE name = 'marketplace_matching_proposals';
END;

CREATE TRIGGER marketplace_asset_values_counted_in AFTER INSERT ON marketplace_asset_values BEGIN
    UPDATE health_counters SET value = value + 1 WHERE name = 'marketplace_asset_values';
END;
CREATE TRIGGER marketplace_asset_values_counted_out AFTER DELETE ON marketplace_asset_values BEGIN
    UPDATE health_counters SET value = value - 1 WHERE name = 'marketplace_asset_values';
END;

CREATE TRIGGER marketplace_matching_runs_counted_in AFTER INSERT ON marketplace_matching_runs BEGIN
    UPDATE health_counters SET value = value + 1 WHERE name = 'marketplace_matching_runs';
END;
CREATE TRIGGER marketplace_matching_runs_counted_out AFTER DELETE ON marketplace_matching_runs BEGIN
    UPDATE health_counters SET value = value - 1 WHERE name = 'marketplace_matching_runs';
END;
