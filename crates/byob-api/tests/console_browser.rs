//! The web console in a real browser (Debian's headless Chromium over WebDriver): signing in with a token, a
//! wrong token refused, pages shown by role — a member neither sees the admin pages nor reaches them by URL —
//! the storage-integration wizard on moto (a field's refusal beside it, the setup's artifacts, a verification
//! naming the missing CORS rule, the rule applied from the page's artifact, verification again until active),
//! and the console served with its strict Content-Security-Policy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use byob_core::Role;
use byob_testkit::{
    TestApp,
    app::OPERATOR_TOKEN,
    browser::{Browser, serve_counting},
    buckets::{create_s3_bucket, s3_admin, s3_block_public_access, s3_expire, unique_name},
    integrations::{Access, integration_body},
    server_env,
    uploads::{create_integration, moto_uploads_integration, sample_csv, sqlite_sample_checksum},
};
use serde_json::json;

/// The pages every member of an org sees, in the navigation's order.
const MEMBER_PAGES: [&str; 9] =
    ["", "upload", "connections", "exports", "imports", "jobs", "attachments", "assets", "events"];

async fn sign_in(browser: &Browser, token: &str) {
    browser.open_page("/console").await;
    browser.wait_for("#token").await.send_keys(token).await.unwrap();
    browser.wait_for("#signin").await.click().await.unwrap();
}

/// The pages the navigation offers, once it shows.
async fn nav(browser: &Browser) -> Vec<String> {
    browser.wait_for("#nav a[data-page='']").await;
    let mut pages = Vec::new();
    for link in browser.all("#nav a").await {
        pages.push(link.attr("data-page").await.unwrap().unwrap_or_default());
    }
    pages
}

#[tokio::test]
async fn the_console_is_served_with_a_strict_policy() {
    let app = TestApp::sqlite().await;
    let page = app.call("GET", "/console", None, None).await;
    assert_eq!(page.status, 200);
    assert!(page.content_type.starts_with("text/html"), "{}", page.content_type);
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"), "{policy}");
    let script = app.call("GET", "/console/app.js", None, None).await;
    assert!(script.content_type.starts_with("text/javascript"), "{}", script.content_type);
    assert_eq!(app.call("GET", "/console/missing.js", None, None).await.status, 404);
}

#[tokio::test]
async fn a_wrong_token_is_refused_and_members_do_not_reach_admin_pages() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    let browser = Browser::open(app.router.clone()).await;

    sign_in(&browser, "byob_not-a-token").await;
    let refused = browser.wait_for("[data-testid=problem]").await;
    assert!(refused.text().await.unwrap().contains("That token was refused"));
    assert_eq!(browser.all("#token").await.len(), 1, "still on the sign-in form");

    sign_in(&browser, &member).await;
    assert_eq!(nav(&browser).await, MEMBER_PAGES, "a member's pages only");
    let who = browser.wait_for("#who").await.text().await.unwrap();
    assert!(who.starts_with("member of "), "{who}");
    browser.open_page("/console#/members").await;
    let forbidden = browser.wait_for("[data-testid=forbidden]").await;
    assert!(forbidden.text().await.unwrap().contains("admins"));
    let url = browser.driver.current_url().await.unwrap().to_string();
    assert!(!url.contains(&member), "the token never goes into a URL: {url}");
    browser.close().await;
}

#[tokio::test]
async fn admins_see_their_org_and_the_operator_sees_orgs() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, admin) = app.member_with_token(&org, Role::Admin).await;
    let browser = Browser::open(app.router.clone()).await;

    sign_in(&browser, &admin).await;
    let admin_pages: Vec<&str> =
        MEMBER_PAGES.iter().chain(&["integrations", "members", "audit", "webhooks"]).copied().collect();
    assert_eq!(nav(&browser).await, admin_pages);
    browser.wait_for("#nav a[data-page=members]").await.click().await.unwrap();
    let members = browser.wait_for("main table").await;
    assert!(members.text().await.unwrap().contains("admin"), "the members' roles are listed");

    // An export's files, previewed before it exists.
    browser.open_page("/console#/exports").await;
    browser.wait_for("#create-export-format option[value=jsonl]").await.click().await.unwrap();
    browser.wait_for("#preview-export").await.click().await.unwrap();
    let paths = browser.wait_for("[data-testid=path-preview] li").await.text().await.unwrap();
    assert!(paths.contains(".jsonl"), "{paths}");
    // A refusal shows the API's detail and the request id to quote.
    fill(&browser, "#create-export-path_template", "exports/{nope}.jsonl").await;
    browser.wait_for("#preview-export").await.click().await.unwrap();
    let refused = browser.wait_for("[data-testid=path-preview] [data-testid=problem]").await.text().await.unwrap();
    assert!(refused.contains("`path_template`") && refused.contains("request id req_"), "{refused}");

    browser.wait_for("#signout").await.click().await.unwrap();
    sign_in(&browser, OPERATOR_TOKEN).await;
    assert_eq!(nav(&browser).await, ["", "orgs"]);
    browser.wait_for("#nav a[data-page=orgs]").await.click().await.unwrap();
    let orgs = browser.wait_for("main table").await;
    assert!(orgs.text().await.unwrap().contains("acme"));
    browser.close().await;
}

