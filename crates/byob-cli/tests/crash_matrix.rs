//! The crash matrix (docs/reliability.md): for loads, exports, imports, migrations and attachment completion, a
//! real `byob serve` is killed with SIGKILL at a seeded random moment of the flow, started again on the same data,
//! and once recovery ran the invariants are checked: no partial object visible, no half-loaded table, no open
//! multipart upload, each job finished exactly once (its one audit entry), with the exact rows or bytes.
//!
//! Each flow first runs once uncrashed, which gives the window the kill moments are drawn from. The suite runs
//! `BYOB_CRASH_ITERATIONS` (default 2) crashes per flow; `BYOB_CRASH_ITERATIONS=20` is the full matrix, and
//! `BYOB_CRASH_SEED` repeats a run's moments (each flow prints its seed and every moment it drew).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use byob_testkit::{
    buckets::{create_s3_bucket, s3_admin, unique_name},
    exports::open_multipart_uploads,
    fresh_postgres_database, server_env,
    uploads::{sample_csv, send_parts, sqlite_sample_checksum},
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::{Server, org_and_member};

const PREFIX: &str = "byob";

/// One flow's site: a server on its own data directory, an org with a member, and an integration on a moto bucket
/// serving every feature.
struct Site {
    dir: tempfile::TempDir,
    env: Vec<(&'static str, String)>,
    server: Option<Server>,
    operator: String,
    org: String,
    member: String,
    bucket: String,
    rng: fastrand::Rng,
    iterations: usize,
    flow: &'static str,
}

impl Site {
    async fn new(flow: &'static str, extra_env: &[(&'static str, String)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut env: Vec<(&'static str, String)> = vec![
            ("BYOB_MONITOR__ENABLED", "false".into()),
            ("BYOB_INTEGRATIONS__HTTP_ENDPOINTS", "loopback".into()),
            ("BYOB_NETWORK__ALLOWED_PRIVATE_RANGES", "[\"127.0.0.0/8\"]".into()),
            ("BYOB_JOBS__POLL_MS", "50".into()),
            // A dead process's job is claimable again two seconds after its last renewal.
            ("BYOB_JOBS__LEASE_SECS", "2".into()),
        ];
        env.extend(extra_env.iter().cloned());
        let server = start(dir.path(), &env).await;
        let operator = server.operator_token();
        let (org, member) = org_and_member(&server, &operator).await;
        let bucket = unique_name("crash");
        create_s3_bucket(&bucket).await;
        let body = byob_testkit::integrations::integration_body(
            byob_testkit::integrations::Access::Moto,
            "customer",
            &bucket,
            PREFIX,
            &["uploads", "exports", "imports", "attachments"],
        );
        server.json("POST", &format!("/v1/orgs/{org}/integrations"), &operator, Some(body)).await;

        let iterations = std::env::var("BYOB_CRASH_ITERATIONS").ok().and_then(|n| n.parse().ok()).unwrap_or(2);
        let seed = std::env::var("BYOB_CRASH_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or(22);
        println!("crash matrix, {flow}: {iterations} crashes, seed {seed} (BYOB_CRASH_SEED repeats them)");
        Self {
            dir,
            env,
            server: Some(server),
            operator,
            org,
            member,
            bucket,
            rng: fastrand::Rng::with_seed(flow_seed(seed, flow)),
            iterations,
            flow,
        }
    }

    fn server(&self) -> &Server {
        self.server.as_ref().expect("the server runs between crashes")
    }

    /// The moment of crash `iteration` (1-based) within `window` (the uncrashed run's length, and a little past
    /// it: a crash just after the work ended must not do it twice either). The window is cut into as many slices
    /// as there are crashes and each crash falls at a random point of its own slice, so however few they are, they
    /// spread from the flow's start to its end.
    fn moment(&mut self, iteration: usize, window: Duration) -> Duration {
        let span = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).saturating_mul(11) / 10;
        let slices = self.iterations.max(1) as u64;
        let slice = (span / slices).max(1);
        let at = Duration::from_millis(slice * (iteration as u64 - 1) + self.rng.u64(0..slice));
        println!("crash matrix, {}: crash {iteration} at {} ms of {span} ms", self.flow, at.as_millis());
        at
    }

