//! Client commands of imports.

use anyhow::bail;
use serde_json::{Value, json};

use super::{data::follow, http::ApiClient, output::print};
use crate::import_args::ImportsCommand;

const IMPORT_COLUMNS: &[&str] = &["id", "name", "source", "connection", "table", "schedule", "last_loaded"];
const RUN_COLUMNS: &[&str] = &["id", "state", "trigger", "outcome", "key", "rows", "list_requests", "error"];

pub(crate) async fn imports(api: &ApiClient, cmd: ImportsCommand, json: bool) -> anyhow::Result<()> {
    let base = |org: &str| format!("/v1/orgs/{org}/imports");
    let (value, columns): (Value, &[&str]) = match cmd {
        ImportsCommand::Create(args) => {
            let Some((connection, table)) = args.into.split_once('.') else {
                bail!("--into is CONNECTION.TABLE, e.g. local.sales");
            };
            let source = match (&args.path, &args.pattern) {
                (Some(path), _) => json!({ "mode": "fixed", "path": path }),
                (None, Some(pattern)) => json!({ "mode": "latest", "pattern": pattern }),
                (None, None) => bail!("give --path or --pattern"),
            };
            let mut body = json!({
                "integration": args.integration, "source": source, "connection": connection, "table": table,
                "load": { "mode": args.mode, "on_error": args.on_error },
            });
            if let Some(name) = &args.name {
                body["name"] = json!(name);
            }
            if let Some(cron) = &args.schedule {
                body["schedule"] = json!({ "cron": cron, "timezone": args.timezone });
            }
            (api.post(&base(&args.org.org), &body).await?, IMPORT_COLUMNS)
        }
        ImportsCommand::List { org } => (api.get(&base(&org.org), &[]).await?, IMPORT_COLUMNS),
        ImportsCommand::Get { org, import } => {
            (api.get(&format!("{}/{import}", base(&org.org)), &[]).await?, IMPORT_COLUMNS)
        }
        ImportsCommand::Delete { org, import } => {
            api.delete(&format!("{}/{import}", base(&org.org))).await?;
            println!("deleted {import}");
            return Ok(());
        }
        ImportsCommand::Pause { org, import } => {
            (api.post_empty(&format!("{}/{import}/pause", base(&org.org))).await?, IMPORT_COLUMNS)
        }
        ImportsCommand::Resume { org, import } => {
            (api.post_empty(&format!("{}/{import}/resume", base(&org.org))).await?, IMPORT_COLUMNS)
        }
        ImportsCommand::Resolve { org, import } => {
            let r = api.get(&format!("{}/{import}/resolve", base(&org.org)), &[]).await?;
            if json {
                print(&r, &[], true);
            } else {
                match r["chosen"]["key"].as_str() {
                    Some(key) => println!(
                        "would load {key}{}",
                        if r["already_loaded"] == true { " (already loaded)" } else { "" }
                    ),
                    None => println!("no file"),
                }
                println!("{}", r["reason"].as_str().unwrap_or_default());
                println!("list requests: {}", r["list_requests"]);
                for rejected in r["rejected"].as_array().into_iter().flatten() {
                    println!(
                        "  passed over {}: {}",
                        rejected["key"].as_str().unwrap_or_default(),
                        rejected["reason"].as_str().unwrap_or_default()
                    );
                }
            }
            return Ok(());
        }
        ImportsCommand::Run { org, import, force, no_wait } => {
            let run = api.post(&format!("{}/{import}/runs", base(&org.org)), &json!({ "force": force })).await?;
            if no_wait {
                (run, RUN_COLUMNS)
            } else {
                let id = run["id"].as_str().unwrap_or_default().to_string();
                return follow(api, &org.org, &id, json).await;
            }
        }
        ImportsCommand::Runs { org, import, limit } => {
            (api.get(&format!("{}/{import}/runs", base(&org.org)), &[("limit", limit.to_string())]).await?, RUN_COLUMNS)
        }
    };
    print(&value, columns, json);
    Ok(())
}
