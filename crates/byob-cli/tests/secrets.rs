//! A secret written through the API never comes back: not in any response, not in the logs (at debug level),
//! not in plaintext in the catalog (SQLite files including the WAL, or PostgreSQL rows).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::{Value, json};
use sqlx::{Connection, Row};
use support::{Server, all_file_bytes, contains};

/// Writes two values of one secret and reads everything back; returns the values and every response body.
async fn exercise_secret(server: &Server) -> (Vec<String>, Vec<String>) {
    let token = server.operator_token();
    let first = format!("AKIA-first-{}", ulid::Ulid::new());
    let second = format!("sas-second-{}", ulid::Ulid::new());
    let mut bodies = Vec::new();
    let org = server.json("POST", "/v1/orgs", &token, Some(json!({ "name": "Acme" }))).await;
    let org = org["id"].as_str().unwrap().to_string();
    let path = format!("/v1/orgs/{org}/secrets");
    let created = server.json("POST", &path, &token, Some(json!({ "name": "aws", "value": first }))).await;
    let id = created["id"].as_str().unwrap().to_string();
    bodies.push(created.to_string());
    let updated = server.json("PATCH", &format!("{path}/{id}"), &token, Some(json!({ "value": second }))).await;
    bodies.push(updated.to_string());
    // A rejected write of the same value must not echo it either.
    let (status, rejected) = server.call("POST", &path, &token, Some(json!({ "name": "aws", "value": first }))).await;
    assert_eq!(status, 409, "{rejected}");
    bodies.push(rejected);
    let (_, wrong_field) =
        server.call("POST", &path, &token, Some(json!({ "name": "x", "value": first, "oops": second }))).await;
    bodies.push(wrong_field);
    for read in [format!("{path}/{id}"), path.clone(), format!("/v1/orgs/{org}/audit")] {
        bodies.push(server.call("GET", &read, &token, None).await.1);
    }
    bodies.push(server.call("GET", "/metrics", "", None).await.1);
    (vec![first, second], bodies)
}

fn assert_absent(values: &[String], bodies: &[String], stdout: &str, stderr: &str) {
    assert!(stderr.lines().count() > 10, "debug logs were captured: {stderr}");
    for value in values {
        for body in bodies {
            assert!(!body.contains(value), "a response contains the secret: {body}");
        }
        assert!(!stdout.contains(value) && !stderr.contains(value), "the logs contain the secret");
    }
}

const DEBUG_LOGS: &[(&str, &str)] = &[("BYOB_LOG__FILTER", "debug")];

#[tokio::test]
async fn a_secret_never_leaks_with_the_sqlite_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--log-format", "json"], DEBUG_LOGS).await;
    let (values, bodies) = exercise_secret(&server).await;
    let (stdout, stderr) = server.stop().await;
    assert_absent(&values, &bodies, &stdout, &stderr);
    let files = all_file_bytes(&dir.path().join("byob-data"));
    assert!(files.iter().any(|(p, _)| p.ends_with("catalog.db")));
    for (path, bytes) in files {
        for value in &values {
            assert!(!contains(&bytes, value), "{} holds the secret in plaintext", path.display());
        }
    }
}

#[tokio::test]
async fn a_secret_never_leaks_with_the_postgres_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let url = byob_testkit::fresh_postgres_database().await;
    let env = [("BYOB_LOG__FILTER", "debug"), ("BYOB_CATALOG__URL", url.as_str())];
    let server = Server::start(dir.path(), &["--log-format", "json"], &env).await;
    assert!(!dir.path().join("byob-data/catalog.db").exists(), "the PostgreSQL catalog is used");
    let (values, bodies) = exercise_secret(&server).await;
    let (stdout, stderr) = server.stop().await;
    assert_absent(&values, &bodies, &stdout, &stderr);
    assert!(!stderr.contains(&url), "the catalog URL (with credentials) is not logged");

    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    let tables: Vec<String> = sqlx::query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        .fetch_all(&mut conn)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("tablename"))
        .collect();
    assert!(tables.contains(&"secrets".to_string()));
    for table in tables {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT row_to_json(t)::text AS j FROM \"{table}\" t")))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        for row in rows {
            let text: String = row.get("j");
            for value in &values {
                assert!(!text.contains(value), "table {table} holds the secret in plaintext");
            }
        }
    }
}

