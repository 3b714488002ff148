-- Storage integrations. Credentials keep identities inline (JSON); secret values live in `secrets`, owned by the
-- integration (`secrets.owner`), so they are encrypted and rotated like every other secret but never listed in
-- the org's secrets API.
CREATE TABLE integrations (
    id                 TEXT PRIMARY KEY,
    org_id             TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    provider           TEXT NOT NULL,
    bucket             TEXT NOT NULL,
    prefix             TEXT NOT NULL,
    region             TEXT,
    endpoint           TEXT,
    path_style         BIGINT NOT NULL,
    credentials        TEXT NOT NULL,
    kms_key            TEXT,
    allowed_origins    TEXT NOT NULL,
    staging_ttl_hours  BIGINT NOT NULL,
    features           TEXT NOT NULL,
    state              TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    UNIQUE (org_id, name)
);
CREATE INDEX integrations_by_org ON integrations (org_id, id);

ALTER TABLE secrets ADD COLUMN owner TEXT;
