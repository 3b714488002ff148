//! Every setting in the README's configuration table, set through its `BYOB_…` environment variable, shows in
//! `byob config print`: the README, the configuration type and the environment loader cannot drift apart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;

/// A value to set for each documented key, and what `config print` must then show (`None`: a secret, shown
/// redacted and never in clear).
fn values() -> BTreeMap<&'static str, (&'static str, Option<toml::Value>)> {
    use toml::Value::{Array, Boolean, Float, Integer, String as Str};
    let s = |v: &str| Some(Str(v.into()));
    BTreeMap::from([
        ("listen", ("127.0.0.1:9911", s("127.0.0.1:9911"))),
        ("data_dir", ("/tmp/byob-config-test", s("/tmp/byob-config-test"))),
        ("operator_token", ("an-operator-token-of-enough-length", None)),
        ("log.format", ("json", s("json"))),
        ("log.filter", ("byob_api=debug,info", s("byob_api=debug,info"))),
        ("http.max_body_bytes", ("2048", Some(Integer(2048)))),
        ("http.request_timeout_secs", ("31", Some(Integer(31)))),
        ("http.shutdown_grace_secs", ("32", Some(Integer(32)))),
        ("http.max_connections", ("33", Some(Integer(33)))),
        ("http.idle_timeout_secs", ("34", Some(Integer(34)))),
        ("http.token_requests_per_second", ("35", Some(Integer(35)))),
        ("http.org_requests_per_second", ("36", Some(Integer(36)))),
        ("http.header_read_timeout_secs", ("35", Some(Integer(35)))),
        ("catalog.url", ("postgres://byob:pw-in-url@127.0.0.1:5/byob", s("postgres://byob:***@127.0.0.1:5/byob"))),
        ("catalog.max_connections", ("11", Some(Integer(11)))),
        ("secrets.master_key", ("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", None)),
        ("secrets.previous_keys", ("[\"b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleQ==\"]", None)),
        ("storage.local_path", ("/tmp/byob-config-storage", s("/tmp/byob-config-storage"))),
        ("storage.staging_ttl_hours", ("25", Some(Integer(25)))),
        ("storage.retries", ("3", Some(Integer(3)))),
        ("storage.retry_timeout_secs", ("40", Some(Integer(40)))),
        ("warehouse.local_dir", ("/tmp/byob-config-warehouse", s("/tmp/byob-config-warehouse"))),
        ("integrations.http_endpoints", ("loopback", s("loopback"))),
        ("integrations.allow_local", ("true", Some(Boolean(true)))),
        (
            "integrations.aws_principal_arn",
            ("arn:aws:iam::123456789012:role/byob", s("arn:aws:iam::123456789012:role/byob")),
        ),
        ("integrations.gcp_service_account", ("byob@p.iam.gserviceaccount.com", s("byob@p.iam.gserviceaccount.com"))),
        ("integrations.egress_cidrs", ("[\"203.0.113.0/24\"]", Some(Array(vec![Str("203.0.113.0/24".into())])))),
        ("integrations.aws_access_key_id", ("AKIAEXAMPLEEXAMPLE", s("AKIAEXAMPLEEXAMPLE"))),
        ("integrations.aws_secret_access_key", ("aws-secret-in-env", None)),
        ("integrations.sts_endpoint", ("https://sts.example.test", s("https://sts.example.test"))),
        ("integrations.sts_region", ("eu-west-1", s("eu-west-1"))),
        ("integrations.gcp_service_account_key", ("gcp-key-in-env", None)),
        (
            "integrations.gcp_org_service_accounts",
            ("[\"org-1@p.iam.gserviceaccount.com\"]", Some(Array(vec![Str("org-1@p.iam.gserviceaccount.com".into())]))),
        ),
        (
            "integrations.azure_broker_apps",
            (
                "[{ client_id = \"11111111-1111-4111-8111-111111111111\", client_secret = \"broker-secret-in-env\" }]",
                None,
            ),
        ),
        (
            "integrations.gcp_token_endpoints",
            ("[\"https://gcs.example.test\"]", Some(Array(vec![Str("https://gcs.example.test".into())]))),
        ),
        ("integrations.gcp_iam_credentials_endpoint", ("https://iam.example.test", s("https://iam.example.test"))),
        ("integrations.azure_authority_host", ("https://login.example.test", s("https://login.example.test"))),
        ("integrations.presign_default_secs", ("600", Some(Integer(600)))),
        ("integrations.presign_max_secs", ("7200", Some(Integer(7200)))),
        ("monitor.enabled", ("false", Some(Boolean(false)))),
        ("monitor.interval_hours", ("12", Some(Integer(12)))),
        ("monitor.jitter", ("0.2", Some(Float(0.2)))),
        ("monitor.tick_secs", ("7", Some(Integer(7)))),
        ("uploads.max_size_bytes", ("1000", Some(Integer(1000)))),
        ("uploads.allowed_content_types", ("[\"text/csv\"]", Some(Array(vec![Str("text/csv".into())])))),
        ("uploads.public_url", ("http://byob.example.test", s("http://byob.example.test"))),
        ("uploads.abort_incomplete_after_hours", ("5", Some(Integer(5)))),
        ("uploads.relay_min_bytes_per_sec", ("4096", Some(Integer(4096)))),
        ("attachments.scanner", ("clamd", s("clamd"))),
        ("attachments.clamd_address", ("127.0.0.1:3399", s("127.0.0.1:3399"))),
        ("attachments.scanner_url", ("http://scanner.example.test/scan", s("http://scanner.example.test/scan"))),
        ("attachments.scan_timeout_secs", ("41", Some(Integer(41)))),
        ("attachments.download_ttl_secs", ("42", Some(Integer(42)))),
        ("attachments.thumbnail_max_pixels", ("43", Some(Integer(43)))),
        ("attachments.thumbnail_max_source_bytes", ("44", Some(Integer(44)))),
        ("assets.check_every_hours", ("45", Some(Integer(45)))),
        ("assets.check_parallelism", ("46", Some(Integer(46)))),
        ("jobs.enabled", ("false", Some(Boolean(false)))),
        ("jobs.workers", ("3", Some(Integer(3)))),
        ("jobs.lease_secs", ("3", Some(Integer(3)))),
        ("jobs.poll_ms", ("100", Some(Integer(100)))),
        ("jobs.janitor_interval_secs", ("60", Some(Integer(60)))),
        ("jobs.schedule_tick_secs", ("2", Some(Integer(2)))),
        ("jobs.deadline_secs", ("600", Some(Integer(600)))),
        ("quotas.exports_per_org", ("7", Some(Integer(7)))),
        ("quotas.imports_per_org", ("8", Some(Integer(8)))),
        ("quotas.webhooks_per_org", ("9", Some(Integer(9)))),
        ("quotas.queued_jobs_per_org", ("10", Some(Integer(10)))),
        ("quotas.staged_bytes_per_org", ("11", Some(Integer(11)))),
        ("jobs.max_running_per_org", ("2", Some(Integer(2)))),
        (
            "network.allowed_private_ranges",
            (
                "[\"10.0.0.0/8\", \"127.0.0.0/8\"]",
                Some(Array(vec![Str("10.0.0.0/8".into()), Str("127.0.0.0/8".into())])),
            ),
        ),
        ("network.dns_servers", ("[\"127.0.0.1:5353\"]", Some(Array(vec![Str("127.0.0.1:5353".into())])))),
    ])
}

