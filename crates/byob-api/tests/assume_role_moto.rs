//! Acceptance of the S3 assume-role mode against moto in auth mode: byob's generated trust policy and IAM policy
//! are applied to moto exactly as emitted; byob's principal then assumes the role with the integration's
//! external id and writes, reads and lists under the prefix; a write outside the prefix and a wrong external id
//! are refused. Auth mode is global to a moto server, so this test runs its own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use byob_core::{Sensitive, location::Prefix};
use byob_ports::storage::{
    AssumeRole, ClientPolicy, StorageError, StsSettings,
    s3::{self, S3Location},
};
use byob_testkit::moto::{Moto, iam, set_auth, start_moto, xml_value};
use byob_testkit::{TestApp, app::OPERATOR_TOKEN};
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload, path::Path};
use serde_json::{Value, json};

fn artifact(doc: &Value, name: &str) -> String {
    let found = doc["artifacts"].as_array().unwrap().iter().find(|a| a["name"] == name).unwrap();
    serde_json::to_string(&found["content"]).unwrap()
}

/// byob's own principal: a user with its access key, allowed to call sts:AssumeRole.
async fn byob_principal(moto: &Moto) -> StsSettings {
    iam(moto, &[("Action", "CreateUser"), ("UserName", "byob-service")]).await;
    let key = iam(moto, &[("Action", "CreateAccessKey"), ("UserName", "byob-service")]).await;
    let (key_id, secret) = (xml_value(&key, "AccessKeyId"), xml_value(&key, "SecretAccessKey"));
    let may_assume = json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*" }] });
    iam(
        moto,
        &[
            ("Action", "PutUserPolicy"),
            ("UserName", "byob-service"),
            ("PolicyName", "assume"),
            ("PolicyDocument", &may_assume.to_string()),
        ],
    )
    .await;
    StsSettings {
        endpoint: Some(moto.url.clone()),
        region: "us-east-1".into(),
        access_key_id: key_id,
        secret_access_key: Sensitive::new(secret),
    }
}

