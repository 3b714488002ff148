-- Migrations of an org's files between stores, and each object's progress (so a restarted migration copies no
-- verified object again).
CREATE TABLE migrations (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    state       TEXT NOT NULL,
    record      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX migrations_by_org ON migrations (org_id, state, created_at);

CREATE TABLE migration_objects (
    migration_id  TEXT NOT NULL REFERENCES migrations (id) ON DELETE CASCADE,
    object_key    TEXT NOT NULL,
    size          BIGINT NOT NULL,
    -- pending, verified (copied or already there), deleted (from the source, after the switch)
    state         TEXT NOT NULL,
    sha256        TEXT,
    copied        BIGINT NOT NULL,
    PRIMARY KEY (migration_id, object_key)
);
CREATE INDEX migration_objects_by_state ON migration_objects (migration_id, state, object_key);
