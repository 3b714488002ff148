//! Credentials byob vends to a data platform for a pulled load, against moto in auth mode: a temporary session
//! of the customer's role whose session policy allows `s3:GetObject` of the one staged object — it reads that
//! object and cannot read its neighbour or write (moto evaluating the session policy with its own policy
//! engine, as AWS intersects it with the role's: `scripts/moto_session_policies.py`) — or a federation token
//! asked with the customer's IAM user key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use byob_core::Sensitive;
use byob_ports::storage::{
    AssumeRole, StsSettings,
    vend::{self, AwsSession},
};
use byob_testkit::moto::{Moto, iam, set_auth, start_moto_with_session_policies, xml_value};
use object_store::{ObjectStoreExt, PutPayload, aws::AmazonS3Builder, path::Path};
use serde_json::json;

const STAGED: &str = "tenants/acme/uploads/upl_1/data.csv";
const NEIGHBOUR: &str = "tenants/acme/uploads/upl_2/other.csv";

/// A user with an access key and an inline policy; returns the key.
async fn user(moto: &Moto, name: &str, policy: &serde_json::Value) -> (String, String) {
    iam(moto, &[("Action", "CreateUser"), ("UserName", name)]).await;
    let policy = policy.to_string();
    iam(moto, &[("Action", "PutUserPolicy"), ("UserName", name), ("PolicyName", "p"), ("PolicyDocument", &policy)])
        .await;
    let key = iam(moto, &[("Action", "CreateAccessKey"), ("UserName", name)]).await;
    (xml_value(&key, "AccessKeyId"), xml_value(&key, "SecretAccessKey"))
}

/// What a session may do: read the staged object, read the neighbour, write the staged object.
async fn reach(moto: &Moto, session: &AwsSession) -> (bool, bool, bool) {
    let store = AmazonS3Builder::new()
        .with_endpoint(&moto.url)
        .with_allow_http(true)
        .with_bucket_name("acme-data")
        .with_region("us-east-1")
        .with_access_key_id(&session.access_key_id)
        .with_secret_access_key(session.secret_access_key.expose())
        .with_token(session.session_token.expose())
        .build()
        .unwrap();
    let read = |key: &'static str| {
        let store = &store;
        async move { store.get(&Path::from(key)).await.is_ok() }
    };
    let wrote = store.put(&Path::from(STAGED), PutPayload::from_static(b"overwritten")).await.is_ok();
    (read(STAGED).await, read(NEIGHBOUR).await, wrote)
}

#[tokio::test]
async fn vended_sessions_carry_a_policy_for_exactly_the_staged_object() {
    let moto = start_moto_with_session_policies().await;
    let http = reqwest::Client::new();
    assert!(http.put(format!("{}/acme-data", moto.url)).send().await.unwrap().status().is_success());
    for key in [STAGED, NEIGHBOUR] {
        let put = http.put(format!("{}/acme-data/{key}", moto.url)).body("id\n1\n").send().await.unwrap();
        assert!(put.status().is_success());
    }
    let all_objects = json!({ "Version": "2012-10-17", "Statement": [
        { "Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::acme-data", "arn:aws:s3:::acme-data/*"] },
        { "Effect": "Allow", "Action": "sts:GetFederationToken", "Resource": "*" },
    ]});
    // The customer's IAM user (static-key integrations), and byob's own principal with the customer's role.
    let (customer_key, customer_secret) = user(&moto, "customer", &all_objects).await;
    let may_assume = json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*" }] });
    let (byob_key, byob_secret) = user(&moto, "byob-service", &may_assume).await;
    let trust = json!({ "Version": "2012-10-17", "Statement": [{ "Effect": "Allow",
        "Principal": { "AWS": "arn:aws:iam::123456789012:user/byob-service" }, "Action": "sts:AssumeRole" }] });
    iam(
        &moto,
        &[("Action", "CreateRole"), ("RoleName", "byob-access"), ("AssumeRolePolicyDocument", &trust.to_string())],
    )
    .await;
    iam(
        &moto,
        &[
            ("Action", "PutRolePolicy"),
            ("RoleName", "byob-access"),
            ("PolicyName", "p"),
            ("PolicyDocument", &all_objects.to_string()),
        ],
    )
    .await;
    set_auth(&moto, "0").await;

    let policy = vend::object_read_policy("acme-data", STAGED, None);
    let sts = StsSettings {
        endpoint: Some(moto.url.clone()),
        region: "us-east-1".into(),
        access_key_id: byob_key,
        secret_access_key: Sensitive::new(byob_secret),
    };
    let role = AssumeRole {
        role_arn: "arn:aws:iam::123456789012:role/byob-access".into(),
        external_id: "byob-external".into(),
        session_policy: None,
        session_name: "byob-pull".into(),
        duration: Duration::from_secs(3600),
    };
    let assumed = vend::assume_role_for(&sts, &role, policy.clone()).await.unwrap();
    assert!(assumed.access_key_id.starts_with("ASIA"), "a temporary key: {}", assumed.access_key_id);
    assert_eq!(
        reach(&moto, &assumed).await,
        (true, false, false),
        "the vended session reads the staged object, not its neighbour, and writes nothing"
    );
    // A session of the same role without byob's policy reads both: the narrowing is the session policy's.
    let everything = json!({ "Version": "2012-10-17", "Statement": [
        { "Effect": "Allow", "Action": "s3:*", "Resource": "*" }] });
    let unscoped = vend::assume_role_for(&sts, &role, everything.to_string()).await.unwrap();
    assert_eq!(reach(&moto, &unscoped).await, (true, true, true));
    // And STS received exactly one object's ARN.
    let state: serde_json::Value =
        reqwest::get(format!("{}/moto-api/data.json", moto.url)).await.unwrap().json().await.unwrap();
    let sessions = state["sts"]["AssumedRole"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    let received: serde_json::Value = serde_json::from_str(sessions[0]["policy"].as_str().unwrap()).unwrap();
    assert_eq!(
        received,
        json!({ "Version": "2012-10-17", "Statement": [{ "Sid": "ByobReadOneObject", "Effect": "Allow",
            "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::acme-data/{STAGED}") }] })
    );
    assert_eq!(sessions[0]["external_id"], "byob-external");

    // A static-key integration asks STS for a federation token (moto answers with a placeholder key and keeps
    // no policy, so only the request is visible here).
    let federated = vend::federation_token_for(
        Some(&moto.url),
        "us-east-1",
        &customer_key,
        &Sensitive::new(customer_secret),
        "byob-upl_1",
        policy,
    )
    .await
    .unwrap();
    assert_ne!(federated.access_key_id, customer_key, "never the customer's own key");
    let state: serde_json::Value =
        reqwest::get(format!("{}/moto-api/data.json", moto.url)).await.unwrap().json().await.unwrap();
    assert_eq!(state["sts"]["Token"][0]["name"], "byob-upl_1");
}