/// A moto bucket as a careful customer keeps it for byob, except for CORS, which the test applies from the
/// console's artifact.
async fn moto_bucket_without_cors() -> String {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    let s3 = s3_admin(&server_env("BYOB_TEST_S3_ENDPOINT"), "us-east-1");
    let bucket = unique_name("console");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let versioning = VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build();
    s3.put_bucket_versioning().bucket(&bucket).versioning_configuration(versioning).send().await.unwrap();
    s3_block_public_access(&s3, &bucket).await;
    s3_expire(&s3, &bucket, "byob-staging-ttl", "uploads/", 1).await;
    bucket
}

/// Applies the console's `cors` artifact (S3's `CORSRules` JSON) to the bucket, as the customer would.
async fn apply_cors(bucket: &str, artifact: &str) {
    use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
    let artifact: serde_json::Value = serde_json::from_str(artifact).unwrap();
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect()).unwrap_or_default()
    };
    let mut rules = Vec::new();
    for rule in artifact["CORSRules"].as_array().unwrap() {
        let mut built = CorsRule::builder()
            .set_allowed_origins(Some(strings(&rule["AllowedOrigins"])))
            .set_allowed_methods(Some(strings(&rule["AllowedMethods"])))
            .set_allowed_headers(Some(strings(&rule["AllowedHeaders"])))
            .set_expose_headers(Some(strings(&rule["ExposeHeaders"])));
        if let Some(age) = rule["MaxAgeSeconds"].as_i64() {
            built = built.max_age_seconds(i32::try_from(age).unwrap());
        }
        rules.push(built.build().unwrap());
    }
    let cors = CorsConfiguration::builder().set_cors_rules(Some(rules)).build().unwrap();
    let s3 = s3_admin(&server_env("BYOB_TEST_S3_ENDPOINT"), "us-east-1");
    s3.put_bucket_cors().bucket(bucket).cors_configuration(cors).send().await.unwrap();
}

async fn fill(browser: &Browser, css: &str, text: &str) {
    let input = browser.wait_for(css).await;
    input.clear().await.unwrap();
    input.send_keys(text).await.unwrap();
}

/// The checks of the report on the page: name and status.
async fn checks(browser: &Browser) -> Vec<(String, String)> {
    browser.wait_for("ul.checks li").await;
    let mut checks = Vec::new();
    for item in browser.all("ul.checks li").await {
        let name = item.attr("data-check").await.unwrap().unwrap_or_default();
        checks.push((name, item.attr("data-status").await.unwrap().unwrap_or_default()));
    }
    checks
}

