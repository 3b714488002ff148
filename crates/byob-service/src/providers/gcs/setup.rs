//! Google Cloud Storage: CORS, lifecycle and IAM bindings (with a prefix condition).

use byob_core::integration::{Credentials, Feature};
use hcl::{Block, Body};
use serde_json::{Value, json};

use crate::artifacts::{
    Artifact, ArtifactName, ByobIdentity, CommandLine, ProviderSetup, Spec, Stage,
    spec::{PROBES_DIR, UPLOADS_DIR},
    terraform::{expr, required_provider},
};

pub(crate) struct GcsSetup;

const PLACEHOLDER_BYOB_ACCOUNT: &str = "<this org's byob service account: ask the operator>";

/// The service account that will hold the bucket permissions.
fn grantee(spec: &Spec<'_>) -> String {
    match &spec.integration.credentials {
        Credentials::GcsServiceAccountKey { client_email, .. } => client_email.clone(),
        Credentials::GcsImpersonation { service_account } => service_account.clone(),
        _ => "<service account>".into(),
    }
}

/// The org's identity the customer's account must trust, as the IAM bindings name it (or a placeholder).
fn org_identity(artifacts: &[Artifact]) -> String {
    artifacts
        .iter()
        .find(|a| a.name == ArtifactName::IamBindings.as_str())
        .and_then(|a| a.content["bindings"][1]["members"][0].as_str())
        .and_then(|m| m.strip_prefix("serviceAccount:"))
        .unwrap_or(PLACEHOLDER_BYOB_ACCOUNT)
        .to_string()
}

/// A CEL condition limiting object permissions to the prefix (bucket-level calls such as list stay allowed).
fn prefix_condition(spec: &Spec<'_>) -> Value {
    let i = spec.integration;
    json!({
        "title": "byob prefix",
        "description": "Objects under the integration prefix only",
        "expression": format!(
            "resource.type == \"storage.googleapis.com/Bucket\" || resource.name.startsWith(\"projects/_/buckets/{}/objects/{}\")",
            i.bucket,
            spec.key_prefix()
        ),
    })
}

fn bindings(spec: &Spec<'_>, byob: &ByobIdentity) -> Value {
    let mut bindings = vec![json!({
        "role": if spec.writes() { "roles/storage.objectUser" } else { "roles/storage.objectViewer" },
        "members": [format!("serviceAccount:{}", grantee(spec))],
        "condition": prefix_condition(spec),
    })];
    if matches!(spec.integration.credentials, Credentials::GcsImpersonation { .. }) {
        let byob_account = byob.gcp_service_account.as_deref().unwrap_or(PLACEHOLDER_BYOB_ACCOUNT);
        bindings.push(json!({
            "resource": format!("projects/-/serviceAccounts/{}", grantee(spec)),
            "role": "roles/iam.serviceAccountTokenCreator",
            "members": [format!("serviceAccount:{byob_account}"), format!("serviceAccount:{}", grantee(spec))],
        }));
    }
    json!({ "bindings": bindings })
}

impl ProviderSetup for GcsSetup {
    fn artifacts(&self, spec: &Spec<'_>, byob: &ByobIdentity) -> (Vec<Artifact>, Vec<String>) {
        let i = spec.integration;
        let mut artifacts = vec![Artifact::json(
            ArtifactName::IamBindings,
            "IAM bindings",
            "Grant on the bucket (and, for impersonation, on the service account).",
            bindings(spec, byob),
        )];
        let mut notes = Vec::new();
        if matches!(i.credentials, Credentials::GcsImpersonation { .. }) {
            notes.push("The service account also gets Token Creator on itself: presigned URLs are signed by it through IAM signBlob.".into());
        }
        if matches!(i.credentials, Credentials::GcsImpersonation { .. }) {
            notes.push(
                "Grant Token Creator to this org's own byob service account only, never to byob's platform \
                 identity: verification checks that the platform identity is refused (`trust-byob-identity-refused`)."
                    .into(),
            );
            if byob.gcp_service_account.is_none() {
                notes.push(
                    "The operator has not provisioned per-org Google identities (`integrations.gcp_org_service_accounts`)."
                        .into(),
                );
            }
        }
        if !i.allowed_origins.is_empty() {
            artifacts.push(Artifact::json(
                ArtifactName::Cors,
                "Bucket CORS configuration",
                "Set with `gcloud storage buckets update --cors-file` (replaces the bucket's CORS).",
                json!([{
                    "origin": spec.origins(),
                    "method": ["GET", "PUT", "POST", "HEAD"],
                    "responseHeader": ["Content-Type", "ETag", "x-goog-resumable"],
                    "maxAgeSeconds": 3600
                }]),
            ));
        }
        artifacts.push(Artifact::json(
            ArtifactName::Lifecycle,
            "Lifecycle rules",
            "Set with `gcloud storage buckets update --lifecycle-file` (replaces the bucket's lifecycle).",
            json!({ "rule": [
                { "action": { "type": "Delete" }, "condition": { "age": spec.ttl_days(), "matchesPrefix": [spec.under(UPLOADS_DIR)] } },
                { "action": { "type": "Delete" }, "condition": { "age": 1, "matchesPrefix": [spec.under(PROBES_DIR)] } },
                { "action": { "type": "AbortIncompleteMultipartUpload" }, "condition": { "age": 1, "matchesPrefix": [spec.key_prefix()] } }
            ]}),
        ));
        artifacts.push(Artifact::json(
            ArtifactName::PublicAccessBlock,
            "Public access prevention",
            "Set with `gcloud storage buckets update --public-access-prevention`: nothing byob stores is meant to be public.",
            json!({ "iamConfiguration": { "publicAccessPrevention": "enforced" } }),
        ));
        if spec.has(Feature::Assets) {
            artifacts.push(Artifact::json(
                ArtifactName::Versioning,
                "Object versioning",
                "Set with `gcloud storage buckets update --versioning`: the asset store keeps every version of a project file.",
                json!({ "versioning": { "enabled": true } }),
            ));
        }
        notes.push("Terraform manages bucket CORS and lifecycle only through the google_storage_bucket resource itself; apply them with the gcloud commands.".into());
        (artifacts, notes)
    }

