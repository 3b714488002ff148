//! Client commands: one function per resource, each a thin wrapper over the HTTP API.

mod assets;
mod attachments;
mod data;
mod exports;
mod http;
mod imports;
mod migrations;
mod output;
mod transfer;

use std::{io::Read, path::Path};

use anyhow::{Context, bail};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use crate::args::{
    ApiCommand, AuditArgs, ClientOpts, IntegrationsCommand, MembersCommand, OrgsCommand, PageArgs, SecretsCommand,
    SetupFormatArg, TokensCommand, WebhooksCommand,
};
use http::ApiClient;
use output::print;

const ORG_COLUMNS: &[&str] = &["id", "name", "created_at"];
const MEMBER_COLUMNS: &[&str] = &["id", "name", "email", "role", "created_at"];
const TOKEN_COLUMNS: &[&str] = &["id", "name", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at"];
const SECRET_COLUMNS: &[&str] = &["id", "name", "description", "key_id", "updated_at", "expires_at"];
const INTEGRATION_COLUMNS: &[&str] = &["id", "name", "provider", "bucket", "prefix", "state", "features"];
const AUDIT_COLUMNS: &[&str] = &["at", "actor", "action", "target", "outcome", "request_id"];

fn page_query(page: &PageArgs) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    if let Some(limit) = page.limit {
        query.push(("limit", limit.to_string()));
    }
    if let Some(cursor) = &page.cursor {
        query.push(("cursor", cursor.clone()));
    }
    query
}

/// Parses `90d`, `12h`, `30m` or `45s`.
fn parse_lifetime(text: &str) -> anyhow::Result<Duration> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: i64 = number.parse().with_context(|| format!("`{text}` is not a lifetime such as 90d, 12h or 30m"))?;
    let duration = match unit {
        "d" => Duration::try_days(n),
        "h" => Duration::try_hours(n),
        "m" => Duration::try_minutes(n),
        "s" => Duration::try_seconds(n),
        _ => None,
    };
    duration
        .filter(|d| *d > Duration::zero())
        .with_context(|| format!("`{text}` is not a lifetime such as 90d, 12h or 30m"))
}

fn parse_time(field: &str, text: &str) -> anyhow::Result<String> {
    let at: DateTime<Utc> = text.parse().with_context(|| format!("--{field} `{text}` is not an RFC 3339 time"))?;
    Ok(at.to_rfc3339())
}

/// Reads a secret value from a file, or standard input (`-` or no file); a trailing newline is dropped.
fn read_value(file: Option<&Path>) -> anyhow::Result<String> {
    let mut value = String::new();
    match file {
        Some(path) if path != Path::new("-") => {
            value = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        }
        _ => {
            std::io::stdin().read_to_string(&mut value).context("cannot read the value from standard input")?;
        }
    }
    let trimmed = value.strip_suffix('\n').map(|v| v.strip_suffix('\r').unwrap_or(v)).unwrap_or(&value);
    if trimmed.is_empty() {
        bail!("the secret value is empty");
    }
    Ok(trimmed.to_string())
}