#[tokio::test]
async fn an_admin_sets_up_an_s3_bucket_through_the_wizard_until_it_is_active() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, admin) = app.member_with_token(&org, Role::Admin).await;
    let bucket = moto_bucket_without_cors().await;
    let browser = Browser::open(app.router.clone()).await;
    sign_in(&browser, &admin).await;
    browser.open_page("/console#/integrations").await;
    browser.wait_for("#new-integration").await.click().await.unwrap();

    // The API's own refusal, beside the field it names.
    fill(&browser, "#f-name", "uploads").await;
    fill(&browser, "#f-bucket", "Not_A_Bucket").await;
    fill(&browser, "#f-region", "us-east-1").await;
    fill(&browser, "#f-endpoint", &server_env("BYOB_TEST_S3_ENDPOINT")).await;
    browser.wait_for("#f-mode option[value=s3_access_key]").await.click().await.unwrap();
    fill(&browser, "#f-credentials-access_key_id", "console").await;
    fill(&browser, "#f-credentials-secret_access_key", "console-secret").await;
    browser.wait_for("#save-integration").await.click().await.unwrap();
    let error = browser.wait_for("[data-error-for=bucket]:not(:empty)").await.text().await.unwrap();
    assert!(error.contains("`bucket`") && error.contains("lowercase"), "{error}");
    assert_eq!(browser.wait_for("#f-bucket").await.attr("aria-invalid").await.unwrap().as_deref(), Some("true"));

    fill(&browser, "#f-bucket", &bucket).await;
    fill(&browser, "#f-allowed_origins", "https://app.example.com").await;
    for feature in ["uploads", "assets"] {
        browser.wait_for(&format!("[name=feature-{feature}]")).await.click().await.unwrap();
    }
    browser.wait_for("#save-integration").await.click().await.unwrap();

    // The setup, then a verification that names the missing CORS rule and its fix.
    let cors = browser.wait_for("pre[data-artifact=cors]").await.text().await.unwrap();
    assert!(cors.contains("https://app.example.com"), "{cors}");
    assert!(browser.all("[data-copy=cors]").await.len() == 1 && browser.all("[data-download=cors]").await.len() == 1);
    browser.wait_for("#verify").await.click().await.unwrap();
    let first = checks(&browser).await;
    assert!(first.contains(&("cors-rules".to_string(), "failed".to_string())), "{first:?}");
    let fix = browser.wait_for("li[data-check=cors-rules] .fix").await.text().await.unwrap();
    assert!(fix.contains("cors"), "the fix names the artifact: {fix}");
    assert_eq!(browser.wait_for("[data-testid=state]").await.text().await.unwrap(), "draft");

    apply_cors(&bucket, &cors).await;
    browser.wait_for("#verify").await.click().await.unwrap();
    browser.wait_for("[data-testid=state]").await;
    let state = browser.driver.wait().at_most(std::time::Duration::from_secs(60));
    state.for_element(fantoccini::Locator::XPath("//strong[@data-testid='state' and text()='active']")).await.unwrap();
    for (name, status) in checks(&browser).await {
        assert!(status == "passed" || status == "skipped", "{name}: {status}");
    }

    // A later change of features.
    browser.wait_for("details.changes summary").await.click().await.unwrap();
    browser.wait_for("[name=change-feature-assets]").await.click().await.unwrap();
    browser.wait_for("#save-changes").await.click().await.unwrap();
    let saved = browser.wait_for("[data-testid=change-done]").await.text().await.unwrap();
    assert!(saved.contains("it serves uploads;"), "{saved}");
    let listed = app.call("GET", &format!("/v1/orgs/{org}/integrations"), Some(&admin), None).await;
    assert_eq!(listed.body.to_string().matches("\"assets\"").count(), 0, "{:?}", listed.body);
    browser.close().await;
}

/// An org whose uploads go to a moto bucket whose CORS allows `origin` (applied from the setup's artifact), with
/// a member; byob served on loopback, counting the request bytes it receives.
async fn upload_env() -> (TestApp, String, String, String, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, member) = app.member_with_token(&org, Role::Member).await;
    let (base, received) = serve_counting(app.router.clone()).await;
    let bucket = unique_name("console-up");
    create_s3_bucket(&bucket).await;
    let mut integration = moto_uploads_integration(&bucket, "byob");
    integration["allowed_origins"] = json!([base]);
    let id = create_integration(&app, &org, integration).await;
    let setup = app
        .call("GET", &format!("/v1/orgs/{org}/integrations/{id}/setup?format=json"), Some(OPERATOR_TOKEN), None)
        .await;
    let artifacts = setup.body["artifacts"].as_array().unwrap();
    let cors = artifacts.iter().find(|a| a["name"] == "cors").expect("a cors artifact");
    apply_cors(&bucket, &cors["content"].to_string()).await;
    (app, org, member, base, received)
}

async fn choose_file(browser: &Browser, dir: &std::path::Path, bytes: &[u8]) {
    let path = dir.join("sales.csv");
    std::fs::write(&path, bytes).unwrap();
    browser.open_page("/console#/upload").await;
    browser.wait_for("#file").await.send_keys(path.to_str().unwrap()).await.unwrap();
}

/// Drops `bytes` as a file on the upload page, as a drag from the desktop does: WebDriver can only type a file's
/// path into a file input, so an input of the test's own holds the file, and the page receives a `drop` event
/// carrying it — the page's own drop handler starts the upload.
async fn drop_file(browser: &Browser, dir: &std::path::Path, bytes: &[u8]) {
    let path = dir.join("sales.csv");
    std::fs::write(&path, bytes).unwrap();
    browser.open_page("/console#/upload").await;
    browser.wait_for("#drop").await;
    let make =
        "const i = document.createElement('input'); i.type = 'file'; i.id = 'drag-source'; document.body.append(i);";
    browser.driver.execute(make, vec![]).await.unwrap();
    browser.wait_for("#drag-source").await.send_keys(path.to_str().unwrap()).await.unwrap();
    let drop = "const file = document.getElementById('drag-source').files[0]; const data = new DataTransfer(); \
                data.items.add(file); const zone = document.getElementById('drop'); \
                for (const type of ['dragenter', 'dragover', 'drop']) { zone.dispatchEvent(new DragEvent(type, \
                { dataTransfer: data, bubbles: true, cancelable: true })); }";
    browser.driver.execute(drop, vec![]).await.unwrap();
}