    /// SIGKILL: no shutdown, whatever the process was doing.
    async fn crash(&mut self) {
        let mut server = self.server.take().expect("running");
        server.child.start_kill().unwrap();
        server.child.wait().await.unwrap();
    }

    async fn restart(&mut self) {
        self.server = Some(start(self.dir.path(), &self.env).await);
    }

    fn warehouse(&self) -> PathBuf {
        self.dir.path().join(format!("byob-data/warehouse/{}.db", self.org))
    }

    /// The job, once it ended.
    async fn settled_job(&self, job: &str) -> Value {
        let path = format!("/v1/orgs/{}/jobs/{job}", self.org);
        self.server()
            .wait_for(&self.operator, &path, |j| {
                matches!(j["state"].as_str(), Some("succeeded" | "failed" | "cancelled"))
            })
            .await
    }

    /// How many success entries of `action` on `target` the org's trail holds.
    async fn audited(&self, action: &str, target: &str) -> usize {
        self.audited_in(&self.org, action, target).await
    }

    async fn audited_in(&self, org: &str, action: &str, target: &str) -> usize {
        let path = format!("/v1/orgs/{org}/audit?action={action}&target={target}&limit=100");
        let page = self.server().json("GET", &path, &self.operator, None).await;
        page["items"].as_array().unwrap().iter().filter(|e| e["outcome"] == "success").count()
    }

    async fn keys(&self, under: &str) -> Vec<(String, i64)> {
        let s3 = s3_admin(&server_env("BYOB_TEST_S3_ENDPOINT"), "us-east-1");
        let mut keys = Vec::new();
        let mut token = None;
        loop {
            let page = s3
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(format!("{PREFIX}/{under}"))
                .set_continuation_token(token)
                .send()
                .await
                .unwrap();
            keys.extend(page.contents().iter().map(|o| (o.key().unwrap().to_string(), o.size().unwrap_or(0))));
            match page.next_continuation_token() {
                Some(next) => token = Some(next.to_string()),
                None => return keys,
            }
        }
    }

    async fn object(&self, key: &str) -> Vec<u8> {
        let s3 = s3_admin(&server_env("BYOB_TEST_S3_ENDPOINT"), "us-east-1");
        let got = s3.get_object().bucket(&self.bucket).key(key).send().await.unwrap();
        got.body.collect().await.unwrap().into_bytes().to_vec()
    }

    async fn put(&self, key: &str, bytes: Vec<u8>) {
        let s3 = s3_admin(&server_env("BYOB_TEST_S3_ENDPOINT"), "us-east-1");
        s3.put_object().bucket(&self.bucket).key(format!("{PREFIX}/{key}")).body(bytes.into()).send().await.unwrap();
    }

    /// The invariants every flow shares once recovery ran: no multipart upload left open in the bucket.
    async fn no_open_upload(&self) {
        assert_eq!(open_multipart_uploads(&self.bucket).await, 0, "{}: an upload was left open", self.flow);
    }

    async fn finish(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }
}

