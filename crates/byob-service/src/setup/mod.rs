//! Setup artifacts: everything an admin applies on their cloud account for one integration — least-privilege
//! policies, trust policy, CORS, lifecycle, KMS statement, IP allowlist, custom role, IAM bindings, Snowflake and
//! Databricks SQL — as JSON, as a Terraform module and as provider CLI commands. Built from typed structures
//! (serde_json, hcl-rs, shlex): no user string is ever pasted into text.

mod azure;
mod gcs;
mod model;
mod s3;
mod shell;
mod spec;
mod sql;
mod terraform;

use byob_core::{IntegrationId, OrgId, integration::Integration, location::Provider};
use hcl::Body;
use serde_json::{Value, json};

pub use model::{Artifact, ArtifactName, ByobIdentity, CommandLine, SetupDocument};

use crate::{Access, Auditor, Deps, RequestContext, ServiceError, tenancy::visible_org};
use spec::Spec;

/// One provider's artifacts. Adding a provider adds an implementation, not match arms elsewhere.
trait ProviderSetup {
    /// The artifacts and the notes that go with them.
    fn artifacts(&self, spec: &Spec<'_>, byob: &ByobIdentity) -> (Vec<Artifact>, Vec<String>);
    fn terraform(&self, spec: &Spec<'_>, artifacts: &[Artifact]) -> Body;
    fn commands(&self, spec: &Spec<'_>, artifacts: &[Artifact]) -> Vec<CommandLine>;
    /// The location as a warehouse stage URL and Snowflake's provider name, where warehouses can reach it.
    fn stage_url(&self, spec: &Spec<'_>) -> Option<(String, &'static str)>;
}

/// The local provider: nothing to set up.
struct LocalSetup;

impl ProviderSetup for LocalSetup {
    fn artifacts(&self, _: &Spec<'_>, _: &ByobIdentity) -> (Vec<Artifact>, Vec<String>) {
        (Vec::new(), vec!["A local directory needs no setup.".into()])
    }
    fn terraform(&self, _: &Spec<'_>, _: &[Artifact]) -> Body {
        Body::default()
    }
    fn commands(&self, _: &Spec<'_>, _: &[Artifact]) -> Vec<CommandLine> {
        Vec::new()
    }
    fn stage_url(&self, _: &Spec<'_>) -> Option<(String, &'static str)> {
        None
    }
}

fn provider_setup(provider: Provider) -> &'static dyn ProviderSetup {
    match provider {
        Provider::S3 => &s3::S3Setup,
        Provider::Gcs => &gcs::GcsSetup,
        Provider::Azure => &azure::AzureSetup,
        Provider::Local => &LocalSetup,
    }
}

/// The setup document of an integration.
#[must_use]
pub fn document(integration: &Integration, byob: &ByobIdentity) -> SetupDocument {
    let spec = Spec { integration };
    let setup = provider_setup(integration.provider);
    let (mut artifacts, notes) = setup.artifacts(&spec, byob);
    if let Some((url, snowflake_provider)) = setup.stage_url(&spec)
        && integration.endpoint.is_none()
    {
        artifacts.push(sql::snowflake(&spec, &url, snowflake_provider));
        artifacts.push(sql::databricks(&spec, &url));
    }
    let commands = setup.commands(&spec, &artifacts);
    SetupDocument {
        integration: integration.id.to_string(),
        provider: integration.provider,
        byob_identity: byob.clone(),
        artifacts,
        commands,
        notes,
    }
}

/// The inline session policy for an assume-role session: the same least-privilege policy the artifacts emit.
#[must_use]
pub fn session_policy(integration: &Integration) -> Option<String> {
    let assumes_role = matches!(integration.credentials, byob_core::integration::Credentials::S3AssumeRole { .. });
    (integration.provider == Provider::S3 && (integration.endpoint.is_none() || assumes_role))
        .then(|| s3::iam_policy(&Spec { integration }).to_string())
}

/// The least-privilege S3 policy for an integration, whether or not its setup emits it: for an S3-compatible
/// store with static keys, verification shows its statements for the store's own policy (same grammar).
#[must_use]
pub fn s3_policy(integration: &Integration) -> Value {
    s3::iam_policy(&Spec { integration })
}

/// byob's identity as this org's setup names it: the org's own Google service account for impersonation, the
/// org's own Entra ID application for the broker mode (left unset while the operator has provisioned none).
///
/// # Errors
/// Catalog errors.
pub(crate) async fn identity_for(deps: &Deps, integration: &Integration) -> Result<ByobIdentity, ServiceError> {
    let org = integration.org_id;
    let mut byob = deps.integrations.identity.clone();
    if matches!(integration.credentials, byob_core::integration::Credentials::GcsImpersonation { .. }) {
        let policy = &deps.integrations;
        byob.gcp_service_account = match crate::identities::org_identity(
            deps,
            org,
            crate::identities::GCP_ORG_IDENTITY,
            &policy.gcp_org_accounts,
            "integrations.gcp_org_service_accounts",
        )
        .await
        {
            Ok(identity) => Some(identity),
            Err(ServiceError::Refused { .. }) => None,
            Err(other) => return Err(other),
        };
    }
    if matches!(integration.credentials, byob_core::integration::Credentials::AzureBroker { .. }) {
        byob.azure_broker_app = match crate::identities::azure_broker_app(deps, org).await {
            Ok(app) => Some(app.client_id),
            Err(ServiceError::Refused { .. }) => None,
            Err(other) => return Err(other),
        };
    }
    Ok(byob)
}

/// The Terraform module (`main.tf`) for an integration.
#[must_use]
pub fn terraform_module(integration: &Integration, byob: &ByobIdentity) -> String {
    let doc = document(integration, byob);
    let body = provider_setup(integration.provider).terraform(&Spec { integration }, &doc.artifacts);
    format!(
        "# byob setup for integration {} ({}). Review before applying; placeholders are in <angle brackets>.\n{}",
        integration.id,
        integration.provider.as_str(),
        terraform::render(&body)
    )
}

/// The provider CLI commands as a shell script.
#[must_use]
pub fn cli_script(integration: &Integration, byob: &ByobIdentity) -> String {
    shell::render(&document(integration, byob))
}

/// Output formats of the setup endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetupFormat {
    Json,
    Terraform,
    Cli,
}

/// A rendered setup: the JSON document, or text (Terraform, shell).
#[derive(Debug, Clone)]
pub enum RenderedSetup {
    Json(Box<SetupDocument>),
    Text(String),
}

#[derive(Debug, Clone)]
pub struct SetupService {
    deps: Deps,
    auditor: Auditor,
}

impl SetupService {
    #[must_use]
    pub fn new(deps: Deps, auditor: Auditor) -> Self {
        Self { deps, auditor }
    }

    /// # Errors
    /// Not found; forbidden unless admin; catalog errors.
    pub async fn render(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: IntegrationId,
        format: SetupFormat,
    ) -> Result<RenderedSetup, ServiceError> {
        visible_org(&self.deps, ctx, org).await?;
        ctx.principal.require(Access::Admin)?;
        let integration = self
            .deps
            .catalog
            .get_integration(org, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::INTEGRATION_NOT_FOUND, id))?;
        // A customer's Google account trusts this org's own byob identity, never byob's platform identity.
        let byob = &identity_for(&self.deps, &integration).await?;
        let rendered = match format {
            SetupFormat::Json => RenderedSetup::Json(Box::new(document(&integration, byob))),
            SetupFormat::Terraform => RenderedSetup::Text(terraform_module(&integration, byob)),
            SetupFormat::Cli => RenderedSetup::Text(cli_script(&integration, byob)),
        };
        self.auditor
            .record(
                ctx,
                org,
                byob_core::actions::INTEGRATION_SETUP_READ,
                Some(id.to_string()),
                byob_core::AuditOutcome::Success,
                json!({}),
            )
            .await?;
        Ok(rendered)
    }
}
