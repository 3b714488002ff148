//! Every remediation a check can give names an artifact the integration's own setup contains, or gives the fix
//! inline: walked over every provider × credential mode × feature set, every operation a check attempts, every
//! artifact a check may name, and every settings check on every kind of answer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::{
    IntegrationId, OrgId, SecretId,
    integration::{Credentials, Feature, Integration, IntegrationState},
    location::Provider,
};
use byob_ports::storage::{
    StorageError,
    inspect::{CorsRule, Encryption, ExpiryRule, PublicAccess, Setting},
};
use serde_json::Value;

use super::settings;
use crate::permissions::{Operation, Subject};
use crate::reports::{Outcome, Remediation};
use crate::setup::{ArtifactName, ByobIdentity, SetupDocument};

fn integration(
    provider: Provider,
    credentials: Credentials,
    endpoint: Option<&str>,
    features: &[Feature],
) -> Integration {
    let now = chrono::Utc::now();
    let browser = features.iter().any(|f| matches!(f, Feature::Uploads | Feature::Assets | Feature::Attachments));
    Integration {
        id: IntegrationId::generate(),
        org_id: OrgId::generate(),
        name: "walk".into(),
        provider,
        bucket: "acme-data".into(),
        prefix: "tenants/acme".into(),
        region: Some("us-east-1".into()),
        endpoint: endpoint.map(str::to_string),
        path_style: false,
        credentials,
        kms_key: features
            .contains(&Feature::Exports)
            .then(|| "arn:aws:kms:us-east-1:123456789012:key/0000".to_string()),
        allowed_origins: if browser { vec!["https://app.example.com".into()] } else { Vec::new() },
        staging_ttl_hours: 24,
        features: features.to_vec(),
        state: IntegrationState::Draft,
        created_at: now,
        updated_at: now,
    }
}

/// Every provider and credential mode, on AWS and on a custom endpoint where that differs, with three feature sets.
fn every_integration() -> Vec<Integration> {
    let secret = SecretId::generate();
    let modes: Vec<(Provider, Credentials, Option<&str>)> = vec![
        (
            Provider::S3,
            Credentials::S3AssumeRole {
                role_arn: "arn:aws:iam::123456789012:role/byob".into(),
                external_id: "ext".into(),
                pending_external_id: None,
            },
            None,
        ),
        (
            Provider::S3,
            Credentials::S3AssumeRole {
                role_arn: "arn:aws:iam::123456789012:role/byob".into(),
                external_id: "ext".into(),
                pending_external_id: None,
            },
            Some("https://minio.example.com"),
        ),
        (Provider::S3, Credentials::S3AccessKey { access_key_id: "AK".into(), secret_access_key: secret }, None),
        (
            Provider::S3,
            Credentials::S3AccessKey { access_key_id: "AK".into(), secret_access_key: secret },
            Some("https://minio.example.com"),
        ),
        (
            Provider::Gcs,
            Credentials::GcsServiceAccountKey { client_email: "sa@p.iam.gserviceaccount.com".into(), key: secret },
            None,
        ),
        (Provider::Gcs, Credentials::GcsImpersonation { service_account: "sa@p.iam.gserviceaccount.com".into() }, None),
        (
            Provider::Azure,
            Credentials::AzureSas {
                account: "acme".into(),
                permissions: "rl".into(),
                expires_at: chrono::Utc::now(),
                sas_token: secret,
            },
            None,
        ),
        (Provider::Azure, Credentials::AzureSharedKey { account: "acme".into(), account_key: secret }, None),
        (
            Provider::Azure,
            Credentials::AzureServicePrincipal {
                account: "acme".into(),
                tenant_id: "t".into(),
                client_id: "c".into(),
                client_secret: secret,
            },
            None,
        ),
        (Provider::Azure, Credentials::AzureBroker { account: "acme".into(), tenant_id: "t".into() }, None),
        (Provider::Local, Credentials::Local, None),
    ];
    let feature_sets: [&[Feature]; 3] =
        [&[Feature::Imports], &[Feature::Uploads, Feature::Assets], &[Feature::Exports, Feature::Imports]];
    let mut all = Vec::new();
    for (provider, credentials, endpoint) in modes {
        for features in feature_sets {
            all.push(integration(provider, credentials.clone(), endpoint, features));
        }
    }
    all
}

/// Whether `part` appears in `whole` (equal, or inside one of its arrays or objects).
fn contains(whole: &Value, part: &Value) -> bool {
    whole == part
        || match whole {
            Value::Array(items) => items.iter().any(|v| contains(v, part)),
            Value::Object(map) => map.values().any(|v| contains(v, part)),
            _ => false,
        }
}

