//! Sending a file as byob's plan says: parts read from disk one at a time per worker (never the whole file in
//! memory), several in flight unless the plan is sequential, each retried, with a progress bar.

use std::{path::Path, sync::Arc, time::Duration};

use anyhow::{Context, bail};
use futures::{StreamExt, TryStreamExt};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::http::ApiClient;

const ATTEMPTS: u32 = 3;

pub(crate) fn spinner(message: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_message(message.to_string());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

pub(crate) fn bytes_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} [{wide_bar}] {bytes_per_sec} eta {eta}")
    {
        bar.set_style(style);
    }
    bar
}

async fn read_part(path: &Path, offset: u64, length: u64) -> anyhow::Result<Vec<u8>> {
    let mut file = tokio::fs::File::open(path).await.with_context(|| format!("cannot open {}", path.display()))?;
    file.seek(std::io::SeekFrom::Start(offset)).await?;
    let mut buffer = vec![0; usize::try_from(length).context("part too large for this machine")?];
    file.read_exact(&mut buffer).await.with_context(|| format!("{} changed while uploading", path.display()))?;
    Ok(buffer)
}

/// Sends one part, retrying transient failures; returns its ETag.
async fn send_part(http: &reqwest::Client, path: &Path, part: &Value, bar: &ProgressBar) -> anyhow::Result<Value> {
    let offset = part["offset"].as_u64().unwrap_or(0);
    let length = part["length"].as_u64().unwrap_or(0);
    let number = part["part_number"].clone();
    let url = part["url"].as_str().context("a part without a URL")?;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        let body = read_part(path, offset, length).await?;
        let mut request = http.put(url).body(body);
        for (name, value) in part["headers"].as_object().into_iter().flatten() {
            request = request.header(name.as_str(), value.as_str().unwrap_or_default());
        }
        match request.send().await {
            Ok(response) if response.status().is_success() || response.status().as_u16() == 308 => {
                let etag = response.headers().get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                bar.inc(length);
                return Ok(json!({ "part_number": number, "etag": etag }));
            }
            Ok(response) if response.status().is_client_error() => {
                let status = response.status();
                bail!("part {number} refused by the bucket: {status} {}", response.text().await.unwrap_or_default());
            }
            Ok(response) => last = response.status().to_string(),
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
    }
    bail!("part {number} failed {ATTEMPTS} times: {last}")
}

/// Sends the file as `plan` says (parts in parallel unless the plan is sequential), with a progress bar; returns
/// each part's number and ETag, for the completion.
pub(crate) async fn send_plan(plan: &Value, path: &Path, size: u64, parallel: usize) -> anyhow::Result<Vec<Value>> {
    let parts = plan["parts"].as_array().cloned().unwrap_or_default();
    let in_flight = if plan["sequential"].as_bool().unwrap_or(false) { 1 } else { parallel.max(1) };
    let bar = bytes_bar(size);
    let http = reqwest::Client::new();
    let path: Arc<Path> = Arc::from(path);
    let sent = futures::stream::iter(parts)
        .map(|part| {
            let (http, path, bar) = (http.clone(), path.clone(), bar.clone());
            async move { send_part(&http, &path, &part, &bar).await }
        })
        .buffered(in_flight)
        .try_collect()
        .await;
    bar.finish_and_clear();
    sent
}

/// Streams a download to `dest` (standard output for `-`) with a progress bar; returns the bytes written. A
/// failed download leaves no partial file: it is written beside `dest` and renamed when complete.
pub(crate) async fn receive(response: reqwest::Response, dest: &Path) -> anyhow::Result<u64> {
    use tokio::io::AsyncWriteExt;
    let bar = bytes_bar(response.content_length().unwrap_or(0));
    let mut stream = response.bytes_stream();
    let mut written = 0u64;
    if dest == Path::new("-") {
        use std::io::Write;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.context("the download was cut off")?;
            std::io::stdout().write_all(&chunk)?;
            written += chunk.len() as u64;
        }
        std::io::stdout().flush()?;
        return Ok(written);
    }
    let mut partial = dest.as_os_str().to_owned();
    partial.push(".byob-partial");
    let partial = std::path::PathBuf::from(partial);
    let mut file =
        tokio::fs::File::create(&partial).await.with_context(|| format!("cannot create {}", partial.display()))?;
    let result: anyhow::Result<()> = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.context("the download was cut off")?;
            file.write_all(&chunk).await?;
            written += chunk.len() as u64;
            bar.inc(chunk.len() as u64);
        }
        file.flush().await?;
        Ok(())
    }
    .await;
    bar.finish_and_clear();
    if let Err(e) = result {
        let _ = tokio::fs::remove_file(&partial).await;
        return Err(e);
    }
    tokio::fs::rename(&partial, dest).await.with_context(|| format!("cannot write {}", dest.display()))?;
    Ok(written)
}

/// Creates the upload, sends the file's parts, completes it; returns the upload.
pub(crate) async fn upload_file(
    api: &ApiClient,
    org: &str,
    path: &Path,
    content_type: &str,
    parallel: usize,
) -> anyhow::Result<Value> {
    let size = tokio::fs::metadata(path).await.with_context(|| format!("cannot read {}", path.display()))?.len();
    let filename = path.file_name().and_then(|n| n.to_str()).unwrap_or("upload.csv");
    let plan = api
        .post(
            &format!("/v1/orgs/{org}/uploads"),
            &json!({ "filename": filename, "size": size, "content_type": content_type }),
        )
        .await?;
    let id = plan["upload"]["id"].as_str().context("the server returned no upload id")?.to_string();
    let completed = match send_plan(&plan, path, size, parallel).await {
        Ok(parts) => parts,
        Err(e) => {
            // Leave nothing behind: the bucket's partial upload is cancelled.
            let _ = api.delete(&format!("/v1/orgs/{org}/uploads/{id}")).await;
            return Err(e.context(format!("upload {id} aborted")));
        }
    };
    api.post(&format!("/v1/orgs/{org}/uploads/{id}/complete"), &json!({ "parts": completed })).await
}
