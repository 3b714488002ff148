-- Identities bound to one org for good: the byob-side identity an org's customers trust (taken from the operator's
-- pool) and the customer accounts an org has named. Kept when the org is deleted, so no identity a customer
-- trusted for one org ever serves another.
CREATE TABLE org_identities (
    kind         TEXT NOT NULL,
    identity     TEXT NOT NULL,
    org_id       TEXT NOT NULL,
    assigned_at  BIGINT NOT NULL,
    PRIMARY KEY (kind, identity)
);
CREATE INDEX org_identities_by_org ON org_identities (kind, org_id);
