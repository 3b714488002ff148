-- A load's commit token and rows, stored just before its platform commits: the attempt that takes the job over
-- after a crash asks the platform whether that commit happened (warehouse/commit.rs).
ALTER TABLE jobs ADD COLUMN commit_record TEXT;
