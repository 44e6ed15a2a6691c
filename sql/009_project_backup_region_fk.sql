-- A project's backup region is a row of backup_regions, for every row. sql/005 added the foreign key
-- NOT VALID (new and updated rows checked, older rows not); this validates it, so the old rows hold
-- too and the planner and readers may trust it. A database whose 005 predates that constraint gets
-- it here.
--
-- Existing rows must satisfy it. If any project names a region that backup_regions lacks, this
-- migration stops (and, being one transaction, changes nothing) with those regions listed: add them
-- to backup_regions (or clear those projects' backup_region) and migrate again. Nothing is guessed
-- or cleared silently.
DO $$
DECLARE
  missing text;
BEGIN
  SELECT string_agg(DISTINCT quote_literal(p.backup_region), ', ' ORDER BY quote_literal(p.backup_region)) INTO missing
    FROM projects p
   WHERE p.backup_region IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM backup_regions r WHERE r.region = p.backup_region);
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'projects name backup regions that backup_regions lacks: %', missing
      USING HINT = 'INSERT those regions into backup_regions, or UPDATE projects SET backup_region = NULL for them, then migrate again';
  END IF;
  -- NO ACTION on delete: a region a project still names cannot be deleted (a conflict at the boundary).
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'projects'::regclass AND conname = 'projects_backup_region_fkey') THEN
    ALTER TABLE projects ADD CONSTRAINT projects_backup_region_fkey FOREIGN KEY (backup_region) REFERENCES backup_regions (region);
  END IF;
END $$;

ALTER TABLE projects VALIDATE CONSTRAINT projects_backup_region_fkey;
