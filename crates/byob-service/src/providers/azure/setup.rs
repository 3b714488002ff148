//! Azure Blob Storage: CORS (blob service), lifecycle management policy, custom role for a service principal.

use byob_core::integration::Credentials;
use hcl::{Block, Body};
use serde_json::{Value, json};

use crate::artifacts::{
    Artifact, ArtifactName, ByobIdentity, CommandLine, ProviderSetup, Spec, Stage,
    spec::{PROBES_DIR, UPLOADS_DIR},
    terraform::{expr, reference, required_provider},
};

pub(crate) struct AzureSetup;

fn account(spec: &Spec<'_>) -> String {
    spec.integration.credentials.azure_account().unwrap_or("<storage account>").to_string()
}

fn container_scope(spec: &Spec<'_>) -> String {
    format!(
        "/subscriptions/<subscription id>/resourceGroups/<resource group>/providers/Microsoft.Storage/storageAccounts/{}/blobServices/default/containers/{}",
        account(spec),
        spec.integration.bucket
    )
}

fn data_actions(spec: &Spec<'_>) -> Vec<&'static str> {
    let mut actions = vec!["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"];
    if spec.writes() {
        actions.extend([
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
        ]);
    }
    actions
}

/// Reading the container and the blob service's properties (verification reads CORS there), and signing SAS.
const ACTIONS: [&str; 3] = [
    "Microsoft.Storage/storageAccounts/blobServices/read",
    "Microsoft.Storage/storageAccounts/blobServices/containers/read",
    "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
];

fn lifecycle(spec: &Spec<'_>) -> Value {
    let container = &spec.integration.bucket;
    let rule = |name: &str, prefix: String, days: u32| {
        json!({
            "enabled": true,
            "name": name,
            "type": "Lifecycle",
            "definition": {
                "actions": { "baseBlob": { "delete": { "daysAfterModificationGreaterThan": days } } },
                "filters": { "blobTypes": ["blockBlob"], "prefixMatch": [format!("{container}/{prefix}")] }
            }
        })
    };
    json!({ "rules": [
        rule("byob-staging-ttl", spec.under(UPLOADS_DIR), spec.ttl_days()),
        rule("byob-verification-probes", spec.under(PROBES_DIR), 1)
    ]})
}

impl ProviderSetup for AzureSetup {
    fn artifacts(&self, spec: &Spec<'_>, byob: &ByobIdentity) -> (Vec<Artifact>, Vec<String>) {
        let i = spec.integration;
        let mut artifacts = Vec::new();
        let mut notes = vec![
            "Azure removes uncommitted blocks of abandoned uploads after 7 days by itself; no rule is needed for them."
                .to_string(),
        ];
        if !i.allowed_origins.is_empty() {
            artifacts.push(Artifact::json(
                ArtifactName::Cors,
                "Blob service CORS rules",
                "Set on the storage account's blob service (the `cors` of Microsoft.Storage/storageAccounts/blobServices).",
                json!({ "corsRules": [{
                    "allowedOrigins": spec.origins(),
                    "allowedMethods": ["GET", "PUT", "POST", "HEAD", "OPTIONS"],
                    "allowedHeaders": ["*"],
                    "exposedHeaders": ["ETag"],
                    "maxAgeInSeconds": 3600
                }]}),
            ));
        }
        artifacts.push(Artifact::json(
            ArtifactName::Lifecycle,
            "Lifecycle management policy",
            "Set as the storage account's management policy (replaces it; merge by hand if it has rules of its own).",
            lifecycle(spec),
        ));
        if let Credentials::AzureBroker { tenant_id, .. } = &i.credentials {
            let app = byob.azure_broker_app.as_deref().unwrap_or("<this org's byob application: ask the operator>");
            artifacts.push(Artifact::text(
                ArtifactName::AdminConsent,
                "Admin consent",
                "An administrator of your tenant opens this URL and consents: it adds this org's byob application to \
                 your tenant. byob holds no secret of yours; revoke by removing the application.",
                format!("https://login.microsoftonline.com/{tenant_id}/adminconsent?client_id={app}"),
            ));
            notes.push(format!(
                "Assign the custom role below to the application `{app}` (this org's own; never another's) on the \
                 container."
            ));
        }
        match &i.credentials {
            Credentials::AzureServicePrincipal { .. } | Credentials::AzureBroker { .. } => {
                artifacts.push(Artifact::json(
                    ArtifactName::CustomRole,
                    "Custom role",
                    "Create the role, then assign it to byob's service principal on the container.",
                    json!({
                        "Name": format!("byob storage access ({})", i.id),
                        "IsCustom": true,
                        "Description": "Lets byob read and write blobs in one container and sign user-delegation SAS.",
                        "Actions": ACTIONS,
                        "NotActions": [],
                        "DataActions": data_actions(spec),
                        "NotDataActions": [],
                        "AssignableScopes": [container_scope(spec)]
                    }),
                ));
                notes.push("Fill `<subscription id>` and `<resource group>` in the role's scope.".into());
            }
            Credentials::AzureSas { permissions, expires_at, .. } => {
                notes.push(format!(
                    "The SAS grants `{permissions}` and expires at {expires_at}; byob warns before it does."
                ));
            }
            _ => {}
        }
        (artifacts, notes)
    }

    fn terraform(&self, spec: &Spec<'_>, artifacts: &[Artifact]) -> Body {
        let i = spec.integration;
        let mut body = Body::builder()
            .add_block(required_provider("azurerm", "hashicorp/azurerm"))
            .add_block(
                Block::builder("provider").add_label("azurerm").add_block(Block::builder("features").build()).build(),
            )
            .add_block(
                Block::builder("data")
                    .add_labels(["azurerm_storage_account", "byob"])
                    .add_attribute(("name", expr(json!(account(spec)))))
                    .add_attribute(("resource_group_name", expr(json!("<resource group>"))))
                    .build(),
            );
        let mut policy = Block::builder("resource")
            .add_labels(["azurerm_storage_management_policy", "byob"])
            .add_attribute(("storage_account_id", reference(&["data", "azurerm_storage_account", "byob", "id"])));
        for (name, prefix, days) in [
            ("byob-staging-ttl", spec.under(UPLOADS_DIR), spec.ttl_days()),
            ("byob-verification-probes", spec.under(PROBES_DIR), 1),
        ] {
            policy = policy.add_block(
                Block::builder("rule")
                    .add_attribute(("name", expr(json!(name))))
                    .add_attribute(("enabled", expr(json!(true))))
                    .add_block(
                        Block::builder("filters")
                            .add_attribute(("blob_types", expr(json!(["blockBlob"]))))
                            .add_attribute(("prefix_match", expr(json!([format!("{}/{prefix}", i.bucket)]))))
                            .build(),
                    )
                    .add_block(
                        Block::builder("actions")
                            .add_block(
                                Block::builder("base_blob")
                                    .add_attribute((
                                        "delete_after_days_since_modification_greater_than",
                                        expr(json!(days)),
                                    ))
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            );
        }
        body = body.add_block(policy.build());
        if artifacts.iter().any(|a| a.name == ArtifactName::CustomRole.as_str()) {
            body = body
                .add_block(
                    Block::builder("resource")
                        .add_labels(["azurerm_role_definition", "byob"])
                        .add_attribute(("name", expr(json!(format!("byob storage access ({})", i.id)))))
                        .add_attribute(("scope", reference(&["data", "azurerm_storage_account", "byob", "id"])))
                        .add_block(
                            Block::builder("permissions")
                                .add_attribute(("actions", expr(json!(ACTIONS))))
                                .add_attribute(("data_actions", expr(json!(data_actions(spec)))))
                                .build(),
                        )
                        .build(),
                )
                .add_block(
                    Block::builder("resource")
                        .add_labels(["azurerm_role_assignment", "byob"])
                        .add_attribute(("scope", expr(json!(container_scope(spec)))))
                        .add_attribute((
                            "role_definition_id",
                            reference(&["azurerm_role_definition", "byob", "role_definition_resource_id"]),
                        ))
                        .add_attribute(("principal_id", expr(json!("<object id of byob's service principal>"))))
                        .build(),
                );
        }
        body.build()
    }

    fn commands(&self, spec: &Spec<'_>, artifacts: &[Artifact]) -> Vec<CommandLine> {
        let i = spec.integration;
        let account = account(spec);
        let mut commands = Vec::new();
        if !i.allowed_origins.is_empty() {
            let mut args = vec![
                "storage",
                "cors",
                "add",
                "--services",
                "b",
                "--methods",
                "GET",
                "PUT",
                "POST",
                "HEAD",
                "OPTIONS",
                "--origins",
            ];
            args.extend(i.allowed_origins.iter().map(String::as_str));
            args.extend([
                "--allowed-headers",
                "*",
                "--exposed-headers",
                "ETag",
                "--max-age",
                "3600",
                "--account-name",
                &account,
            ]);
            commands.push(CommandLine::new("az", &args, &[]));
        }
        commands.push(CommandLine::new(
            "az",
            &[
                "storage",
                "account",
                "management-policy",
                "create",
                "--account-name",
                &account,
                "--resource-group",
                "<resource group>",
                "--policy",
                "@lifecycle.json",
            ],
            &["lifecycle"],
        ));
        if artifacts.iter().any(|a| a.name == ArtifactName::CustomRole.as_str()) {
            commands.push(CommandLine::new(
                "az",
                &["role", "definition", "create", "--role-definition", "@custom-role.json"],
                &["custom-role"],
            ));
        }
        commands
    }

    fn stage(&self, spec: &Spec<'_>) -> Option<Stage> {
        let tenant = match &spec.integration.credentials {
            Credentials::AzureServicePrincipal { tenant_id, .. } | Credentials::AzureBroker { tenant_id, .. } => {
                tenant_id.clone()
            }
            _ => "<tenant id>".into(),
        };
        Some(Stage {
            url: format!(
                "azure://{}.blob.core.windows.net/{}/{}",
                account(spec),
                spec.integration.bucket,
                spec.key_prefix()
            ),
            snowflake_provider: "AZURE",
            identity: Some(("AZURE_TENANT_ID", tenant)),
        })
    }
}