    fn terraform(&self, spec: &Spec<'_>, artifacts: &[Artifact]) -> Body {
        let i = spec.integration;
        let condition = prefix_condition(spec);
        let mut body = Body::builder().add_block(required_provider("google", "hashicorp/google")).add_block(
            Block::builder("resource")
                .add_labels(["google_storage_bucket_iam_member", "byob"])
                .add_attribute(("bucket", expr(json!(i.bucket))))
                .add_attribute((
                    "role",
                    expr(json!(if spec.writes() { "roles/storage.objectUser" } else { "roles/storage.objectViewer" })),
                ))
                .add_attribute(("member", expr(json!(format!("serviceAccount:{}", grantee(spec))))))
                .add_block(
                    Block::builder("condition")
                        .add_attribute(("title", expr(condition["title"].clone())))
                        .add_attribute(("description", expr(condition["description"].clone())))
                        .add_attribute(("expression", expr(condition["expression"].clone())))
                        .build(),
                )
                .build(),
        );
        if let Credentials::GcsImpersonation { service_account } = &i.credentials {
            // byob mints the account's tokens; the account signs presigned URLs for itself (signBlob).
            let byob_account = org_identity(artifacts);
            for (label, member) in [("byob", byob_account.as_str()), ("byob_self_signing", service_account.as_str())] {
                body = body.add_block(
                    Block::builder("resource")
                        .add_labels(["google_service_account_iam_member", label])
                        .add_attribute((
                            "service_account_id",
                            expr(json!(format!("projects/-/serviceAccounts/{service_account}"))),
                        ))
                        .add_attribute(("role", expr(json!("roles/iam.serviceAccountTokenCreator"))))
                        .add_attribute(("member", expr(json!(format!("serviceAccount:{member}")))))
                        .build(),
                );
            }
        }
        body.build()
    }

    fn commands(&self, spec: &Spec<'_>, artifacts: &[Artifact]) -> Vec<CommandLine> {
        let i = spec.integration;
        let url = format!("gs://{}", i.bucket);
        let condition = prefix_condition(spec);
        let condition_flag = format!(
            "--condition=expression={},title={}",
            condition["expression"].as_str().unwrap_or_default(),
            condition["title"].as_str().unwrap_or_default()
        );
        let role = if spec.writes() { "--role=roles/storage.objectUser" } else { "--role=roles/storage.objectViewer" };
        let member = format!("--member=serviceAccount:{}", grantee(spec));
        let mut commands = vec![CommandLine::new(
            "gcloud",
            &["storage", "buckets", "add-iam-policy-binding", &url, &member, role, &condition_flag],
            &[],
        )];
        if artifacts.iter().any(|a| a.name == ArtifactName::Cors.as_str()) {
            commands.push(CommandLine::new(
                "gcloud",
                &["storage", "buckets", "update", &url, "--cors-file=cors.json"],
                &["cors"],
            ));
        }
        commands.push(CommandLine::new(
            "gcloud",
            &["storage", "buckets", "update", &url, "--lifecycle-file=lifecycle.json"],
            &["lifecycle"],
        ));
        commands.push(CommandLine::new(
            "gcloud",
            &["storage", "buckets", "update", &url, "--public-access-prevention"],
            &["public-access-block"],
        ));
        if artifacts.iter().any(|a| a.name == ArtifactName::Versioning.as_str()) {
            commands.push(CommandLine::new(
                "gcloud",
                &["storage", "buckets", "update", &url, "--versioning"],
                &["versioning"],
            ));
        }
        if let Credentials::GcsImpersonation { service_account } = &i.credentials {
            let byob_member = format!("--member=serviceAccount:{}", org_identity(artifacts));
            let self_member = format!("--member=serviceAccount:{service_account}");
            for member in [&byob_member, &self_member] {
                commands.push(CommandLine::new(
                    "gcloud",
                    &[
                        "iam",
                        "service-accounts",
                        "add-iam-policy-binding",
                        service_account,
                        member,
                        "--role=roles/iam.serviceAccountTokenCreator",
                    ],
                    &[],
                ));
            }
        }
        commands
    }

    fn stage(&self, spec: &Spec<'_>) -> Option<Stage> {
        Some(Stage {
            url: format!("gcs://{}/{}", spec.integration.bucket, spec.key_prefix()),
            snowflake_provider: "GCS",
            identity: None,
        })
    }
}
