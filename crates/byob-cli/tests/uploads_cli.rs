//! `byob upload` against real `byob serve` processes: a fresh server (local default storage, relay parts,
//! embedded warehouse); a server killed in the middle of a load, whose job is taken up again after restart;
//! and two servers sharing one PostgreSQL catalog that run 50 queued loads, each exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{collections::HashSet, time::Duration};

use byob_testkit::uploads::{sample_csv, sqlite_sample_checksum};
use serde_json::{Value, json};
use support::{Server, byob_cli, org_and_member};

async fn wait_for_job(server: &Server, token: &str, org: &str, job: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    loop {
        let (status, text) = server.call("GET", &format!("/v1/orgs/{org}/jobs/{job}"), token, None).await;
        if status == 200 {
            let value: Value = serde_json::from_str(&text).unwrap();
            if done(&value) {
                return value;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "job {job} did not get there: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_fresh_server_takes_a_file_and_loads_it_with_one_command() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[]).await;
    let operator = server.operator_token();
    let (org, token) = org_and_member(&server, &operator).await;
    let (bytes, checksum) = sample_csv(20 * 1024 * 1024);
    let file = dir.path().join("sales.csv");
    std::fs::write(&file, &bytes).unwrap();

    let (ok, stdout, stderr) =
        byob_cli(&server, &token, &["upload", "--org", &org, file.to_str().unwrap(), "--load-into", "local.sales"])
            .await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("rows into local.sales (0 rejected"), "{stdout}");
    let (count, sum) = sqlite_sample_checksum(&dir.path().join(format!("byob-data/warehouse/{org}.db")), "sales").await;
    assert!(count > 50_000);
    assert_eq!(sum, checksum);

    let (ok, listed, _) = byob_cli(&server, &token, &["--json", "uploads", "list", "--org", &org]).await;
    assert!(ok);
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let upload = &listed["items"][0];
    assert_eq!(upload["transfer"]["kind"], "relay", "the local default storage has no URLs: byob relays the parts");
    assert_eq!(upload["staged"], "deleted_after_load");
    let (ok, tables, _) = byob_cli(&server, &token, &["connections", "tables", "--org", &org, "local"]).await;
    assert!(ok && tables.contains("sales"), "{tables}");
    // Progress as a person reads it, not raw JSON.
    let (ok, jobs, _) = byob_cli(&server, &token, &["jobs", "list", "--org", &org]).await;
    assert!(ok && jobs.contains(" MB / ") && jobs.contains(" rows"), "{jobs}");
    assert!(!jobs.contains("bytes_done"), "{jobs}");

    // A file read as Latin-1 says so where the user looks; one that is UTF-8 damaged in places is refused.
    let latin = dir.path().join("latin.csv");
    std::fs::write(&latin, b"id,name\n1,caf\xE9\n2,na\xEFve\n").unwrap();
    let (ok, _, stderr) =
        byob_cli(&server, &token, &["upload", "--org", &org, latin.to_str().unwrap(), "--load-into", "local.latin"])
            .await;
    assert!(ok && stderr.contains("warning: the file is not valid UTF-8 and was read as Latin-1"), "{stderr}");
    let mixed = dir.path().join("mixed.csv");
    std::fs::write(&mixed, b"id,name\n1,caf\xC3\xA9\n2,na\xEFve\n").unwrap();
    let (ok, _, stderr) =
        byob_cli(&server, &token, &["upload", "--org", &org, mixed.to_str().unwrap(), "--load-into", "local.mixed"])
            .await;
    assert!(!ok && stderr.contains("line 3") && stderr.contains("csv-encoding-mixed"), "{stderr}");

    // Bad input from the command line: a clear error, nothing loaded.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "id,amount\n1,2\n2,x\n").unwrap();
    let (ok, _, stderr) = byob_cli(
        &server,
        &token,
        &["upload", "--org", &org, bad.to_str().unwrap(), "--load-into", "local.bad", "--type", "amount=integer"],
    )
    .await;
    assert!(!ok);
    assert!(
        stderr.contains("line 3, column `amount`: `x` is not an integer") && stderr.contains("(bad-row)"),
        "{stderr}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_load_interrupted_by_a_crash_is_taken_up_again_and_ends_with_all_rows() {
    let dir = tempfile::tempdir().unwrap();
    let env = [("BYOB_JOBS__LEASE_SECS", "3"), ("BYOB_MONITOR__ENABLED", "false")];
    let server = Server::start(dir.path(), &[], &env).await;
    let operator = server.operator_token();
    let (org, token) = org_and_member(&server, &operator).await;
    let (bytes, checksum) = sample_csv(150 * 1024 * 1024);
    let file = dir.path().join("big.csv");
    std::fs::write(&file, &bytes).unwrap();
    let (ok, stdout, stderr) = byob_cli(
        &server,
        &token,
        &["--json", "upload", "--org", &org, file.to_str().unwrap(), "--load-into", "local.big", "--no-wait"],
    )
    .await;
    assert!(ok, "{stderr}");
    let job = serde_json::from_str::<Value>(&stdout).unwrap()["id"].as_str().unwrap().to_string();
    let running = wait_for_job(&server, &token, &org, &job, |j| {
        j["state"] == "running" && j["progress"]["rows_done"].as_u64().unwrap_or(0) > 0 || j["state"] == "succeeded"
    })
    .await;
    assert_eq!(running["state"], "running", "the load must still be running when the server is killed");

    // SIGKILL: no clean shutdown, the transaction is cut off mid-way.
    let mut server = server;
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();
    let warehouse = dir.path().join(format!("byob-data/warehouse/{org}.db"));
    let server = Server::start(dir.path(), &[], &env).await;
    let finished = wait_for_job(&server, &token, &org, &job, |j| {
        matches!(j["state"].as_str(), Some("succeeded" | "failed" | "cancelled"))
    })
    .await;
    assert_eq!(finished["state"], "succeeded", "{finished}");
    assert_eq!(finished["attempts"], 2, "the crashed attempt, then the one that finished");
    let (count, sum) = sqlite_sample_checksum(&warehouse, "big").await;
    assert_eq!(count, finished["result"]["rows_loaded"].as_u64().unwrap());
    assert_eq!(sum, checksum, "all rows, each once");
    server.stop().await;
}

/// A master key, operator token and default storage shared by both processes, as in a real deployment.
fn shared_env<'a>(catalog: &'a str, storage: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("BYOB_CATALOG__URL", catalog),
        ("BYOB_STORAGE__LOCAL_PATH", storage),
        ("BYOB_SECRETS__MASTER_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
        ("BYOB_OPERATOR_TOKEN", "byob_shared-operator-token-0123456789"),
        ("BYOB_MONITOR__ENABLED", "false"),
        ("BYOB_JOBS__POLL_MS", "100"),
        // One org's jobs here: let them run on every worker of both processes (fairness is job_limits.rs's).
        ("BYOB_JOBS__MAX_RUNNING_PER_ORG", "4"),
        // The target database is on loopback.
        ("BYOB_NETWORK__ALLOWED_PRIVATE_RANGES", "[\"127.0.0.0/8\"]"),
    ]
}

async fn upload_small(server: &Server, token: &str, org: &str, i: usize) -> String {
    let body = format!("id,label\n{i},first\n{},second\n", i + 1000);
    let plan = server
        .json(
            "POST",
            &format!("/v1/orgs/{org}/uploads"),
            token,
            Some(json!({
                "filename": format!("f{i}.csv"), "size": body.len(), "content_type": "text/csv",
            })),
        )
        .await;
    let completion = byob_testkit::uploads::send_parts(&plan, body.as_bytes()).await;
    let id = plan["upload"]["id"].as_str().unwrap().to_string();
    server.json("POST", &format!("/v1/orgs/{org}/uploads/{id}/complete"), token, Some(completion)).await;
    id
}

#[tokio::test]
async fn two_processes_share_one_postgres_queue_and_run_each_job_once() {
    let catalog = byob_testkit::fresh_postgres_database().await;
    let target = byob_testkit::fresh_postgres_database().await;
    let (a_dir, b_dir, storage) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let storage_path = storage.path().to_str().unwrap().to_string();
    let env = shared_env(&catalog, &storage_path);
    let a = Server::start(a_dir.path(), &[], &env).await;
    let b = Server::start(b_dir.path(), &[], &env).await;
    let operator = "byob_shared-operator-token-0123456789";
    let (org, token) = org_and_member(&a, operator).await;
    let url = url::Url::parse(&target).unwrap();
    a.json(
        "POST",
        &format!("/v1/orgs/{org}/connections"),
        operator,
        Some(json!({
            "name": "pg", "platform": "postgres", "host": url.host_str().unwrap(), "port": url.port().unwrap(),
            "database": url.path().trim_start_matches('/'), "user": url.username(), "tls": "disable",
        })),
    )
    .await;
    let mut uploads = Vec::new();
    for i in 0..50 {
        uploads.push(upload_small(if i % 2 == 0 { &a } else { &b }, &token, &org, i).await);
    }
    let mut jobs = Vec::new();
    for (i, upload) in uploads.iter().enumerate() {
        let server = if i % 2 == 0 { &b } else { &a };
        let job = server
            .json(
                "POST",
                &format!("/v1/orgs/{org}/uploads/{upload}/load"),
                &token,
                Some(json!({
                    "connection": "pg", "table": format!("t{i}"),
                })),
            )
            .await;
        jobs.push(job["id"].as_str().unwrap().to_string());
    }
    let mut workers = HashSet::new();
    for job in &jobs {
        let done =
            wait_for_job(&a, &token, &org, job, |j| matches!(j["state"].as_str(), Some("succeeded" | "failed"))).await;
        assert_eq!(done["state"], "succeeded", "{done}");
        assert_eq!(done["attempts"], 1, "claimed once: {done}");
        workers.insert(done["result"]["worker"].as_str().unwrap().to_string());
    }
    assert_eq!(workers.len(), 2, "both processes took jobs: {workers:?}");
    let tables = count_rows(&target, 50).await;
    assert!(tables.iter().all(|n| *n == 2), "every table holds its two rows once: {tables:?}");
    a.stop().await;
    b.stop().await;
}

async fn count_rows(url: &str, tables: usize) -> Vec<i64> {
    use sqlx::{Connection, Row};
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let mut counts = Vec::new();
    for i in 0..tables {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT count(*) AS n FROM t{i}")))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        counts.push(row.get::<i64, _>("n"));
    }
    counts
}

#[tokio::test]
async fn connections_are_created_from_the_command_line_with_their_platform_fields() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[]).await;
    let operator = server.operator_token();
    let (org, _) = org_and_member(&server, &operator).await;
    let role = "arn:aws:iam::123456789012:role/redshift-reads-acme";
    let create = |name: &'static str, role: &'static str| {
        [
            "--json",
            "connections",
            "create",
            "--org",
            &org,
            name,
            "--platform",
            "redshift",
            "--host",
            "acme.abc123.eu-west-1.redshift.amazonaws.com",
            "--database",
            "dev",
            "--user",
            "byob",
            "--iam-role",
            role,
        ]
        .map(String::from)
    };
    let args = create("rs", role);
    let (ok, stdout, stderr) = byob_cli(&server, &operator, &args.each_ref().map(String::as_str)).await;
    assert!(ok, "{stderr}");
    let created: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!((created["platform"].as_str(), created["iam_role"].as_str()), (Some("redshift"), Some(role)));
    assert_eq!(created["port"], 5439);

    let args = create("rs2", "redshift-role");
    let (ok, _, stderr) = byob_cli(&server, &operator, &args.each_ref().map(String::as_str)).await;
    assert!(!ok && stderr.contains("`iam_role` `redshift-role` is not an ARN"), "{stderr}");

    let password = dir.path().join("mssql-password");
    std::fs::write(&password, "S3cret-pa55word\n").unwrap();
    let sqlserver = |name: &str, tls: &str| {
        let mut args = vec!["--json", "connections", "create", "--org", &org, name, "--platform", "sqlserver"];
        args.extend(["--host", "acme.database.windows.net", "--database", "sales", "--user", "byob_loader"]);
        args.extend(["--tls", tls, "--password-file", password.to_str().unwrap()]);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let args = sqlserver("mssql", "verify-full");
    let (ok, stdout, stderr) = byob_cli(&server, &operator, &args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(ok, "{stderr}");
    let created: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (created["platform"].as_str(), created["port"].as_u64(), created["schema"].as_str()),
        (Some("sqlserver"), Some(1433), Some("dbo"))
    );
    assert!(!stdout.contains("S3cret"));
    let key = concat!(env!("CARGO_MANIFEST_DIR"), "/../byob-ports/tests/data/snowflake_test_key.p8");
    let args = ["--json", "connections", "create", "--org", &org, "snowkey", "--platform", "snowflake", "--account"];
    let mut args: Vec<&str> = args.to_vec();
    args.extend(["myorg-myaccount", "--database", "SALES", "--user", "BYOB", "--private-key-file", key]);
    let (ok, stdout, stderr) = byob_cli(&server, &operator, &args).await;
    assert!(ok, "{stderr}");
    let created: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(created["public_key_fingerprint"], "SHA256:JxOa5jTveXDLzSO+9juviz5QWQRTXLhufLScJKGU8Cs=");

    let args = sqlserver("mssql2", "verify-ca");
    let (ok, _, stderr) = byob_cli(&server, &operator, &args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(!ok && stderr.contains("`verify-full`"), "{stderr}");
}
