-- Tenancy and capacity (issue 8): a cap on each account's active ops, and placement rules.

-- Counting an account's active (queued + running) ops walks only its entries here: finished rows
-- leave the index, and admin ops (created_by NULL) are never counted. Heartbeats touch neither
-- column, so they stay HOT.
CREATE INDEX lro_active_by_creator_idx ON long_running_operations (created_by)
  WHERE created_by IS NOT NULL AND status IN ('queued', 'running');

-- How many of the `wanted` new ops of each account may be inserted under the cap `max_active`.
-- Each account's count is taken under a transaction-scoped advisory lock on that account, so the
-- statement calling this holds it until it commits and the next create of the same account (in any
-- process) counts this one's rows: concurrent creates cannot overshoot the cap. VOLATILE matters:
-- in READ COMMITTED each query of a volatile function takes a fresh snapshot, so the count sees
-- what the previous holder of the lock committed. Accounts are locked in sorted order (no
-- deadlock between two batches naming the same accounts). Lock class 1280462593 is 'LRO\x01'.
CREATE FUNCTION lro_admit(accounts text[], wanted integer[], max_active integer)
RETURNS TABLE (account text, admitted integer) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  i integer;
  active integer;
BEGIN
  FOR i IN SELECT s.i FROM generate_subscripts(accounts, 1) AS s(i) ORDER BY accounts[s.i] LOOP
    PERFORM pg_advisory_xact_lock(1280462593, hashtext(accounts[i]));
    SELECT count(*) INTO active FROM (
      SELECT 1 FROM long_running_operations
       WHERE created_by = accounts[i] AND status IN ('queued', 'running') LIMIT max_active) a;
    account := accounts[i];
    admitted := greatest(0, least(wanted[i], max_active - active));
    RETURN NEXT;
  END LOOP;
END $$;

-- A project's backup region names a row of backup_regions. NOT VALID: rows written before this
-- migration are not checked (an operator fixes them), new and updated rows are.
ALTER TABLE projects ADD CONSTRAINT projects_backup_region_fkey
  FOREIGN KEY (backup_region) REFERENCES backup_regions (region) NOT VALID;