#[tokio::test]
async fn byob_assumes_the_role_its_own_artifacts_describe() {
    let moto = start_moto().await;
    let sts = byob_principal(&moto).await;
    assert!(reqwest::Client::new().put(format!("{}/acme-data", moto.url)).send().await.unwrap().status().is_success());

    // The customer's side: an integration in byob, and byob's artifacts applied exactly as emitted.
    let app = TestApp::sqlite_with_sts(Some(sts.clone())).await;
    let org = app.create_org("acme").await;
    let created = app
        .call("POST", &format!("/v1/orgs/{org}/integrations"), Some(OPERATOR_TOKEN), Some(json!({
            "name": "prod", "provider": "s3", "bucket": "acme-data", "prefix": "tenants/acme", "region": "us-east-1",
            "endpoint": moto.url,
            "credentials": { "mode": "s3_assume_role", "role_arn": "arn:aws:iam::123456789012:role/byob-access" },
            "features": ["imports", "exports"],
        })))
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let external_id = created.body["credentials"]["external_id"].as_str().unwrap().to_string();
    let setup = app
        .call("GET", &format!("/v1/orgs/{org}/integrations/{}/setup", created.id()), Some(OPERATOR_TOKEN), None)
        .await
        .body;
    let (trust, policy) = (artifact(&setup, "trust-policy"), artifact(&setup, "iam-policy"));
    iam(&moto, &[("Action", "CreateRole"), ("RoleName", "byob-access"), ("AssumeRolePolicyDocument", &trust)]).await;
    iam(
        &moto,
        &[
            ("Action", "PutRolePolicy"),
            ("RoleName", "byob-access"),
            ("PolicyName", "byob-access"),
            ("PolicyDocument", &policy),
        ],
    )
    .await;

    // From here on moto checks every signature and policy.
    set_auth(&moto, "0").await;

    let role = |external_id: &str| AssumeRole {
        role_arn: "arn:aws:iam::123456789012:role/byob-access".into(),
        external_id: external_id.into(),
        session_policy: Some(policy.clone()),
        session_name: "byob-test".into(),
        duration: Duration::from_secs(900),
    };
    let expires = s3::check_assume_role(&sts, role(&external_id)).await.unwrap();
    assert!(expires > chrono::Utc::now());
    let refused = s3::check_assume_role(&sts, role("byob-not-the-right-id")).await;
    let refused = refused.unwrap_err();
    assert!(matches!(&refused, StorageError::RoleRefused { .. }), "{refused:?}");
    let shown = refused.to_string();
    assert!(
        shown.contains("sts:ExternalId") && !shown.contains("bucket refused"),
        "the role refused, not a bucket: {shown}"
    );

    let location = S3Location {
        bucket: "acme-data".into(),
        prefix: Prefix::parse("prefix", "tenants/acme").unwrap(),
        region: "us-east-1".into(),
        endpoint: Some(moto.url.clone()),
        kms_key: None,
    };
    let client = s3::connect_assumed_role(
        location,
        &sts,
        role(&external_id),
        ClientPolicy::default(),
        &byob_testkit::loopback_network(),
    )
    .unwrap();
    let inside = client.key("uploads/a.csv").unwrap();
    client.store().put(&inside, PutPayload::from_static(b"ok\n")).await.unwrap();
    assert_eq!(&client.store().get(&inside).await.unwrap().bytes().await.unwrap()[..], b"ok\n");
    let listed: Vec<_> = client.store().list(Some(&Path::from("tenants/acme"))).try_collect().await.unwrap();
    assert_eq!(listed[0].location, inside);
    let outside = client.store().put(&Path::from("tenants/other/x.csv"), PutPayload::from_static(b"no")).await;
    let err = StorageError::from(outside.unwrap_err());
    assert!(matches!(err, StorageError::PermissionDenied(_)), "a write outside the prefix is refused: {err:?}");

    // Rotating the external id: the new one is refused until the customer applies the new trust policy.
    let base = format!("/v1/orgs/{org}/integrations/{}", created.id());
    let rotated = app.call("POST", &format!("{base}/external-id/rotate"), Some(OPERATOR_TOKEN), None).await;
    let pending = rotated.body["credentials"]["pending_external_id"].as_str().unwrap().to_string();
    assert_ne!(pending, external_id);
    let early = app.call("POST", &format!("{base}/external-id/promote"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!((early.status, early.body["code"].clone()), (409, json!("external-id-not-trusted")), "{:?}", early.body);

    set_auth(&moto, "inf").await;
    let setup = app.call("GET", &format!("{base}/setup"), Some(OPERATOR_TOKEN), None).await.body;
    let trust = artifact(&setup, "trust-policy");
    assert!(
        trust.contains(&external_id) && trust.contains(&pending),
        "both ids are trusted during the rotation: {trust}"
    );
    iam(&moto, &[("Action", "UpdateAssumeRolePolicy"), ("RoleName", "byob-access"), ("PolicyDocument", &trust)]).await;
    apply_bucket_settings(&moto.url, "acme-data").await;
    set_auth(&moto, "0").await;

    let promoted = app.call("POST", &format!("{base}/external-id/promote"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(promoted.status, 200, "{:?}", promoted.body);
    assert_eq!(promoted.body["credentials"]["external_id"], pending.as_str());
    assert!(promoted.body["credentials"].get("pending_external_id").is_none());
    s3::check_assume_role(&sts, role(&pending)).await.unwrap();

    // Verification: every check passes against the policies byob emitted, and the integration becomes active.
    let report = app.call("POST", &format!("{base}/verify"), Some(OPERATOR_TOKEN), None).await;
    assert_eq!(report.status, 200, "{:?}", report.body);
    for check in report.body["checks"].as_array().unwrap() {
        // moto checks bulk DeleteObjects against bucket policies only, never the role's own policy (AWS checks
        // both), so the delete is refused here: byob reports that as the lifecycle-rule warning it is. Presigned
        // requests fail inside moto in its auth mode, so this integration serves no browser uploads; the
        // verification matrix covers those checks.
        let expected = match check["name"].as_str().unwrap() {
            "objects-delete" => "warning",
            "credentials-sas-permissions"
            | "cors-rules"
            | "cors-preflight"
            | "uploads-presigned-put"
            | "uploads-presigned-multipart"
            | "encryption-kms-write"
            | "trust-byob-identity-refused"
            | "network-endpoint-private" => "skipped",
            _ => "passed",
        };
        assert_eq!(check["status"], expected, "{check}");
    }
    assert_eq!(
        (report.body["state_before"].as_str(), report.body["state_after"].as_str()),
        (Some("draft"), Some("active"))
    );
}

/// The lifecycle rules and public access block from byob's setup artifacts, as the customer applies them.
async fn apply_bucket_settings(endpoint: &str, bucket: &str) {
    let s3 = byob_testkit::buckets::s3_admin(endpoint, "us-east-1");
    byob_testkit::buckets::s3_expire_staging(&s3, bucket, "tenants/acme/uploads/").await;
    byob_testkit::buckets::s3_block_public_access(&s3, bucket).await;
}

/// Three roles set up wrongly, each verified by byob: the report fails on the check that names the cause.
#[tokio::test]
async fn broken_roles_fail_on_the_check_that_names_the_cause() {
    let moto = start_moto().await;
    let sts = byob_principal(&moto).await;
    assert!(reqwest::Client::new().put(format!("{}/acme-data", moto.url)).send().await.unwrap().status().is_success());
    let app = TestApp::sqlite_with_sts(Some(sts)).await;
    let mut cases = Vec::new();
    for (role, breakage) in [
        ("no-put", "policy without s3:PutObject"),
        ("no-settings-read", "policy without the bucket-settings reads"),
        ("other-principal", "trusts another principal"),
        ("wrong-id", "trusts another external id"),
    ] {
        // One org per case: an org serves each feature from one integration.
        let org = app.create_org(role).await;
        let created = app
            .call("POST", &format!("/v1/orgs/{org}/integrations"), Some(OPERATOR_TOKEN), Some(json!({
                "name": role, "provider": "s3", "bucket": "acme-data", "prefix": format!("tenants/{role}"),
                "region": "us-east-1", "endpoint": moto.url, "features": ["exports"],
                "credentials": { "mode": "s3_assume_role", "role_arn": format!("arn:aws:iam::123456789012:role/{role}") },
            })))
            .await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        let setup = app
            .call("GET", &format!("/v1/orgs/{org}/integrations/{}/setup", created.id()), Some(OPERATOR_TOKEN), None)
            .await
            .body;
        let (mut trust, mut policy) = (artifact(&setup, "trust-policy"), artifact(&setup, "iam-policy"));
        let external_id = created.body["credentials"]["external_id"].as_str().unwrap().to_string();
        match role {
            "no-put" => policy = policy.replace("\"s3:PutObject\",", ""),
            "no-settings-read" => {
                let mut parsed: Value = serde_json::from_str(&policy).unwrap();
                parsed["Statement"].as_array_mut().unwrap().retain(|s| s["Sid"] != "ByobReadBucketSettings");
                policy = parsed.to_string();
            }
            "other-principal" => trust = trust.replace("user/byob-service", "user/someone-else"),
            _ => trust = trust.replace(&external_id, "an-id-for-someone-else"),
        }
        iam(&moto, &[("Action", "CreateRole"), ("RoleName", role), ("AssumeRolePolicyDocument", &trust)]).await;
        iam(
            &moto,
            &[("Action", "PutRolePolicy"), ("RoleName", role), ("PolicyName", role), ("PolicyDocument", &policy)],
        )
        .await;
        cases.push((org, created.id(), role, breakage));
    }
    set_auth(&moto, "0").await;
    for (org, id, role, breakage) in cases {
        let report = app
            .call("POST", &format!("/v1/orgs/{org}/integrations/{id}/verify"), Some(OPERATOR_TOKEN), None)
            .await
            .body;
        let status =
            |name: &str| report["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap().clone();
        match role {
            "no-put" => {
                assert_eq!(status("credentials-obtain")["status"], "passed", "{breakage}: {report}");
                let write = status("objects-write");
                assert_eq!(write["status"], "failed", "{breakage}: {write}");
                let message = write["message"].as_str().unwrap();
                assert!(
                    message.contains(
                        "may not write under `tenants/no-put/`: the store refused `s3:PutObject` on \
                         `arn:aws:s3:::acme-data/tenants/no-put/*`"
                    ),
                    "names the action and resource: {write}"
                );
                assert!(!message.contains("http://") && !message.contains("<Error>"), "no endpoint or body: {write}");
                // The exact statement to add, as the setup's IAM policy holds it.
                assert_eq!(write["remediation"]["artifact"], "iam-policy");
                let statement = &write["remediation"]["statement"];
                assert_eq!(statement["Sid"], "ByobObjects", "{write}");
                assert!(statement["Action"].as_array().unwrap().contains(&json!("s3:PutObject")), "{write}");
                assert_eq!(statement["Resource"], "arn:aws:s3:::acme-data/tenants/no-put/*");
                for held in ["location-bucket-exists", "location-region", "trust-wrong-external-id", "clock-skew"] {
                    assert_eq!(status(held)["status"], "passed", "{breakage}: {}", status(held));
                }
                // A refusal outside the prefix proves nothing when writes inside are refused too.
                let scoping = status("scoping-outside-prefix");
                assert_eq!(scoping["status"], "skipped", "{scoping}");
                assert!(scoping["message"].as_str().unwrap().contains("objects-write"), "{scoping}");
            }
            "no-settings-read" => {
                // Each settings check moto enforces names the one read action it lacks (moto does not check
                // s3:GetBucketPublicAccessBlock against the role's policy).
                for (check, action) in [
                    ("location-bucket-exists", "s3:GetBucketLocation"),
                    ("lifecycle-staging-rule", "s3:GetLifecycleConfiguration"),
                ] {
                    let result = status(check);
                    assert_eq!(result["status"], "warning", "{breakage}: {result}");
                    let expected = format!("`{action}` on `arn:aws:s3:::acme-data`");
                    assert!(result["message"].as_str().unwrap().contains(&expected), "{expected} in {result}");
                    assert_eq!(result["remediation"]["statement"]["Sid"], "ByobReadBucketSettings", "{result}");
                }
            }
            _ => {
                let obtain = status("credentials-obtain");
                assert_eq!(obtain["status"], "failed", "{breakage}: {obtain}");
                let message = obtain["message"].as_str().unwrap();
                assert!(message.starts_with("the role's trust policy refused byob"), "{obtain}");
                assert!(!message.contains("bucket refused"), "STS is blamed, not the bucket: {obtain}");
                // STS cannot tell the two apart: both are named, with the values to compare.
                assert!(message.contains("`Principal.AWS`") && message.contains("`sts:ExternalId`"), "{obtain}");
                assert!(message.contains(&format!("`arn:aws:iam::123456789012:role/{role}`")), "{obtain}");
                assert_eq!(obtain["remediation"]["artifact"], "trust-policy");
                assert_eq!(obtain["remediation"]["statement"]["Action"], "sts:AssumeRole", "{obtain}");
            }
        }
        if role == "no-settings-read" {
            assert_eq!(report["state_after"], "active", "warnings do not keep a draft: {report}");
            continue;
        }
        assert_eq!(report["state_after"], "draft", "{breakage}");
    }

    // Static keys the store does not know: the credentials are rejected, which no grant would fix.
    let org = app.create_org("unknown-key").await;
    let created = app
        .call("POST", &format!("/v1/orgs/{org}/integrations"), Some(OPERATOR_TOKEN), Some(json!({
            "name": "unknown-key", "provider": "s3", "bucket": "acme-data", "prefix": "tenants/unknown",
            "region": "us-east-1", "endpoint": moto.url, "features": ["exports"],
            "credentials": { "mode": "s3_access_key", "access_key_id": "AKIAUNKNOWNTOMOTO000", "secret_access_key": "x" },
        })))
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let report = app
        .call("POST", &format!("/v1/orgs/{org}/integrations/{}/verify", created.id()), Some(OPERATOR_TOKEN), None)
        .await
        .body;
    let obtain = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "credentials-obtain").unwrap();
    assert_eq!(obtain["status"], "failed", "{report}");
    assert!(
        obtain["message"].as_str().unwrap().contains("does not accept the credentials (InvalidAccessKeyId)"),
        "{obtain}"
    );
    let write = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "objects-write").unwrap();
    assert_eq!(write["status"], "skipped", "one failure, on the credentials: {write}");
}