/// Each flow draws its own moments from the one seed (mixed with the flow's name, FNV-1a).
fn flow_seed(seed: u64, flow: &str) -> u64 {
    seed ^ flow.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

async fn start(dir: &Path, env: &[(&'static str, String)]) -> Server {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start(dir, &[], &env).await
}

/// Runs the flow's step `i` uncrashed (the baseline, timed) or crashed at a drawn moment, then restarts.
async fn crash_or_wait(site: &mut Site, i: usize, window: Option<Duration>, started: Instant) -> Option<Duration> {
    match window {
        None => None,
        Some(window) => {
            let at = site.moment(i, window);
            tokio::time::sleep(at.saturating_sub(started.elapsed())).await;
            site.crash().await;
            Some(at)
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Loads: a staged CSV into the embedded warehouse.

#[tokio::test]
async fn loads_survive_a_crash_at_any_moment() {
    let mut site = Site::new("loads", &[]).await;
    let (csv, checksum) = sample_csv(6 * 1024 * 1024);
    let mut window = None;
    for i in 0..=site.iterations {
        let upload = upload(&site, &csv).await;
        let table = format!("t{i}");
        let body = json!({ "connection": "local", "table": table });
        let path = format!("/v1/orgs/{}/uploads/{upload}/load", site.org);
        let started = Instant::now();
        let job = site.server().json("POST", &path, &site.member, Some(body)).await["id"].as_str().unwrap().to_string();
        if crash_or_wait(&mut site, i, window, started).await.is_some() {
            // No half-loaded table: the target is absent or whole, whatever the moment.
            let (rows, sum) = table_state(&site.warehouse(), &table).await;
            assert!(rows.is_none() || sum.as_deref() == Some(&checksum), "loads {i}: half a table ({rows:?} rows)");
            site.restart().await;
        }
        let done = site.settled_job(&job).await;
        window.get_or_insert(started.elapsed());
        assert_eq!(done["state"], "succeeded", "loads {i}: {done}");
        let (count, sum) = sqlite_sample_checksum(&site.warehouse(), &table).await;
        assert_eq!((count, sum.as_str()), (done["result"]["rows_loaded"].as_u64().unwrap(), checksum.as_str()));
        assert_eq!(site.audited("upload.loaded", &upload).await, 1, "loads {i}: finished exactly once");
        site.no_open_upload().await;
    }
    site.finish().await;
}

/// Stages `csv` in the bucket as a member would (plan, PUTs, completion); returns the upload's id.
async fn upload(site: &Site, csv: &[u8]) -> String {
    let body = json!({ "filename": "rows.csv", "size": csv.len(), "content_type": "text/csv" });
    let plan = site.server().json("POST", &format!("/v1/orgs/{}/uploads", site.org), &site.member, Some(body)).await;
    let id = plan["upload"]["id"].as_str().unwrap().to_string();
    let parts = send_parts(&plan, csv).await;
    let path = format!("/v1/orgs/{}/uploads/{id}/complete", site.org);
    site.server().json("POST", &path, &site.member, Some(parts)).await;
    id
}

/// The table's row count and checksum, or nothing when it does not exist (read while no byob runs).
async fn table_state(warehouse: &Path, table: &str) -> (Option<u64>, Option<String>) {
    use sqlx::Connection as _;
    if !warehouse.exists() {
        return (None, None);
    }
    let url = format!("sqlite://{}?mode=ro", warehouse.display());
    let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let exists: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?")
        .bind(table)
        .fetch_one(&mut db)
        .await
        .unwrap();
    db.close().await.unwrap();
    if exists == 0 {
        return (None, None);
    }
    let (rows, sum) = sqlite_sample_checksum(warehouse, table).await;
    (Some(rows), Some(sum))
}

// ---------------------------------------------------------------------------------------------------------------
// Imports: a file the customer put in the bucket, into the embedded warehouse.

#[tokio::test]
async fn imports_survive_a_crash_at_any_moment() {
    let mut site = Site::new("imports", &[]).await;
    let (csv, checksum) = sample_csv(6 * 1024 * 1024);
    let mut window = None;
    for i in 0..=site.iterations {
        site.put(&format!("incoming/{i}.csv"), csv.clone()).await;
        let table = format!("imp{i}");
        let body = json!({
            "integration": "customer", "source": { "mode": "fixed", "path": format!("incoming/{i}.csv") },
            "connection": "local", "table": table, "load": { "mode": "create" },
        });
        let import =
            site.server().json("POST", &format!("/v1/orgs/{}/imports", site.org), &site.member, Some(body)).await;
        let import = import["id"].as_str().unwrap().to_string();
        let path = format!("/v1/orgs/{}/imports/{import}/runs", site.org);
        let started = Instant::now();
        let run = site.server().json("POST", &path, &site.member, Some(json!({}))).await;
        let job = run["id"].as_str().unwrap().to_string();
        if crash_or_wait(&mut site, i, window, started).await.is_some() {
            let (rows, sum) = table_state(&site.warehouse(), &table).await;
            assert!(rows.is_none() || sum.as_deref() == Some(&checksum), "imports {i}: half a table ({rows:?} rows)");
            site.restart().await;
        }
        let done = site.settled_job(&job).await;
        window.get_or_insert(started.elapsed());
        assert_eq!(done["state"], "succeeded", "imports {i}: {done}");
        let (_, sum) = sqlite_sample_checksum(&site.warehouse(), &table).await;
        assert_eq!(sum, checksum, "imports {i}: every row once");
        assert_eq!(site.audited("import.loaded", &import).await, 1, "imports {i}: finished exactly once");
        site.no_open_upload().await;
    }
    site.finish().await;
}

// ---------------------------------------------------------------------------------------------------------------
// Exports: a PostgreSQL table into the bucket, several files per run.

#[tokio::test]
async fn exports_survive_a_crash_at_any_moment() {
    let pg_url = fresh_postgres_database().await;
    byob_testkit::create_numbered_table(&pg_url, "big", 400_000).await;
    let mut site = Site::new("exports", &[]).await;
    let url = url::Url::parse(&pg_url).unwrap();
    let connection = json!({
        "name": "pg", "platform": "postgres", "host": url.host_str().unwrap(), "port": url.port().unwrap(),
        "database": url.path().trim_start_matches('/'), "user": url.username(), "tls": "disable",
        "member_access": { "run_queries": true },
    });
    site.server().json("POST", &format!("/v1/orgs/{}/connections", site.org), &site.operator, Some(connection)).await;

    let mut window = None;
    let mut baseline: Option<Vec<u8>> = None;
    for i in 0..=site.iterations {
        let body = json!({
            "connection": "pg", "query": "SELECT * FROM big ORDER BY id", "integration": "customer",
            "name": format!("e{i}"), "format": "csv", "options": { "max_rows_per_file": 150000 },
        });
        let started = Instant::now();
        let created =
            site.server().json("POST", &format!("/v1/orgs/{}/exports", site.org), &site.member, Some(body)).await;
        let run = created["run"]["id"].as_str().unwrap().to_string();
        let export = created["export"]["id"].as_str().unwrap().to_string();
        if crash_or_wait(&mut site, i, window, started).await.is_some() {
            site.restart().await;
        }
        let done = site.settled_job(&run).await;
        window.get_or_insert(started.elapsed());
        assert_eq!(done["state"], "succeeded", "exports {i}: {done}");
        assert_eq!(site.audited("export.delivered", &run).await, 1, "exports {i}: delivered exactly once");
        let rows = delivered_rows(&site, &export, &run).await;
        match &baseline {
            None => baseline = Some(rows),
            Some(expected) => assert!(rows == *expected, "exports {i}: other bytes than the uncrashed run's"),
        }
        site.no_open_upload().await;
    }
    // No partial object and no stray: every object under exports/ is a marker, a manifest, or a file a manifest
    // lists with its exact SHA-256.
    let mut listed = std::collections::BTreeSet::new();
    let mut markers = 0;
    for (key, _) in site.keys("").await {
        if key.ends_with("/_manifest.json") {
            let manifest: Value = serde_json::from_slice(&site.object(&key).await).unwrap();
            for file in manifest["files"].as_array().unwrap() {
                listed
                    .insert((file["key"].as_str().unwrap().to_string(), file["sha256"].as_str().unwrap().to_string()));
            }
        }
        markers += usize::from(key.ends_with("/_SUCCESS"));
    }
    assert_eq!(markers, site.iterations + 1, "one marker per run");
    for (key, _) in site.keys("").await {
        if key.ends_with("/_manifest.json") || key.ends_with("/_SUCCESS") {
            continue;
        }
        let sha = hex::encode(Sha256::digest(site.object(&key).await));
        assert!(
            listed.iter().any(|(k, s)| key.ends_with(k.as_str()) && *s == sha),
            "{key} is no file of a delivered run, or not the bytes its manifest lists"
        );
    }
    site.finish().await;
}

/// The run's delivered files, concatenated in their order, each checked against the SHA-256 the run recorded.
async fn delivered_rows(site: &Site, export: &str, run: &str) -> Vec<u8> {
    let path = format!("/v1/orgs/{}/exports/{export}/runs/{run}", site.org);
    let run = site.server().json("GET", &path, &site.member, None).await;
    assert_eq!(run["rows"], 400_000, "{run}");
    assert!(run["manifest_key"].is_string(), "{run}");
    let mut rows = Vec::new();
    for file in run["files"].as_array().unwrap() {
        let bytes = site.object(&format!("{PREFIX}/{}", file["key"].as_str().unwrap())).await;
        assert_eq!(hex::encode(Sha256::digest(&bytes)), file["sha256"].as_str().unwrap(), "{file}");
        rows.extend(bytes);
    }
    rows
}

// ---------------------------------------------------------------------------------------------------------------
// Migrations: an org's assets from byob's default storage into its integration's prefix of the bucket.

#[tokio::test]
async fn migrations_survive_a_crash_at_any_moment() {
    let mut site = Site::new("migrations", &[]).await;
    let http = reqwest::Client::new();
    let mut window = None;
    for i in 0..=site.iterations {
        // An org of its own each time, so every migration moves the same amount: its assets, from byob's storage
        // into its integration's prefix of the bucket.
        let operator = site.operator.clone();
        let org = site.server().json("POST", "/v1/orgs", &operator, Some(json!({ "name": format!("m{i}") }))).await;
        let org = org["id"].as_str().unwrap().to_string();
        let body = byob_testkit::integrations::integration_body(
            byob_testkit::integrations::Access::Moto,
            "customer",
            &site.bucket,
            &format!("m{i}"),
            &[],
        );
        let to = site.server().json("POST", &format!("/v1/orgs/{org}/integrations"), &operator, Some(body)).await;
        let to = to["id"].as_str().unwrap().to_string();
        for n in 0..ASSETS {
            let url = format!("{}/v1/orgs/{org}/assets/set%2F{n}.txt", site.server().url);
            let put = http.put(url).bearer_auth(&operator).body(content(i, n)).send().await.unwrap();
            assert_eq!(put.status(), 201);
        }
        let body = json!({ "from": "default", "to": to, "features": ["assets"] });
        let started = Instant::now();
        let m = site.server().json("POST", &format!("/v1/orgs/{org}/migrations"), &operator, Some(body)).await;
        let id = m["id"].as_str().unwrap().to_string();
        if crash_or_wait(&mut site, i, window, started).await.is_some() {
            site.restart().await;
        }
        let path = format!("/v1/orgs/{org}/migrations/{id}");
        let done = site
            .server()
            .wait_for(&operator, &path, |m| matches!(m["state"].as_str(), Some("completed" | "failed" | "cancelled")))
            .await;
        window.get_or_insert(started.elapsed());
        assert_eq!(done["state"], "completed", "migrations {i}: {done}");
        let counts = &done["counts"];
        let (objects, copied, skipped) =
            (counts["objects"].as_u64(), counts["copied"].as_u64(), counts["skipped"].as_u64());
        assert_eq!(objects, Some(2 * ASSETS), "migrations {i}: every object, each once: {counts}");
        assert_eq!(objects, Some(copied.unwrap() + skipped.unwrap()), "migrations {i}: counts that add up: {counts}");
        assert_eq!(site.audited_in(&org, "migration.complete", &id).await, 1, "migrations {i}: completed once");
        // Every asset reads back whole from where the assets now are.
        for n in 0..ASSETS {
            let url = format!("{}/v1/orgs/{org}/assets/set%2F{n}.txt", site.server().url);
            let got = http.get(url).bearer_auth(&operator).send().await.unwrap();
            assert_eq!(got.status(), 200, "migrations {i}: set/{n}.txt");
            assert_eq!(got.bytes().await.unwrap(), content(i, n).as_bytes(), "migrations {i}: set/{n}.txt");
        }
        site.no_open_upload().await;
    }
    site.finish().await;
}

/// Assets each migration moves (each is two objects: its bytes and its record).
const ASSETS: u64 = 100;

fn content(set: usize, n: u64) -> String {
    format!("set {set}, asset {n}: ").repeat(1 + (n % 40) as usize)
}

// ---------------------------------------------------------------------------------------------------------------
// Attachment completion: the completing request cut, and the scan job after it.

#[tokio::test]
async fn attachment_completion_survives_a_crash_at_any_moment() {
    let clamd = server_env("BYOB_TEST_CLAMD_ADDRESS");
    let extra = [("BYOB_ATTACHMENTS__SCANNER", "clamd".to_string()), ("BYOB_ATTACHMENTS__CLAMD_ADDRESS", clamd)];
    let mut site = Site::new("attachments", &extra).await;
    // Past the single-PUT limit: completion is a CompleteMultipartUpload.
    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".repeat(240_000);
    let mut window = None;
    for i in 0..=site.iterations {
        let body = json!({
            "collection": "orders", "record": format!("r{i}"), "field": "invoice",
            "filename": "invoice.pdf", "size": pdf.len(), "content_type": "application/pdf",
        });
        let plan =
            site.server().json("POST", &format!("/v1/orgs/{}/attachments", site.org), &site.member, Some(body)).await;
        assert_eq!(plan["method"], "multipart", "{plan}");
        let id = plan["attachment"]["id"].as_str().unwrap().to_string();
        let parts = send_parts(&plan, &pdf).await;
        let complete = format!("{}/v1/orgs/{}/attachments/{id}/complete", site.server().url, site.org);
        let started = Instant::now();
        let request = reqwest::Client::new().post(&complete).bearer_auth(&site.member).json(&parts).send();
        let request = tokio::spawn(request);
        if crash_or_wait(&mut site, i, window, started).await.is_some() {
            // The cut request's answer, if any, is lost with the process; the client completes again, as a
            // client whose connection broke does.
            let _ = request.await;
            site.restart().await;
            let path = format!("/v1/orgs/{}/attachments/{id}", site.org);
            let a = site.server().json("GET", &path, &site.member, None).await;
            if a["state"] == "pending" {
                let url = format!("{}/v1/orgs/{}/attachments/{id}/complete", site.server().url, site.org);
                let again =
                    reqwest::Client::new().post(url).bearer_auth(&site.member).json(&parts).send().await.unwrap();
                assert!(again.status().is_success(), "attachments {i}: {:?}", again.text().await);
            }
        } else {
            assert!(request.await.unwrap().unwrap().status().is_success());
        }
        let path = format!("/v1/orgs/{}/attachments/{id}", site.org);
        let a = site
            .server()
            .wait_for(&site.member, &path, |a| !matches!(a["state"].as_str(), Some("pending" | "scanning")))
            .await;
        window.get_or_insert(started.elapsed());
        assert_eq!(a["state"], "available", "attachments {i}: {a}");
        assert_eq!(site.audited("attachment.complete", &id).await, 1, "attachments {i}: completed exactly once");
        assert_eq!(site.audited("attachment.scan", &id).await, 1, "attachments {i}: scanned exactly once");
        let bytes = site.object(&format!("{PREFIX}/attachments/{id}")).await;
        assert!(bytes == pdf, "attachments {i}: other bytes came back");
        site.no_open_upload().await;
    }
    site.finish().await;
}