fn assert_resolves(setup: &SetupDocument, remediation: &Remediation, context: &str) {
    assert!(!remediation.action.trim().is_empty(), "{context}: no action");
    let Some(name) = &remediation.artifact else { return };
    let artifact = setup
        .artifacts
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("{context}: remediation names `{name}`, which this setup does not contain"));
    if let Some(statement) = &remediation.statement {
        // A statement of the artifact, or for an Azure role the one action of it to check.
        let in_role = statement.as_object().is_some_and(|m| {
            m.iter().all(|(list, actions)| {
                let held = artifact.content[list].as_array();
                actions.as_array().is_some_and(|a| a.iter().all(|a| held.is_some_and(|h| h.contains(a))))
            })
        });
        assert!(contains(&artifact.content, statement) || in_role, "{context}: {statement} is not in `{name}`");
    }
}

fn assert_outcome(setup: &SetupDocument, outcome: &Outcome, context: &str) {
    if let Some(remediation) = &outcome.remediation {
        assert_resolves(setup, remediation, context);
    }
}

fn walk(check: impl Fn(&Subject<'_>) -> Vec<(String, Outcome)>) {
    for i in every_integration() {
        let setup = crate::setup::document(&i, &ByobIdentity::default());
        let s = Subject { i: &i, setup: &setup };
        for (context, outcome) in check(&s) {
            assert_outcome(
                &setup,
                &outcome,
                &format!("{} {} {:?}: {context}", i.provider.as_str(), i.credentials.mode(), i.features),
            );
        }
    }
}

fn answers<T: Clone>(set: T) -> Vec<Result<Setting<T>, StorageError>> {
    vec![
        Ok(Setting::Set(set)),
        Ok(Setting::Unset),
        Ok(Setting::Unavailable("the emulator lacks it".into())),
        Err(StorageError::PermissionDenied("refused".into())),
        Err(StorageError::NotFound("the bucket".into())),
        Err(StorageError::Backend("timeout".into())),
    ]
}

#[test]
fn every_artifact_a_check_names_is_in_the_setup_or_the_fix_is_inline() {
    walk(|s| {
        ArtifactName::ALL
            .iter()
            .map(|name| (name.as_str().to_string(), Outcome::failed("broken", s.fix(*name, "apply it"))))
            .collect()
    });
}

#[test]
fn every_refused_operation_names_its_permission_and_a_fix_that_exists() {
    walk(|s| {
        Operation::ALL
            .iter()
            .map(|op| {
                let needed = s.needs(*op);
                assert!(needed.permission.contains('`'), "{op:?}: {}", needed.permission);
                (format!("{op:?}"), Outcome::failed("refused", needed.fix))
            })
            .collect()
    });
}

#[test]
fn every_settings_check_on_every_answer_resolves() {
    walk(|s| {
        let mut outcomes = Vec::new();
        for (n, answer) in answers("eu-west-1".to_string()).into_iter().enumerate() {
            outcomes.push((format!("location-bucket-exists #{n}"), settings::bucket_exists(&answer, s)));
            outcomes.push((format!("location-region #{n}"), settings::region(&answer, s)));
        }
        for (n, answer) in answers(vec![CorsRule::default()]).into_iter().enumerate() {
            outcomes.push((format!("cors-rules #{n}"), settings::cors_rules(&answer, s)));
        }
        for (n, answer) in answers(Encryption::Kms(Some("other".into()))).into_iter().enumerate() {
            outcomes.push((format!("encryption-default #{n}"), settings::encryption(&answer, s)));
        }
        for (n, answer) in answers(false).into_iter().enumerate() {
            outcomes.push((format!("versioning-enabled #{n}"), settings::versioning(&answer, s)));
        }
        let open = PublicAccess { blocked: false, detail: "open".into() };
        for (n, answer) in answers(open).into_iter().enumerate() {
            outcomes.push((format!("public-access-blocked #{n}"), settings::public_access(&answer, s)));
        }
        let elsewhere = ExpiryRule {
            id: Some("x".into()),
            prefix: "other/".into(),
            expire_days: Some(1),
            abort_incomplete_days: None,
        };
        for (n, answer) in answers(vec![elsewhere]).into_iter().enumerate() {
            for can_delete in [true, false] {
                outcomes.push((format!("lifecycle-staging-rule #{n}"), settings::lifecycle(&answer, s, can_delete)));
            }
        }
        outcomes
    });
}

#[test]
fn only_credentials_that_cannot_express_a_prefix_turn_scoping_into_a_warning() {
    for i in every_integration() {
        let limited = crate::providers::of(i.provider).prefix_limit(&i).is_some();
        let expected = matches!(
            (&i.credentials, &i.endpoint),
            (Credentials::S3AccessKey { .. }, Some(_))
                | (
                    Credentials::AzureSas { .. }
                        | Credentials::AzureSharedKey { .. }
                        | Credentials::AzureServicePrincipal { .. }
                        | Credentials::AzureBroker { .. },
                    _
                )
        );
        assert_eq!(limited, expected, "{} {:?}", i.credentials.mode(), i.endpoint);
    }
}
