-- Verification history, the health monitor's schedule, events, webhook endpoints and their delivery log.
CREATE TABLE verifications (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    integration_id  TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    started_at      BIGINT NOT NULL,
    report          TEXT NOT NULL
);
CREATE INDEX verifications_by_integration ON verifications (integration_id, id);

-- When the monitor checks an integration next, and the last credential-expiry notice it sent.
CREATE TABLE health_schedule (
    integration_id  TEXT PRIMARY KEY REFERENCES integrations (id) ON DELETE CASCADE,
    org_id          TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    next_check_at   BIGINT NOT NULL,
    expiry_notice   TEXT
);

CREATE TABLE events (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    event_type   TEXT NOT NULL,
    occurred_at  BIGINT NOT NULL,
    payload      TEXT NOT NULL
);
CREATE INDEX events_by_org ON events (org_id, id);

CREATE TABLE webhooks (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    url          TEXT NOT NULL,
    event_types  TEXT NOT NULL,
    secret_id    TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX webhooks_by_org ON webhooks (org_id, id);

CREATE TABLE webhook_deliveries (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    webhook_id        TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id          TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    status            TEXT NOT NULL,
    attempts          BIGINT NOT NULL,
    next_attempt_at   BIGINT,
    last_status_code  BIGINT,
    last_error        TEXT,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
