-- Connections to data platforms, uploads staged in buckets, and the durable job queue.
CREATE TABLE connections (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    platform    TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE uploads (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    filename        TEXT NOT NULL,
    size            BIGINT NOT NULL,
    content_type    TEXT NOT NULL,
    purpose         TEXT NOT NULL,
    integration_id  TEXT,
    object_key      TEXT NOT NULL,
    transfer        TEXT NOT NULL,
    session         TEXT,
    token_hash      TEXT,
    state           TEXT NOT NULL,
    staged          TEXT NOT NULL,
    expires_at      BIGINT NOT NULL,
    rejected_key    TEXT,
    load_job        TEXT,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    completed_at    BIGINT
);
CREATE INDEX uploads_by_org ON uploads (org_id, id);
CREATE INDEX uploads_staged ON uploads (staged, expires_at);
CREATE INDEX uploads_pending ON uploads (state, created_at);

CREATE TABLE jobs (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    kind              TEXT NOT NULL,
    state             TEXT NOT NULL,
    spec              TEXT NOT NULL,
    progress          TEXT NOT NULL,
    result            TEXT,
    error             TEXT,
    attempts          BIGINT NOT NULL,
    max_attempts      BIGINT NOT NULL,
    cancel_requested  BIGINT NOT NULL,
    lease_owner       TEXT,
    lease_until       BIGINT,
    run_after         BIGINT NOT NULL,
    created_by        TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    started_at        BIGINT,
    finished_at       BIGINT
);
CREATE INDEX jobs_by_org ON jobs (org_id, id);
CREATE INDEX jobs_claimable ON jobs (state, run_after);
