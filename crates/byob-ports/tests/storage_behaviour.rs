//! The storage behaviour suite (byob_testkit::storage_behaviour) on every backend byob-ports connects to: moto,
//! s3s-fs (which checks every signature), Azurite with a shared key, an account SAS and a service principal,
//! fake-gcs-server, and a local directory. Each backend's declared capability is asserted, and the cases it gates
//! follow it. The in-memory test provider runs the same suite through the service (byob-api/tests).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::{Sensitive, location::Prefix};
use byob_ports::storage::{
    Capability, ClientPolicy, PartRules, StorageClient,
    azure::{self, AzureAuth, AzureSettings},
    gcs::{self, GcsSettings},
    local_storage_client,
};
use byob_testkit::{
    azurite_oauth::{OAuthAzurite, token_endpoint},
    buckets::{
        AZURITE_ACCOUNT, AZURITE_KEY, azurite_account_sas, azurite_container_sas, create_azure_container,
        create_gcs_bucket, create_s3_bucket, gcs_test_key, s3_storage_client, unique_name,
    },
    server_env,
    storage_behaviour::{Backend, PREFIX, run},
};

fn prefix() -> Prefix {
    Prefix::parse("prefix", PREFIX).unwrap()
}

/// The capability of the S3 client (moto, s3s-fs): everything.
const S3: Capability = Capability {
    presign: true,
    parts: PartRules { sequential: false, content_range: false, align: 1 },
    paged_listing: true,
    inspect: true,
    resumable_writes: true,
    list_unfinished: true,
};

/// Azure: uncommitted blocks cannot be listed; listing pages on object_store's own.
const AZURE: Capability = Capability { paged_listing: false, list_unfinished: false, ..S3 };

/// A backend whose emulator checks signatures, answers with signed response headers and serves deletes; each
/// test says where its emulator does less.
fn backend(name: &'static str, client: StorageClient, declared: Capability, presigned_put: bool) -> Backend {
    Backend {
        name,
        client,
        declared,
        presigned_put,
        http: reqwest::Client::new(),
        response_headers: true,
        checks_signatures: true,
        deletes: true,
    }
}

#[tokio::test]
async fn behaviour_on_moto() {
    let bucket = unique_name("behave");
    create_s3_bucket(&bucket).await;
    let client = s3_storage_client(server_env("BYOB_TEST_S3_ENDPOINT"), &bucket, "testing", "testing");
    let mut b = backend("moto", client, S3, true);
    // moto outside its auth mode does not check signatures.
    b.checks_signatures = false;
    run(&b).await;
}

#[tokio::test]
async fn behaviour_on_s3s_fs_which_checks_every_signature() {
    let bucket = unique_name("behave");
    std::fs::create_dir_all(std::path::Path::new(&server_env("BYOB_TEST_S3S_DIR")).join(&bucket)).unwrap();
    let client = s3_storage_client(
        server_env("BYOB_TEST_S3S_ENDPOINT"),
        &bucket,
        &server_env("BYOB_TEST_S3S_ACCESS_KEY"),
        &server_env("BYOB_TEST_S3S_SECRET_KEY"),
    );
    run(&backend("s3s-fs", client, S3, true)).await;
}

async fn azurite(auth: AzureAuth) -> StorageClient {
    let container = unique_name("behave");
    create_azure_container(&container).await;
    connect_azurite(container, auth)
}

fn connect_azurite(container: String, auth: AzureAuth) -> StorageClient {
    let settings = AzureSettings {
        account: AZURITE_ACCOUNT.into(),
        container,
        prefix: prefix(),
        endpoint: Some(server_env("BYOB_TEST_AZURE_ENDPOINT")),
        auth,
        authority_host: None,
        extra_roots_pem: None,
    };
    azure::connect(settings, ClientPolicy::default(), &byob_testkit::loopback_network()).unwrap()
}

#[tokio::test]
async fn behaviour_on_azurite_with_a_shared_key() {
    let client = azurite(AzureAuth::SharedKey(Sensitive::new(AZURITE_KEY.into()))).await;
    run(&backend("azurite shared key", client, AZURE, true)).await;
}

