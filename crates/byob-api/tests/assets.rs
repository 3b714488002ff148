//! Assets end to end on moto, Azurite and fake-gcs-server: writes streamed through byob under their hash,
//! versions, preconditions, restore, deletion and retention; a history rebuilt from the bucket into an empty
//! catalog; and what happens when someone changes the bucket behind byob's back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_testkit::{
    TestApp,
    assets::{AssetOrg, asset_org, asset_path, behind_byobs_back, put_asset, read_asset, read_directly, verify},
    integrations::Access,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn content_key(bytes: &[u8]) -> String {
    let hash = sha(bytes);
    format!("assets/objects/sha256/{}/{}", &hash[..2], &hash[2..])
}

async fn versions(app: &TestApp, org: &AssetOrg, name: &str) -> Vec<Value> {
    let listed = app.call("GET", &format!("{}/versions", asset_path(org, name)), Some(&org.member), None).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    listed.body["items"].as_array().unwrap().clone()
}

/// Writes, preconditions, versions, restore and deletion; a clean store check; the history rebuilt into a new
/// catalog from the bucket alone.
async fn history(access: Access) {
    let app = TestApp::sqlite().await;
    let org = asset_org(&app, access, None).await;
    let name = "diagrams/model.json";
    let (one, two) = (b"{\"tables\": 1}".to_vec(), vec![7u8; 17 << 20]);

    let first = put_asset(&app, &org, name, &one, &[("if-none-match", "*")]).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    assert_eq!(first.body["version"], 1);
    assert_eq!(first.body["sha256"], sha(&one));
    assert_eq!(first.headers["etag"], "\"v1\"");
    assert_eq!(read_directly(&org, &content_key(&one)).await, one, "stored under its hash");

    // A write that lost the race, a create of what exists, a wrong declared hash: refused, nothing written.
    let second = put_asset(&app, &org, name, &two, &[("if-match", "\"v1\"")]).await;
    assert_eq!((second.status, &second.body["version"]), (201, &json!(2)), "{:?}", second.body);
    let stale = put_asset(&app, &org, name, b"late", &[("if-match", "\"v1\"")]).await;
    assert_eq!((stale.status, stale.body["code"].as_str()), (412, Some("asset-precondition-failed")));
    let exists = put_asset(&app, &org, name, b"again", &[("if-none-match", "*")]).await;
    assert_eq!(exists.status, 412);
    let wrong = put_asset(&app, &org, name, b"abc", &[("x-byob-sha256", &"0".repeat(64))]).await;
    assert_eq!((wrong.status, wrong.body["code"].as_str()), (422, Some("asset-hash-mismatch")), "{:?}", wrong.body);
    let bad_name = put_asset(&app, &org, "../escape", b"x", &[]).await;
    assert_eq!((bad_name.status, bad_name.body["rule"].as_str()), (422, Some("asset-name")), "{:?}", bad_name.body);

    let (status, headers, body) = read_asset(&app, &org, name, None).await;
    assert_eq!((status, headers["etag"].to_str().unwrap()), (200, "\"v2\""));
    assert_eq!(body.unwrap(), two, "the 17 MiB version read back whole, in ranges");
    assert_eq!(read_asset(&app, &org, name, Some(1)).await.2.unwrap(), one);

    let restored =
        app.call("POST", &format!("{}/versions/1/restore", asset_path(&org, name)), Some(&org.member), None).await;
    assert_eq!((restored.status, &restored.body["restored_from"]), (201, &json!(1)), "{:?}", restored.body);
    assert_eq!(read_asset(&app, &org, name, None).await.2.unwrap(), one);
    let deleted = app.call("DELETE", &asset_path(&org, name), Some(&org.member), None).await;
    assert_eq!((deleted.status, &deleted.body["deleted"]), (200, &json!(true)), "{:?}", deleted.body);
    let (status, _, body) = read_asset(&app, &org, name, None).await;
    assert_eq!(status, 410, "{body:?}");
    assert_eq!(read_asset(&app, &org, name, Some(3)).await.2.unwrap(), one, "old versions stay readable");
    let history: Vec<(u64, bool)> = versions(&app, &org, name)
        .await
        .iter()
        .map(|v| (v["version"].as_u64().unwrap(), v["deleted"].as_bool().unwrap()))
        .collect();
    assert_eq!(history, [(4, true), (3, false), (2, false), (1, false)]);
    put_asset(&app, &org, "notes.txt", b"hello", &[]).await;

    let report = verify(&app, &org).await;
    assert_eq!(report["status"], "passed", "{report:?}");
    assert_eq!(report["counts"]["versions"], 5);
    assert_eq!(report["counts"]["objects_checked"], 3, "content shared by versions is read once");
    if access == Access::Moto {
        // byob asked S3 to keep each object's SHA-256 when it placed it, and the check reads those, not the bytes.
        assert_eq!(report["counts"]["objects_checked_by_store_checksum"], 3, "{report:?}");
        assert_eq!(report["counts"]["bytes_checked"], 0, "{report:?}");
    }

    // Another byob with an empty catalog, the same bucket: the history comes back from the signed manifests.
    let key = app.call("GET", &format!("/v1/orgs/{}/assets/public-key", org.id), Some(&org.member), None).await;
    assert_eq!(key.status, 200);
    assert!(key.body["public_key_pem"].as_str().unwrap().starts_with("-----BEGIN PUBLIC KEY-----"));
    let fresh = TestApp::sqlite().await;
    let again = asset_org(&fresh, access, Some(&org.bucket)).await;
    let body = json!({ "public_key": key.body["public_key"] });
    let rebuilt =
        fresh.call("POST", &format!("/v1/orgs/{}/assets/rebuild", again.id), Some(&again.admin), Some(body)).await;
    assert_eq!(rebuilt.status, 200, "{:?}", rebuilt.body);
    assert_eq!((&rebuilt.body["assets"], &rebuilt.body["versions"]), (&json!(2), &json!(5)), "{:?}", rebuilt.body);
    let fields = |vs: Vec<Value>| -> Vec<Value> {
        vs.into_iter()
            .map(|v| {
                json!([
                    v["version"],
                    v["sha256"],
                    v["size"],
                    v["deleted"],
                    v["restored_from"],
                    v["author"],
                    v["manifest_sha256"]
                ])
            })
            .collect()
    };
    assert_eq!(fields(versions(&fresh, &again, name).await), fields(versions(&app, &org, name).await));
    assert_eq!(verify(&fresh, &again).await["status"], "passed", "the old key checks the old manifests");
    let twice =
        fresh.call("POST", &format!("/v1/orgs/{}/assets/rebuild", again.id), Some(&again.admin), Some(json!({}))).await;
    assert_eq!(twice.body["code"], "asset-catalog-not-empty");
}

