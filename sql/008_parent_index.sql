-- Children of an op (retries today; parent ops with child ops next). Without it, deleting an op scans
-- the whole table for children to SET NULL (measured: ~67,000 deletes among 1.1 M rows ran > 14 min).
-- Partial: most ops have no parent, so the claim and insert paths barely pay for it.
CREATE INDEX lro_parent_idx ON long_running_operations (parent_id) WHERE parent_id IS NOT NULL;
