//! The setup document of an integration: everything an admin applies on their cloud account — least-privilege
//! policies, trust policy, CORS, lifecycle, KMS statement, IP allowlist, custom role, IAM bindings, Snowflake and
//! Databricks SQL — as JSON, as a Terraform module and as provider CLI commands. Each provider writes its own
//! artifacts (`providers/*/setup.rs`); this module assembles and renders them.

use byob_core::{IntegrationId, OrgId, integration::Integration};
use serde_json::json;

pub use crate::artifacts::{Artifact, ArtifactName, ByobIdentity, CommandLine, SetupDocument};

use crate::{
    Access, Auditor, Deps, RequestContext, ServiceError,
    artifacts::{Spec, shell, sql, terraform},
    providers,
    tenancy::visible_org,
};

/// The setup document of an integration.
#[must_use]
pub fn document(integration: &Integration, byob: &ByobIdentity) -> SetupDocument {
    let spec = Spec { integration };
    let setup = providers::of(integration.provider).setup();
    let (mut artifacts, notes) = setup.artifacts(&spec, byob);
    if let Some(stage) = setup.stage(&spec)
        && integration.endpoint.is_none()
    {
        artifacts.push(sql::snowflake(&spec, &stage));
        artifacts.push(sql::databricks(&spec, &stage.url));
    }
    artifacts.extend(crate::artifacts::private_endpoint::artifact(&spec));
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

/// byob's identity as this org's setup names it: the org's own Google service account for impersonation, the
/// org's own Entra ID application for the broker mode (left unset while the operator has provisioned none).
///
/// # Errors
/// Catalog errors.
pub(crate) async fn identity_for(deps: &Deps, integration: &Integration) -> Result<ByobIdentity, ServiceError> {
    providers::of(integration.provider).byob_identity(deps, integration, deps.integrations.identity.clone()).await
}

/// The Terraform module (`main.tf`) for an integration.
#[must_use]
pub fn terraform_module(integration: &Integration, byob: &ByobIdentity) -> String {
    let doc = document(integration, byob);
    let body = providers::of(integration.provider).setup().terraform(&Spec { integration }, &doc.artifacts);
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
