-- Backup regions (one restic repository each). Seeded with a local default; operators add theirs.
CREATE TABLE backup_regions (
  region     text PRIMARY KEY CHECK (length(region) BETWEEN 1 AND 100),
  name       text NOT NULL,
  lat        double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
  lon        double precision NOT NULL CHECK (lon BETWEEN -180 AND 180),
  repository text NOT NULL
);

INSERT INTO backup_regions (region, name, lat, lon, repository) VALUES
  ('local', 'This machine', 0, 0, 'file:.data/buckets/local'),
  ('us-west', 'US West (Oregon)', 45.5, -122.7, 'file:.data/buckets/us-west'),
  ('us-east', 'US East (Virginia)', 38.9, -77.0, 'file:.data/buckets/us-east'),
  ('eu-central', 'EU Central (Frankfurt)', 50.1, 8.7, 'file:.data/buckets/eu-central'),
  ('ap-southeast', 'Asia Pacific (Singapore)', 1.35, 103.8, 'file:.data/buckets/ap-southeast');

-- Snapshots taken of projects (restic snapshot ids), written by the backup kind when it succeeds.
CREATE TABLE project_backups (
  project_id  uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
  snapshot_id text NOT NULL CHECK (length(snapshot_id) BETWEEN 1 AND 100),
  region      text NOT NULL REFERENCES backup_regions (region),
  tags        text[] NOT NULL DEFAULT '{}',
  bytes       bigint,
  created_at  timestamptz NOT NULL DEFAULT now(),
  op_id       uuid REFERENCES long_running_operations (op_id) ON DELETE SET NULL,
  PRIMARY KEY (project_id, snapshot_id)
);
