//! An Azure service principal: Entra ID tokens for data access and user-delegation SAS for presigned URLs,
//! against an Azurite of its own over https with `--oauth basic` (byob_testkit::azurite_oauth). The storage
//! behaviour suite runs on it too (storage_behaviour.rs).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::{Sensitive, location::Prefix};
use byob_ports::storage::{
    ClientPolicy,
    azure::{self, AzureAuth, AzureSettings},
};
use byob_testkit::azurite_oauth::{OAuthAzurite, TENANT, token_endpoint};
use object_store::{ObjectStoreExt, PutPayload};

#[tokio::test]
async fn a_service_principal_reads_writes_and_presigns_with_user_delegation() {
    let azurite = OAuthAzurite::start("byob").await;
    let (endpoint, http, pem) = (azurite.endpoint.clone(), azurite.http.clone(), azurite.ca_pem.clone());
    let settings = AzureSettings {
        account: "devstoreaccount1".into(),
        container: "byob".into(),
        prefix: Prefix::parse("prefix", "tenants/acme").unwrap(),
        endpoint: Some(endpoint.clone()),
        auth: AzureAuth::ServicePrincipal {
            tenant_id: TENANT.into(),
            client_id: "04b07795-8ddb-461a-bbee-02f9e1bf7b46".into(),
            client_secret: Sensitive::new("client-secret".into()),
        },
        authority_host: Some(token_endpoint().await),
        extra_roots_pem: Some(pem),
    };
    let client = azure::connect(settings, ClientPolicy::default(), &byob_testkit::loopback_network()).unwrap();
    let key = client.key("exports/r.csv").unwrap();
    client.store().put(&key, PutPayload::from_static(b"with a token\n")).await.unwrap();
    assert_eq!(&client.store().get(&key).await.unwrap().bytes().await.unwrap()[..], b"with a token\n");

    let upload = client.key("uploads/u.csv").unwrap();
    let put = client.presign_put(&upload, None).await.unwrap();
    let query: std::collections::HashMap<String, String> = put.url.query_pairs().into_owned().collect();
    assert!(query.contains_key("skoid"), "a user-delegation SAS: {}", put.url);
    assert_eq!(query["sr"], "b");
    let mut request = http.put(put.url).body("from a browser\n");
    for (name, value) in &put.headers {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let get = client.presign_get(&upload, None).await.unwrap();
    assert_eq!(http.get(get.url).send().await.unwrap().text().await.unwrap(), "from a browser\n");
}
