-- Assets: each version of an org's project files (its content is in the bucket under its SHA-256), the org's
-- signing keys for the manifests byob writes beside them, its store settings, and writes still streaming.
CREATE TABLE asset_versions (
    org_id            TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    version           BIGINT NOT NULL,
    sha256            TEXT,
    size              BIGINT NOT NULL,
    deleted           BIGINT NOT NULL,
    author            TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    previous          BIGINT,
    restored_from     BIGINT,
    integration_id    TEXT,
    manifest_sha256   TEXT NOT NULL,
    manifest_written  BIGINT NOT NULL,
    purged_at         BIGINT,
    PRIMARY KEY (org_id, name, version)
);
CREATE INDEX asset_versions_by_content ON asset_versions (org_id, sha256);
CREATE INDEX asset_versions_unwritten ON asset_versions (manifest_written, created_at);

CREATE TABLE asset_stores (
    org_id          TEXT PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    retention_days  BIGINT NOT NULL,
    verified_at     BIGINT,
    last_report     TEXT,
    updated_by      TEXT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE asset_keys (
    org_id          TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    key_id          TEXT NOT NULL,
    public_key      TEXT NOT NULL,
    -- Sealed PKCS#8; none for a key imported to check old manifests only.
    private_key     TEXT,
    -- The org id the key's manifests name (another one for a key imported by a rebuild).
    signed_for_org  TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (org_id, key_id)
);

CREATE TABLE asset_writes (
    org_id          TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    staging_key     TEXT NOT NULL,
    integration_id  TEXT,
    upload_id       TEXT,
    -- Set for a write through an upload plan: the upload, the asset and the SHA-256 declared.
    upload          TEXT,
    name            TEXT,
    sha256          TEXT,
    started_at      BIGINT NOT NULL,
    PRIMARY KEY (org_id, staging_key)
);
CREATE INDEX asset_writes_by_age ON asset_writes (started_at);
