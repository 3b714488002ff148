//! What a setup document is made of.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// byob's own identities, configured by the operator and shown to admins so they can grant them access.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ByobIdentity {
    /// The AWS principal that assumes customers' roles.
    pub aws_principal_arn: Option<String>,
    /// The Google service account that impersonates customers' service accounts.
    pub gcp_service_account: Option<String>,
    /// The addresses byob connects from, for IP allowlists.
    pub egress_cidrs: Vec<String>,
    /// This org's own byob application (Entra ID client id), for the `azure_broker` mode.
    pub azure_broker_app: Option<String>,
}

/// The artifacts a setup can hold: stable names (docs/integrations.md lists each), which remediations point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArtifactName {
    IamPolicy,
    TrustPolicy,
    Cors,
    Lifecycle,
    PublicAccessBlock,
    Versioning,
    KmsKeyPolicyStatement,
    IpAllowlistCondition,
    IamBindings,
    CustomRole,
    AdminConsent,
    SnowflakeStage,
    DatabricksExternalLocation,
    PrivateEndpoint,
}

impl ArtifactName {
    pub const ALL: [Self; 14] = [
        Self::IamPolicy,
        Self::TrustPolicy,
        Self::Cors,
        Self::Lifecycle,
        Self::PublicAccessBlock,
        Self::Versioning,
        Self::KmsKeyPolicyStatement,
        Self::IpAllowlistCondition,
        Self::IamBindings,
        Self::CustomRole,
        Self::AdminConsent,
        Self::SnowflakeStage,
        Self::DatabricksExternalLocation,
        Self::PrivateEndpoint,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IamPolicy => "iam-policy",
            Self::TrustPolicy => "trust-policy",
            Self::Cors => "cors",
            Self::Lifecycle => "lifecycle",
            Self::PublicAccessBlock => "public-access-block",
            Self::Versioning => "versioning",
            Self::KmsKeyPolicyStatement => "kms-key-policy-statement",
            Self::IpAllowlistCondition => "ip-allowlist-condition",
            Self::IamBindings => "iam-bindings",
            Self::CustomRole => "custom-role",
            Self::AdminConsent => "admin-consent",
            Self::SnowflakeStage => "snowflake-stage",
            Self::DatabricksExternalLocation => "databricks-external-location",
            Self::PrivateEndpoint => "private-endpoint",
        }
    }
}

/// One artifact: a policy, a rule set, a statement, a script.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Artifact {
    /// Stable kebab-case name, e.g. `iam-policy`, `cors`, `lifecycle`.
    pub name: &'static str,
    pub title: String,
    /// `json`, `sql` or `text`.
    pub format: &'static str,
    /// Where and how to apply it.
    pub apply: String,
    /// JSON for `json` artifacts, a string otherwise.
    #[schema(value_type = Object)]
    pub content: Value,
}

impl Artifact {
    pub(crate) fn json(name: ArtifactName, title: &str, apply: &str, content: Value) -> Self {
        Self { name: name.as_str(), title: title.into(), format: "json", apply: apply.into(), content }
    }

    pub(crate) fn sql(name: ArtifactName, title: &str, apply: &str, content: String) -> Self {
        Self {
            name: name.as_str(),
            title: title.into(),
            format: "sql",
            apply: apply.into(),
            content: Value::String(content),
        }
    }

    pub(crate) fn text(name: ArtifactName, title: &str, apply: &str, content: String) -> Self {
        Self {
            name: name.as_str(),
            title: title.into(),
            format: "text",
            apply: apply.into(),
            content: Value::String(content),
        }
    }
}

/// A command line, as a program and its arguments (quoted only when rendered).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CommandLine {
    pub program: &'static str,
    pub args: Vec<String>,
    /// Artifacts the command reads, written next to it as `<name>.json`.
    pub reads: Vec<&'static str>,
}

impl CommandLine {
    pub(crate) fn new(program: &'static str, args: &[&str], reads: &[&'static str]) -> Self {
        Self { program, args: args.iter().map(ToString::to_string).collect(), reads: reads.to_vec() }
    }
}

/// Everything an admin applies on their side for one integration.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SetupDocument {
    pub integration: String,
    pub provider: byob_core::location::Provider,
    pub byob_identity: ByobIdentity,
    pub artifacts: Vec<Artifact>,
    /// The equivalent provider CLI commands, in order.
    pub commands: Vec<CommandLine>,
    /// What the admin must know or fill in (placeholders in `<angle brackets>`).
    pub notes: Vec<String>,
}

impl SetupDocument {
    #[must_use]
    pub fn artifact(&self, name: ArtifactName) -> Option<&Artifact> {
        self.artifacts.iter().find(|a| a.name == name.as_str())
    }
}
