-- Copies of files between projects (project-copy): one row per source path and destination, applied
-- by the destination's host when it is online (at once, on host start, before project start).
-- Cross-host copies restore from one snapshot tagged purpose=copy, forgotten once every row using
-- it has ended; a row still pending at expires_at (7 days) expires. A newer copy of the same source
-- path to the same destination path supersedes an older pending one.
CREATE TABLE project_copies (
  copy_id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  op_id           uuid NOT NULL,
  src_project_id  uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
  src_path        text NOT NULL,
  dest_project_id uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
  dest_path       text NOT NULL,
  region          text NOT NULL,
  snapshot_id     text NOT NULL,
  options         jsonb NOT NULL DEFAULT '{}',
  status          text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'done', 'failed', 'canceled', 'expired', 'superseded')),
  last_error      text,
  attempts        int NOT NULL DEFAULT 0,
  last_attempt_at timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  expires_at      timestamptz NOT NULL DEFAULT now() + interval '7 days',
  finished_at     timestamptz,
  -- When its snapshot was forgotten (no pending copy needed it any more).
  snapshot_forgotten_at timestamptz
);
CREATE UNIQUE INDEX project_copies_pending_key ON project_copies (src_project_id, src_path, dest_project_id, dest_path)
  WHERE status = 'pending';
CREATE INDEX project_copies_dest_pending ON project_copies (dest_project_id) WHERE status = 'pending';
CREATE INDEX project_copies_snapshot ON project_copies (snapshot_id);
CREATE INDEX project_copies_src ON project_copies (src_project_id);
