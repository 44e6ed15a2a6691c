-- Progress streams for the `pg` adapter: one ring of events per (storage, stream), e.g.
-- ('persist.project-<id>', 'lro.<op_id>'). Seqs are contiguous per stream: an append continues the
-- highest stored seq, and the primary key turns a concurrent append into a retry (see
-- src/lro/sql/stream-events.ts). lro_streams holds only streams configured away from the defaults.
CREATE TABLE lro_streams (
  storage    text NOT NULL,
  stream     text NOT NULL,
  max_msgs   integer NOT NULL DEFAULT 2000 CHECK (max_msgs > 0),
  max_age_s  integer CHECK (max_age_s > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (storage, stream)
);

CREATE TABLE lro_stream_events (
  storage text NOT NULL,
  stream  text NOT NULL,
  seq     bigint NOT NULL,
  ts      timestamptz NOT NULL DEFAULT now(),
  event   jsonb NOT NULL,
  PRIMARY KEY (storage, stream, seq)
) WITH (
  -- a ring: every append beyond max_msgs deletes as much as it inserts, so vacuum must keep up
  autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.05,
  autovacuum_vacuum_cost_delay = 0
);

-- Retention of a finished op's stream: the maintainer drops it after the retention period and
-- records that here (whichever adapter holds the stream).
ALTER TABLE long_running_operations ADD COLUMN events_dropped_at timestamptz;
CREATE INDEX lro_events_retention_idx ON long_running_operations (finished_at)
  WHERE finished_at IS NOT NULL AND events_dropped_at IS NULL;
