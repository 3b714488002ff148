-- Exports (definitions, with their schedule) and their runs. A run's id is its job's id; its state lives on
-- the job. `pending` lists multipart uploads started and not completed, so a failed or interrupted run's can be
-- aborted.
CREATE TABLE exports (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    definition   TEXT NOT NULL,
    schedule     TEXT,
    next_run_at  BIGINT,
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (org_id, name)
);
CREATE INDEX exports_due ON exports (next_run_at);

CREATE TABLE export_runs (
    id             TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    org_id         TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    export_id      TEXT NOT NULL REFERENCES exports (id) ON DELETE CASCADE,
    run_trigger    TEXT NOT NULL,
    scheduled_for  BIGINT,
    integration_id TEXT,
    files          TEXT NOT NULL,
    manifest_key   TEXT,
    row_count      BIGINT NOT NULL,
    byte_count     BIGINT NOT NULL,
    pending        TEXT NOT NULL,
    expires_at     BIGINT,
    acked_at       BIGINT,
    cleaned_at     BIGINT,
    created_at     BIGINT NOT NULL
);
CREATE INDEX export_runs_by_export ON export_runs (export_id, id);
CREATE INDEX export_runs_expiring ON export_runs (expires_at);
