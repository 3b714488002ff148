-- Imports (definitions, with their schedule and the last object loaded) and their runs. A run's id is its job's;
-- its state lives on the job.
CREATE TABLE imports (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    definition   TEXT NOT NULL,
    schedule     TEXT,
    next_run_at  BIGINT,
    last_loaded  TEXT,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (org_id, name)
);
CREATE INDEX imports_due ON imports (next_run_at);

CREATE TABLE import_runs (
    id             TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    org_id         TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    import_id      TEXT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    run_trigger    TEXT NOT NULL,
    forced         BIGINT NOT NULL,
    outcome        TEXT,
    object_key     TEXT,
    etag           TEXT,
    row_count      BIGINT NOT NULL,
    list_requests  BIGINT,
    created_at     BIGINT NOT NULL
);
CREATE INDEX import_runs_by_import ON import_runs (import_id, id);
