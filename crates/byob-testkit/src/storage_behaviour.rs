//! The storage behaviour suite, written once and run against every backend (as OpenDAL's behaviour tests and
//! byob's own `catalog_suite` are): moto, s3s-fs, Azurite (shared key, SAS, service principal), fake-gcs-server,
//! a local directory and the in-memory test provider. Each case is gated by what the client declares it can do
//! ([`Capability`]), never by the backend's name, so a new provider passes or fails on its declaration.

use std::time::Duration;

use byob_ports::storage::{Capability, ResponseHeaders, StorageClient, StorageError};
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, path::Path};

/// A backend under test: its client (under the prefix `tenants/acme`), what it must declare, and what its
/// emulator serves.
pub struct Backend {
    pub name: &'static str,
    pub client: StorageClient,
    pub declared: Capability,
    /// Whether the emulator serves presigned PUTs of a whole object (fake-gcs-server has no XML API for them).
    pub presigned_put: bool,
    /// The HTTP client a browser would be (one trusting a test CA where the emulator serves TLS).
    pub http: reqwest::Client,
    /// Whether the emulator answers with the response headers a presigned download signs (fake-gcs-server does
    /// not; there the signed URL's parameters are checked instead).
    pub response_headers: bool,
    /// Whether the emulator checks presigned URLs' signatures (s3s-fs and Azurite do; moto and
    /// fake-gcs-server do not).
    pub checks_signatures: bool,
    /// Whether the emulator serves deletes (every one here does; a backend that does not leaves its objects and
    /// skips the checks that follow a delete).
    pub deletes: bool,
}

/// The prefix every backend's client is confined to.
pub const PREFIX: &str = "tenants/acme";

/// Keys as customers write them — any Unicode, spaces, `+`, `%`, `#`, `?`, `:`. A key percent-encoded by byob
/// itself would be encoded twice on the wire and read back as "not found".
pub const KEYS: [&str; 8] = [
    "données/2024-05-06-ü.csv",
    "with space/a b.csv",
    "plus/a+b=c.csv",
    "percent/100%25 and 100%.csv",
    "hash/a#1.csv",
    "question/why?.csv",
    "colon/2024-05-06T10:00:00Z.csv",
    "emoji/🎉 中文.csv",
];

/// Runs every case the backend's declaration allows.
pub async fn run(backend: &Backend) {
    assert_eq!(backend.client.capability(), backend.declared, "{}: the client declares what it does", backend.name);
    prefix_confinement(backend).await;
    existing_keys_round_trip(backend).await;
    atomic_writer_and_abort(backend).await;
    paged_listing(backend).await;
    if backend.declared.presign {
        lifetime_bounds(backend).await;
        if backend.presigned_put {
            presigned_put_and_get(backend).await;
        }
        presigned_download_headers(backend).await;
        presigned_multipart(backend).await;
        abandoned_multipart(backend).await;
    } else {
        presigning_is_refused(backend).await;
    }
}

/// Keys byob builds never leave the prefix; what is written lands under it and nowhere else.
async fn prefix_confinement(b: &Backend) {
    let c = &b.client;
    assert_eq!(c.key("uploads/a.csv").unwrap(), Path::from(format!("{PREFIX}/uploads/a.csv")), "{}", b.name);
    for bad in ["../other/a.csv", "/etc/passwd", "uploads//a", "", "a/./b", "a b"] {
        assert!(matches!(c.key(bad), Err(StorageError::InvalidKey { .. })), "{}: key `{bad}`", b.name);
    }
    for bad in ["../escape.csv", "a/../../b", "", "/rooted"] {
        assert!(matches!(c.existing_key(bad), Err(StorageError::InvalidKey { .. })), "{}: existing `{bad}`", b.name);
    }
    let key = c.key("confined/one.csv").unwrap();
    c.put_atomic(key.clone(), "x\n".into()).await.unwrap();
    let listed: Vec<_> = c.store().list(Some(&Path::from(PREFIX))).try_collect().await.unwrap();
    assert!(listed.iter().any(|o| o.location == key), "{}: written under the prefix", b.name);
    assert!(listed.iter().all(|o| o.location.as_ref().starts_with(&format!("{PREFIX}/"))), "{}", b.name);
    remove(b, &key).await;
}

