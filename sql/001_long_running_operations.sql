-- The operation record. State machine (mirrored by src/lro/status.ts):
--
--   queued --claim--> running --complete--> succeeded
--      |                 |----fail (attempts left)--> queued (run_at = backoff)
--      |                 |----fail (no attempts left)--> failed
--      |                 |----lease lost (heartbeat stale)--> queued | failed (max attempts)
--      |                 '----cancel requested -> handler aborts -> canceled
--      |--cancel--> canceled
--      '--expires_at passed--> expired        terminal rows never change again
--
-- Every transition is one guarded UPDATE ... WHERE status = ... [AND lease_epoch = ...].
CREATE TABLE long_running_operations (
  op_id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind                text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_-]{0,62}$'),
  scope_type          text NOT NULL CHECK (scope_type IN ('project', 'account', 'host', 'hub')),
  scope_id            text NOT NULL CHECK (length(scope_id) BETWEEN 1 AND 100),
  status              text NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'canceled', 'expired')),
  created_by          text,
  owner_type          text CHECK (owner_type IN ('hub', 'host')),
  owner_id            text,
  routing             text NOT NULL CHECK (routing = 'hub' OR routing ~ '^host:.+$'),
  input               jsonb NOT NULL DEFAULT '{}'::jsonb,
  result              jsonb,
  error               jsonb,
  last_error          jsonb,
  progress_summary    jsonb,
  attempt             integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
  max_attempts        integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 100),
  priority            integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN -1000 AND 1000),
  lease_epoch         integer NOT NULL DEFAULT 0,
  lease_s             integer NOT NULL DEFAULT 30 CHECK (lease_s > 0),
  run_at              timestamptz NOT NULL DEFAULT now(),
  heartbeat_at        timestamptz,
  cancel_requested_at timestamptz,
  dismissed_at        timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  started_at          timestamptz,
  finished_at         timestamptz,
  updated_at          timestamptz NOT NULL DEFAULT now(),
  expires_at          timestamptz,
  dedupe_key          text CHECK (length(dedupe_key) BETWEEN 1 AND 200),
  parent_id           uuid REFERENCES long_running_operations (op_id) ON DELETE SET NULL,

  CONSTRAINT lro_finished_iff_terminal
    CHECK ((finished_at IS NOT NULL) = (status IN ('succeeded', 'failed', 'canceled', 'expired'))),
  CONSTRAINT lro_result_only_succeeded CHECK (result IS NULL OR status = 'succeeded'),
  CONSTRAINT lro_error_when_failed CHECK (status <> 'failed' OR error IS NOT NULL),
  CONSTRAINT lro_error_only_unsuccessful
    CHECK (error IS NULL OR status IN ('failed', 'canceled', 'expired')),
  CONSTRAINT lro_running_has_owner
    CHECK (status <> 'running' OR (owner_id IS NOT NULL AND heartbeat_at IS NOT NULL AND started_at IS NOT NULL))
) WITH (fillfactor = 70); -- room on each page so heartbeats stay HOT updates

-- Claim path: only queued rows, in claim order.
CREATE INDEX lro_claim_idx ON long_running_operations (routing, priority DESC, run_at)
  WHERE status = 'queued';
-- Dedupe: one active op per (scope, kind, key).
CREATE UNIQUE INDEX lro_dedupe_idx ON long_running_operations (scope_type, scope_id, kind, dedupe_key)
  WHERE dedupe_key IS NOT NULL AND status IN ('queued', 'running');
-- Rescue scans running rows only; heartbeat_at is deliberately not indexed (HOT heartbeats).
CREATE INDEX lro_running_idx ON long_running_operations (routing) WHERE status = 'running';
CREATE INDEX lro_expiry_idx ON long_running_operations (expires_at)
  WHERE status = 'queued' AND expires_at IS NOT NULL;
-- Lists: by scope, newest first, stable cursor on (created_at, op_id).
CREATE INDEX lro_scope_list_idx ON long_running_operations (scope_type, scope_id, created_at DESC, op_id DESC);
CREATE INDEX lro_list_idx ON long_running_operations (created_at DESC, op_id DESC);

-- Notifications, one per statement (NOTIFY takes a global lock at commit, so never one per row):
--   lro_queued  payload: a routing that has new claimable work
--   lro_done    payload: comma-separated op ids that reached a terminal status (chunks of 200)
--   lro_cancel  payload: comma-separated ids of running ops whose cancel was just requested
CREATE FUNCTION lro_notify_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('lro_queued', r.routing)
    FROM (SELECT DISTINCT routing FROM new_rows WHERE status = 'queued') r;
  RETURN NULL;
END $$;

CREATE FUNCTION lro_notify_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('lro_queued', r.routing)
    FROM (SELECT DISTINCT n.routing FROM new_rows n JOIN old_rows o USING (op_id)
          WHERE n.status = 'queued' AND o.status <> 'queued') r;
  PERFORM pg_notify('lro_done', string_agg(d.op_id::text, ','))
    FROM (SELECT n.op_id, (row_number() OVER ()) / 200 AS chunk
            FROM new_rows n JOIN old_rows o USING (op_id)
           WHERE n.status IN ('succeeded', 'failed', 'canceled', 'expired') AND o.status <> n.status) d
    GROUP BY d.chunk;
  PERFORM pg_notify('lro_cancel', string_agg(n.op_id::text, ','))
    FROM new_rows n JOIN old_rows o USING (op_id)
   WHERE n.status = 'running' AND n.cancel_requested_at IS NOT NULL AND o.cancel_requested_at IS NULL
  HAVING count(*) > 0;
  RETURN NULL;
END $$;

CREATE TRIGGER lro_after_insert AFTER INSERT ON long_running_operations
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION lro_notify_insert();
CREATE TRIGGER lro_after_update AFTER UPDATE ON long_running_operations
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION lro_notify_update();
