//! Client commands of assets: put (streamed, with its SHA-256), get (checked by byob as it streams), list,
//! versions, restore, rm, verify, rebuild, the public key and the retention.

use std::path::{Path, PathBuf};

use anyhow::Context;
use futures::StreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

use super::{
    data::follow_quietly,
    http::ApiClient,
    output::print,
    transfer::{bytes_bar, receive},
};
use crate::asset_args::AssetsCommand;

const COLUMNS: &[&str] = &["name", "version", "size", "sha256", "deleted", "author", "created_at"];
const CHUNK: usize = 1 << 20;

/// The asset's URL path: its name with `/` sent as `%2F`, each segment otherwise as it is (names are letters,
/// digits, `.`, `_` and `-`; anything else is percent-encoded and byob refuses it with a clear rule).
fn asset_path(org: &str, name: &str) -> String {
    let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
    format!("/v1/orgs/{org}/assets/{}", encoded.replace('+', "%20"))
}

/// The file's SHA-256, read once before it is sent (a local read is cheap; a damaged transfer is then refused).
async fn sha256_of(path: &Path) -> anyhow::Result<String> {
    let mut file = tokio::fs::File::open(path).await.with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The file as a stream of 1 MiB chunks, counted into a progress bar.
async fn file_body(path: &Path, size: u64) -> anyhow::Result<(reqwest::Body, indicatif::ProgressBar)> {
    let file = tokio::fs::File::open(path).await.with_context(|| format!("cannot read {}", path.display()))?;
    let bar = bytes_bar(size);
    let counted = bar.clone();
    let stream = futures::stream::unfold(file, |mut file| async move {
        let mut buf = vec![0u8; CHUNK];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(buf), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    })
    .inspect(move |chunk| {
        if let Ok(chunk) = chunk {
            counted.inc(chunk.len() as u64);
        }
    });
    Ok((reqwest::Body::wrap_stream(stream), bar))
}

pub(crate) async fn assets(api: &ApiClient, cmd: AssetsCommand, json: bool) -> anyhow::Result<()> {
    let base = |org: &str| format!("/v1/orgs/{org}/assets");
    let (value, columns): (Value, &[&str]) = match cmd {
        AssetsCommand::Put { org, file, name, if_version, create_only } => {
            let name = match name {
                Some(name) => name,
                None => file.file_name().and_then(|n| n.to_str()).context("the file has no name; give --name")?.into(),
            };
            let size =
                tokio::fs::metadata(&file).await.with_context(|| format!("cannot read {}", file.display()))?.len();
            let mut headers = vec![("x-byob-sha256", sha256_of(&file).await?)];
            if let Some(v) = if_version {
                headers.push(("if-match", format!("\"v{v}\"")));
            }
            if create_only {
                headers.push(("if-none-match", "*".to_string()));
            }
            let (body, bar) = file_body(&file, size).await?;
            let written = api.put_bytes(&asset_path(&org.org, &name), body, &headers).await;
            bar.finish_and_clear();
            (written?, COLUMNS)
        }
        AssetsCommand::Get { org, name, version, output } => {
            let mut path = asset_path(&org.org, &name);
            if let Some(v) = version {
                path.push_str(&format!("?version={v}"));
            }
            let dest = output.unwrap_or_else(|| PathBuf::from(name.rsplit('/').next().unwrap_or(&name)));
            let response = api.get_file(&path).await?;
            let written = receive(response, &dest).await.context(
                "the content did not arrive whole; if byob found it changed in the bucket, `byob assets verify` names \
                 what is wrong",
            )?;
            if dest != Path::new("-") {
                eprintln!("wrote {written} bytes to {}", dest.display());
            }
            return Ok(());
        }
        AssetsCommand::List { org, deleted, limit, cursor } => {
            let mut query = vec![("limit", limit.to_string()), ("deleted", deleted.to_string())];
            if let Some(cursor) = cursor {
                query.push(("cursor", cursor));
            }
            (api.get(&base(&org.org), &query).await?, COLUMNS)
        }
        AssetsCommand::Versions { org, name, limit } => (
            api.get(&format!("{}/versions", asset_path(&org.org, &name)), &[("limit", limit.to_string())]).await?,
            &["version", "size", "sha256", "deleted", "restored_from", "author", "created_at", "purged_at"],
        ),
        AssetsCommand::Restore { org, name, version } => {
            (api.post_empty(&format!("{}/versions/{version}/restore", asset_path(&org.org, &name))).await?, COLUMNS)
        }
        AssetsCommand::Rm { org, name } => (api.delete(&asset_path(&org.org, &name)).await?, COLUMNS),
        AssetsCommand::Verify { org, no_wait } => {
            let job = api.post_empty(&format!("{}/verify", base(&org.org))).await?;
            let id = job["id"].as_str().unwrap_or_default().to_string();
            if no_wait {
                (job, &["id", "kind", "state"])
            } else {
                let finished = follow_quietly(api, &org.org, &id).await?;
                let report = finished["result"].clone();
                if !json {
                    print_report(&report);
                    if report["status"] != "passed" {
                        anyhow::bail!("the asset store check failed");
                    }
                    return Ok(());
                }
                (report, &[])
            }
        }
        AssetsCommand::Rebuild { org, public_key } => {
            let key = match public_key {
                Some(path) => Some(
                    tokio::fs::read_to_string(&path)
                        .await
                        .with_context(|| format!("cannot read {}", path.display()))?,
                ),
                None => None,
            };
            let body = json!({ "public_key": key });
            (api.post(&format!("{}/rebuild", base(&org.org)), &body).await?, &["assets", "versions"])
        }
        AssetsCommand::PublicKey { org, pem } => {
            let keys = api.get(&format!("{}/public-key", base(&org.org)), &[]).await?;
            if pem {
                print!("{}", keys["public_key_pem"].as_str().unwrap_or_default());
                return Ok(());
            }
            (keys, &["key_id", "algorithm", "public_key"])
        }
        AssetsCommand::Settings { org, retention_days } => {
            let path = format!("{}/settings", base(&org.org));
            let value = match retention_days {
                Some(days) => api.put(&path, &json!({ "retention_days": days })).await?,
                None => api.get(&path, &[]).await?,
            };
            (value, &["retention_days"])
        }
    };
    print(&value, columns, json);
    Ok(())
}

/// The store check's report as a person reads it.
fn print_report(report: &Value) {
    let c = &report["counts"];
    println!(
        "{}: {} assets, {} versions; {} objects ({} bytes) and {} manifests checked",
        report["status"].as_str().unwrap_or_default(),
        c["assets"],
        c["versions"],
        c["objects_checked"],
        c["bytes_checked"],
        c["manifests_checked"]
    );
    for problem in report["problems"].as_array().into_iter().flatten() {
        let at = match (problem["name"].as_str(), problem["version"].as_u64()) {
            (Some(name), Some(v)) => format!(" {name}@{v}"),
            _ => String::new(),
        };
        println!(
            "  {}{at}: {} ({})",
            problem["kind"].as_str().unwrap_or_default(),
            problem["message"].as_str().unwrap_or_default(),
            problem["key"].as_str().unwrap_or_default()
        );
    }
}
