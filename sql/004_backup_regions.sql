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