pub(crate) async fn run(opts: &ClientOpts, command: ApiCommand) -> anyhow::Result<()> {
    let api = ApiClient::new(opts)?;
    let json = opts.json;
    match command {
        ApiCommand::Whoami => print(&api.get("/v1/whoami", &[]).await?, &["kind", "org_id", "member_id", "role"], json),
        ApiCommand::Orgs(cmd) => orgs(&api, cmd, json).await?,
        ApiCommand::Members(cmd) => members(&api, cmd, json).await?,
        ApiCommand::Tokens(cmd) => tokens(&api, cmd, json).await?,
        ApiCommand::Secrets(cmd) => secrets(&api, cmd, json).await?,
        ApiCommand::Audit(args) => audit(&api, args, json).await?,
        ApiCommand::Integrations(cmd) => integrations(&api, cmd, json).await?,
        ApiCommand::Webhooks(cmd) => webhooks(&api, cmd, json).await?,
        ApiCommand::Connections(cmd) => data::connections(&api, cmd, json).await?,
        ApiCommand::Upload(args) => data::upload(&api, args, json).await?,
        ApiCommand::Uploads(cmd) => data::uploads(&api, cmd, json).await?,
        ApiCommand::Jobs(cmd) => data::jobs(&api, cmd, json).await?,
        ApiCommand::Attachments(cmd) => attachments::attachments(&api, cmd, json).await?,
        ApiCommand::Assets(cmd) => assets::assets(&api, cmd, json).await?,
        ApiCommand::Migrate(args) => migrations::migrate(&api, args, json).await?,
        ApiCommand::Migrations(cmd) => migrations::migrations(&api, cmd, json).await?,
        ApiCommand::Export(args) => exports::export(&api, *args, json).await?,
        ApiCommand::Exports(cmd) => exports::exports(&api, cmd, json).await?,
        ApiCommand::Imports(cmd) => imports::imports(&api, cmd, json).await?,
        ApiCommand::Events { org, event_type, limit } => {
            let mut query = vec![("limit", limit.to_string())];
            if let Some(t) = event_type {
                query.push(("type", t));
            }
            let value = api.get(&format!("/v1/orgs/{}/events", org.org), &query).await?;
            print(&value, &["id", "type", "occurred_at", "payload"], json);
        }
    }
    Ok(())
}

async fn orgs(api: &ApiClient, cmd: OrgsCommand, json: bool) -> anyhow::Result<()> {
    let value = match cmd {
        OrgsCommand::List(page) => api.get("/v1/orgs", &page_query(&page)).await?,
        OrgsCommand::Get { org } => api.get(&format!("/v1/orgs/{org}"), &[]).await?,
        OrgsCommand::Create { name } => api.post("/v1/orgs", &json!({ "name": name })).await?,
        OrgsCommand::Rename { org, name } => api.patch(&format!("/v1/orgs/{org}"), &json!({ "name": name })).await?,
        OrgsCommand::Delete { org } => {
            api.delete(&format!("/v1/orgs/{org}")).await?;
            println!("deleted {org}");
            return Ok(());
        }
    };
    print(&value, ORG_COLUMNS, json);
    Ok(())
}

async fn members(api: &ApiClient, cmd: MembersCommand, json: bool) -> anyhow::Result<()> {
    let value = match cmd {
        MembersCommand::List { org, page } => {
            api.get(&format!("/v1/orgs/{}/members", org.org), &page_query(&page)).await?
        }
        MembersCommand::Get { org, member } => api.get(&format!("/v1/orgs/{}/members/{member}", org.org), &[]).await?,
        MembersCommand::Add { org, name, email, role } => {
            let role = byob_core::Role::from(role);
            api.post(&format!("/v1/orgs/{}/members", org.org), &json!({ "name": name, "email": email, "role": role }))
                .await?
        }
        MembersCommand::Update { org, member, name, email, role } => {
            let mut body = Map::new();
            if let Some(name) = name {
                body.insert("name".into(), json!(name));
            }
            if let Some(email) = email {
                body.insert("email".into(), json!(email));
            }
            if let Some(role) = role {
                body.insert("role".into(), json!(byob_core::Role::from(role)));
            }
            api.patch(&format!("/v1/orgs/{}/members/{member}", org.org), &Value::Object(body)).await?
        }
        MembersCommand::Remove { org, member } => {
            api.delete(&format!("/v1/orgs/{}/members/{member}", org.org)).await?;
            println!("removed {member}");
            return Ok(());
        }
    };
    print(&value, MEMBER_COLUMNS, json);
    Ok(())
}

