//! Keys as customers write them — any Unicode, spaces, `+`, `%`, `#`, `?`, `:` — round-trip on every backend:
//! written, listed, read whole and by range, presigned (GET, and PUT where the emulator serves it) and deleted,
//! always under the same name. A key percent-encoded by byob itself would be encoded twice on the wire and read
//! back as "not found". Each backend's declared capability is asserted, and the cases it gates follow it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::{Sensitive, location::Prefix};
use byob_ports::storage::{
    Capability, PartRules, PresignPolicy, StorageClient, StorageError,
    azure::{self, AzureAuth, AzureSettings},
    gcs::{self, GcsSettings},
    local_storage_client,
};
use byob_testkit::{
    buckets::{
        AZURITE_ACCOUNT, AZURITE_KEY, create_azure_container, create_gcs_bucket, create_s3_bucket, gcs_test_key,
        s3_storage_client, unique_name,
    },
    server_env,
};
use object_store::ObjectStoreExt;

const KEYS: [&str; 8] = [
    "données/2024-05-06-ü.csv",
    "with space/a b.csv",
    "plus/a+b=c.csv",
    "percent/100%25 and 100%.csv",
    "hash/a#1.csv",
    "question/why?.csv",
    "colon/2024-05-06T10:00:00Z.csv",
    "emoji/🎉 中文.csv",
];

fn prefix() -> Prefix {
    Prefix::parse("prefix", "tenants/acme").unwrap()
}

/// What each backend's emulator lets the test check, and what its client declares it can do.
struct Backend {
    client: StorageClient,
    presigned_put: bool,
    declared: Capability,
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

async fn round_trip(backend: Backend) {
    let c = &backend.client;
    let can = c.capability();
    assert_eq!(can, backend.declared, "the client declares what this backend does");
    let http = reqwest::Client::new();
    for name in KEYS {
        let body = format!("id\n{}\n", name.len());
        let key = c.existing_key(name).unwrap();
        c.put_atomic(key.clone(), body.clone().into_bytes().into()).await.unwrap();

        let folder = format!("{}/", name.split('/').next().unwrap());
        let page = c.list_page(&folder, None, None).await.unwrap();
        let listed: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(listed, [name], "listing {folder}");
        assert_eq!(page.requests_counted, can.paged_listing, "one list request per page where declared");
        let again = c.existing_key(&page.objects[0].key).unwrap();
        assert_eq!(again, key, "a listed key reads back as the same path");

        let head = c.store().head(&key).await.unwrap();
        assert_eq!(head.size, body.len() as u64, "{name}");
        assert_eq!(c.store().get(&key).await.unwrap().bytes().await.unwrap(), body.as_bytes(), "{name}");
        assert_eq!(&c.store().get_range(&key, 0..3).await.unwrap()[..], b"id\n", "{name}");

        if can.presign {
            let get = c.presign_get(&key, None).await.unwrap();
            let reply = http.get(get.url.clone()).send().await.unwrap();
            assert_eq!(reply.status(), 200, "presigned GET of {name}: {}", get.url);
            assert_eq!(reply.text().await.unwrap(), body, "{name}");
        }
        if backend.presigned_put {
            let put = c.presign_put(&key, None).await.unwrap();
            let mut request = http.put(put.url.clone()).body("id\n2\n");
            for (header, value) in &put.headers {
                request = request.header(header, value);
            }
            let reply = request.send().await.unwrap();
            assert!(reply.status().is_success(), "presigned PUT of {name}: {}", reply.status());
            assert_eq!(c.store().get(&key).await.unwrap().bytes().await.unwrap(), "id\n2\n".as_bytes());
        }

        c.store().delete(&key).await.unwrap();
        let gone = c.store().head(&key).await.map_err(StorageError::from);
        assert!(matches!(gone, Err(StorageError::NotFound(_))), "{name} deleted: {gone:?}");
    }
}

#[tokio::test]
async fn keys_round_trip_on_moto() {
    let bucket = unique_name("keys");
    create_s3_bucket(&bucket).await;
    let client = s3_storage_client(server_env("BYOB_TEST_S3_ENDPOINT"), &bucket, "testing", "testing");
    round_trip(Backend { client, presigned_put: true, declared: S3 }).await;
}

#[tokio::test]
async fn keys_round_trip_on_s3s_fs_which_checks_every_signature() {
    let bucket = unique_name("keys");
    std::fs::create_dir_all(std::path::Path::new(&server_env("BYOB_TEST_S3S_DIR")).join(&bucket)).unwrap();
    let client = s3_storage_client(
        server_env("BYOB_TEST_S3S_ENDPOINT"),
        &bucket,
        &server_env("BYOB_TEST_S3S_ACCESS_KEY"),
        &server_env("BYOB_TEST_S3S_SECRET_KEY"),
    );
    round_trip(Backend { client, presigned_put: true, declared: S3 }).await;
}

#[tokio::test]
async fn keys_round_trip_on_azurite() {
    let container = unique_name("keys");
    create_azure_container(&container).await;
    let settings = AzureSettings {
        account: AZURITE_ACCOUNT.into(),
        container,
        prefix: prefix(),
        endpoint: Some(server_env("BYOB_TEST_AZURE_ENDPOINT")),
        auth: AzureAuth::SharedKey(Sensitive::new(AZURITE_KEY.into())),
        authority_host: None,
        extra_roots_pem: None,
    };
    let client = azure::connect(settings, PresignPolicy::default(), &byob_testkit::loopback_network()).unwrap();
    // Uncommitted blocks cannot be listed; listing pages on object_store's own.
    let declared = Capability { paged_listing: false, list_unfinished: false, ..S3 };
    round_trip(Backend { client, presigned_put: true, declared }).await;
}

/// fake-gcs-server serves signed GETs but has no XML API for a signed PUT.
#[tokio::test]
async fn keys_round_trip_on_fake_gcs() {
    let bucket = unique_name("keys");
    create_gcs_bucket(&bucket).await;
    let settings = GcsSettings {
        bucket,
        prefix: prefix(),
        endpoint: Some(server_env("BYOB_TEST_GCS_ENDPOINT")),
        service_account_key: Sensitive::new(gcs_test_key()),
    };
    let client = gcs::connect(settings, PresignPolicy::default(), &byob_testkit::loopback_network()).unwrap();
    // A resumable session: parts in order, each with its Content-Range, aligned to 256 KiB; sessions cannot be
    // listed.
    let parts = PartRules { sequential: true, content_range: true, align: 256 * 1024 };
    let declared = Capability { parts, list_unfinished: false, ..S3 };
    round_trip(Backend { client, presigned_put: false, declared }).await;
}

#[tokio::test]
async fn keys_round_trip_in_a_local_directory() {
    let dir = tempfile::tempdir().unwrap();
    let client = local_storage_client(dir.path()).unwrap().narrowed("tenants/acme").unwrap();
    // byob reads and writes a directory itself: no URLs, no settings, no multipart ids; leftovers by listing.
    let declared = Capability {
        presign: false,
        parts: PartRules::default(),
        paged_listing: false,
        inspect: false,
        resumable_writes: false,
        list_unfinished: true,
    };
    round_trip(Backend { client, presigned_put: false, declared }).await;
}
