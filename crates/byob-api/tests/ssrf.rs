//! SSRF: a tenant cannot point byob at loopback, private, link-local (cloud metadata) or other non-public
//! addresses — by address or by a name that resolves there — as an integration endpoint, a webhook URL or a
//! database host, unless the operator allowed the range. (What the connections themselves refuse, including a
//! name that resolves elsewhere by the time byob connects, is `byob-ports/tests/network_policy.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_ports::net::NetworkPolicy;
use byob_testkit::TestApp;
use serde_json::json;

const FORBIDDEN_HOSTS: [&str; 6] =
    ["127.0.0.1", "localhost", "169.254.169.254", "10.0.0.7", "[::1]", "[::ffff:127.0.0.1]"];

#[tokio::test]
async fn tenant_named_destinations_on_internal_addresses_are_refused() {
    let app = TestApp::sqlite_with_network(NetworkPolicy::public_only()).await;
    let org = app.create_org("acme").await;
    let (_, admin) = app.member_with_token(&org, Role::Admin).await;
    for host in FORBIDDEN_HOSTS {
        let integration = json!({
            "name": "internal", "provider": "s3", "bucket": "b", "prefix": "p", "region": "us-east-1",
            "endpoint": format!("https://{host}:9000"), "features": ["imports"],
            "credentials": { "mode": "s3_access_key", "access_key_id": "k", "secret_access_key": "s" },
        });
        let reply = app.call("POST", &format!("/v1/orgs/{org}/integrations"), Some(&admin), Some(integration)).await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (422, Some("address-not-allowed")),
            "{host}: {:?}",
            reply.body
        );
        assert!(reply.body["detail"].as_str().unwrap().contains("network.allowed_private_ranges"), "{:?}", reply.body);

        let hook = json!({ "url": format!("https://{host}:8080/hook") });
        let reply = app.call("POST", &format!("/v1/orgs/{org}/webhooks"), Some(&admin), Some(hook)).await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (422, Some("address-not-allowed")),
            "{host}: {:?}",
            reply.body
        );

        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let connection = json!({
            "name": format!("pg-{}", bare.replace([':', '.'], "-")), "platform": "postgres", "host": bare,
            "database": "postgres", "user": "postgres", "tls": "disable",
        });
        let reply = app.call("POST", &format!("/v1/orgs/{org}/connections"), Some(&admin), Some(connection)).await;
        assert_eq!(
            (reply.status, reply.body["code"].as_str()),
            (422, Some("address-not-allowed")),
            "{host}: {:?}",
            reply.body
        );
    }
    // Nothing was created.
    for list in ["integrations", "webhooks", "connections"] {
        let reply = app.call("GET", &format!("/v1/orgs/{org}/{list}"), Some(&admin), None).await;
        let items = reply.body["items"].as_array().or_else(|| reply.body.as_array()).cloned().unwrap_or_default();
        assert!(items.iter().all(|i| i["name"] == "local"), "{list}: {:?}", reply.body);
    }
}

#[tokio::test]
async fn the_operator_may_allow_a_private_range() {
    let app = TestApp::sqlite_with_network(NetworkPolicy::allowing(vec!["10.0.0.0/8".parse().unwrap()])).await;
    let org = app.create_org("acme").await;
    let (_, admin) = app.member_with_token(&org, Role::Admin).await;
    let hook = |host: &str| json!({ "url": format!("https://{host}/hook") });
    let allowed = app.call("POST", &format!("/v1/orgs/{org}/webhooks"), Some(&admin), Some(hook("10.0.0.7"))).await;
    assert_eq!(allowed.status, 201, "{:?}", allowed.body);
    let refused = app.call("POST", &format!("/v1/orgs/{org}/webhooks"), Some(&admin), Some(hook("192.168.0.7"))).await;
    assert_eq!(refused.body["code"], "address-not-allowed", "{:?}", refused.body);
}
