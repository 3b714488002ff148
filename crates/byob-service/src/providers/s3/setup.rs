//! AWS S3 (and S3-compatible stores): IAM policy, trust policy, CORS, lifecycle, KMS statement, IP allowlist.

use byob_core::integration::{Credentials, Feature};
use hcl::{Block, Body};
use serde_json::{Value, json};

use crate::artifacts::{
    Artifact, ArtifactName, ByobIdentity, CommandLine, ProviderSetup, Spec, Stage,
    spec::{PROBES_DIR, UPLOADS_DIR},
    terraform::{expr, jsonencode, reference, required_provider},
};

pub(crate) struct S3Setup;

const PLACEHOLDER_PRINCIPAL: &str = "<byob's AWS principal ARN: ask the operator>";

fn partition(spec: &Spec<'_>) -> &'static str {
    match spec.integration.region.as_deref() {
        Some(r) if r.starts_with("cn-") => "aws-cn",
        Some(r) if r.starts_with("us-gov-") => "aws-us-gov",
        _ => "aws",
    }
}

fn bucket_arn(spec: &Spec<'_>) -> String {
    format!("arn:{}:s3:::{}", partition(spec), spec.integration.bucket)
}

fn objects_arn(spec: &Spec<'_>) -> String {
    format!("{}/{}*", bucket_arn(spec), spec.key_prefix())
}

/// No tagging actions: byob never tags objects, so verification would have nothing to check them against.
fn object_actions(spec: &Spec<'_>) -> Vec<&'static str> {
    let mut actions = vec!["s3:GetObject"];
    if spec.writes() {
        actions.extend(["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]);
    }
    if spec.has(Feature::Assets) {
        actions.push("s3:GetObjectVersion");
    }
    actions
}

/// The least-privilege policy for the enabled features, limited to the prefix.
pub(crate) fn iam_policy(spec: &Spec<'_>) -> Value {
    let mut list = json!({
        "Sid": "ByobListPrefix",
        "Effect": "Allow",
        "Action": if spec.has(Feature::Assets) {
            json!(["s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:ListBucketVersions"])
        } else {
            json!(["s3:ListBucket", "s3:ListBucketMultipartUploads"])
        },
        "Resource": bucket_arn(spec),
    });
    if !spec.key_prefix().is_empty() {
        list["Condition"] =
            json!({ "StringLike": { "s3:prefix": [spec.key_prefix(), format!("{}*", spec.key_prefix())] } });
    }
    let mut statements = vec![
        json!({ "Sid": "ByobObjects", "Effect": "Allow", "Action": object_actions(spec), "Resource": objects_arn(spec) }),
        list,
        json!({
            "Sid": "ByobReadBucketSettings",
            "Effect": "Allow",
            "Action": [
                "s3:GetBucketLocation", "s3:GetBucketCORS", "s3:GetEncryptionConfiguration", "s3:GetLifecycleConfiguration",
                "s3:GetBucketVersioning", "s3:GetBucketPublicAccessBlock"
            ],
            "Resource": bucket_arn(spec),
        }),
    ];
    if let Some(key) = &spec.integration.kms_key {
        let actions = if spec.writes() {
            json!(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"])
        } else {
            json!(["kms:Decrypt"])
        };
        statements.push(json!({ "Sid": "ByobKmsKey", "Effect": "Allow", "Action": actions, "Resource": key }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// Trusts byob's principal with the external id, or with either id while a rotation is under way.
fn trust_policy(principal: &str, external_id: &str, pending: Option<&str>) -> Value {
    let ids = match pending {
        Some(next) => json!([external_id, next]),
        None => json!(external_id),
    };
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "ByobAssumeRole",
            "Effect": "Allow",
            "Principal": { "AWS": principal },
            "Action": "sts:AssumeRole",
            "Condition": { "StringEquals": { "sts:ExternalId": ids } }
        }]
    })
}

fn cors(spec: &Spec<'_>) -> Value {
    json!({ "CORSRules": [{
        "AllowedOrigins": spec.origins(),
        "AllowedMethods": ["GET", "PUT", "POST", "HEAD"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 3600
    }]})
}

fn lifecycle(spec: &Spec<'_>) -> Value {
    json!({ "Rules": [
        {
            "ID": "byob-staging-ttl",
            "Filter": { "Prefix": spec.under(UPLOADS_DIR) },
            "Status": "Enabled",
            "Expiration": { "Days": spec.ttl_days() }
        },
        {
            "ID": "byob-verification-probes",
            "Filter": { "Prefix": spec.under(PROBES_DIR) },
            "Status": "Enabled",
            "Expiration": { "Days": 1 }
        },
        {
            "ID": "byob-abort-incomplete-multipart",
            "Filter": { "Prefix": spec.key_prefix() },
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": { "DaysAfterInitiation": 1 }
        }
    ]})
}

/// The role's name and path from its ARN (`…:role/path/name`).
fn role_name_and_path(role_arn: &str) -> (String, String) {
    let resource = role_arn.rsplit(':').next().unwrap_or_default().trim_start_matches("role/");
    match resource.rsplit_once('/') {
        Some((path, name)) => (name.to_string(), format!("/{path}/")),
        None => (resource.to_string(), "/".to_string()),
    }
}

impl ProviderSetup for S3Setup {
    fn artifacts(&self, spec: &Spec<'_>, byob: &ByobIdentity) -> (Vec<Artifact>, Vec<String>) {
        let i = spec.integration;
        let mut artifacts = Vec::new();
        let mut notes = Vec::new();
        // An S3-compatible store may not speak IAM; AWS does, through a private endpoint too, and byob always needs
        // the policy when it assumes a role.
        let assumes_role = matches!(i.credentials, Credentials::S3AssumeRole { .. });
        if i.endpoint.is_none() || assumes_role {
            let applies_to = match &i.credentials {
                Credentials::S3AssumeRole { role_arn, .. } => format!("an inline policy of role {role_arn}"),
                _ => "a policy of the IAM user that owns the access key".to_string(),
            };
            artifacts.push(Artifact::json(
                ArtifactName::IamPolicy,
                "Least-privilege IAM policy",
                &format!("Attach as {applies_to}."),
                iam_policy(spec),
            ));
        }
        if let Credentials::S3AssumeRole { role_arn, external_id, pending_external_id } = &i.credentials {
            let principal = byob.aws_principal_arn.as_deref().unwrap_or(PLACEHOLDER_PRINCIPAL);
            if pending_external_id.is_some() {
                notes.push("An external-id rotation is under way: the trust policy accepts both ids; apply it, then promote the new id.".into());
            }
            if byob.aws_principal_arn.is_none() {
                notes.push("The operator has not configured byob's AWS principal (`identity.aws_principal_arn`); fill it in the trust policy.".into());
            }
            artifacts.push(Artifact::json(
                ArtifactName::TrustPolicy,
                "Trust policy",
                &format!(
                    "Set as the trust relationship of role {role_arn}. The external id is unique to this integration."
                ),
                trust_policy(principal, external_id, pending_external_id.as_deref()),
            ));
        }
        if !i.allowed_origins.is_empty() {
            artifacts.push(Artifact::json(
                ArtifactName::Cors,
                "Bucket CORS rules",
                "Set on the bucket (replaces its CORS configuration).",
                cors(spec),
            ));
        } else if i.features.contains(&Feature::Uploads) {
            notes.push(
                "No allowed_origins: browsers cannot upload straight to the bucket until origins are set.".into(),
            );
        }
        artifacts.push(Artifact::json(
            ArtifactName::Lifecycle,
            "Lifecycle rules",
            "Set on the bucket (replaces its lifecycle configuration; merge by hand if it has rules of its own).",
            lifecycle(spec),
        ));
        if !i.staging_ttl_hours.is_multiple_of(24) {
            notes.push(format!("S3 lifecycle rules count whole days: the {}-hour staging TTL becomes {} day(s); byob's janitor removes staged files on time.", i.staging_ttl_hours, spec.ttl_days()));
        }
        if i.endpoint.is_none() || assumes_role {
            artifacts.push(Artifact::json(
                ArtifactName::PublicAccessBlock,
                "Block public access",
                "Set on the bucket: nothing byob stores is meant to be public.",
                json!({ "BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true, "RestrictPublicBuckets": true }),
            ));
        }
        if i.features.contains(&Feature::Assets) {
            artifacts.push(Artifact::json(
                ArtifactName::Versioning,
                "Bucket versioning",
                "Enable on the bucket: the asset store keeps every version of a project file.",
                json!({ "Status": "Enabled" }),
            ));
        }
        if let Some(key) = &i.kms_key {
            let principal = match &i.credentials {
                Credentials::S3AssumeRole { role_arn, .. } => role_arn.clone(),
                _ => "<ARN of the IAM user that owns the access key>".to_string(),
            };
            let actions = if spec.writes() {
                json!(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"])
            } else {
                json!(["kms:Decrypt"])
            };
            artifacts.push(Artifact::json(
                ArtifactName::KmsKeyPolicyStatement,
                "KMS key policy statement",
                &format!("Add this statement to the key policy of {key}."),
                json!({ "Sid": "AllowByob", "Effect": "Allow", "Principal": { "AWS": principal }, "Action": actions, "Resource": "*" }),
            ));
        }
        if !byob.egress_cidrs.is_empty() {
            artifacts.push(Artifact::json(
                ArtifactName::IpAllowlistCondition,
                "IP allowlist condition",
                "Optional: add to the IAM policy's statements so only byob's addresses may use the credentials. Browser uploads through presigned URLs come from users' addresses, so do not add it to uploads or attachments.",
                json!({ "IpAddress": { "aws:SourceIp": byob.egress_cidrs } }),
            ));
        }
        (artifacts, notes)
    }

    fn terraform(&self, spec: &Spec<'_>, artifacts: &[Artifact]) -> Body {
        let i = spec.integration;
        let find = |name: &str| artifacts.iter().find(|a| a.name == name).map(|a| a.content.clone());
        let mut body = Body::builder().add_block(required_provider("aws", "hashicorp/aws"));
        if let Some(region) = &i.region {
            body = body.add_block(
                Block::builder("provider").add_label("aws").add_attribute(("region", expr(json!(region)))).build(),
            );
        }
        match (&i.credentials, find("trust-policy"), find("iam-policy")) {
            (Credentials::S3AssumeRole { role_arn, .. }, Some(trust), Some(policy)) => {
                let (name, path) = role_name_and_path(role_arn);
                body = body
                    .add_block(
                        Block::builder("resource")
                            .add_labels(["aws_iam_role", "byob"])
                            .add_attribute(("name", expr(json!(name))))
                            .add_attribute(("path", expr(json!(path))))
                            .add_attribute(("assume_role_policy", jsonencode(&trust)))
                            .build(),
                    )
                    .add_block(
                        Block::builder("resource")
                            .add_labels(["aws_iam_role_policy", "byob"])
                            .add_attribute(("name", expr(json!("byob-access"))))
                            .add_attribute(("role", reference(&["aws_iam_role", "byob", "id"])))
                            .add_attribute(("policy", jsonencode(&policy)))
                            .build(),
                    );
            }
            (_, _, Some(policy)) => {
                body = body.add_block(
                    Block::builder("resource")
                        .add_labels(["aws_iam_policy", "byob"])
                        .add_attribute(("name", expr(json!(format!("byob-{}", i.id)))))
                        .add_attribute(("policy", jsonencode(&policy)))
                        .build(),
                );
            }
            _ => {}
        }
        if !i.allowed_origins.is_empty() {
            body = body.add_block(
                Block::builder("resource")
                    .add_labels(["aws_s3_bucket_cors_configuration", "byob"])
                    .add_attribute(("bucket", expr(json!(i.bucket))))
                    .add_block(
                        Block::builder("cors_rule")
                            .add_attribute(("allowed_origins", expr(json!(spec.origins()))))
                            .add_attribute(("allowed_methods", expr(json!(["GET", "PUT", "POST", "HEAD"]))))
                            .add_attribute(("allowed_headers", expr(json!(["*"]))))
                            .add_attribute(("expose_headers", expr(json!(["ETag"]))))
                            .add_attribute(("max_age_seconds", expr(json!(3600))))
                            .build(),
                    )
                    .build(),
            );
        }
        let rule = |id: &str, prefix: String| {
            Block::builder("rule")
                .add_attribute(("id", expr(json!(id))))
                .add_attribute(("status", expr(json!("Enabled"))))
                .add_block(Block::builder("filter").add_attribute(("prefix", expr(json!(prefix)))).build())
        };
        body = body.add_block(
            Block::builder("resource")
                .add_labels(["aws_s3_bucket_lifecycle_configuration", "byob"])
                .add_attribute(("bucket", expr(json!(i.bucket))))
                .add_block(
                    rule("byob-staging-ttl", spec.under(UPLOADS_DIR))
                        .add_block(
                            Block::builder("expiration").add_attribute(("days", expr(json!(spec.ttl_days())))).build(),
                        )
                        .build(),
                )
                .add_block(
                    rule("byob-verification-probes", spec.under(PROBES_DIR))
                        .add_block(Block::builder("expiration").add_attribute(("days", expr(json!(1)))).build())
                        .build(),
                )
                .add_block(
                    rule("byob-abort-incomplete-multipart", spec.key_prefix())
                        .add_block(
                            Block::builder("abort_incomplete_multipart_upload")
                                .add_attribute(("days_after_initiation", expr(json!(1))))
                                .build(),
                        )
                        .build(),
                )
                .build(),
        );
        body.build()
    }

    fn commands(&self, spec: &Spec<'_>, artifacts: &[Artifact]) -> Vec<CommandLine> {
        let i = spec.integration;
        let mut commands = Vec::new();
        let has = |name: &str| artifacts.iter().any(|a| a.name == name);
        if let Credentials::S3AssumeRole { role_arn, .. } = &i.credentials {
            let (name, path) = role_name_and_path(role_arn);
            commands.push(CommandLine::new(
                "aws",
                &[
                    "iam",
                    "create-role",
                    "--role-name",
                    &name,
                    "--path",
                    &path,
                    "--assume-role-policy-document",
                    "file://trust-policy.json",
                ],
                &["trust-policy"],
            ));
            commands.push(CommandLine::new(
                "aws",
                &[
                    "iam",
                    "put-role-policy",
                    "--role-name",
                    &name,
                    "--policy-name",
                    "byob-access",
                    "--policy-document",
                    "file://iam-policy.json",
                ],
                &["iam-policy"],
            ));
        } else if has("iam-policy") {
            commands.push(CommandLine::new(
                "aws",
                &[
                    "iam",
                    "put-user-policy",
                    "--user-name",
                    "<IAM user that owns the access key>",
                    "--policy-name",
                    "byob-access",
                    "--policy-document",
                    "file://iam-policy.json",
                ],
                &["iam-policy"],
            ));
        }
        let endpoint: Vec<&str> = i.endpoint.as_deref().map(|e| vec!["--endpoint-url", e]).unwrap_or_default();
        if has("cors") {
            let mut args = vec![
                "s3api",
                "put-bucket-cors",
                "--bucket",
                i.bucket.as_str(),
                "--cors-configuration",
                "file://cors.json",
            ];
            args.extend(&endpoint);
            commands.push(CommandLine::new("aws", &args, &["cors"]));
        }
        let mut args = vec![
            "s3api",
            "put-bucket-lifecycle-configuration",
            "--bucket",
            i.bucket.as_str(),
            "--lifecycle-configuration",
            "file://lifecycle.json",
        ];
        args.extend(&endpoint);
        commands.push(CommandLine::new("aws", &args, &["lifecycle"]));
        for (artifact, subcommand, flag) in [
            ("public-access-block", "put-public-access-block", "--public-access-block-configuration"),
            ("versioning", "put-bucket-versioning", "--versioning-configuration"),
        ] {
            if has(artifact) {
                let file = format!("file://{artifact}.json");
                let mut args = vec!["s3api", subcommand, "--bucket", i.bucket.as_str(), flag, file.as_str()];
                args.extend(&endpoint);
                commands.push(CommandLine::new("aws", &args, &[artifact]));
            }
        }
        commands
    }

    fn stage(&self, spec: &Spec<'_>) -> Option<Stage> {
        let role = match &spec.integration.credentials {
            Credentials::S3AssumeRole { role_arn, .. } => role_arn.clone(),
            _ => "<ARN of a role Snowflake may assume>".into(),
        };
        Some(Stage {
            url: format!("s3://{}/{}", spec.integration.bucket, spec.key_prefix()),
            snowflake_provider: "S3",
            identity: Some(("STORAGE_AWS_ROLE_ARN", role)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_and_paths() {
        assert_eq!(role_name_and_path("arn:aws:iam::123456789012:role/byob"), ("byob".into(), "/".into()));
        assert_eq!(
            role_name_and_path("arn:aws:iam::123456789012:role/team/data/byob"),
            ("byob".into(), "/team/data/".into())
        );
    }
}
