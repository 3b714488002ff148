//! Client commands of attachments: put (checked, scanned), get (downloaded with progress), list, rm, policies.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::{
    http::ApiClient,
    output::print,
    transfer::{receive, send_plan},
};
use crate::attachment_args::{AttachmentsCommand, PolicyCommand};

const COLUMNS: &[&str] = &["id", "collection", "record", "field", "filename", "size", "state", "content_type"];
const POLICY_COLUMNS: &[&str] =
    &["collection", "field", "max_bytes", "max_files_per_record", "allowed_types", "inline_preview", "default"];

/// The media type of a file by its extension: what `put` declares unless told (byob checks it against the
/// bytes).
fn guess_type(path: &Path) -> &'static str {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        "md" => "text/markdown",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

/// A download's file name in the current directory: the attachment's own name without any path.
fn local_name(filename: &str) -> PathBuf {
    let base = filename.rsplit(['/', '\\']).next().unwrap_or(filename).trim_start_matches('.');
    PathBuf::from(if base.is_empty() { "attachment" } else { base })
}

pub(crate) async fn attachments(api: &ApiClient, cmd: AttachmentsCommand, json: bool) -> anyhow::Result<()> {
    let base = |org: &str| format!("/v1/orgs/{org}/attachments");
    let (value, columns): (Value, &[&str]) = match cmd {
        AttachmentsCommand::Put { org, file, slot, content_type, parallel } => {
            let size =
                tokio::fs::metadata(&file).await.with_context(|| format!("cannot read {}", file.display()))?.len();
            let filename = file.file_name().and_then(|n| n.to_str()).context("the file has no name")?;
            let content_type = content_type.unwrap_or_else(|| guess_type(&file).to_string());
            let body = json!({
                "collection": slot.collection, "record": slot.record, "field": slot.field,
                "filename": filename, "size": size, "content_type": content_type,
            });
            let plan = api.post(&base(&org.org), &body).await?;
            let id = plan["attachment"]["id"].as_str().context("the server returned no attachment id")?.to_string();
            let parts = match send_plan(&plan, &file, size, parallel).await {
                Ok(parts) => parts,
                Err(e) => {
                    let _ = api.delete(&format!("{}/{id}", base(&org.org))).await;
                    return Err(e.context(format!("attachment {id} abandoned")));
                }
            };
            let done = api.post(&format!("{}/{id}/complete", base(&org.org)), &json!({ "parts": parts })).await?;
            if !json && done["state"] == "scanning" {
                eprintln!("checked; waiting for the scanner (`byob attachments show {id}`)");
            }
            (done, COLUMNS)
        }
        AttachmentsCommand::Get { org, attachment, output } => {
            let path = format!("{}/{attachment}", base(&org.org));
            let dest = match output {
                Some(dest) => dest,
                None => local_name(api.get(&path, &[]).await?["filename"].as_str().unwrap_or_default()),
            };
            let response = api.get_file(&format!("{path}/download")).await?;
            let written = receive(response, &dest).await?;
            if dest != Path::new("-") {
                eprintln!("wrote {written} bytes to {}", dest.display());
            }
            return Ok(());
        }
        AttachmentsCommand::List { org, collection, record, field, state, limit, cursor } => {
            let mut query = vec![("limit", limit.to_string())];
            for (name, value) in
                [("collection", collection), ("record", record), ("field", field), ("state", state), ("cursor", cursor)]
            {
                if let Some(value) = value {
                    query.push((name, value));
                }
            }
            (api.get(&base(&org.org), &query).await?, COLUMNS)
        }
        AttachmentsCommand::Show { org, attachment } => {
            (api.get(&format!("{}/{attachment}", base(&org.org)), &[]).await?, COLUMNS)
        }
        AttachmentsCommand::Rm { org, attachment, collection, record } => {
            match (attachment, collection) {
                (Some(id), _) => {
                    api.delete(&format!("{}/{id}", base(&org.org))).await?;
                    println!("deleted {id}");
                }
                (None, Some(collection)) => {
                    let mut query = vec![("collection", collection)];
                    if let Some(record) = record {
                        query.push(("record", record));
                    }
                    let done = api.delete_with(&base(&org.org), &query).await?;
                    println!("deleted {} attachment(s)", done["deleted"]);
                }
                (None, None) => bail!("give an attachment id, or --collection (and --record)"),
            }
            return Ok(());
        }
        AttachmentsCommand::Policy(cmd) => policy(api, cmd, json).await?,
    };
    print(&value, columns, json);
    Ok(())
}

async fn policy(api: &ApiClient, cmd: PolicyCommand, json: bool) -> anyhow::Result<(Value, &'static [&'static str])> {
    let path =
        |org: &str, collection: &str, field: &str| format!("/v1/orgs/{org}/attachment-policies/{collection}/{field}");
    // A table shows the policy's settings as columns; `--json` keeps the API's shape.
    let flat = |view: Value| if json { view } else { flatten_policy(view) };
    Ok(match cmd {
        PolicyCommand::Set { org, target, max_bytes, max_files, types, inline_preview } => {
            let body = json!({
                "max_bytes": max_bytes, "max_files_per_record": max_files, "allowed_types": types,
                "inline_preview": inline_preview,
            });
            (flat(api.put(&path(&org.org, &target.collection, &target.field), &body).await?), POLICY_COLUMNS)
        }
        PolicyCommand::Get { org, target } => {
            (flat(api.get(&path(&org.org, &target.collection, &target.field), &[]).await?), POLICY_COLUMNS)
        }
        PolicyCommand::List { org } => {
            (flat(api.get(&format!("/v1/orgs/{}/attachment-policies", org.org), &[]).await?), POLICY_COLUMNS)
        }
        PolicyCommand::Reset { org, target } => {
            (flat(api.delete(&path(&org.org, &target.collection, &target.field)).await?), POLICY_COLUMNS)
        }
    })
}

/// A policy view (or a list of them) with its `policy` fields beside `collection` and `field`, as a table shows
/// them.
fn flatten_policy(value: Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.into_iter().map(flatten_policy).collect()),
        Value::Object(mut view) => {
            if let Some(Value::Object(policy)) = view.remove("policy") {
                view.extend(policy);
            }
            Value::Object(view)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_guessed_and_names_lose_their_path() {
        assert_eq!(guess_type(Path::new("a/Invoice.PDF")), "application/pdf");
        assert_eq!(guess_type(Path::new("noext")), "application/octet-stream");
        assert_eq!(local_name("../../etc/passwd"), PathBuf::from("passwd"));
        assert_eq!(local_name(".."), PathBuf::from("attachment"));
        let view = json!({ "collection": "orders", "field": "invoice", "policy": { "max_bytes": 5 }, "default": true });
        assert_eq!(flatten_policy(json!([view]))[0]["max_bytes"], 5);
    }
}
