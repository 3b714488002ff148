-- An entry that must exist at most once (a job's end, announced again by a process that takes the job over after a
-- crash) carries its key; the unique index makes the second insert do nothing. Other entries leave it NULL, and
-- NULLs never collide.
ALTER TABLE audit_log ADD COLUMN once_key TEXT;
CREATE UNIQUE INDEX audit_log_once ON audit_log (org_id, once_key);
