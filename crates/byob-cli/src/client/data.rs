//! Client commands of the data flows: connections, uploads and loads, jobs.

use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::{http::ApiClient, output::print, transfer};
use crate::data_args::{
    ConnectionFields, ConnectionsCommand, JobsCommand, LoadOpts, ModeArg, OnErrorArg, UploadArgs, UploadsCommand,
};

const CONNECTION_COLUMNS: &[&str] = &["name", "platform", "host", "port", "database", "user", "schema", "tls"];
const UPLOAD_COLUMNS: &[&str] = &["id", "filename", "size", "state", "staged", "load_job", "created_at"];
const JOB_COLUMNS: &[&str] = &["id", "kind", "state", "progress", "error", "created_at", "finished_at"];

const MEMBER_ACCESS_COLUMNS: &[&str] =
    &["create_tables", "append", "replace", "export_tables", "run_queries", "schema"];

pub(crate) async fn connections(api: &ApiClient, cmd: ConnectionsCommand, json: bool) -> anyhow::Result<()> {
    let base = |org: &str| format!("/v1/orgs/{org}/connections");
    let (value, columns): (Value, &[&str]) = match cmd {
        ConnectionsCommand::List { org } => (api.get(&base(&org.org), &[]).await?, CONNECTION_COLUMNS),
        ConnectionsCommand::Get { org, connection } => {
            (api.get(&format!("{}/{connection}", base(&org.org)), &[]).await?, CONNECTION_COLUMNS)
        }
        ConnectionsCommand::Create { org, name, fields } => {
            let password = match &fields.password_file {
                None => None,
                Some(path) => Some(super::read_value(Some(path))?),
            };
            let service_account_key = match &fields.service_account_key_file {
                None => None,
                Some(path) => Some(super::read_value(Some(path))?),
            };
            let private_key = match &fields.private_key_file {
                None => None,
                Some(path) => Some(super::read_value(Some(path))?),
            };
            let mut body = json!({
                "name": name, "platform": fields.platform, "host": fields.host, "port": fields.port,
                "database": fields.database, "user": fields.user, "password": password, "tls": fields.tls,
                "schema": fields.schema, "account": fields.account, "warehouse": fields.warehouse,
                "role": fields.role, "storage_integration": fields.storage_integration, "iam_role": fields.iam_role,
                "catalog": fields.catalog, "http_path": fields.http_path, "external_catalog": fields.external_catalog,
                "project": fields.project, "dataset": fields.dataset, "location": fields.location,
                "service_account_key": service_account_key, "private_key": private_key,
                "network": network_body(&fields)?,
            });
            // The request names only the fields given.
            if let Some(map) = body.as_object_mut() {
                map.retain(|_, v| !v.is_null());
            }
            (api.post(&base(&org.org), &body).await?, CONNECTION_COLUMNS)
        }
        ConnectionsCommand::Access {
            org,
            connection,
            create_tables,
            append,
            replace,
            export_tables,
            run_queries,
            schema,
        } => {
            let path = format!("{}/{connection}", base(&org.org));
            let current = api.get(&path, &[]).await?;
            let mut access = current.get("member_access").cloned().unwrap_or(Value::Null);
            let changes = [
                ("create_tables", create_tables.map(Value::Bool)),
                ("append", append.map(|s| json!(s.as_str()))),
                ("replace", replace.map(|s| json!(s.as_str()))),
                ("export_tables", export_tables.map(Value::Bool)),
                ("run_queries", run_queries.map(Value::Bool)),
                ("schema", schema.map(|s| if s == "-" { Value::Null } else { json!(s) })),
            ];
            if changes.iter().all(|(_, v)| v.is_none()) {
                print(&access, MEMBER_ACCESS_COLUMNS, json);
                return Ok(());
            }
            if !access.is_object() {
                bail!("`{connection}` has no member access to change (the embedded warehouse is the org's own)");
            }
            for (key, value) in changes {
                if let Some(value) = value {
                    access[key] = value;
                }
            }
            let updated = api.patch(&path, &json!({ "member_access": access })).await?;
            let access = updated.get("member_access").cloned().unwrap_or(Value::Null);
            print(&access, MEMBER_ACCESS_COLUMNS, json);
            return Ok(());
        }
        ConnectionsCommand::Delete { org, connection } => {
            api.delete(&format!("{}/{connection}", base(&org.org))).await?;
            println!("deleted {connection}");
            return Ok(());
        }
        ConnectionsCommand::Test { org, connection } => {
            let outcome = api.post_empty(&format!("{}/{connection}/test", base(&org.org))).await?;
            print(&outcome, &["ok", "platform", "duration_ms", "error"], json);
            if outcome.get("ok") != Some(&Value::Bool(true)) {
                bail!("connection `{connection}` failed its test");
            }
            return Ok(());
        }
        ConnectionsCommand::Tables { org, connection } => {
            (api.get(&format!("{}/{connection}/tables", base(&org.org)), &[]).await?, &["schema", "name"])
        }
        ConnectionsCommand::Verify { org, connection } => {
            let report = api.post_empty(&format!("{}/{connection}/verify", base(&org.org))).await?;
            return super::print_report(&report, json);
        }
        ConnectionsCommand::Report { org, connection } => {
            let report = api.get(&format!("{}/{connection}/report", base(&org.org)), &[]).await?;
            return super::print_report(&report, json);
        }
        ConnectionsCommand::Setup { org, connection } => {
            let steps = api.get(&format!("{}/{connection}/setup", base(&org.org)), &[]).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&steps)?);
            } else {
                for step in steps.as_array().into_iter().flatten() {
                    println!(
                        "## {} (applied by the {})",
                        step["name"].as_str().unwrap_or_default(),
                        step["applied_by"].as_str().unwrap_or_default()
                    );
                    for note in step["notes"].as_array().into_iter().flatten() {
                        println!("# {}", note.as_str().unwrap_or_default());
                    }
                    println!("{}", step["content"].as_str().unwrap_or_default());
                }
            }
            return Ok(());
        }
        ConnectionsCommand::TrustHostKey { org, connection, fingerprint } => (
            api.post(&format!("{}/{connection}/ssh-host-key", base(&org.org)), &json!({ "fingerprint": fingerprint }))
                .await?,
            CONNECTION_COLUMNS,
        ),
        ConnectionsCommand::Columns { org, connection, table } => (
            api.get(&format!("{}/{connection}/tables/{table}/columns", base(&org.org)), &[]).await?,
            &["name", "type", "nullable"],
        ),
    };
    print(&value, columns, json);
    Ok(())
}

