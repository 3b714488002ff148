//! What a browser does, done by byob: a CORS preflight from each configured origin, a presigned PUT, and a
//! two-part presigned multipart upload whose ETags are read back from the part responses.

use byob_core::integration::Integration;
use byob_ports::storage::{PresignedUrl, StorageClient};
use object_store::{ObjectStoreExt, path::Path};

use crate::permissions::{Operation, Subject};
use crate::reports::Outcome;
use crate::{artifacts::ArtifactName, providers};

/// The smallest part S3 accepts before the last one, and a multiple of GCS's 256 KiB.
const FIRST_PART: usize = 5 * 1024 * 1024;
const LAST_PART: usize = 1024;

/// The `Origin` header a browser on the first allowed origin sends, if any origin is configured.
fn origin_header(i: &Integration) -> Vec<(&'static str, String)> {
    i.allowed_origins.first().map(|o| vec![("origin", o.clone())]).unwrap_or_default()
}

/// The probe key for one browser check, or why the check cannot run: byob hands out no URLs for this client.
fn browser_probe(client: &StorageClient, run: &str, kind: &str) -> Result<Path, Outcome> {
    if !client.capability().presign {
        return Err(Outcome::skipped(
            "byob hands out no URLs for this credential mode, so browsers never reach the bucket",
        ));
    }
    client.key(&format!(".byob/verify/{run}.{kind}")).map_err(|e| Outcome::skipped(format!("no probe key: {e}")))
}

/// The URL a browser would preflight: the presigned URL without its query.
fn bare(url: &PresignedUrl) -> String {
    let mut u = url.url.clone();
    u.set_query(None);
    u.to_string()
}

pub(super) async fn preflight(http: &reqwest::Client, client: &StorageClient, s: &Subject<'_>, run: &str) -> Outcome {
    let i = s.i;
    if i.allowed_origins.is_empty() {
        return Outcome::skipped("no allowed_origins are configured");
    }
    let key = match browser_probe(client, run, "preflight") {
        Ok(key) => key,
        Err(outcome) => return outcome,
    };
    let url = match client.presign_put(&key, None).await {
        Ok(url) => bare(&url),
        Err(e) => return Outcome::failed(format!("presigning failed: {e}"), "check the credentials"),
    };
    let mut refused = Vec::new();
    let mut unanswered = 0;
    for origin in &i.allowed_origins {
        let response = http
            .request(reqwest::Method::OPTIONS, &url)
            .header("origin", origin)
            .header("access-control-request-method", "PUT")
            .header("access-control-request-headers", "content-type")
            .send()
            .await;
        match response {
            Ok(r) => {
                let allowed = r
                    .headers()
                    .get("access-control-allow-origin")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v == "*" || v.eq_ignore_ascii_case(origin));
                if allowed && r.status().is_success() {
                    continue;
                }
                if r.status().is_success() || r.status() == reqwest::StatusCode::NOT_FOUND {
                    // A 2xx without CORS headers, or no OPTIONS route at all: the server does not do CORS.
                    unanswered += 1;
                }
                refused.push(format!("`{origin}` got {}", r.status()));
            }
            Err(e) => refused.push(format!("`{origin}`: {e}")),
        }
    }
    if refused.is_empty() {
        return Outcome::passed(format!("preflights from {} succeed", i.allowed_origins.join(", ")));
    }
    if unanswered == refused.len()
        && i.endpoint.is_some()
        && providers::of(i.provider).browser_uploads().emulator_skips_preflight
    {
        return Outcome::skipped(
            "the endpoint does not answer CORS preflights (an emulator): the CORS rules are checked instead",
        );
    }
    Outcome::failed(
        format!("the CORS preflight for a PUT was refused: {}", refused.join("; ")),
        s.fix(ArtifactName::Cors, "apply the CORS rules"),
    )
}

async fn send(
    http: &reqwest::Client,
    url: &reqwest::Url,
    headers: &[(String, String)],
    extra: &[(&str, String)],
    body: Vec<u8>,
) -> Result<reqwest::Response, String> {
    let mut request = http.put(url.clone()).body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    for (name, value) in extra {
        request = request.header(*name, value);
    }
    request.send().await.map_err(|e| e.to_string())
}

/// A presigned request the store refused: the write permission, named.
fn refused_write(s: &Subject<'_>, what: String) -> Outcome {
    let needed = s.needs(Operation::Write);
    Outcome::failed(format!("{what}: presigned writes need {}", needed.permission), needed.fix)
}

pub(super) async fn presigned_put(
    http: &reqwest::Client,
    client: &StorageClient,
    s: &Subject<'_>,
    run: &str,
) -> Outcome {
    let i = s.i;
    let key = match browser_probe(client, run, "put") {
        Ok(key) => key,
        Err(outcome) => return outcome,
    };
    let body = format!("byob presigned put {run}\n").into_bytes();
    let url = match client.presign_put(&key, None).await {
        Ok(url) => url,
        Err(e) => return Outcome::failed(format!("presigning a PUT failed: {e}"), "check the credentials"),
    };
    let outcome = match send(http, &url.url, &url.headers, &origin_header(i), body.clone()).await {
        Ok(r) if r.status().is_success() => match client.store().get(&key).await {
            Ok(got) => match got.bytes().await {
                Ok(bytes) if bytes.as_ref() == body.as_slice() => Outcome::passed("a presigned PUT stored the object"),
                _ => Outcome::failed(
                    "the object written by a presigned PUT reads back differently",
                    "check for a rewriting proxy",
                ),
            },
            Err(e) => Outcome::failed(
                format!("the presigned PUT succeeded but the object cannot be read: {e}"),
                s.needs(Operation::Read).fix,
            ),
        },
        Ok(r) if matches!(r.status().as_u16(), 401 | 403) => {
            let status = r.status();
            let body = byob_ports::net::remote_body(r).await;
            tracing::info!(integration = %i.id, "verification: a presigned PUT was refused: {status}{body}");
            refused_write(s, format!("a presigned PUT was refused ({status})"))
        }
        Ok(r) => Outcome::failed(
            format!("a presigned PUT failed: {}{}", r.status(), byob_ports::net::remote_body(r).await),
            "check the endpoint",
        ),
        Err(e) => Outcome::failed(format!("a presigned PUT failed: {e}"), "check the endpoint"),
    };
    let _ = client.store().delete(&key).await;
    outcome
}