#[tokio::test]
async fn a_member_drops_twenty_megabytes_that_go_straight_to_the_bucket_and_loads_them() {
    let (app, org, member, base, received) = upload_env().await;
    let browser = Browser::at(base).await;
    sign_in(&browser, &member).await;
    let dir = tempfile::tempdir().unwrap();
    let (bytes, checksum) = sample_csv(20 * 1024 * 1024);
    drop_file(&browser, dir.path(), &bytes).await;

    browser.wait_for("progress[data-percent='100']").await;
    let dialect = browser.wait_for("[data-testid=dialect]").await.text().await.unwrap();
    assert!(dialect.contains("Delimiter ,") && dialect.contains("the first line is a header"), "{dialect}");
    let columns = browser.all("table.columns tbody tr").await;
    assert_eq!(columns.len(), 7, "id, name, amount, day, at, flag, note");
    let through_byob = received.load(std::sync::atomic::Ordering::Relaxed);
    assert!(through_byob < 64 * 1024, "the file's bytes went to the bucket, not byob ({through_byob} bytes)");

    fill(&browser, "#load-table", "sales").await;
    browser.wait_for("#load").await.click().await.unwrap();
    // The job is queued; the test's app has no worker of its own, so the test runs it.
    browser.wait_for("[data-testid=job-state]").await;
    while app.services.runner.run_one().await.unwrap().is_some() {}
    let done = browser.driver.wait().at_most(std::time::Duration::from_secs(120));
    done.for_element(fantoccini::Locator::XPath("//strong[@data-testid='job-state' and text()='succeeded']"))
        .await
        .unwrap();
    let (rows, sum) = sqlite_sample_checksum(&app.warehouse_path(&org), "sales").await;
    assert_eq!(sum, checksum, "the table holds exactly the file's rows");
    let outcome = browser.wait_for(".outcome").await.text().await.unwrap();
    assert!(outcome.contains(&format!("{rows} rows loaded")), "{outcome}");
    browser.close().await;
}

#[tokio::test]
async fn an_upload_from_an_origin_the_bucket_does_not_allow_names_cors_and_the_origin() {
    let (_app, _org, member, base, _) = upload_env().await;
    let other = base.replace("127.0.0.1", "localhost");
    let browser = Browser::at(other.clone()).await;
    sign_in(&browser, &member).await;
    let dir = tempfile::tempdir().unwrap();
    choose_file(&browser, dir.path(), b"id,name\n1,one\n").await;
    let refused = browser.wait_for("[data-testid=problem]").await.text().await.unwrap();
    assert!(refused.contains("CORS") && refused.contains(&other), "{refused}");
    browser.close().await;
}