/// An account SAS is byob's to use, never to hand out: no presigned URLs.
#[tokio::test]
async fn behaviour_on_azurite_with_an_account_sas() {
    let sas = azurite_account_sas("rwdlac", chrono::Utc::now() + chrono::Duration::days(1));
    let client = azurite(AzureAuth::Sas(Sensitive::new(sas))).await;
    let declared = Capability { presign: false, ..AZURE };
    run(&backend("azurite account SAS", client, declared, false)).await;
}

/// A container SAS (`sr=c`), the narrowest a customer can give: Azure takes no blob batch under it, so deletes
/// go one blob at a time.
#[tokio::test]
async fn behaviour_on_azurite_with_a_container_sas() {
    let container = unique_name("behave");
    create_azure_container(&container).await;
    let sas = azurite_container_sas(&container, "racwdl", chrono::Utc::now() + chrono::Duration::days(1));
    let client = connect_azurite(container, AzureAuth::Sas(Sensitive::new(sas)));
    let declared = Capability { presign: false, ..AZURE };
    run(&backend("azurite container SAS", client, declared, false)).await;
}

/// A service principal presigns with user-delegation SAS, on an Azurite of its own over https.
#[tokio::test]
async fn behaviour_on_azurite_with_a_service_principal() {
    let azurite = OAuthAzurite::start("behave").await;
    let settings = AzureSettings {
        account: AZURITE_ACCOUNT.into(),
        container: "behave".into(),
        prefix: prefix(),
        endpoint: Some(azurite.endpoint.clone()),
        auth: AzureAuth::ServicePrincipal {
            tenant_id: byob_testkit::azurite_oauth::TENANT.into(),
            client_id: "04b07795-8ddb-461a-bbee-02f9e1bf7b46".into(),
            client_secret: Sensitive::new("client-secret".into()),
        },
        authority_host: Some(token_endpoint().await),
        extra_roots_pem: Some(azurite.ca_pem.clone()),
    };
    let client = azure::connect(settings, ClientPolicy::default(), &byob_testkit::loopback_network()).unwrap();
    let mut b = backend("azurite service principal", client, AZURE, true);
    b.http = azurite.http.clone();
    run(&b).await;
}

/// fake-gcs-server serves signed GETs but has no XML API for a signed PUT.
#[tokio::test]
async fn behaviour_on_fake_gcs() {
    let bucket = unique_name("behave");
    create_gcs_bucket(&bucket).await;
    let settings = GcsSettings {
        bucket,
        prefix: prefix(),
        endpoint: Some(server_env("BYOB_TEST_GCS_ENDPOINT")),
        service_account_key: Sensitive::new(gcs_test_key()),
    };
    let client = gcs::connect(settings, ClientPolicy::default(), &byob_testkit::loopback_network()).unwrap();
    // A resumable session: parts in order, each with its Content-Range, aligned to 256 KiB; sessions cannot be
    // listed.
    let parts = PartRules { sequential: true, content_range: true, align: 256 * 1024 };
    let declared = Capability { parts, list_unfinished: false, ..S3 };
    let mut b = backend("fake-gcs-server", client, declared, false);
    // fake-gcs-server neither checks V4 signatures nor applies `response-content-*` overrides.
    b.checks_signatures = false;
    b.response_headers = false;
    run(&b).await;
}

#[tokio::test]
async fn behaviour_in_a_local_directory() {
    let dir = tempfile::tempdir().unwrap();
    let client = local_storage_client(dir.path()).unwrap().narrowed(PREFIX).unwrap();
    // byob reads and writes a directory itself: no URLs, no settings, no multipart ids; leftovers by listing.
    let declared = Capability {
        presign: false,
        parts: PartRules::default(),
        paged_listing: false,
        inspect: false,
        resumable_writes: false,
        list_unfinished: true,
    };
    run(&backend("local directory", client, declared, false)).await;
}