/// Keys as customers write them round-trip: written, listed, read whole and by range, presigned and deleted,
/// always under the same name.
async fn existing_keys_round_trip(b: &Backend) {
    let c = &b.client;
    let can = c.capability();
    for name in KEYS {
        let body = format!("id\n{}\n", name.len());
        let key = c.existing_key(name).unwrap();
        c.put_atomic(key.clone(), body.clone().into_bytes().into()).await.unwrap();

        let folder = format!("{}/", name.split('/').next().unwrap());
        let page = c.list_page(&folder, None, None).await.unwrap();
        let listed: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(listed, [name], "{}: listing {folder}", b.name);
        assert_eq!(page.requests_counted, can.paged_listing, "{}: one list request per page where declared", b.name);
        assert_eq!(c.existing_key(&page.objects[0].key).unwrap(), key, "{}: a listed key reads back", b.name);

        let head = c.store().head(&key).await.unwrap();
        assert_eq!(head.size, body.len() as u64, "{}: {name}", b.name);
        assert_eq!(c.store().get(&key).await.unwrap().bytes().await.unwrap(), body.as_bytes(), "{}: {name}", b.name);
        assert_eq!(&c.store().get_range(&key, 0..3).await.unwrap()[..], b"id\n", "{}: {name}", b.name);

        if can.presign {
            let get = c.presign_get(&key, None).await.unwrap();
            let reply = b.http.get(get.url.clone()).send().await.unwrap();
            assert_eq!(reply.status(), 200, "{}: presigned GET of {name}: {}", b.name, get.url);
            assert_eq!(reply.text().await.unwrap(), body, "{}: {name}", b.name);
        }
        if can.presign && b.presigned_put {
            let put = c.presign_put(&key, None).await.unwrap();
            let reply = send(&b.http, put.url, &put.headers, &[], b"id\n2\n".to_vec()).await;
            assert!(reply.status().is_success(), "{}: presigned PUT of {name}: {}", b.name, reply.status());
            assert_eq!(c.store().get(&key).await.unwrap().bytes().await.unwrap(), "id\n2\n".as_bytes());
        }

        if b.deletes {
            c.store().delete(&key).await.unwrap();
            let gone = c.store().head(&key).await.map_err(StorageError::from);
            assert!(matches!(gone, Err(StorageError::NotFound(_))), "{}: {name} deleted: {gone:?}", b.name);
        }
    }
}

/// byob's own streaming writes appear whole or not at all: nothing is visible before `finish`, and an aborted
/// write leaves nothing behind.
async fn atomic_writer_and_abort(b: &Backend) {
    let c = &b.client;
    let key = c.key("writes/whole.bin").unwrap();
    let mut writer = c.object_writer(key.clone());
    // Chunks as the writer takes them: all but the last at least 5 MiB and a multiple of 256 KiB.
    let chunk = bytes::Bytes::from(vec![b'w'; 5 * 1024 * 1024]);
    let tail = bytes::Bytes::from_static(b"tail");
    let total = 2 * chunk.len() as u64 + tail.len() as u64;
    for part in [chunk.clone(), chunk.clone(), tail] {
        writer.write(part).await.unwrap();
    }
    assert!(not_found(c, &key).await, "{}: nothing visible before the writer finishes", b.name);
    assert_eq!(writer.finish().await.unwrap(), total, "{}", b.name);
    assert_eq!(c.store().head(&key).await.unwrap().size, total, "{}", b.name);

    let aborted = c.key("writes/aborted.bin").unwrap();
    let mut writer = c.object_writer(aborted.clone());
    for _ in 0..3 {
        writer.write(chunk.clone()).await.unwrap();
    }
    writer.abort().await.unwrap();
    // (That no unfinished upload is left is storage_unfinished.rs's, on moto: s3s-fs cannot list them.)
    assert!(not_found(c, &aborted).await, "{}: an aborted write leaves nothing", b.name);
    remove(b, &key).await;
}