async fn tokens(api: &ApiClient, cmd: TokensCommand, json: bool) -> anyhow::Result<()> {
    let value = match cmd {
        TokensCommand::List { org, member } => {
            api.get(&format!("/v1/orgs/{}/members/{member}/tokens", org.org), &[]).await?
        }
        TokensCommand::Create { org, member, name, expires_in } => {
            let expires_at =
                expires_in.as_deref().map(parse_lifetime).transpose()?.map(|d| (Utc::now() + d).to_rfc3339());
            let created = api
                .post(
                    &format!("/v1/orgs/{}/members/{member}/tokens", org.org),
                    &json!({ "name": name, "expires_at": expires_at }),
                )
                .await?;
            if !json {
                let token = created.get("token").and_then(Value::as_str).unwrap_or_default();
                println!("token (shown once; byob keeps only its hash):\n  {token}");
            }
            created
        }
        TokensCommand::Revoke { org, member, token_id } => {
            api.delete(&format!("/v1/orgs/{}/members/{member}/tokens/{token_id}", org.org)).await?
        }
    };
    print(&value, TOKEN_COLUMNS, json);
    Ok(())
}

async fn secrets(api: &ApiClient, cmd: SecretsCommand, json: bool) -> anyhow::Result<()> {
    let value = match cmd {
        SecretsCommand::List { org, page } => {
            api.get(&format!("/v1/orgs/{}/secrets", org.org), &page_query(&page)).await?
        }
        SecretsCommand::Get { org, secret } => api.get(&format!("/v1/orgs/{}/secrets/{secret}", org.org), &[]).await?,
        SecretsCommand::Create { org, name, value_file, description, expires_at } => {
            let value = read_value(value_file.as_deref())?;
            let expires_at = expires_at.as_deref().map(|t| parse_time("expires-at", t)).transpose()?;
            let body = json!({ "name": name, "value": value, "description": description, "expires_at": expires_at });
            api.post(&format!("/v1/orgs/{}/secrets", org.org), &body).await?
        }
        SecretsCommand::Update { org, secret, value_file, description, expires_at } => {
            let mut body = Map::new();
            if let Some(file) = value_file {
                body.insert("value".into(), json!(read_value(Some(&file))?));
            }
            if let Some(description) = description {
                body.insert("description".into(), json!(description));
            }
            if let Some(at) = expires_at {
                body.insert("expires_at".into(), json!(parse_time("expires-at", &at)?));
            }
            api.patch(&format!("/v1/orgs/{}/secrets/{secret}", org.org), &Value::Object(body)).await?
        }
        SecretsCommand::Delete { org, secret } => {
            api.delete(&format!("/v1/orgs/{}/secrets/{secret}", org.org)).await?;
            println!("deleted {secret}");
            return Ok(());
        }
        SecretsCommand::RotateKey(_) | SecretsCommand::KeyStatus(_) | SecretsCommand::PruneKeys(_) => {
            bail!("master-key commands run on the server side, not through the API")
        }
    };
    print(&value, SECRET_COLUMNS, json);
    Ok(())
}

/// A verification report as a checklist: a mark, the check, its duration and message, the fix under it, and the
/// exact statement to add where the report quotes one.
/// A verification report as a checklist (or JSON); an error when a check failed (exit status 1).
pub(crate) fn print_report(report: &Value, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{}", checklist(report));
    }
    let failed = report["checks"].as_array().map_or(0, |c| c.iter().filter(|c| c["status"] == "failed").count());
    if failed > 0 {
        bail!("{failed} check(s) failed");
    }
    Ok(())
}