/// Uploads both parts and returns their ETags (empty where the provider has none per part).
async fn upload_parts(
    http: &reqwest::Client,
    client: &StorageClient,
    s: &Subject<'_>,
    key: &Path,
    upload: &str,
) -> Result<Vec<String>, Outcome> {
    let i = s.i;
    let total = FIRST_PART + LAST_PART;
    let uploads = providers::of(i.provider).browser_uploads();
    let mut etags = Vec::new();
    let mut offset = 0;
    for (number, size) in [(1u32, FIRST_PART), (2, LAST_PART)] {
        let part = client
            .presign_part(key, upload, number, None)
            .await
            .map_err(|e| Outcome::failed(format!("presigning part {number} failed: {e}"), "check the credentials"))?;
        let mut extra = origin_header(i);
        if uploads.parts_carry_content_range {
            let last = offset + size - 1;
            let of = if number == 2 { total.to_string() } else { "*".into() };
            extra.push(("content-range", format!("bytes {offset}-{last}/{of}")));
        }
        let response = send(http, &part.url, &part.headers, &extra, vec![b'b'; size])
            .await
            .map_err(|e| Outcome::failed(format!("part {number} failed: {e}"), "check the endpoint"))?;
        let status = response.status();
        // GCS answers an intermediate chunk of a resumable session with 308 (resume incomplete).
        if matches!(status.as_u16(), 401 | 403) {
            return Err(refused_write(
                s,
                format!("part {number} of a presigned multipart upload was refused ({status})"),
            ));
        }
        if !(status.is_success() || status.as_u16() == 308) {
            return Err(Outcome::failed(format!("part {number} failed: {status}"), "check the endpoint"));
        }
        let etag = response.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_string);
        match (uploads.parts_need_etag, etag) {
            (true, None) => {
                return Err(Outcome::failed(
                    format!("part {number} came back without an ETag, so the upload cannot be completed"),
                    s.fix(ArtifactName::Cors, "expose the ETag header (CORS) and remove proxies that strip it"),
                ));
            }
            (_, etag) => etags.push(etag.unwrap_or_default()),
        }
        offset += size;
    }
    Ok(etags)
}

pub(super) async fn presigned_multipart(
    http: &reqwest::Client,
    client: &StorageClient,
    s: &Subject<'_>,
    run: &str,
) -> Outcome {
    let key = match browser_probe(client, run, "multipart") {
        Ok(key) => key,
        Err(outcome) => return outcome,
    };
    // Probes of verifications whose process died mid-check; an hour old at least, so a check running now in
    // another process is never touched. Best effort: the bucket's lifecycle rule removes them too.
    if let Ok(folder) = client.key(".byob/verify") {
        let _ = client.clear_unfinished_under(&folder, chrono::Utc::now() - chrono::Duration::hours(1)).await;
    }
    let upload = match client.start_multipart(&key).await {
        Ok(upload) => upload,
        Err(e @ byob_ports::storage::StorageError::PermissionDenied(_)) => {
            tracing::info!(integration = %s.i.id, error = %e, "verification: starting a multipart upload was refused");
            return refused_write(s, "starting a multipart upload was refused".into());
        }
        Err(e) => return Outcome::failed(format!("starting a multipart upload failed: {e}"), "check the endpoint"),
    };
    let etags = match upload_parts(http, client, s, &key, &upload).await {
        Ok(etags) => etags,
        Err(outcome) => {
            let _ = client.abort_multipart(&key, &upload).await;
            return outcome;
        }
    };
    let outcome = match client.complete_multipart(&key, &upload, etags).await {
        Ok(()) => match client.store().head(&key).await {
            Ok(meta) if meta.size == (FIRST_PART + LAST_PART) as u64 => {
                Outcome::passed("a two-part presigned multipart upload completed with its ETags")
            }
            Ok(meta) => Outcome::failed(
                format!("the completed upload has {} bytes, not {}", meta.size, FIRST_PART + LAST_PART),
                "check for a rewriting proxy",
            ),
            Err(e) => {
                Outcome::failed(format!("the completed upload cannot be read: {e}"), s.needs(Operation::Read).fix)
            }
        },
        Err(e) => {
            let _ = client.abort_multipart(&key, &upload).await;
            match e {
                byob_ports::storage::StorageError::PermissionDenied(_) => {
                    tracing::info!(integration = %s.i.id, error = %e, "verification: completing a multipart upload was refused");
                    refused_write(s, "completing the multipart upload was refused".into())
                }
                e => Outcome::failed(format!("completing the multipart upload failed: {e}"), "check the endpoint"),
            }
        }
    };
    let _ = client.store().delete(&key).await;
    outcome
}
