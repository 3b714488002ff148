//! Org secrets (access keys, SAS tokens, service-account keys, passwords): encrypted at rest, write-only over
//! the API, and re-encryptable under a new master key while servers run.

use byob_core::{OrgId, SecretId, SecretMeta, Sensitive};
use byob_ports::catalog::{Page, StoredCiphertext};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::{Access, Auditor, Deps, RequestContext, ServiceError, tenancy::visible_org, validate};

/// Largest secret value accepted (a GCS service-account key is about 2.5 KiB).
const MAX_VALUE_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSecret {
    /// Unique in the org: 1-64 of letters, digits, `.`, `_`, `-`.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    pub name: String,
    /// The secret itself. Write-only: no response ever contains it.
    #[schema(value_type = String, min_length = 1, max_length = 65536)]
    pub value: Sensitive<String>,
    #[schema(
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        max_length = 200
    )]
    pub description: Option<String>,
    /// When the credential stops working, if it does (drives expiry warnings).
    pub expires_at: Option<DateTime<Utc>>,
}

/// Fields left out stay as they are; `value` replaces the secret.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSecret {
    #[schema(value_type = Option<String>, min_length = 1, max_length = 65536)]
    pub value: Option<Sensitive<String>>,
    #[schema(
        pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$",
        max_length = 200
    )]
    pub description: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// What a re-encryption pass did.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct RewrapReport {
    pub primary_key_id: String,
    pub rewrapped: u64,
    /// Changed by someone else while being re-encrypted; picked up again by the next batch if still old.
    pub skipped_concurrent: u64,
    /// Secrets per key id after the pass.
    pub remaining_by_key: Vec<(String, i64)>,
}

/// Opens a stored secret to its text.
pub(crate) fn open_text(
    deps: &Deps,
    org: OrgId,
    id: SecretId,
    stored: &StoredCiphertext,
) -> Result<Sensitive<String>, ServiceError> {
    let plain = deps.secret_box.open(stored, &secret_context(org, id))?;
    String::from_utf8(plain.into_inner())
        .map(Sensitive::new)
        .map_err(|_| ServiceError::invalid("value", "stored secret is not UTF-8"))
}

/// Opens a secret that a record owns (a credential, a password) for use on the org's behalf, audited as
/// `secret.use`.
pub(crate) async fn reveal_owned(
    deps: &Deps,
    auditor: &crate::Auditor,
    ctx: &crate::RequestContext,
    org: OrgId,
    id: SecretId,
) -> Result<Sensitive<String>, ServiceError> {
    let stored = deps
        .catalog
        .get_owned_secret(org, id)
        .await?
        .ok_or_else(|| ServiceError::not_found(byob_core::codes::SECRET_NOT_FOUND, id))?;
    let text = open_text(deps, org, id, &stored)?;
    auditor
        .record(
            ctx,
            org,
            byob_core::actions::SECRET_USE,
            Some(id.to_string()),
            byob_core::AuditOutcome::Success,
            serde_json::json!({}),
        )
        .await?;
    Ok(text)
}

