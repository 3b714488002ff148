-- How byob reaches a connection's platform (public, private link, SSH tunnel, proxy), its latest verification
-- report, and when the health monitor checks it next (a new connection: at once).
ALTER TABLE connections ADD COLUMN network TEXT NOT NULL DEFAULT '{"mode":"public"}';
ALTER TABLE connections ADD COLUMN report TEXT;
ALTER TABLE connections ADD COLUMN next_check_at BIGINT;
CREATE INDEX connections_next_check ON connections (next_check_at);