#[tokio::test]
async fn config_print_redacts_every_secret_and_env_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("byob.toml");
    std::fs::write(
        &config,
        r#"
listen = "127.0.0.1:7000"
operator_token = "byob_file-operator-token-abcdefghij"
[catalog]
url = "postgres://byob:pg-password-123@db.internal:5432/byob"
[secrets]
master_key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
previous_keys = ["ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="]
"#,
    )
    .unwrap();
    let output = support::byob(dir.path())
        .args(["config", "print", "--config"])
        .arg(&config)
        .env("BYOB_LISTEN", "127.0.0.1:7001")
        .env("BYOB_HTTP__MAX_BODY_BYTES", "4096")
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8(output.stdout).unwrap();
    for secret in ["file-operator-token", "pg-password-123", "MDEyMzQ1", "ZmVkY2Jh"] {
        assert!(!printed.contains(secret), "config print shows {secret}:\n{printed}");
    }
    let parsed: toml::Value = toml::from_str(&printed).unwrap();
    assert_eq!(parsed["listen"].as_str(), Some("127.0.0.1:7001"), "the environment overrides the file");
    assert_eq!(parsed["http"]["max_body_bytes"].as_integer(), Some(4096));
    assert_eq!(parsed["catalog"]["url"].as_str(), Some("postgres://byob:***@db.internal:5432/byob"));
    assert_eq!(parsed["operator_token"].as_str(), Some("[redacted]"));
}

#[tokio::test]
async fn rotating_the_master_key_while_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[], &[]).await;
    let token = server.operator_token();
    let org = server.json("POST", "/v1/orgs", &token, Some(json!({ "name": "Acme" }))).await;
    let path = format!("/v1/orgs/{}/secrets", org["id"].as_str().unwrap());
    let old = server.json("POST", &path, &token, Some(json!({ "name": "a", "value": "one" }))).await;
    let old_key = old["key_id"].as_str().unwrap().to_string();

    let run = |args: &'static [&'static str]| {
        let mut cmd = support::byob(dir.path());
        cmd.args(args);
        async move {
            let out = cmd.output().await.unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        }
    };
    let rotated = run(&["secrets", "rotate-key"]).await;
    assert!(rotated.contains("re-encrypted 1 secret(s)"), "{rotated}");
    let status = run(&["secrets", "key-status"]).await;
    let new_key = status.lines().find(|l| l.contains("(primary)")).unwrap().split(' ').next().unwrap().to_string();
    assert_ne!(new_key, old_key);
    assert!(status.contains(&format!("{new_key} (primary): 1 secret(s)")), "{status}");
    assert!(status.contains(&format!("{old_key}: 0 secret(s)")), "{status}");

    // The running server seals new and replaced values under the new key without a restart.
    let fresh = server.json("POST", &path, &token, Some(json!({ "name": "b", "value": "two" }))).await;
    assert_eq!(fresh["key_id"], Value::from(new_key.clone()));
    let id = old["id"].as_str().unwrap();
    let replaced = server.json("PATCH", &format!("{path}/{id}"), &token, Some(json!({ "value": "three" }))).await;
    assert_eq!(replaced["key_id"], Value::from(new_key.clone()));

    let pruned = run(&["secrets", "prune-keys"]).await;
    assert!(pruned.contains(&old_key), "{pruned}");
    assert!(!run(&["secrets", "key-status"]).await.contains(&old_key));
    server.stop().await;
}
