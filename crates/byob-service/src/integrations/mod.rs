//! Storage integrations: an org's own buckets. Admins create and change them; members see where they are and
//! what they serve, not how byob gets in. Secret credential fields become secrets the integration owns.

mod check;
mod credentials;
mod input;

use byob_core::{
    IntegrationId, OrgId,
    integration::{Integration, IntegrationState, IntegrationSummary},
    location::{BucketName, HttpPolicy, Prefix},
};
use byob_ports::catalog::{CatalogError, OwnedSecret, Page};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

pub use input::{CreateIntegration, UpdateIntegration};

use crate::{
    IntegrationPolicy,
    providers::{self, CredentialContext, NewSecret, s3::aws},
};

use crate::{Access, Auditor, Deps, Principal, RequestContext, ServiceError, tenancy::visible_org, validate};

/// An integration as the caller may see it: everything for admins, a summary for members.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum IntegrationView {
    Full(Integration),
    Summary(IntegrationSummary),
}

fn view_for(principal: &Principal, integration: Integration) -> IntegrationView {
    if principal.require(Access::Admin).is_ok() {
        IntegrationView::Full(integration)
    } else {
        IntegrationView::Summary(IntegrationSummary::from(&integration))
    }
}

#[derive(Debug, Clone)]
pub struct IntegrationService {
    deps: Deps,
    auditor: Auditor,
    policy: IntegrationPolicy,
    /// byob's own AWS principal, to prove a new external id works before promoting it.
    sts: Option<byob_ports::storage::StsSettings>,
}

impl IntegrationService {
    #[must_use]
    pub fn new(
        deps: Deps,
        auditor: Auditor,
        policy: IntegrationPolicy,
        sts: Option<byob_ports::storage::StsSettings>,
    ) -> Self {
        Self { deps, auditor, policy, sts }
    }

    fn not_found(id: IntegrationId) -> ServiceError {
        ServiceError::not_found(byob_core::codes::INTEGRATION_NOT_FOUND, id)
    }

    /// Seals the new secret values for the integration.
    fn seal(
        &self,
        org: OrgId,
        integration: &Integration,
        secrets: Vec<NewSecret>,
    ) -> Result<Vec<OwnedSecret>, ServiceError> {
        secrets
            .into_iter()
            .map(|s| {
                crate::secrets::seal_owned(
                    &self.deps,
                    org,
                    s.id,
                    format!("{}/{}", integration.id, s.field),
                    format!("credential of integration {}", integration.name),
                    s.value.expose().as_bytes(),
                    s.expires_at,
                )
            })
            .collect()
    }

    /// For a mode that uses byob's own identity through a per-org one: the identities bound when it is saved.
    async fn bind_identities(&self, org: OrgId, integration: &Integration) -> Result<(), ServiceError> {
        providers::of(integration.provider).bind_identities(&self.deps, org, integration).await
    }

    /// Each feature is served by one integration per org.
    async fn check_routing(&self, org: OrgId, integration: &Integration) -> Result<(), ServiceError> {
        for other in crate::records::all_integrations(&self.deps, org).await?.iter().filter(|o| o.id != integration.id)
        {
            if let Some(feature) = integration.features.iter().find(|f| other.features.contains(f)) {
                return Err(ServiceError::Conflict(format!(
                    "feature `{}` is already served by integration `{}` ({}); remove it there first",
                    feature.as_str(),
                    other.name,
                    other.id
                )));
            }
        }
        Ok(())
    }