/// The request's `network` from the flags (`null` when none is given: public).
fn network_body(fields: &ConnectionFields) -> anyhow::Result<Value> {
    let Some(mode) = &fields.network else { return Ok(Value::Null) };
    let mut network = json!({ "mode": mode.replace('-', "_") });
    match mode.as_str() {
        "ssh-tunnel" => {
            let Some(ssh) = &fields.ssh else { bail!("--network ssh-tunnel needs --ssh USER@HOST[:PORT]") };
            let Some((user, rest)) = ssh.split_once('@') else { bail!("--ssh is USER@HOST[:PORT], not `{ssh}`") };
            let (host, port) = host_port(rest)?;
            network["user"] = json!(user);
            network["host"] = json!(host);
            network["port"] = json!(port);
        }
        "proxy" => {
            let Some(proxy) = &fields.proxy else {
                bail!("--network proxy needs --proxy http://HOST:PORT or socks5://HOST:PORT")
            };
            let (kind, rest) = match proxy.split_once("://") {
                Some(("http", rest)) => ("http_connect", rest),
                Some(("socks5" | "socks5h", rest)) => ("socks5", rest),
                _ => bail!("--proxy is http://HOST:PORT or socks5://HOST:PORT, not `{proxy}`"),
            };
            let (host, port) = host_port(rest.trim_end_matches('/'))?;
            network["kind"] = json!(kind);
            network["host"] = json!(host);
            network["port"] = json!(port);
            network["username"] = json!(fields.proxy_username);
            if let Some(path) = &fields.proxy_password_file {
                network["password"] = json!(super::read_value(Some(path))?);
            }
        }
        "private-link" => {
            network["region"] = json!(fields.region);
            network["endpoint_service"] = json!(fields.endpoint_service);
            if !fields.availability_zones.is_empty() {
                network["availability_zones"] = json!(fields.availability_zones);
            }
        }
        _ => {}
    }
    if let Some(map) = network.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
    Ok(network)
}

/// `HOST[:PORT]` (the port `null` when absent).
fn host_port(text: &str) -> anyhow::Result<(String, Option<u16>)> {
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => {
            let port = port.parse::<u16>().map_err(|_| anyhow::anyhow!("`{port}` is not a port"))?;
            Ok((host.to_string(), Some(port)))
        }
        _ => Ok((text.to_string(), None)),
    }
}

/// `CONNECTION.TABLE`: the connection is everything before the first dot (connection names have none).
fn split_target(target: &str) -> anyhow::Result<(&str, &str)> {
    match target.split_once('.') {
        Some((connection, table)) if !connection.is_empty() && !table.is_empty() => Ok((connection, table)),
        _ => bail!("`{target}` is not CONNECTION.TABLE (e.g. local.sales or warehouse.public.sales)"),
    }
}