/// A folder listed a page at a time, resuming after a key, sees every object once and in order.
async fn paged_listing(b: &Backend) {
    let c = &b.client;
    let names: Vec<String> = (0..5).map(|n| format!("paged/part-{n:02}.csv")).collect();
    for name in &names {
        c.put_atomic(c.key(name).unwrap(), "p\n".into()).await.unwrap();
    }
    let all = c.list_page("paged/part-", None, None).await.unwrap();
    let keys: Vec<&str> = all.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, names.iter().map(String::as_str).collect::<Vec<_>>(), "{}", b.name);
    let after = c.list_page("paged/part-", Some("paged/part-02.csv"), None).await.unwrap();
    let rest: Vec<&str> = after.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(rest, ["paged/part-03.csv", "paged/part-04.csv"], "{}: start-after", b.name);
    assert_eq!(after.requests_counted, c.capability().paged_listing, "{}", b.name);
    for name in &names {
        remove(b, &c.key(name).unwrap()).await;
    }
}

/// Presigned URLs live 15 minutes by default and never longer than the operator's maximum.
async fn lifetime_bounds(b: &Backend) {
    let c = &b.client;
    let key = c.key("uploads/x").unwrap();
    let url = c.presign_get(&key, None).await.unwrap();
    assert!(url.expires_at > chrono::Utc::now() + chrono::Duration::minutes(14), "{}", b.name);
    let too_long = c.presign_get(&key, Some(Duration::from_secs(13 * 3600))).await;
    assert!(matches!(too_long, Err(StorageError::LifetimeTooLong { max_secs: 43_200, .. })), "{}", b.name);
    let zero = c.presign_put(&key, Some(Duration::ZERO)).await;
    assert!(matches!(zero, Err(StorageError::LifetimeTooLong { .. })), "{}", b.name);
}

/// A browser with no credentials writes through a presigned PUT and reads through a presigned GET; the URL is
/// valid for its own key only.
async fn presigned_put_and_get(b: &Backend) {
    let c = &b.client;
    let key = c.key("uploads/hello.csv").unwrap();
    let put = c.presign_put(&key, None).await.unwrap();
    assert!(put.url.path().ends_with(&format!("/{PREFIX}/uploads/hello.csv")), "{}: {}", b.name, put.url);
    let reply = send(&b.http, put.url, &put.headers, &[], b"a,b\n1,2\n".to_vec()).await;
    assert!(reply.status().is_success(), "{}: {}", b.name, reply.status());
    let get = c.presign_get(&key, Some(Duration::from_secs(60))).await.unwrap();
    assert_eq!(b.http.get(get.url.clone()).send().await.unwrap().text().await.unwrap(), "a,b\n1,2\n", "{}", b.name);
    remove(b, &key).await;
}

/// A presigned download carries the `Content-Disposition` and content type byob signs into it (an attachment's
/// file name in RFC 5987 form), whatever the object was stored with, and its holder cannot change them.
async fn presigned_download_headers(b: &Backend) {
    let c = &b.client;
    let key = c.key("downloads/report").unwrap();
    c.put_atomic(key.clone(), "%PDF-1.7\n".into()).await.unwrap();
    let disposition = "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9%20Q1.pdf";
    let headers =
        ResponseHeaders { content_disposition: Some(disposition.into()), content_type: Some("application/pdf".into()) };
    let url = c.presign_download(&key, None, &headers).await.unwrap().url;
    let reply = b.http.get(url.clone()).send().await.unwrap();
    assert_eq!(reply.status(), 200, "{}: {url}", b.name);
    if b.response_headers {
        let header = |name: &str| reply.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        assert_eq!(header("content-disposition").as_deref(), Some(disposition), "{}", b.name);
        assert_eq!(header("content-type").as_deref(), Some("application/pdf"), "{}", b.name);
    } else {
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert!(query.iter().any(|(_, v)| v == disposition), "{}: the disposition is signed in: {url}", b.name);
        assert!(query.iter().any(|(_, v)| v == "application/pdf"), "{}: the type is signed in: {url}", b.name);
    }
    assert_eq!(reply.bytes().await.unwrap(), "%PDF-1.7\n".as_bytes(), "{}", b.name);
    // Another disposition in the same URL breaks its signature.
    let mut tampered = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), if v == disposition { "inline".to_string() } else { v.into_owned() }))
        .collect();
    tampered.query_pairs_mut().clear().extend_pairs(pairs);
    if b.checks_signatures {
        assert_eq!(b.http.get(tampered).send().await.unwrap().status(), 403, "{}: a changed disposition", b.name);
    }
    remove(b, &key).await;
}

