-- The monitor finds what is due with one query for the whole fleet instead of reading every org: when the next,
-- more urgent, credential-expiry notice falls due, and the integration's `updated_at` the schedule was computed
-- from (a changed integration is looked at again at the next pass; 0 for rows written before this column).
ALTER TABLE health_schedule ADD COLUMN notice_at BIGINT;
ALTER TABLE health_schedule ADD COLUMN seen_version BIGINT NOT NULL DEFAULT 0;
CREATE INDEX health_schedule_next_check ON health_schedule (next_check_at);
CREATE INDEX health_schedule_notice ON health_schedule (notice_at);