/// The default storage buckets: one table each, and only one may be set at a time.
fn bucket_tables() -> BTreeMap<&'static str, Vec<(&'static str, &'static str, bool)>> {
    BTreeMap::from([
        (
            "storage.s3",
            vec![
                ("bucket", "platform-staging", true),
                ("prefix", "byob", true),
                ("region", "eu-west-3", true),
                ("endpoint", "https://s3.example.test", true),
                ("access_key_id", "AKIADEFAULTSTORAGE", true),
                ("secret_access_key", "s3-default-secret", false),
            ],
        ),
        (
            "storage.gcs",
            vec![
                ("bucket", "platform-gcs", true),
                ("prefix", "byob", true),
                ("endpoint", "https://gcs.example.test", true),
                ("service_account_key", "gcs-default-secret", false),
            ],
        ),
        (
            "storage.azure",
            vec![
                ("account", "acme", true),
                ("container", "c1", true),
                ("prefix", "byob", true),
                ("endpoint", "https://azure.example.test", true),
                ("account_key", "azure-default-secret", false),
            ],
        ),
    ])
}

/// The keys of the README's configuration table (first column, each in backticks).
fn documented_keys() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let table = readme.split("## Configuration").nth(1).unwrap().split("\n\n").nth(2).unwrap();
    let mut keys = Vec::new();
    for row in table.lines().skip(2) {
        let first = row.trim_start_matches('|').split('|').next().unwrap();
        keys.extend(first.split(',').map(|k| k.trim().trim_matches('`').to_string()));
    }
    keys
}

