//! Client commands of exports.

use serde_json::{Value, json};

use super::{data::follow, http::ApiClient, output::print};
use crate::export_args::{ExportArgs, ExportsCommand, FileOpts, FormatArg};

const EXPORT_COLUMNS: &[&str] = &["id", "name", "connection", "format", "compression", "schedule", "next_run_at"];
const RUN_COLUMNS: &[&str] = &["id", "state", "trigger", "rows", "bytes", "manifest_key", "error", "finished_at"];

fn format_name(format: FormatArg) -> &'static str {
    match format {
        FormatArg::Csv => "csv",
        FormatArg::Jsonl => "jsonl",
        FormatArg::Parquet => "parquet",
    }
}

/// The request fields `FileOpts` sets.
fn file_fields(body: &mut Value, file: &FileOpts) {
    body["format"] = json!(format_name(file.format));
    if let Some(c) = &file.compression {
        body["compression"] = json!(c);
    }
    if let Some(t) = &file.path_template {
        body["path_template"] = json!(t);
    }
    let mut options = json!({});
    if let Some(n) = file.max_rows_per_file {
        options["max_rows_per_file"] = json!(n);
    }
    if let Some(n) = file.max_bytes_per_file {
        options["max_bytes_per_file"] = json!(n);
    }
    if file.crlf {
        options["line_ending"] = json!("crlf");
    }
    if let Some(v) = &file.null_value {
        options["null_value"] = json!(v);
    }
    if file.decimals_as_numbers {
        options["decimals"] = json!("number");
    }
    body["options"] = options;
    if let Some(cron) = &file.schedule {
        body["schedule"] = json!({ "cron": cron, "timezone": file.timezone });
    }
}

/// `byob export`: creates the export; a run started now is followed to its end.
pub(crate) async fn export(api: &ApiClient, args: ExportArgs, json: bool) -> anyhow::Result<()> {
    let mut body = json!({ "connection": args.connection });
    if let Some(t) = &args.table {
        body["table"] = json!(t);
    }
    if let Some(q) = &args.query {
        body["query"] = json!(q);
    }
    if let Some(n) = &args.name {
        body["name"] = json!(n);
    }
    if let Some(i) = &args.integration {
        body["integration"] = json!(i);
    }
    if let Some(h) = args.staging_ttl_hours {
        body["staging_ttl_hours"] = json!(h);
    }
    if args.no_staging {
        body["staging"] = json!(false);
    }
    file_fields(&mut body, &args.file);
    let created = api.post(&format!("/v1/orgs/{}/exports", args.org.org), &body).await?;
    match created["run"]["id"].as_str() {
        Some(run) if !args.no_wait => follow(api, &args.org.org, run, json).await,
        _ => {
            print(&created, &["export", "run"], json);
            Ok(())
        }
    }
}

pub(crate) async fn exports(api: &ApiClient, cmd: ExportsCommand, json: bool) -> anyhow::Result<()> {
    let base = |org: &str| format!("/v1/orgs/{org}/exports");
    let (value, columns) = match cmd {
        ExportsCommand::List { org } => (api.get(&base(&org.org), &[]).await?, EXPORT_COLUMNS),
        ExportsCommand::Get { org, export } => {
            (api.get(&format!("{}/{export}", base(&org.org)), &[]).await?, EXPORT_COLUMNS)
        }
        ExportsCommand::Delete { org, export } => {
            api.delete(&format!("{}/{export}", base(&org.org))).await?;
            println!("deleted {export}");
            return Ok(());
        }
        ExportsCommand::Pause { org, export } => {
            (api.post_empty(&format!("{}/{export}/pause", base(&org.org))).await?, EXPORT_COLUMNS)
        }
        ExportsCommand::Resume { org, export } => {
            (api.post_empty(&format!("{}/{export}/resume", base(&org.org))).await?, EXPORT_COLUMNS)
        }
        ExportsCommand::Run { org, export, no_wait } => {
            let run = api.post_empty(&format!("{}/{export}/runs", base(&org.org))).await?;
            let id = run["id"].as_str().unwrap_or_default().to_string();
            if no_wait {
                (run, RUN_COLUMNS)
            } else {
                return follow(api, &org.org, &id, json).await;
            }
        }
        ExportsCommand::Runs { org, export, limit } => {
            (api.get(&format!("{}/{export}/runs", base(&org.org)), &[("limit", limit.to_string())]).await?, RUN_COLUMNS)
        }
        ExportsCommand::Ack { org, export, run } => {
            (api.post_empty(&format!("{}/{export}/runs/{run}/ack", base(&org.org))).await?, RUN_COLUMNS)
        }
        ExportsCommand::Preview { org, file } => {
            let mut body = json!({});
            file_fields(&mut body, &file);
            let preview = api.post(&format!("{}/preview", base(&org.org)), &body).await?;
            if json {
                print(&preview, &[], true);
            } else {
                for key in preview["files"].as_array().into_iter().flatten() {
                    println!("{}", key.as_str().unwrap_or_default());
                }
                println!("{}", preview["manifest"].as_str().unwrap_or_default());
                println!("{}", preview["success_marker"].as_str().unwrap_or_default());
                for at in preview["next_runs"].as_array().into_iter().flatten() {
                    println!("next run {}", at.as_str().unwrap_or_default());
                }
            }
            return Ok(());
        }
    };
    print(&value, columns, json);
    Ok(())
}