fn checklist(report: &Value) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for check in report["checks"].as_array().into_iter().flatten() {
        let text = |k: &str| check[k].as_str().unwrap_or_default().to_string();
        let mark = match text("status").as_str() {
            "passed" => "ok  ",
            "failed" => "FAIL",
            "warning" => "warn",
            _ => "skip",
        };
        let _ = writeln!(out, "{mark} {:<26} {:>6} ms  {}", text("name"), check["duration_ms"], text("message"));
        if let Some(fix) = check["remediation"].as_object() {
            let action = fix.get("action").and_then(Value::as_str).unwrap_or_default();
            let _ = match fix.get("artifact").and_then(Value::as_str) {
                Some(artifact) => {
                    writeln!(out, "     fix: {action} (apply `{artifact}` from `byob integrations setup`)")
                }
                None => writeln!(out, "     fix: {action}"),
            };
            if let Some(statement) = fix.get("statement").filter(|s| !s.is_null()) {
                let _ = writeln!(out, "     add:");
                for line in serde_json::to_string_pretty(statement).unwrap_or_default().lines() {
                    let _ = writeln!(out, "       {line}");
                }
            }
        }
        if let Some(id) = check["error_id"].as_str() {
            let _ = writeln!(out, "     error id: {id}");
        }
    }
    let state = |k: &str| report[k].as_str().unwrap_or_default().to_string();
    let _ = writeln!(out, "state: {} -> {}", state("state_before"), state("state_after"));
    out
}

/// A JSON body from a file or standard input (`-` or none).
fn read_json(file: Option<&Path>) -> anyhow::Result<Value> {
    let text = read_value(file)?;
    serde_json::from_str(&text).context("the body is not valid JSON")
}

async fn integrations(api: &ApiClient, cmd: IntegrationsCommand, json: bool) -> anyhow::Result<()> {
    let base = |org: &str| format!("/v1/orgs/{org}/integrations");
    let value = match cmd {
        IntegrationsCommand::List { org, page } => api.get(&base(&org.org), &page_query(&page)).await?,
        IntegrationsCommand::Get { org, integration } => {
            api.get(&format!("{}/{integration}", base(&org.org)), &[]).await?
        }
        IntegrationsCommand::Create { org, file } => api.post(&base(&org.org), &read_json(file.as_deref())?).await?,
        IntegrationsCommand::Update { org, integration, file } => {
            api.patch(&format!("{}/{integration}", base(&org.org)), &read_json(file.as_deref())?).await?
        }
        IntegrationsCommand::Disable { org, integration } => {
            api.post_empty(&format!("{}/{integration}/disable", base(&org.org))).await?
        }
        IntegrationsCommand::Enable { org, integration } => {
            api.post_empty(&format!("{}/{integration}/enable", base(&org.org))).await?
        }
        IntegrationsCommand::Verify { org, integration } => {
            let report = api.post_empty(&format!("{}/{integration}/verify", base(&org.org))).await?;
            return print_report(&report, json);
        }
        IntegrationsCommand::Verifications { org, integration, limit } => {
            let value = api
                .get(&format!("{}/{integration}/verifications", base(&org.org)), &[("limit", limit.to_string())])
                .await?;
            let rows: Vec<serde_json::Value> = value
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|r| {
                    let failed: Vec<serde_json::Value> = r["checks"]
                        .as_array()
                        .map(|c| c.iter().filter(|c| c["status"] == "failed").map(|c| c["name"].clone()).collect())
                        .unwrap_or_default();
                    serde_json::json!({ "id": r["id"], "trigger": r["trigger"], "finished_at": r["finished_at"],
                        "state_after": r["state_after"], "failed": failed })
                })
                .collect();
            let shown = if json { value } else { serde_json::Value::Array(rows) };
            print(&shown, &["id", "trigger", "finished_at", "state_after", "failed"], json);
            return Ok(());
        }
        IntegrationsCommand::RotateExternalId { org, integration } => {
            api.post_empty(&format!("{}/{integration}/external-id/rotate", base(&org.org))).await?
        }
        IntegrationsCommand::PromoteExternalId { org, integration } => {
            api.post_empty(&format!("{}/{integration}/external-id/promote", base(&org.org))).await?
        }
        IntegrationsCommand::Setup { org, integration, format } => {
            let path = format!("{}/{integration}/setup", base(&org.org));
            match format {
                SetupFormatArg::Json => println!("{}", serde_json::to_string_pretty(&api.get(&path, &[]).await?)?),
                other => print!("{}", api.get_text(&path, &[("format", other.as_str().to_string())]).await?),
            }
            return Ok(());
        }
        IntegrationsCommand::Delete { org, integration } => {
            api.delete(&format!("{}/{integration}", base(&org.org))).await?;
            println!("deleted {integration}");
            return Ok(());
        }
    };
    print(&value, INTEGRATION_COLUMNS, json);
    Ok(())
}

