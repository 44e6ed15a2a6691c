-- Whether a project runs on its host: `project-start` sets running (after restoring a missing
-- project from its backup), `project-stop` sets stopped. The hub reads it for the project's page.
ALTER TABLE projects ADD COLUMN run_state text NOT NULL DEFAULT 'stopped' CHECK (run_state IN ('stopped', 'running'));
