-- Fair claims across accounts (src/lro/sql/operations-worker.ts, operationClaim). The account of an
-- op is `created_by`, null (admin and library creates) counting as the account ''. The claim walks
-- the distinct accounts with queued work of a routing through this index, one probe per account
-- (a "loose index scan"), then takes each account's ops in its own priority order from the same
-- index. lro_claim_idx stays: one account alone, and filling what the accounts' turns left, is the
-- plain priority-ordered scan.
CREATE INDEX lro_claim_account_idx ON long_running_operations
  (routing, (coalesce(created_by, '')), priority DESC, run_at) WHERE status = 'queued';