#[tokio::test]
async fn the_operator_makes_an_org_and_its_first_admin_who_connects_a_database() {
    let app = TestApp::sqlite().await;
    let browser = Browser::open(app.router.clone()).await;
    sign_in(&browser, OPERATOR_TOKEN).await;
    browser.open_page("/console#/orgs").await;
    fill(&browser, "#create-org-name", "Globex").await;
    browser.wait_for("#create-org-submit").await.click().await.unwrap();
    fill(&browser, "#first-admin-name", "Grace Hopper").await;
    browser.wait_for("#first-admin-submit").await.click().await.unwrap();
    let token = browser.wait_for("[data-testid=new-token]").await.text().await.unwrap();
    assert!(token.starts_with("byob_"), "the token is shown once: {token}");

    // The first admin signs in with it and connects the test PostgreSQL.
    browser.wait_for("#signout").await.click().await.unwrap();
    sign_in(&browser, &token).await;
    browser.wait_for("#nav a[data-page=members]").await;
    browser.open_page("/console#/connections").await;
    let pg = url::Url::parse(&server_env("BYOB_TEST_POSTGRES_URL")).unwrap();
    fill(&browser, "#create-connection-name", "warehouse").await;
    fill(&browser, "#create-connection-host", "not a host!").await;
    fill(&browser, "#create-connection-port", &pg.port().unwrap().to_string()).await;
    fill(&browser, "#create-connection-database", pg.path().trim_start_matches('/')).await;
    fill(&browser, "#create-connection-user", pg.username()).await;
    browser.wait_for("#create-connection-tls option[value=disable]").await.click().await.unwrap();
    browser.wait_for("#create-connection-submit").await.click().await.unwrap();
    let refused = browser.wait_for("[data-error-for=host]:not(:empty)").await.text().await.unwrap();
    assert!(refused.contains("host"), "{refused}");
    fill(&browser, "#create-connection-host", pg.host_str().unwrap()).await;
    browser.wait_for("#create-connection-submit").await.click().await.unwrap();
    browser.wait_for("[data-test-connection=warehouse]").await.click().await.unwrap();
    let tested = browser.wait_for("[data-testid=connection-test]").await;
    assert_eq!(tested.attr("data-ok").await.unwrap().as_deref(), Some("true"), "{}", tested.text().await.unwrap());

    // Its verification report, as a checklist.
    browser.wait_for("[data-verify-connection=warehouse]").await.click().await.unwrap();
    browser.wait_for("[data-check=platform-login-succeeds][data-status=passed]").await;
    browser.wait_for("[data-check=platform-can-insert][data-status=passed]").await;

    // What members may do through it: their own SQL too.
    browser.wait_for("[data-access=warehouse]").await.click().await.unwrap();
    browser.wait_for("#member-access [name=access-run_queries]").await.click().await.unwrap();
    browser.wait_for("#member-access-submit").await.click().await.unwrap();
    browser.wait_for("[data-testid=access-saved]").await;

    // A test event for the webhooks.
    browser.open_page("/console#/webhooks").await;
    browser.wait_for("#test-webhooks").await.click().await.unwrap();
    let queued = browser.wait_for("[data-testid=test-event]").await.text().await.unwrap();
    assert!(queued.starts_with("Queued "), "{queued}");

    // The audit log, filtered to the connection's creation.
    browser.open_page("/console#/audit").await;
    fill(&browser, "#audit-action", "connection.create").await;
    browser.wait_for("#audit-filters button").await.click().await.unwrap();
    browser.wait_for("#audit-list[data-query='action=connection.create'] table").await;
    let cells = browser.all("#audit-list tbody tr td:nth-child(2)").await;
    assert!(!cells.is_empty(), "the connection's creation is in the log");
    for cell in cells {
        assert_eq!(cell.text().await.unwrap(), "connection.create");
    }
    let orgs = app.call("GET", "/v1/orgs", Some(OPERATOR_TOKEN), None).await;
    let org = orgs.body["items"].as_array().or(orgs.body.as_array()).unwrap()[0]["id"].as_str().unwrap().to_string();
    let connection = app.call("GET", &format!("/v1/orgs/{org}/connections/warehouse"), Some(&token), None).await;
    assert_eq!(connection.body["member_access"]["run_queries"], true, "{:?}", connection.body);
    browser.close().await;
}

#[tokio::test]
async fn an_admin_creates_an_import_and_sees_what_it_would_import() {
    let app = TestApp::sqlite().await;
    let org = app.create_org("acme").await;
    let (_, admin) = app.member_with_token(&org, Role::Admin).await;
    let bucket = unique_name("console-imp");
    create_s3_bucket(&bucket).await;
    create_integration(&app, &org, integration_body(Access::Moto, "drops", &bucket, "byob", &["imports"])).await;
    let s3 = s3_admin(&server_env("BYOB_TEST_S3_ENDPOINT"), "us-east-1");
    let body = aws_sdk_s3::primitives::ByteStream::from_static(b"id,name\n1,one\n");
    s3.put_object().bucket(&bucket).key("byob/drops/orders.csv").body(body).send().await.unwrap();

    let browser = Browser::open(app.router.clone()).await;
    sign_in(&browser, &admin).await;
    browser.open_page("/console#/imports").await;
    fill(&browser, "#create-import-name", "orders").await;
    fill(&browser, "#create-import-integration", "drops").await;
    fill(&browser, "#create-import-path", "drops/orders.csv").await;
    fill(&browser, "#create-import-connection", "local").await;
    fill(&browser, "#create-import-table", "orders").await;
    browser.wait_for("#create-import-load_mode option[value=create]").await.click().await.unwrap();
    browser.wait_for("#create-import-submit").await.click().await.unwrap();
    browser.wait_for("[data-resolve-import]").await.click().await.unwrap();
    let would = browser.wait_for("[data-testid=would-import]").await.text().await.unwrap();
    assert!(would.starts_with("Would import drops/orders.csv (14 bytes): "), "{would}");
    browser.close().await;
}