async fn audit(api: &ApiClient, args: AuditArgs, json: bool) -> anyhow::Result<()> {
    let mut query = page_query(&args.page);
    for (key, value) in
        [("action", args.action), ("actor", args.actor), ("target", args.target), ("outcome", args.outcome)]
    {
        if let Some(value) = value {
            query.push((key, value));
        }
    }
    if let Some(since) = &args.since {
        query.push(("since", parse_time("since", since)?));
    }
    if let Some(until) = &args.until {
        query.push(("until", parse_time("until", until)?));
    }
    let value = api.get(&format!("/v1/orgs/{}/audit", args.org.org), &query).await?;
    print(&value, AUDIT_COLUMNS, json);
    Ok(())
}

async fn webhooks(api: &ApiClient, cmd: WebhooksCommand, json: bool) -> anyhow::Result<()> {
    const COLUMNS: &[&str] = &["id", "url", "event_types", "created_at"];
    let base = |org: &str| format!("/v1/orgs/{org}/webhooks");
    match cmd {
        WebhooksCommand::Create { org, endpoint, events } => {
            let created =
                api.post(&base(&org.org), &serde_json::json!({ "url": endpoint, "event_types": events })).await?;
            print(&created, COLUMNS, json);
            if !json {
                println!("signing secret (shown once): {}", created["secret"].as_str().unwrap_or_default());
            }
        }
        WebhooksCommand::List { org } => print(&api.get(&base(&org.org), &[]).await?, COLUMNS, json),
        WebhooksCommand::Delete { org, webhook } => {
            api.delete(&format!("{}/{webhook}", base(&org.org))).await?;
            println!("deleted {webhook}");
        }
        WebhooksCommand::Deliveries { org, webhook } => {
            let value = api.get(&format!("{}/{webhook}/deliveries", base(&org.org)), &[]).await?;
            print(
                &value,
                &["id", "event_id", "status", "attempts", "last_status_code", "next_attempt_at", "last_error"],
                json,
            );
        }
        WebhooksCommand::Test { org } => {
            let event = api.post_empty(&format!("{}/test", base(&org.org))).await?;
            print(&event, &["id", "type", "occurred_at"], json);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes() {
        assert_eq!(parse_lifetime("90d").ok(), Some(Duration::days(90)));
        assert_eq!(parse_lifetime("30m").ok(), Some(Duration::minutes(30)));
        assert!(parse_lifetime("0d").is_err());
        assert!(parse_lifetime("d").is_err());
        assert!(parse_lifetime("5w").is_err());
    }

    #[test]
    fn the_checklist_shows_the_fix_and_the_statement_to_add() {
        let report = serde_json::json!({
            "state_before": "draft", "state_after": "draft",
            "checks": [{
                "name": "objects-write", "status": "failed", "duration_ms": 12,
                "message": "byob may not write under `p/`: the store refused `s3:PutObject` on `arn:aws:s3:::b/p/*`",
                "remediation": {
                    "action": "add statement `ByobObjects` to the inline policy of `arn:aws:iam::1:role/r`",
                    "artifact": "iam-policy",
                    "statement": { "Sid": "ByobObjects", "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::b/p/*" },
                },
            }],
        });
        let text = checklist(&report);
        assert!(text.contains("FAIL objects-write"), "{text}");
        assert!(text.contains("fix: add statement `ByobObjects`") && text.contains("(apply `iam-policy`"), "{text}");
        assert!(text.contains("     add:\n       {\n") && text.contains("\"Sid\": \"ByobObjects\""), "{text}");
        assert!(text.ends_with("state: draft -> draft\n"), "{text}");
    }
}
