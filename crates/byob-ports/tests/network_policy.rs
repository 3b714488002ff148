//! Connections to tenant-named hosts go through the network policy when they are made: a name that resolves to
//! loopback is refused by the storage clients and the PostgreSQL connector (whatever it resolved to when the
//! tenant named it, so DNS rebinding gains nothing), an address literal is refused before any client exists, and
//! a redirect to another host is not followed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use byob_core::{Sensitive, location::Prefix};
use byob_ports::{
    net::{NetworkPolicy, guarded_http_client},
    storage::{
        ClientPolicy, StorageError,
        s3::{self, S3AccessKey},
    },
    warehouse::{MysqlWarehouse, PostgresWarehouse, ServerSettings, Warehouse, WarehouseError},
};
use byob_testkit::{buckets::create_s3_bucket, buckets::unique_name, loopback_network, server_env, server_settings};

fn s3_settings(endpoint: String, bucket: &str) -> S3AccessKey {
    S3AccessKey {
        bucket: bucket.into(),
        prefix: Prefix::parse("prefix", "tenants/acme").unwrap(),
        region: "us-east-1".into(),
        endpoint: Some(endpoint),
        path_style: true,
        access_key_id: "testing-key".into(),
        secret_access_key: Sensitive::new("testing-secret".into()),
        kms_key: None,
    }
}

#[tokio::test]
async fn storage_clients_refuse_internal_addresses_when_connecting() {
    let endpoint = server_env("BYOB_TEST_S3_ENDPOINT");
    let bucket = unique_name("net");
    create_s3_bucket(&bucket).await;
    let by_name = endpoint.replace("127.0.0.1", "localhost");

    // By name: the client exists, and its first request is refused by the resolver.
    let strict =
        s3::connect(s3_settings(by_name.clone(), &bucket), ClientPolicy::default(), &NetworkPolicy::public_only())
            .unwrap();
    let err = strict.list_page("", None, None).await.expect_err("refused");
    assert!(matches!(err, StorageError::AddressRefused(_)), "{err:?}");
    assert!(err.to_string().contains("a loopback address"), "{err}");
    // Bucket settings go through the AWS SDK's client, which resolves through the policy too.
    let settings = strict.inspector().settings().await;
    assert!(format!("{settings:?}").contains("loopback"), "{settings:?}");

    // By address: refused before any client exists.
    let err =
        s3::connect(s3_settings(endpoint.clone(), &bucket), ClientPolicy::default(), &NetworkPolicy::public_only())
            .expect_err("refused");
    assert!(matches!(err, StorageError::AddressRefused(_)), "{err:?}");

    // The operator's allowance lets the same client through.
    let allowed = s3::connect(s3_settings(by_name, &bucket), ClientPolicy::default(), &loopback_network()).unwrap();
    allowed.list_page("", None, None).await.unwrap();
}

#[tokio::test]
async fn postgres_and_mysql_hosts_are_resolved_and_refused_by_byob() {
    type Open = fn(ServerSettings) -> Box<dyn Warehouse>;
    let platforms: [(&str, Open); 2] = [
        ("BYOB_TEST_POSTGRES_URL", |s| Box::new(PostgresWarehouse::new(s))),
        ("BYOB_TEST_MYSQL_URL", |s| Box::new(MysqlWarehouse::new(s))),
    ];
    for (variable, open) in platforms {
        let url = url::Url::parse(&server_env(variable)).unwrap();
        for host in ["localhost", "127.0.0.1"] {
            let err =
                open(server_settings(&url, host, NetworkPolicy::public_only())).ping().await.expect_err("refused");
            assert!(matches!(err, WarehouseError::AddressRefused(_)), "{variable} {host}: {err:?}");
        }
        open(server_settings(&url, "localhost", loopback_network())).ping().await.unwrap();
    }
}

/// A stand-in that redirects every request to `to` and counts what it serves.
async fn redirecting(to: Option<String>, hits: Arc<AtomicUsize>) -> String {
    let app = axum::Router::new().fallback(move || {
        let to = to.clone();
        let hits = hits.clone();
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            match to {
                Some(to) => axum::response::Redirect::temporary(&to).into_response(),
                None => "the internal secret".into_response(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

use axum::response::IntoResponse;

#[tokio::test]
async fn redirects_to_another_host_are_not_followed() {
    let internal_hits = Arc::new(AtomicUsize::new(0));
    let internal = redirecting(None, internal_hits.clone()).await;
    // The same server under another name is another host.
    let elsewhere = format!("{}/secret", internal.replace("127.0.0.1", "localhost"));
    let public_hits = Arc::new(AtomicUsize::new(0));
    let public = redirecting(Some(elsewhere), public_hits.clone()).await;

    let client = guarded_http_client(&loopback_network()).build().unwrap();
    let reply = client.get(format!("{public}/start")).send().await.unwrap();
    assert_eq!(reply.status(), 307, "the redirect is answered, not followed");
    assert_eq!((public_hits.load(Ordering::SeqCst), internal_hits.load(Ordering::SeqCst)), (1, 0));

    // On the same host, a redirect is followed.
    let same_hits = Arc::new(AtomicUsize::new(0));
    let target = redirecting(None, same_hits.clone()).await;
    let hop = redirecting(Some(format!("{target}/there")), Arc::new(AtomicUsize::new(0))).await;
    // Different ports are different origins: not followed either.
    let reply = client.get(format!("{hop}/start")).send().await.unwrap();
    assert_eq!(reply.status(), 307);
    assert_eq!(same_hits.load(Ordering::SeqCst), 0);
}
