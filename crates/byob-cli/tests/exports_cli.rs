//! `byob export` and `byob imports` against real `byob serve` processes: a fresh server exporting from its
//! embedded warehouse into its default storage; a server killed in the middle of an export to moto, after which
//! no partial object and no open multipart upload remains and the run ends; and an import created, resolved and
//! run from the command line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use byob_testkit::{
    buckets::{create_s3_bucket, unique_name},
    exports::open_multipart_uploads,
    fresh_postgres_database, server_env,
    uploads::moto_uploads_integration,
};
use serde_json::{Value, json};
use support::{Server, byob_cli, org_and_member};

#[tokio::test]
async fn a_fresh_server_exports_with_one_command() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[]).await;
    let (org, token) = org_and_member(&server, &server.operator_token()).await;
    let csv = dir.path().join("t.csv");
    std::fs::write(&csv, "id,name\n1,a\n2,\"b, c\"\n3,\n").unwrap();
    let (ok, _, stderr) =
        byob_cli(&server, &token, &["upload", "--org", &org, csv.to_str().unwrap(), "--load-into", "local.t"]).await;
    assert!(ok, "{stderr}");

    let (ok, stdout, stderr) =
        byob_cli(&server, &token, &["export", "--org", &org, "local", "--table", "t", "--format", "jsonl"]).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("exported 3 rows in 1 file(s)"), "{stdout}");
    let manifest = stdout.trim().rsplit(' ').next().unwrap().to_string();
    let folder =
        dir.path().join(format!("byob-data/storage/orgs/{org}")).join(manifest.trim_end_matches("/_manifest.json"));
    let names: Vec<String> =
        std::fs::read_dir(&folder).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    let data = std::fs::read_to_string(folder.join("part-00001.jsonl")).unwrap();
    assert_eq!(data, "{\"id\":1,\"name\":\"a\"}\n{\"id\":2,\"name\":\"b, c\"}\n{\"id\":3,\"name\":null}\n");

    let (ok, stdout, _) = byob_cli(&server, &token, &["--json", "exports", "list", "--org", &org]).await;
    assert!(ok);
    let export = serde_json::from_str::<Value>(&stdout).unwrap()[0]["id"].as_str().unwrap().to_string();
    let (ok, stdout, stderr) = byob_cli(&server, &token, &["exports", "runs", "--org", &org, &export]).await;
    assert!(ok && stdout.contains("succeeded"), "{stdout}{stderr}");
    let (ok, stdout, _) = byob_cli(
        &server,
        &token,
        &[
            "exports",
            "preview",
            "--org",
            &org,
            "--path-template",
            "x/{{date}}/f-{{part}}.csv",
            "--max-rows-per-file",
            "10",
        ],
    )
    .await;
    assert!(ok && stdout.contains("/f-00002.csv"), "{stdout}");
    let (ok, _, stderr) =
        byob_cli(&server, &token, &["export", "--org", &org, "local", "--table", "t", "--path-template", "a/{{nope}}"])
            .await;
    assert!(!ok && stderr.contains("`{{nope}}` is not a placeholder"), "{stderr}");
    server.stop().await;
}

#[tokio::test]
async fn an_export_cut_by_a_crash_leaves_no_partial_object_and_no_open_upload() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("BYOB_JOBS__LEASE_SECS", "3"),
        ("BYOB_MONITOR__ENABLED", "false"),
        ("BYOB_INTEGRATIONS__HTTP_ENDPOINTS", "loopback"),
        ("BYOB_NETWORK__ALLOWED_PRIVATE_RANGES", "[\"127.0.0.0/8\"]"),
    ];
    let server = Server::start(dir.path(), &[], &env).await;
    let operator = server.operator_token();
    let (org, token) = org_and_member(&server, &operator).await;
    let bucket = unique_name("exports");
    create_s3_bucket(&bucket).await;
    let mut integration = moto_uploads_integration(&bucket, "byob");
    integration["features"] = json!(["exports"]);
    let (status, text) =
        server.call("POST", &format!("/v1/orgs/{org}/integrations"), &operator, Some(integration)).await;
    assert_eq!(status, 201, "{text}");
    let pg_url = fresh_postgres_database().await;
    let url = url::Url::parse(&pg_url).unwrap();
    let connection = json!({
        "name": "pg", "platform": "postgres", "host": url.host_str().unwrap(), "port": url.port().unwrap(),
        "database": url.path().trim_start_matches('/'), "user": url.username(), "tls": "disable",
    });
    let (status, text) = server.call("POST", &format!("/v1/orgs/{org}/connections"), &operator, Some(connection)).await;
    assert_eq!(status, 201, "{text}");
    byob_testkit::create_numbered_table(&pg_url, "big", 2_000_000).await;

    let (ok, stdout, stderr) =
        byob_cli(&server, &token, &["--json", "export", "--org", &org, "pg", "--table", "big", "--no-wait"]).await;
    assert!(ok, "{stderr}");
    let created: Value = serde_json::from_str(&stdout).unwrap();
    let run = created["run"]["id"].as_str().unwrap().to_string();
    let export = created["export"]["id"].as_str().unwrap().to_string();
    // Killed the moment its file is a multipart upload in progress, whether or not byob has recorded the upload's
    // id yet: byob records the file's key before it starts the upload, and recovery lists what the key left.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while open_multipart_uploads(&bucket).await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the export never started its upload");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut server = server;
    server.child.start_kill().unwrap();
    server.child.wait().await.unwrap();
    assert_eq!(open_multipart_uploads(&bucket).await, 1, "the crash left an open upload behind");
    let reader = byob_testkit::buckets::s3_admin(&server_env("BYOB_TEST_S3_ENDPOINT"), "us-east-1");
    let listed = reader.list_objects_v2().bucket(&bucket).send().await.unwrap();
    assert_eq!(listed.contents().len(), 0, "no partial object is visible");

    let server = Server::start(dir.path(), &[], &env).await;
    let path = format!("/v1/orgs/{org}/exports/{export}/runs/{run}");
    let ended = server.wait_for(&token, &path, |r| matches!(r["state"].as_str(), Some("succeeded" | "failed"))).await;
    assert_eq!(ended["state"], "succeeded", "{ended}");
    let job = server.json("GET", &format!("/v1/orgs/{org}/jobs/{run}"), &token, None).await;
    assert_eq!(job["attempts"], 2, "the crashed attempt, then the one that finished");
    assert_eq!(ended["rows"], 2_000_000);
    assert_eq!(open_multipart_uploads(&bucket).await, 0, "the dead attempt's upload was aborted");
    let listed = reader.list_objects_v2().bucket(&bucket).send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys.len(), 3, "{keys:?}");
    assert!(keys.iter().any(|k| k.ends_with("/_SUCCESS")) && keys.iter().any(|k| k.ends_with("/part-00001.csv")));
    server.stop().await;
}