    fn conflict_on_name(name: &str) -> impl FnOnce(CatalogError) -> ServiceError + '_ {
        move |e| match e {
            // Another create took one of the features between the routing check and the insert.
            CatalogError::Conflict("feature") => ServiceError::Conflict(
                "one of the features is already served by another integration of this org; remove it there first"
                    .into(),
            ),
            CatalogError::Conflict(_) => {
                ServiceError::Conflict(format!("an integration named `{name}` already exists in this org"))
            }
            other => other.into(),
        }
    }

    /// # Errors
    /// Not found; forbidden unless admin; a field breaking a rule; a name or feature already taken.
    pub async fn create(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        req: CreateIntegration,
    ) -> Result<Integration, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        let id = IntegrationId::generate();
        let detail = json!({ "provider": req.provider, "bucket": req.bucket, "mode": req.credentials.mode() });
        self.auditor
            .audited(ctx, org, byob_core::actions::INTEGRATION_CREATE, Some(id.to_string()), detail, async {
                ctx.principal.require(Access::Admin)?;
                let now = self.deps.clock.now();
                let provider = req.provider;
                let endpoint = check::endpoint(req.endpoint.as_deref(), self.policy.http_endpoints)?;
                if let Some(endpoint) = &endpoint {
                    ServiceError::check_destination(&self.deps.network, endpoint.as_str()).await?;
                }
                let region = check::region(provider, endpoint.as_ref(), req.region.as_deref())?;
                let features = check::features(&req.features);
                let checked = credentials::check(
                    req.credentials,
                    &CredentialContext {
                        provider,
                        custom_endpoint: endpoint.is_some(),
                        region: region.as_ref(),
                        features: &features,
                        allow_local: self.policy.allow_local,
                        now,
                    },
                )?;
                let integration = Integration {
                    id,
                    org_id: org,
                    name: validate::display_name("name", &req.name)?,
                    provider,
                    bucket: BucketName::parse(providers::of(provider).bucket_naming(), "bucket", &req.bucket)?
                        .to_string(),
                    prefix: Prefix::parse("prefix", &req.prefix)?.to_string(),
                    kms_key: check::kms_key(provider, region.as_ref(), req.kms_key.as_deref())?,
                    region: region.map(|r| r.to_string()),
                    path_style: req.path_style.unwrap_or(endpoint.is_some()),
                    endpoint: endpoint.map(|e| e.to_string()),
                    credentials: checked.credentials,
                    allowed_origins: check::origins(&req.allowed_origins)?,
                    staging_ttl_hours: check::ttl(req.staging_ttl_hours)?,
                    features,
                    state: IntegrationState::Draft,
                    created_at: now,
                    updated_at: now,
                };
                self.check_routing(org, &integration).await?;
                self.bind_identities(org, &integration).await?;
                let owned = self.seal(org, &integration, checked.secrets)?;
                self.deps
                    .catalog
                    .insert_integration(&integration, &owned)
                    .await
                    .map_err(Self::conflict_on_name(&integration.name))?;
                Ok(integration)
            })
            .await
    }

    /// # Errors
    /// Not found; catalog errors.
    pub async fn list(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        page: Page<IntegrationId>,
    ) -> Result<Vec<IntegrationView>, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        ctx.principal.require(Access::Member)?;
        let items = self.deps.catalog.list_integrations(org, page).await?;
        Ok(items.into_iter().map(|i| view_for(&ctx.principal, i)).collect())
    }

    /// # Errors
    /// Not found; catalog errors.
    pub async fn get(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: IntegrationId,
    ) -> Result<IntegrationView, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        ctx.principal.require(Access::Member)?;
        let integration = self.deps.catalog.get_integration(org, id).await?.ok_or_else(|| Self::not_found(id))?;
        Ok(view_for(&ctx.principal, integration))
    }

    /// # Errors
    /// Not found; forbidden unless admin; a location change; a field breaking a rule; a name or feature taken.
    pub async fn update(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: IntegrationId,
        req: UpdateIntegration,
    ) -> Result<Integration, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        let changed: Vec<&str> = [
            ("name", req.name.is_some()),
            ("region", req.region.is_some()),
            ("path_style", req.path_style.is_some()),
            ("credentials", req.credentials.is_some()),
            ("kms_key", req.kms_key.is_some()),
            ("allowed_origins", req.allowed_origins.is_some()),
            ("staging_ttl_hours", req.staging_ttl_hours.is_some()),
            ("features", req.features.is_some()),
        ]
        .into_iter()
        .filter_map(|(f, set)| set.then_some(f))
        .collect();
        self.auditor
            .audited(
                ctx,
                org,
                byob_core::actions::INTEGRATION_UPDATE,
                Some(id.to_string()),
                json!({ "changed": changed }),
                async {
                    ctx.principal.require(Access::Admin)?;
                    for (field, value) in [
                        ("provider", &req.provider),
                        ("bucket", &req.bucket),
                        ("prefix", &req.prefix),
                        ("endpoint", &req.endpoint),
                    ] {
                        if value.is_some() {
                            return Err(check::rule(
                                field,
                                byob_core::rules::LOCATION_IMMUTABLE,
                                "provider and location cannot change after creation; create a new integration",
                            )
                            .into());
                        }
                    }
                    let mut i = self.deps.catalog.get_integration(org, id).await?.ok_or_else(|| Self::not_found(id))?;
                    let now = self.deps.clock.now();
                    let endpoint = i
                        .endpoint
                        .as_deref()
                        .map(|e| check::endpoint(Some(e), HttpPolicy::AllowHttp))
                        .transpose()?
                        .flatten();
                    if let Some(name) = &req.name {
                        i.name = validate::display_name("name", name)?;
                    }
                    if let Some(region) = &req.region {
                        i.region = check::region(i.provider, endpoint.as_ref(), Some(region))?.map(|r| r.to_string());
                        i.state = IntegrationState::Draft;
                    }
                    let region = i
                        .region
                        .as_deref()
                        .map(|r| {
                            let shape = providers::of(i.provider).region_shape(endpoint.is_some());
                            byob_core::location::Region::parse(shape, "region", r)
                        })
                        .transpose()?;
                    if let Some(path_style) = req.path_style {
                        i.path_style = path_style;
                    }
                    if let Some(features) = &req.features {
                        i.features = check::features(features);
                        // Checked like a create: the kept credentials must serve the new features.
                        if req.credentials.is_none() {
                            providers::of(i.provider).check_features(&i.credentials, &i.features, "features")?;
                        }
                    }
                    if req.kms_key.is_some() {
                        i.kms_key = check::kms_key(
                            i.provider,
                            region.as_ref(),
                            req.kms_key.as_deref().filter(|k| !k.is_empty()),
                        )?;
                    }
                    if let Some(origins) = &req.allowed_origins {
                        i.allowed_origins = check::origins(origins)?;
                    }
                    if req.staging_ttl_hours.is_some() {
                        i.staging_ttl_hours = check::ttl(req.staging_ttl_hours)?;
                    }
                    let (add, remove) = match req.credentials {
                        Some(input) => {
                            let checked = credentials::check(
                                input,
                                &CredentialContext {
                                    provider: i.provider,
                                    custom_endpoint: endpoint.is_some(),
                                    region: region.as_ref(),
                                    features: &i.features,
                                    allow_local: self.policy.allow_local,
                                    now,
                                },
                            )?;
                            let remove = i.credentials.secret_ids();
                            i.credentials = checked.credentials;
                            i.state = IntegrationState::Draft;
                            (self.seal(org, &i, checked.secrets)?, remove)
                        }
                        None => (Vec::new(), Vec::new()),
                    };
                    self.check_routing(org, &i).await?;
                    self.bind_identities(org, &i).await?;
                    i.updated_at = now;
                    if !self
                        .deps
                        .catalog
                        .update_integration(&i, &add, &remove)
                        .await
                        .map_err(Self::conflict_on_name(&i.name))?
                    {
                        return Err(Self::not_found(id));
                    }
                    Ok(i)
                },
            )
            .await
    }

    /// An admin's audited change to one integration: fetch it, apply `change`, stamp it, save it.
    async fn change(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: IntegrationId,
        action: &'static str,
        change: impl FnOnce(&mut Integration) -> Result<(), ServiceError>,
    ) -> Result<Integration, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        self.auditor
            .audited(ctx, org, action, Some(id.to_string()), json!({}), async {
                ctx.principal.require(Access::Admin)?;
                let mut i = self.deps.catalog.get_integration(org, id).await?.ok_or_else(|| Self::not_found(id))?;
                change(&mut i)?;
                self.save(&mut i).await?;
                Ok(i)
            })
            .await
    }

    async fn save(&self, i: &mut Integration) -> Result<(), ServiceError> {
        i.updated_at = self.deps.clock.now();
        self.deps.catalog.update_integration(i, &[], &[]).await?;
        Ok(())
    }

    /// Disabling stops byob from using the integration; enabling returns it to `draft` until verified again.
    ///
    /// # Errors
    /// Not found; forbidden unless admin; catalog errors.
    pub async fn set_enabled(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: IntegrationId,
        enabled: bool,
    ) -> Result<Integration, ServiceError> {
        let action =
            if enabled { byob_core::actions::INTEGRATION_ENABLE } else { byob_core::actions::INTEGRATION_DISABLE };
        self.change(ctx, org, id, action, |i| {
            i.state = if enabled { IntegrationState::Draft } else { IntegrationState::Disabled };
            Ok(())
        })
        .await
    }

    /// Issues a new external id. The current one stays in use, and the trust policy in the setup artifacts accepts
    /// both, until [`Self::promote_external_id`] has proved the new one works.
    ///
    /// # Errors
    /// Not found; forbidden unless admin; `not-assume-role` for other credential modes.
    pub async fn rotate_external_id(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: IntegrationId,
    ) -> Result<Integration, ServiceError> {
        let next = providers::new_external_id()?;
        self.change(ctx, org, id, byob_core::actions::INTEGRATION_EXTERNAL_ID_ROTATE, |i| {
            let ids = providers::s3::external_ids(&mut i.credentials).ok_or_else(not_assume_role)?;
            *ids.pending = Some(next);
            Ok(())
        })
        .await
    }

    /// Makes the pending external id the current one, after byob has assumed the role with it (so the customer's
    /// trust policy already accepts it).
    ///
    /// # Errors
    /// `no-pending-external-id`; `external-id-not-trusted` with STS's reason; `credential-mode-unavailable` when the
    /// operator has not configured byob's AWS credentials.
    pub async fn promote_external_id(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: IntegrationId,
    ) -> Result<Integration, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        self.auditor
            .audited(ctx, org, byob_core::actions::INTEGRATION_EXTERNAL_ID_PROMOTE, Some(id.to_string()), json!({}), async {
                ctx.principal.require(Access::Admin)?;
                let mut i = self.deps.catalog.get_integration(org, id).await?.ok_or_else(|| Self::not_found(id))?;
                let snapshot = i.clone();
                let ids = providers::s3::external_ids(&mut i.credentials).ok_or_else(not_assume_role)?;
                let Some(next) = ids.pending.clone() else {
                    return Err(ServiceError::Refused { code: byob_core::codes::NO_PENDING_EXTERNAL_ID, message: "rotate the external id first".into() });
                };
                let sts = self.sts.as_ref().ok_or_else(aws::aws_credentials_missing)?;
                let role = aws::assume_role(&snapshot, ids.role_arn, &next, std::time::Duration::from_secs(900));
                match byob_ports::storage::s3::check_assume_role(sts, role).await {
                    Ok(_) => {}
                    Err(byob_ports::storage::StorageError::RoleRefused { detail, .. }) => {
                        return Err(ServiceError::Refused {
                            code: byob_core::codes::EXTERNAL_ID_NOT_TRUSTED,
                            message: format!("the role does not accept the new external id yet; apply the trust policy from the setup artifacts first ({detail})"),
                        });
                    }
                    Err(other) => return Err(other.into()),
                }
                *ids.current = next;
                *ids.pending = None;
                self.save(&mut i).await?;
                Ok(i)
            })
            .await
    }

    /// Deletes the integration and its credential secrets. Objects in the bucket are the customer's and stay.
    ///
    /// # Errors
    /// Not found; forbidden unless admin; catalog errors.
    pub async fn delete(&self, ctx: &RequestContext, org: OrgId, id: IntegrationId) -> Result<(), ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        self.auditor
            .audited(ctx, org, byob_core::actions::INTEGRATION_DELETE, Some(id.to_string()), json!({}), async {
                ctx.principal.require(Access::Admin)?;
                if self.deps.catalog.delete_integration(org, id).await? { Ok(()) } else { Err(Self::not_found(id)) }
            })
            .await
    }
}

fn not_assume_role() -> ServiceError {
    ServiceError::Refused {
        code: byob_core::codes::NOT_ASSUME_ROLE,
        message: "only assume-role integrations have an external id".into(),
    }
}
