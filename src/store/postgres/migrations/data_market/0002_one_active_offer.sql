-- A provider lists a dataset fingerprint at most once while an offer of it is active: the
-- database refuses the second, whichever process writes it.
CREATE UNIQUE INDEX data_offers_one_active
    ON data_offers (seller_node_id, dataset_fingerprint) WHERE status = 'active';