#[tokio::test]
async fn imports_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("BYOB_MONITOR__ENABLED", "false"),
        ("BYOB_INTEGRATIONS__HTTP_ENDPOINTS", "loopback"),
        ("BYOB_NETWORK__ALLOWED_PRIVATE_RANGES", "[\"127.0.0.0/8\"]"),
    ];
    let server = Server::start(dir.path(), &[], &env).await;
    let operator = server.operator_token();
    let (org, token) = org_and_member(&server, &operator).await;
    let bucket = unique_name("imports");
    create_s3_bucket(&bucket).await;
    let admin = byob_testkit::buckets::s3_admin(&server_env("BYOB_TEST_S3_ENDPOINT"), "us-east-1");
    for key in
        ["myfolderA/2022-09-15-salaries.csv", "myfolderA/2022-10-15-salaries.csv", "myfolderA/2022-10-16-revenue.csv"]
    {
        let body = format!("id,amount\n1,{}\n", key.len());
        admin
            .put_object()
            .bucket(&bucket)
            .key(format!("byob/{key}"))
            .body(body.into_bytes().into())
            .send()
            .await
            .unwrap();
    }
    let mut integration = moto_uploads_integration(&bucket, "byob");
    integration["features"] = json!(["imports"]);
    let (status, text) =
        server.call("POST", &format!("/v1/orgs/{org}/integrations"), &operator, Some(integration)).await;
    assert_eq!(status, 201, "{text}");
    let (ok, stdout, stderr) = byob_cli(
        &server,
        &token,
        &[
            "--json",
            "imports",
            "create",
            "--org",
            &org,
            "--integration",
            "customer",
            "--pattern",
            "myfolderA/{{date}}-salaries.csv",
            "--into",
            "local.salaries",
            "--mode",
            "replace",
            "--name",
            "salaries",
        ],
    )
    .await;
    assert!(ok, "{stderr}");
    let id = serde_json::from_str::<Value>(&stdout).unwrap()["id"].as_str().unwrap().to_string();
    let (ok, stdout, stderr) = byob_cli(&server, &token, &["imports", "resolve", "--org", &org, &id]).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("would load myfolderA/2022-10-15-salaries.csv"), "{stdout}");
    assert!(stdout.contains("passed over myfolderA/2022-10-16-revenue.csv"), "{stdout}");
    let (ok, stdout, stderr) = byob_cli(&server, &token, &["imports", "run", "--org", &org, &id]).await;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("loaded 1 rows from myfolderA/2022-10-15-salaries.csv into local.salaries"), "{stdout}");
    let (ok, stdout, _) = byob_cli(&server, &token, &["imports", "run", "--org", &org, &id]).await;
    assert!(ok && stdout.contains("skipped myfolderA/2022-10-15-salaries.csv: already loaded"), "{stdout}");
    let (ok, _, stderr) = byob_cli(
        &server,
        &token,
        &[
            "imports",
            "create",
            "--org",
            &org,
            "--integration",
            "customer",
            "--pattern",
            "/{{date}}-salaries.csv",
            "--into",
            "local.x",
        ],
    )
    .await;
    assert!(!ok && stderr.contains("names no folder"), "{stderr}");
    server.stop().await;
}
