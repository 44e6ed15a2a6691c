-- The domain the ops act on, and who may see them. Tokens are stored as SHA-256 hashes only.
CREATE TABLE accounts (
  account_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
  token_hash bytea PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_tokens_account_idx ON api_tokens (account_id);

CREATE TABLE hosts (
  host_id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  region           text NOT NULL CHECK (length(region) BETWEEN 1 AND 100),
  admin_account_id uuid REFERENCES accounts (account_id) ON DELETE SET NULL,
  status           text NOT NULL DEFAULT 'off' CHECK (status IN ('running', 'off', 'deprovisioned')),
  last_seen        timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX hosts_admin_idx ON hosts (admin_account_id);

CREATE TABLE projects (
  project_id    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  host_id       uuid REFERENCES hosts (host_id) ON DELETE SET NULL,
  backup_region text,
  last_edited   timestamptz,
  last_backup   timestamptz,
  created_by    uuid REFERENCES accounts (account_id) ON DELETE SET NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE project_collaborators (
  project_id uuid NOT NULL REFERENCES projects (project_id) ON DELETE CASCADE,
  account_id uuid NOT NULL REFERENCES accounts (account_id) ON DELETE CASCADE,
  added_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (project_id, account_id)
);
CREATE INDEX project_collaborators_account_idx ON project_collaborators (account_id);
