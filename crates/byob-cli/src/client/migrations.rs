//! `byob migrate` (with a progress bar) and `byob migrations list|show|cancel`.

use std::time::Duration;

use serde_json::{Value, json};

use super::{http::ApiClient, output::print, transfer::bytes_bar};
use crate::asset_args::{MigrateArgs, MigrationsCommand};

const COLUMNS: &[&str] = &["id", "from", "to", "features", "state", "dry_run", "created_at"];

pub(crate) async fn migrate(api: &ApiClient, args: MigrateArgs, json: bool) -> anyhow::Result<()> {
    let mut body =
        json!({ "from": args.from, "to": args.to, "dry_run": args.dry_run, "delete_source": args.delete_source });
    if let Some(features) = args.features {
        body["features"] = json!(features);
    }
    let started = api.post(&format!("/v1/orgs/{}/migrations", args.org.org), &body).await?;
    let id = started["id"].as_str().unwrap_or_default().to_string();
    if args.no_wait {
        print(&started, COLUMNS, json);
        return Ok(());
    }
    let path = format!("/v1/orgs/{}/migrations/{id}", args.org.org);
    let bar = bytes_bar(0);
    let finished = loop {
        let m = api.get(&path, &[]).await?;
        let counts = &m["counts"];
        bar.set_length(counts["bytes"].as_u64().unwrap_or(0));
        bar.set_position(counts["bytes_copied"].as_u64().unwrap_or(0));
        bar.set_message(format!(
            "{}: {} of {} objects",
            m["state"].as_str().unwrap_or_default(),
            counts["copied"].as_u64().unwrap_or(0) + counts["skipped"].as_u64().unwrap_or(0),
            counts["objects"].as_u64().unwrap_or(0)
        ));
        if !matches!(m["state"].as_str(), Some("planning" | "copying" | "switching" | "deleting_source")) {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    bar.finish_and_clear();
    if json {
        print(&finished, COLUMNS, true);
    } else {
        summarize(&finished);
    }
    if finished["state"] != "completed" {
        anyhow::bail!("migration {id} {}", finished["state"].as_str().unwrap_or_default());
    }
    Ok(())
}

/// A migration's outcome as a person reads it.
fn summarize(m: &Value) {
    let c = &m["counts"];
    let verb = if m["dry_run"] == true { "would copy" } else { "copied and verified" };
    println!(
        "{} {}: {verb} {} object(s), {} bytes; {} already there; {} conflict(s)",
        m["id"].as_str().unwrap_or_default(),
        m["state"].as_str().unwrap_or_default(),
        if m["dry_run"] == true {
            c["objects"].as_u64().unwrap_or(0) - c["skipped"].as_u64().unwrap_or(0)
        } else {
            c["copied"].as_u64().unwrap_or(0)
        },
        if m["dry_run"] == true { c["bytes"].as_u64().unwrap_or(0) } else { c["bytes_copied"].as_u64().unwrap_or(0) },
        c["skipped"],
        c["conflicts"]
    );
    for conflict in m["conflicts"].as_array().into_iter().flatten() {
        println!(
            "  conflict {}: {}",
            conflict["key"].as_str().unwrap_or_default(),
            conflict["message"].as_str().unwrap_or_default()
        );
    }
    if let Some(error) = m["error"].as_str() {
        println!("  {error}");
    }
}

pub(crate) async fn migrations(api: &ApiClient, cmd: MigrationsCommand, json: bool) -> anyhow::Result<()> {
    let value = match cmd {
        MigrationsCommand::List { org } => api.get(&format!("/v1/orgs/{}/migrations", org.org), &[]).await?,
        MigrationsCommand::Show { org, migration } => {
            api.get(&format!("/v1/orgs/{}/migrations/{migration}", org.org), &[]).await?
        }
        MigrationsCommand::Cancel { org, migration } => {
            api.post_empty(&format!("/v1/orgs/{}/migrations/{migration}/cancel", org.org)).await?
        }
    };
    print(&value, COLUMNS, json);
    Ok(())
}