#[tokio::test(flavor = "multi_thread")]
async fn history_on_moto() {
    history(Access::Moto).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn history_on_azurite() {
    history(Access::Azurite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn history_on_fake_gcs() {
    history(Access::FakeGcs).await;
}

/// Changed, deleted and edited objects: reads fail with `asset-tampered`, the check names each problem.
async fn tampering(access: Access) {
    let app = TestApp::sqlite().await;
    let org = asset_org(&app, access, None).await;
    let (a, b, c) = (b"first".to_vec(), b"second".to_vec(), b"third".to_vec());
    for bytes in [&a, &b, &c] {
        assert_eq!(put_asset(&app, &org, "plan.json", bytes, &[]).await.status, 201);
    }
    put_asset(&app, &org, "other.json", b"other", &[]).await;

    // Same length, other bytes: the read streams, then ends with an error instead of a clean end.
    behind_byobs_back(&org, &content_key(&c), Some(b"THIRD".to_vec())).await;
    let (status, _, body) = read_asset(&app, &org, "plan.json", None).await;
    assert_eq!(status, 200);
    assert!(body.is_err(), "a tampered body never ends cleanly: {body:?}");
    // Another length: refused before any byte.
    behind_byobs_back(&org, &content_key(&b), Some(b"longer than before".to_vec())).await;
    let (status, _, body) = read_asset(&app, &org, "plan.json", Some(2)).await;
    assert_eq!(status, 409, "{body:?}");
    behind_byobs_back(&org, &content_key(&a), None).await;
    let manifest = {
        let name_hash = sha(b"other.json");
        format!("assets/manifests/{name_hash}/000000000001.json")
    };
    let mut edited = read_directly(&org, &manifest).await;
    let at = edited.iter().position(|b| *b == b'"').unwrap();
    edited.insert(at, b' ');
    behind_byobs_back(&org, &manifest, Some(edited)).await;
    behind_byobs_back(&org, "assets/objects/sha256/00/stray", Some(b"stray".to_vec())).await;

    let report = verify(&app, &org).await;
    assert_eq!(report["status"], "failed");
    let counts = &report["counts"];
    assert_eq!(
        [&counts["objects_tampered"], &counts["objects_missing"], &counts["unexpected_objects"]],
        [&json!(2), &json!(1), &json!(1)],
        "{report:?}"
    );
    let named: Vec<(String, String)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["kind"].as_str().unwrap().to_string(), p["key"].as_str().unwrap().to_string()))
        .collect();
    assert!(named.contains(&("object-missing".into(), content_key(&a))), "{named:?}");
    assert!(named.contains(&("manifest-invalid".into(), manifest.clone())), "{named:?}");

    // An edited manifest of a version with a successor breaks the chain at the successor.
    let plan_hash = sha(b"plan.json");
    let first_manifest = format!("assets/manifests/{plan_hash}/000000000001.json");
    let mut edited = read_directly(&org, &first_manifest).await;
    edited.push(b'\n');
    behind_byobs_back(&org, &first_manifest, Some(edited)).await;
    let report = verify(&app, &org).await;
    let broken: Vec<&Value> =
        report["problems"].as_array().unwrap().iter().filter(|p| p["kind"] == "chain-broken").collect();
    assert_eq!(broken.len(), 1, "{report:?}");
    assert_eq!(broken[0]["version"], 2);

    let events =
        app.call("GET", &format!("/v1/orgs/{}/events?type=asset-tampered", org.id), Some(&org.admin), None).await;
    let tampered = events.body.as_array().unwrap().len();
    assert!(tampered >= 2, "reads and checks fire asset-tampered: {:?}", events.body);
    let audit = app.call("GET", &format!("/v1/orgs/{}/audit?action=asset.read", org.id), Some(&org.admin), None).await;
    assert_eq!(audit.body["items"][0]["outcome"], "failed", "{:?}", audit.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn tampering_on_moto() {
    tampering(Access::Moto).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tampering_on_azurite() {
    tampering(Access::Azurite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tampering_on_fake_gcs() {
    tampering(Access::FakeGcs).await;
}

/// A deleted asset's content goes once its retention passed, unless another version still uses it.
async fn retention(access: Access) {
    let app = TestApp::sqlite().await;
    let org = asset_org(&app, access, None).await;
    put_asset(&app, &org, "gone.bin", b"only here", &[]).await;
    put_asset(&app, &org, "gone.bin", b"shared", &[]).await;
    put_asset(&app, &org, "kept.bin", b"shared", &[]).await;
    app.call("DELETE", &asset_path(&org, "gone.bin"), Some(&org.member), None).await;
    let path = format!("/v1/orgs/{}/assets/settings", org.id);
    let denied = app.call("PUT", &path, Some(&org.member), Some(json!({ "retention_days": 0 }))).await;
    assert_eq!(denied.status, 403);
    let too_long = app.call("PUT", &path, Some(&org.admin), Some(json!({ "retention_days": 5000 }))).await;
    assert_eq!(too_long.body["rule"], "asset-retention");
    assert_eq!(app.services.janitor.sweep().await.unwrap().asset_contents_purged, 0, "within the 30 days");
    let set = app.call("PUT", &path, Some(&org.admin), Some(json!({ "retention_days": 0 }))).await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    assert_eq!(app.services.janitor.sweep().await.unwrap().asset_contents_purged, 1);
    let (status, _, _) = read_asset(&app, &org, "gone.bin", Some(1)).await;
    assert_eq!(status, 410);
    assert_eq!(read_asset(&app, &org, "kept.bin", None).await.2.unwrap(), b"shared", "still used elsewhere");
    assert_eq!(verify(&app, &org).await["status"], "passed");
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_on_moto() {
    retention(Access::Moto).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_on_azurite() {
    retention(Access::Azurite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_on_fake_gcs() {
    retention(Access::FakeGcs).await;
}

/// A large asset through an upload plan: parts straight to the bucket, the declared hash checked at completion.
async fn planned_upload(access: Access) {
    let app = TestApp::sqlite().await;
    let org = asset_org(&app, access, None).await;
    let bytes: Vec<u8> = (0..11u32 << 20).map(|i| (i % 253) as u8).collect();
    let uploads = format!("{}/uploads", asset_path(&org, "big/scene.bin"));
    let plan = |sha256: String| {
        let body = json!({ "size": bytes.len(), "sha256": sha256, "part_size": 5 << 20 });
        app.call("POST", &uploads, Some(&org.member), Some(body))
    };

    let wrong = plan("ab".repeat(32)).await;
    assert_eq!(wrong.status, 201, "{:?}", wrong.body);
    let parts = byob_testkit::uploads::send_parts(&wrong.body, &bytes).await;
    let id = wrong.body["upload"]["id"].as_str().unwrap();
    let done = app
        .call(
            "POST",
            &format!("{}/uploads/{id}/complete", asset_path(&org, "big/scene.bin")),
            Some(&org.member),
            Some(parts),
        )
        .await;
    assert_eq!((done.status, done.body["code"].as_str()), (422, Some("asset-hash-mismatch")), "{:?}", done.body);
    let missing = app.call("GET", &asset_path(&org, "big/scene.bin"), Some(&org.member), None).await;
    assert_eq!(missing.status, 404, "nothing was written");

    let right = plan(sha(&bytes)).await;
    assert_eq!(right.status, 201, "{:?}", right.body);
    assert!(right.body["parts"].as_array().unwrap().len() >= 2 || right.body["method"] != "multipart");
    let parts = byob_testkit::uploads::send_parts(&right.body, &bytes).await;
    let id = right.body["upload"]["id"].as_str().unwrap();
    let hidden = app.call("GET", &format!("/v1/orgs/{}/uploads/{id}", org.id), Some(&org.member), None).await;
    assert_eq!(hidden.status, 404, "an asset's upload is the asset's, not the uploads API's");
    let done = app
        .call(
            "POST",
            &format!("{}/uploads/{id}/complete", asset_path(&org, "big/scene.bin")),
            Some(&org.member),
            Some(parts),
        )
        .await;
    assert_eq!((done.status, &done.body["sha256"]), (201, &json!(sha(&bytes))), "{:?}", done.body);
    assert_eq!(read_asset(&app, &org, "big/scene.bin", None).await.2.unwrap(), bytes);
    assert_eq!(verify(&app, &org).await["status"], "passed", "the staging objects are gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn planned_upload_on_moto() {
    planned_upload(Access::Moto).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn planned_upload_on_azurite() {
    planned_upload(Access::Azurite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn planned_upload_on_fake_gcs() {
    planned_upload(Access::FakeGcs).await;
}

/// On S3 byob asks the store to keep each object's SHA-256, and reads it: an object replaced with its own
/// checksum is refused before any byte.
#[tokio::test(flavor = "multi_thread")]
async fn s3_checksums_refuse_a_replaced_object_before_any_byte() {
    let app = TestApp::sqlite().await;
    let org = asset_org(&app, Access::Moto, None).await;
    let bytes = b"the real content".to_vec();
    assert_eq!(put_asset(&app, &org, "doc.json", &bytes, &[]).await.status, 201);
    let s3 = byob_testkit::buckets::s3_admin(&byob_testkit::server_env("BYOB_TEST_S3_ENDPOINT"), "us-east-1");
    let key = format!("{}/{}", org.prefix, content_key(&bytes));
    let kept = s3
        .head_object()
        .bucket(&org.bucket)
        .key(&key)
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    let expected = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, Sha256::digest(&bytes));
    assert_eq!(kept.checksum_sha256(), Some(expected.as_str()), "S3 keeps the content's SHA-256");
    s3.put_object()
        .bucket(&org.bucket)
        .key(&key)
        .body(b"THE REAL CONTENT".to_vec().into())
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
        .send()
        .await
        .unwrap();
    let (status, _, body) = read_asset(&app, &org, "doc.json", None).await;
    assert_eq!(status, 409, "refused before any byte: {body:?}");
    assert!(String::from_utf8(body.unwrap()).unwrap().contains("asset-tampered"));
}