fn load_body(connection: &str, table: &str, opts: &LoadOpts) -> anyhow::Result<Value> {
    let mut columns = Vec::new();
    for spec in &opts.types {
        let (name, column_type) =
            spec.split_once('=').with_context(|| format!("--type `{spec}` is not NAME=TYPE (e.g. amount=decimal)"))?;
        columns.push(json!({ "source": name, "type": column_type }));
    }
    let mode = match opts.mode {
        ModeArg::Create => "create",
        ModeArg::Append => "append",
        ModeArg::Replace => "replace",
    };
    let on_error = match opts.on_error {
        OnErrorArg::Abort => "abort",
        OnErrorArg::Skip => "skip",
    };
    let mut body = json!({
        "connection": connection, "table": table, "mode": mode, "on_error": on_error, "columns": columns,
        "via": opts.via,
    });
    if let Some(n) = opts.max_bad_rows {
        body["max_bad_rows"] = json!(n);
    }
    if let Some(h) = opts.header {
        body["header"] = json!(h);
    }
    if let Some(d) = &opts.delimiter {
        body["delimiter"] = json!(d);
    }
    if !opts.nulls.is_empty() {
        body["null_tokens"] = json!(opts.nulls);
    }
    Ok(body)
}

async fn start_load(
    api: &ApiClient,
    org: &str,
    upload: &str,
    target: &str,
    opts: &LoadOpts,
    json: bool,
) -> anyhow::Result<()> {
    let (connection, table) = split_target(target)?;
    let job = api.post(&format!("/v1/orgs/{org}/uploads/{upload}/load"), &load_body(connection, table, opts)?).await?;
    let id = job.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    if opts.no_wait {
        print(&job, JOB_COLUMNS, json);
        return Ok(());
    }
    follow(api, org, &id, json).await
}