fn env_name(key: &str) -> String {
    format!("BYOB_{}", key.to_ascii_uppercase().replace('.', "__"))
}

async fn print_with(env: &[(String, String)]) -> toml::Table {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = support::byob(dir.path());
    cmd.args(["config", "print"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout.parse::<toml::Table>().unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn lookup<'a>(table: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let (first, rest) = key.split_once('.').map_or((key, None), |(a, b)| (a, Some(b)));
    let value = table.get(first)?;
    match rest {
        None => Some(value),
        Some(rest) => lookup(value.as_table()?, rest),
    }
}

#[tokio::test]
async fn every_documented_variable_takes_effect() {
    let values = values();
    let tables = bucket_tables();
    let documented = documented_keys();
    assert!(documented.len() > 30, "the README's table was not found: {documented:?}");
    for key in &documented {
        assert!(values.contains_key(key.as_str()) || tables.contains_key(key.as_str()), "no test value for `{key}`");
    }
    for key in values.keys().chain(tables.keys()) {
        assert!(documented.iter().any(|k| k == key), "`{key}` is tested but not in the README's table");
    }

    let env: Vec<(String, String)> = values.iter().map(|(k, (v, _))| (env_name(k), (*v).to_string())).collect();
    let printed = print_with(&env).await;
    let text = toml::to_string(&printed).unwrap();
    for (key, (value, expected)) in &values {
        let shown = lookup(&printed, key).unwrap_or_else(|| panic!("`{key}` is missing from config print"));
        match expected {
            Some(expected) => assert_eq!(shown, expected, "{} had no effect", env_name(key)),
            None => assert!(!text.contains(value), "the secret of `{key}` is shown"),
        }
        if expected.is_none() {
            assert!(shown.to_string().contains("[redacted]"), "`{key}` is not redacted: {shown}");
        }
    }

    for (table, fields) in &tables {
        let env: Vec<(String, String)> = fields
            .iter()
            .map(|(field, value, _)| (env_name(&format!("{table}.{field}")), (*value).to_string()))
            .collect();
        let printed = print_with(&env).await;
        let text = toml::to_string(&printed).unwrap();
        for (field, value, shown) in fields {
            let key = format!("{table}.{field}");
            let printed_value = lookup(&printed, &key).unwrap_or_else(|| panic!("`{key}` is missing: {text}"));
            if *shown {
                assert_eq!(printed_value.as_str(), Some(*value), "{} had no effect", env_name(&key));
            } else {
                assert!(!text.contains(value), "the secret of `{key}` is shown");
            }
        }
    }
}