/// A two-part presigned multipart upload, sent by the part rules the client declares (in order with
/// `Content-Range` where the provider runs a resumable session; aligned sizes), then completed by byob. Nothing
/// is visible before its last part; a session that tracks its parts refuses to complete early.
async fn presigned_multipart(b: &Backend) {
    let c = &b.client;
    let rules = c.capability().parts;
    let key = c.key("uploads/big.bin").unwrap();
    let upload = c.start_multipart(&key).await.unwrap();
    // 5 MiB: S3's smallest part other than the last, and a multiple of GCS's 256 KiB alignment.
    let first = vec![b'a'; 5 * 1024 * 1024];
    assert_eq!(first.len() as u64 % rules.align, 0, "{}: the first part is aligned", b.name);
    let last = b"the end".to_vec();
    let total = first.len() + last.len();
    let mut etags = Vec::new();
    let mut offset = 0;
    for (number, bytes) in [(1u32, first), (2, last)] {
        if number == 2 {
            assert!(not_found(c, &key).await, "{}: nothing visible before the last part", b.name);
            if rules.sequential {
                let early = c.complete_multipart(&key, &upload, Vec::new()).await;
                assert!(matches!(&early, Err(StorageError::Config(m)) if m.contains("incomplete")), "{early:?}");
            }
        }
        let part = c.presign_part(&key, &upload, number, None).await.unwrap();
        let range = rules.content_range.then(|| {
            let of = if number == 2 { total.to_string() } else { "*".into() };
            format!("bytes {offset}-{}/{of}", offset + bytes.len() - 1)
        });
        let extra: Vec<(&str, String)> = range.into_iter().map(|r| ("content-range", r)).collect();
        offset += bytes.len();
        let reply = send(&b.http, part.url, &part.headers, &extra, bytes).await;
        // A resumable session answers a part before the last with 308 (resume incomplete).
        let intermediate = rules.sequential && number == 1;
        if intermediate {
            assert_eq!(reply.status().as_u16(), 308, "{}: more parts expected", b.name);
        } else {
            assert!(reply.status().is_success(), "{}: part {number}: {}", b.name, reply.status());
        }
        etags.push(reply.headers().get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string());
    }
    c.complete_multipart(&key, &upload, etags).await.unwrap();
    let stored = c.store().get(&key).await.unwrap().bytes().await.unwrap();
    assert_eq!(stored.len(), total, "{}", b.name);
    assert!(stored.ends_with(b"the end"), "{}", b.name);
    assert!(c.presign_part(&key, &upload, 0, None).await.is_err(), "{}: parts are numbered from 1", b.name);
    remove(b, &key).await;
}

/// An abandoned presigned multipart upload is cancelled and leaves nothing.
async fn abandoned_multipart(b: &Backend) {
    let c = &b.client;
    let key = c.key("uploads/abandoned.bin").unwrap();
    let upload = c.start_multipart(&key).await.unwrap();
    c.abort_multipart(&key, &upload).await.unwrap();
    assert!(not_found(c, &key).await, "{}", b.name);
}

/// A client that cannot presign says so instead of handing out a URL.
async fn presigning_is_refused(b: &Backend) {
    let c = &b.client;
    let key = c.key("uploads/x.csv").unwrap();
    let refused = c.presign_get(&key, None).await;
    assert!(
        matches!(&refused, Err(StorageError::Config(m)) if m.contains("cannot presign")),
        "{}: {refused:?}",
        b.name
    );
    assert!(c.start_multipart(&key).await.is_err(), "{}", b.name);
}

/// Deletes what a case wrote, where the emulator serves deletes.
async fn remove(b: &Backend, key: &Path) {
    if b.deletes {
        b.client.store().delete(key).await.unwrap();
    }
}

async fn not_found(c: &StorageClient, key: &Path) -> bool {
    matches!(c.store().head(key).await.map_err(StorageError::from), Err(StorageError::NotFound(_)))
}

async fn send(
    http: &reqwest::Client,
    url: url::Url,
    headers: &[(String, String)],
    extra: &[(&str, String)],
    body: Vec<u8>,
) -> reqwest::Response {
    let mut request = http.put(url).body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    for (name, value) in extra {
        request = request.header(*name, value);
    }
    request.send().await.unwrap()
}
