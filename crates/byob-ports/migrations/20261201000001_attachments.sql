-- Attachments: files tied to a record's field, kept in the org's own bucket, and the admins' policies per field.
CREATE TABLE attachments (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    collection      TEXT NOT NULL,
    record          TEXT NOT NULL,
    field           TEXT NOT NULL,
    filename        TEXT NOT NULL,
    size            BIGINT NOT NULL,
    declared_type   TEXT NOT NULL,
    content_type    TEXT,
    state           TEXT NOT NULL,
    rejection       TEXT,
    integration_id  TEXT NOT NULL,
    object_key      TEXT NOT NULL,
    thumbnail_key   TEXT,
    scanned_by      TEXT,
    scan_job        TEXT,
    upload_id       TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    settled_at      BIGINT
);
CREATE INDEX attachments_by_slot ON attachments (org_id, collection, record, field, id);
CREATE INDEX attachments_by_upload ON attachments (org_id, upload_id);
CREATE INDEX attachments_by_state ON attachments (state, created_at);

CREATE TABLE attachment_policies (
    org_id      TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    collection  TEXT NOT NULL,
    field       TEXT NOT NULL,
    policy      TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, collection, field)
);