/// Seals a secret a record owns, named `{owner}/{field}` (`/` never appears in names admins give, so these
/// never collide with theirs) and hidden from the secrets API.
pub(crate) fn seal_owned(
    deps: &Deps,
    org: OrgId,
    id: SecretId,
    name: String,
    description: String,
    value: &[u8],
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<byob_ports::catalog::OwnedSecret, ServiceError> {
    let now = deps.clock.now();
    let stored = deps.secret_box.seal(value, &secret_context(org, id))?;
    let meta = byob_core::SecretMeta {
        id,
        org_id: org,
        name,
        description: Some(description),
        key_id: stored.key_id.clone(),
        created_at: now,
        updated_at: now,
        expires_at,
    };
    Ok(byob_ports::catalog::OwnedSecret { meta, stored })
}

/// Binds a ciphertext to its record.
pub(crate) fn secret_context(org: OrgId, id: SecretId) -> String {
    format!("{org}/{id}")
}

fn check_value(value: &Sensitive<String>) -> Result<(), ServiceError> {
    let len = value.expose().len();
    if len == 0 {
        return Err(ServiceError::invalid("value", "must not be empty"));
    }
    if len > MAX_VALUE_BYTES {
        return Err(ServiceError::invalid("value", format!("must be at most {MAX_VALUE_BYTES} bytes")));
    }
    Ok(())
}

fn check_description(description: Option<&str>) -> Result<Option<String>, ServiceError> {
    description.map(|d| validate::display_name("description", d)).transpose()
}

#[derive(Debug, Clone)]
pub struct SecretService {
    deps: Deps,
    auditor: Auditor,
}

impl SecretService {
    #[must_use]
    pub fn new(deps: Deps, auditor: Auditor) -> Self {
        Self { deps, auditor }
    }

    fn seal(&self, org: OrgId, id: SecretId, value: &Sensitive<String>) -> Result<StoredCiphertext, ServiceError> {
        Ok(self.deps.secret_box.seal(value.expose().as_bytes(), &secret_context(org, id))?)
    }

    /// # Errors
    /// Not found; forbidden unless admin; invalid fields; a name already taken; catalog errors.
    pub async fn create(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        req: CreateSecret,
    ) -> Result<SecretMeta, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        let id = SecretId::generate();
        self.auditor
            .audited(
                ctx,
                org,
                byob_core::actions::SECRET_CREATE,
                Some(id.to_string()),
                json!({ "name": req.name }),
                async {
                    ctx.principal.require(Access::Admin)?;
                    let now = self.deps.clock.now();
                    check_value(&req.value)?;
                    let stored = self.seal(org, id, &req.value)?;
                    let meta = SecretMeta {
                        id,
                        org_id: org,
                        name: validate::machine_name("name", &req.name)?,
                        description: check_description(req.description.as_deref())?,
                        key_id: stored.key_id.clone(),
                        created_at: now,
                        updated_at: now,
                        expires_at: req.expires_at,
                    };
                    self.deps.catalog.insert_secret(&meta, &stored).await.map_err(|e| match e {
                        byob_ports::catalog::CatalogError::Conflict(_) => {
                            ServiceError::Conflict(format!("a secret named `{}` already exists in this org", meta.name))
                        }
                        other => other.into(),
                    })?;
                    Ok(meta)
                },
            )
            .await
    }

    /// # Errors
    /// Not found; forbidden unless admin; catalog errors.
    pub async fn list(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        page: Page<SecretId>,
    ) -> Result<Vec<SecretMeta>, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        ctx.principal.require(Access::Admin)?;
        Ok(self.deps.catalog.list_secrets(org, page).await?)
    }

    /// # Errors
    /// Not found; forbidden unless admin; catalog errors.
    pub async fn get(&self, ctx: &RequestContext, org: OrgId, id: SecretId) -> Result<SecretMeta, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        ctx.principal.require(Access::Admin)?;
        let (meta, _) = self
            .deps
            .catalog
            .get_secret(org, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::SECRET_NOT_FOUND, id))?;
        Ok(meta)
    }

    /// # Errors
    /// Not found; forbidden unless admin; invalid fields; catalog errors.
    pub async fn update(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: SecretId,
        req: UpdateSecret,
    ) -> Result<SecretMeta, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        let detail = json!({ "value_replaced": req.value.is_some() });
        self.auditor
            .audited(ctx, org, byob_core::actions::SECRET_UPDATE, Some(id.to_string()), detail, async {
                ctx.principal.require(Access::Admin)?;
                let (mut meta, _) = self
                    .deps
                    .catalog
                    .get_secret(org, id)
                    .await?
                    .ok_or_else(|| ServiceError::not_found(byob_core::codes::SECRET_NOT_FOUND, id))?;
                let stored = match &req.value {
                    Some(value) => {
                        check_value(value)?;
                        Some(self.seal(org, id, value)?)
                    }
                    None => None,
                };
                if req.description.is_some() {
                    meta.description = check_description(req.description.as_deref())?;
                }
                if req.expires_at.is_some() {
                    meta.expires_at = req.expires_at;
                }
                if let Some(stored) = &stored {
                    meta.key_id.clone_from(&stored.key_id);
                }
                meta.updated_at = self.deps.clock.now();
                self.deps.catalog.update_secret(&meta, stored.as_ref()).await?;
                Ok(meta)
            })
            .await
    }

    /// # Errors
    /// Not found; forbidden unless admin; catalog errors.
    pub async fn delete(&self, ctx: &RequestContext, org: OrgId, id: SecretId) -> Result<(), ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        self.auditor
            .audited(ctx, org, byob_core::actions::SECRET_DELETE, Some(id.to_string()), json!({}), async {
                ctx.principal.require(Access::Admin)?;
                if self.deps.catalog.delete_secret(org, id).await? {
                    Ok(())
                } else {
                    Err(ServiceError::not_found(byob_core::codes::SECRET_NOT_FOUND, id))
                }
            })
            .await
    }

    /// The plaintext, for byob's own use when it talks to a provider. Never exposed over the API; every call is
    /// audited as `secret.use`.
    ///
    /// # Errors
    /// Not found; the ciphertext does not open; catalog errors.
    pub async fn reveal(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: SecretId,
    ) -> Result<Sensitive<String>, ServiceError> {
        self.auditor
            .audited(ctx, org, byob_core::actions::SECRET_USE, Some(id.to_string()), json!({}), async {
                let (_, stored) = self
                    .deps
                    .catalog
                    .get_secret(org, id)
                    .await?
                    .ok_or_else(|| ServiceError::not_found(byob_core::codes::SECRET_NOT_FOUND, id))?;
                open_text(&self.deps, org, id, &stored)
            })
            .await
    }

    /// Re-encrypts every secret not yet under the primary master key, in batches. Safe to run while servers
    /// write: each row is swapped only if unchanged since it was read.
    ///
    /// # Errors
    /// A ciphertext that does not open (an unknown or tampered key), or catalog errors.
    pub async fn rewrap_all(&self, batch: u32) -> Result<RewrapReport, ServiceError> {
        let primary = self.deps.secret_box.primary_key_id();
        let mut report = RewrapReport { primary_key_id: primary.clone(), ..RewrapReport::default() };
        loop {
            let todo = self.deps.catalog.secrets_not_under_key(&primary, batch).await?;
            if todo.is_empty() {
                break;
            }
            for row in todo {
                let ctx = secret_context(row.org_id, row.id);
                let plain = self.deps.secret_box.open(&row.stored, &ctx)?;
                let sealed = self.deps.secret_box.seal(plain.expose(), &ctx)?;
                if self.deps.catalog.swap_ciphertext(row.id, &row.stored, &sealed).await? {
                    report.rewrapped += 1;
                } else {
                    report.skipped_concurrent += 1;
                }
                self.auditor
                    .record(
                        &RequestContext::system(),
                        row.org_id,
                        byob_core::actions::SECRET_REWRAP,
                        Some(row.id.to_string()),
                        byob_core::AuditOutcome::Success,
                        json!({ "from_key": row.stored.key_id, "to_key": sealed.key_id }),
                    )
                    .await?;
            }
        }
        report.remaining_by_key = self.deps.catalog.count_secrets_by_key().await?;
        Ok(report)
    }
}