/// Polls a job until it ends, with a spinner; returns it, or an error when it did not succeed.
pub(super) async fn follow_quietly(api: &ApiClient, org: &str, job: &str) -> anyhow::Result<Value> {
    let bar = transfer::spinner(&format!("job {job}"));
    let finished = loop {
        let value = api.get(&format!("/v1/orgs/{org}/jobs/{job}"), &[]).await?;
        let state = value.get("state").and_then(Value::as_str).unwrap_or_default().to_string();
        bar.set_message(format!(
            "{state}: {} MB read",
            value["progress"]["bytes_done"].as_u64().unwrap_or(0) / 1_000_000
        ));
        if matches!(state.as_str(), "succeeded" | "failed" | "cancelled") {
            break value;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    bar.finish_and_clear();
    if finished["state"] != "succeeded" {
        anyhow::bail!(
            "job {job} {}: {}",
            finished["state"].as_str().unwrap_or_default(),
            finished["error"]["message"].as_str().unwrap_or_default()
        );
    }
    Ok(finished)
}

/// Polls a job until it ends, showing rows and bytes; an error when it did not succeed.
pub(super) async fn follow(api: &ApiClient, org: &str, job: &str, json: bool) -> anyhow::Result<()> {
    let bar = transfer::spinner(&format!("job {job}"));
    let finished = loop {
        let value = api.get(&format!("/v1/orgs/{org}/jobs/{job}"), &[]).await?;
        let state = value.get("state").and_then(Value::as_str).unwrap_or_default().to_string();
        let progress = &value["progress"];
        let verb = if value["kind"] == "export" { "written" } else { "read" };
        bar.set_message(format!(
            "{state}: {} rows, {} MB {verb}",
            progress["rows_done"].as_u64().unwrap_or(0),
            progress["bytes_done"].as_u64().unwrap_or(0) / 1_000_000
        ));
        if matches!(state.as_str(), "succeeded" | "failed" | "cancelled") {
            break value;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    bar.finish_and_clear();
    let state = finished.get("state").and_then(Value::as_str).unwrap_or_default();
    if json {
        print(&finished, JOB_COLUMNS, true);
    } else if state == "succeeded" && finished["kind"] == "import" {
        let r = &finished["result"];
        if r["skipped"] == true {
            println!(
                "skipped {}: already loaded (run with --force to load it again)",
                r["key"].as_str().unwrap_or_default()
            );
        } else {
            println!(
                "loaded {} rows from {} into {}.{} ({} rejected)",
                r["rows_loaded"],
                r["key"].as_str().unwrap_or_default(),
                r["connection"].as_str().unwrap_or_default(),
                r["table"].as_str().unwrap_or_default(),
                r["rows_rejected"]
            );
        }
    } else if state == "succeeded" && finished["kind"] == "export" {
        let r = &finished["result"];
        println!(
            "exported {} rows in {} file(s), {} bytes; manifest {}",
            r["rows"],
            r["files"],
            r["bytes"],
            r["manifest"].as_str().unwrap_or_default()
        );
    } else if state == "succeeded" {
        let r = &finished["result"];
        println!(
            "loaded {} rows into {}.{} ({} rejected{})",
            r["rows_loaded"],
            r["connection"].as_str().unwrap_or_default(),
            r["table"].as_str().unwrap_or_default(),
            r["rows_rejected"],
            r["rejected_key"].as_str().map(|k| format!(", written to {k}")).unwrap_or_default()
        );
    }
    if !json {
        // A guessed encoding (or anything else to confirm) is said where the user looks, on success or failure.
        let warnings = finished["result"]["warnings"].as_array().into_iter().flatten();
        for warning in warnings.filter_map(Value::as_str) {
            eprintln!("warning: {warning}");
        }
    }
    if state != "succeeded" {
        let error = &finished["error"];
        bail!(
            "job {job} {state}: {} ({})",
            error["message"].as_str().unwrap_or("no message"),
            error["code"].as_str().unwrap_or("no code")
        );
    }
    Ok(())
}

pub(crate) async fn upload(api: &ApiClient, args: UploadArgs, json: bool) -> anyhow::Result<()> {
    let org = args.org.org.clone();
    if let Some(target) = &args.load_into {
        split_target(target)?;
    }
    let uploaded = transfer::upload_file(api, &org, &args.file, &args.content_type, args.parallel.max(1)).await?;
    let id = uploaded.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
    match &args.load_into {
        Some(target) => start_load(api, &org, &id, target, &args.load, json).await,
        None => {
            print(&uploaded, UPLOAD_COLUMNS, json);
            Ok(())
        }
    }
}

pub(crate) async fn uploads(api: &ApiClient, cmd: UploadsCommand, json: bool) -> anyhow::Result<()> {
    let value = match cmd {
        UploadsCommand::List { org, limit } => {
            let query: Vec<(&str, String)> = limit.map(|l| ("limit", l.to_string())).into_iter().collect();
            api.get(&format!("/v1/orgs/{}/uploads", org.org), &query).await?
        }
        UploadsCommand::Get { org, upload } => api.get(&format!("/v1/orgs/{}/uploads/{upload}", org.org), &[]).await?,
        UploadsCommand::Preview { org, upload, delimiter, header } => {
            let mut query = Vec::new();
            if let Some(d) = delimiter {
                query.push(("delimiter", d));
            }
            if let Some(h) = header {
                query.push(("header", h.to_string()));
            }
            let inspection = api.get(&format!("/v1/orgs/{}/uploads/{upload}/preview", org.org), &query).await?;
            if json {
                print(&inspection, &[], true);
            } else {
                print(&inspection["columns"], &["name", "type"], false);
                println!(
                    "encoding {} · delimiter {:?} · header {}",
                    inspection["encoding"]["encoding"],
                    inspection["dialect"]["delimiter"],
                    inspection["dialect"]["has_header"]
                );
                for warning in inspection["warnings"].as_array().into_iter().flatten() {
                    println!("warning: {}", warning.as_str().unwrap_or_default());
                }
            }
            return Ok(());
        }
        UploadsCommand::Load { org, upload, into, load } => {
            return start_load(api, &org.org, &upload, &into, &load, json).await;
        }
        UploadsCommand::Abort { org, upload } => api.delete(&format!("/v1/orgs/{}/uploads/{upload}", org.org)).await?,
    };
    print(&value, UPLOAD_COLUMNS, json);
    Ok(())
}

pub(crate) async fn jobs(api: &ApiClient, cmd: JobsCommand, json: bool) -> anyhow::Result<()> {
    let value = match cmd {
        JobsCommand::List { org, state, limit } => {
            let mut query = vec![("limit", limit.to_string())];
            if let Some(s) = state {
                query.push(("state", s));
            }
            api.get(&format!("/v1/orgs/{}/jobs", org.org), &query).await?
        }
        JobsCommand::Get { org, job } => api.get(&format!("/v1/orgs/{}/jobs/{job}", org.org), &[]).await?,
        JobsCommand::Wait { org, job } => return follow(api, &org.org, &job, json).await,
        JobsCommand::Cancel { org, job } => api.post_empty(&format!("/v1/orgs/{}/jobs/{job}/cancel", org.org)).await?,
    };
    print(&value, JOB_COLUMNS, json);
    Ok(())
}
