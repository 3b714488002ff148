//! Azure-specific behaviour against Azurite, which validates shared keys and SAS fully: presigned URLs scoped to
//! one blob; an account SAS used by byob only; a read-only SAS refused writes (what every backend does, block
//! uploads included, is in storage_behaviour.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::{Sensitive, location::Prefix};
use byob_ports::storage::{
    ClientPolicy, StorageClient, StorageError,
    azure::{self, AzureAuth, AzureSettings},
};
use byob_testkit::{
    buckets::{AZURITE_ACCOUNT, AZURITE_KEY, azurite_account_sas, create_azure_container, unique_name},
    server_env,
};
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload, path::Path};

async fn client(auth: AzureAuth) -> StorageClient {
    let container = unique_name("byob");
    create_azure_container(&container).await;
    connect(&container, auth)
}

fn connect(container: &str, auth: AzureAuth) -> StorageClient {
    let settings = AzureSettings {
        account: AZURITE_ACCOUNT.into(),
        container: container.into(),
        prefix: Prefix::parse("prefix", "tenants/acme").unwrap(),
        endpoint: Some(server_env("BYOB_TEST_AZURE_ENDPOINT")),
        auth,
        authority_host: None,
        extra_roots_pem: None,
    };
    azure::connect(settings, ClientPolicy::default(), &byob_testkit::loopback_network()).unwrap()
}

fn shared_key() -> AzureAuth {
    AzureAuth::SharedKey(Sensitive::new(AZURITE_KEY.into()))
}

fn sas(permissions: &str) -> AzureAuth {
    AzureAuth::Sas(Sensitive::new(azurite_account_sas(permissions, chrono::Utc::now() + chrono::Duration::days(1))))
}

async fn put_with(url: url::Url, headers: &[(String, String)], body: Vec<u8>) -> reqwest::Response {
    let mut request = reqwest::Client::new().put(url).body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn presigned_put_and_get_with_a_shared_key() {
    let c = client(shared_key()).await;
    let key = c.key("uploads/hello.csv").unwrap();
    let put = c.presign_put(&key, None).await.unwrap();
    assert!(put.url.query().unwrap().contains("sr=b"), "the SAS is scoped to one blob: {}", put.url);
    assert_eq!(put.headers, vec![("x-ms-blob-type".to_string(), "BlockBlob".to_string())]);
    let response = put_with(put.url, &put.headers, b"a,b\n".to_vec()).await;
    assert!(response.status().is_success(), "{}", response.status());
    let get = c.presign_get(&key, None).await.unwrap();
    assert_eq!(reqwest::get(get.url.clone()).await.unwrap().text().await.unwrap(), "a,b\n");

    let mut other = get.url.clone();
    other.set_path(&get.url.path().replace("hello.csv", "other.csv"));
    assert_eq!(reqwest::get(other).await.unwrap().status(), 403, "a SAS is valid for its blob only");
}

#[tokio::test]
async fn an_account_sas_is_used_by_byob_but_never_handed_out() {
    let c = client(sas("rwdlac")).await;
    let key = c.key("exports/report.csv").unwrap();
    c.store().put(&key, PutPayload::from_static(b"r\n")).await.unwrap();
    let listed: Vec<_> = c.store().list(Some(&Path::from("tenants/acme"))).try_collect().await.unwrap();
    assert_eq!(listed[0].location, key);
    let refused = c.presign_get(&key, None).await;
    assert!(matches!(&refused, Err(StorageError::Config(m)) if m.contains("cannot presign")), "{refused:?}");
    assert!(!c.can_presign());
}

#[tokio::test]
async fn a_read_only_sas_cannot_write_and_byob_says_so() {
    let container = unique_name("byob");
    create_azure_container(&container).await;
    let writer = connect(&container, shared_key());
    let key = writer.key("imports/in.csv").unwrap();
    writer.store().put(&key, PutPayload::from_static(b"in\n")).await.unwrap();
    let reader = connect(&container, sas("rl"));
    assert_eq!(&reader.store().get(&key).await.unwrap().bytes().await.unwrap()[..], b"in\n");
    let write = reader.store().put(&reader.key("imports/out.csv").unwrap(), PutPayload::from_static(b"x")).await;
    let err = StorageError::from(write.unwrap_err());
    assert!(matches!(err, StorageError::PermissionDenied(_)), "{err:?}");
    assert!(err.to_string().contains("lack of permission"), "{err}");
}
