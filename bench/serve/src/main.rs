//! The clients of `bench/serve/run.sh`: sets up orgs (an admin token per client, an asset to download, a job to
//! poll), then runs CLIENTS clients for SECONDS against the byob processes (client n talks to process n mod P),
//! each doing the same realistic mix one call after another: upload plans, part URL refreshes, downloads, lists,
//! job polls and audit reads. Prints requests per second, the p50 / p99 / p99.9 latency of each route and every
//! error (a status other than the route's success, or a transport error).
//!
//! Usage: byob-bench-serve URL[,URL…] OPERATOR_TOKEN CLIENTS SECONDS ORGS
//! Why its own code rather than a load tool: no HTTP load generator is installable here (crates.io, PyPI, npm and
//! Debian only; `oha` and `wrk` drive one URL, not a stateful mix whose calls use ids the previous ones returned).
#![allow(clippy::print_stdout)]

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// One client's org: where it is, its token, the upload it refreshes, the job it polls.
#[derive(Clone)]
struct Client {
    url: String,
    org: String,
    token: String,
    job: String,
}

/// The mix, in the order each client cycles through it (20 calls: 25 % plans, 15 % refreshes, 25 % downloads,
/// 15 % lists, 10 % job polls, 10 % audit reads).
const MIX: [Route; 20] = {
    use Route::{Audit, Download, Job, List, Plan, Refresh};
    [
        Plan, Download, List, Refresh, Download, Plan, Job, Download, Audit, Refresh, Plan, Download, List, Refresh,
        Plan, Download, Job, List, Plan, Audit,
    ]
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Route {
    Plan,
    Refresh,
    Download,
    List,
    Job,
    Audit,
}

impl Route {
    fn name(self) -> &'static str {
        match self {
            Self::Plan => "POST /uploads (plan)",
            Self::Refresh => "POST /uploads/{id}/parts",
            Self::Download => "GET /assets/{name}",
            Self::List => "GET /uploads",
            Self::Job => "GET /jobs/{id}",
            Self::Audit => "GET /audit",
        }
    }
}

#[derive(Default)]
struct Tally {
    latencies: BTreeMap<Route, Vec<Duration>>,
    errors: Vec<String>,
}

async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let mut request = http.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await?;
    Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
}

fn field(body: &Value, name: &str) -> anyhow::Result<String> {
    body[name].as_str().map(str::to_string).with_context(|| format!("no `{name}` in {body}"))
}

async fn expect(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<Value>,
    want: u16,
) -> anyhow::Result<Value> {
    let (status, body) = call(http, method, url, token, body).await?;
    if status != want {
        bail!("{url}: {status} {body}");
    }
    Ok(body)
}

/// An org with an admin, `tokens` tokens, a 64 KiB asset and a queued asset check (the job clients poll).
async fn org(
    http: &reqwest::Client,
    url: &str,
    operator: &str,
    n: usize,
    tokens: usize,
) -> anyhow::Result<Vec<Client>> {
    use reqwest::Method;
    let org = field(
        &expect(
            http,
            Method::POST,
            &format!("{url}/v1/orgs"),
            operator,
            Some(json!({ "name": format!("bench-{n}") })),
            201,
        )
        .await?,
        "id",
    )?;
    let base = format!("{url}/v1/orgs/{org}");
    let member = json!({ "name": "bench admin", "role": "admin" });
    let member =
        field(&expect(http, Method::POST, &format!("{base}/members"), operator, Some(member), 201).await?, "id")?;
    let mut out = Vec::new();
    for t in 0..tokens {
        let created = expect(
            http,
            Method::POST,
            &format!("{base}/members/{member}/tokens"),
            operator,
            Some(json!({ "name": format!("client-{t}") })),
            201,
        )
        .await?;
        out.push(field(&created, "token")?);
    }
    let asset = http
        .put(format!("{base}/assets/bench%2Fblob.bin"))
        .bearer_auth(&out[0])
        .body(vec![7u8; 64 << 10])
        .send()
        .await?;
    if asset.status().as_u16() != 201 {
        bail!("asset: {} {}", asset.status(), asset.text().await.unwrap_or_default());
    }
    let job = field(&expect(http, Method::POST, &format!("{base}/assets/verify"), &out[0], None, 202).await?, "id")?;
    Ok(out
        .into_iter()
        .map(|token| Client { url: url.to_string(), org: org.clone(), token, job: job.clone() })
        .collect())
}

async fn run_client(http: reqwest::Client, client: Client, until: Instant, offset: usize) -> Tally {
    use reqwest::Method;
    let mut tally = Tally::default();
    let base = format!("{}/v1/orgs/{}", client.url, client.org);
    let mut uploads: Vec<String> = Vec::new();
    let mut i = offset;
    while Instant::now() < until {
        let route = MIX[i % MIX.len()];
        i += 1;
        let plan = json!({ "filename": "data.csv", "size": 1 << 20, "content_type": "text/csv" });
        let (method, url, body, want) = match (route, uploads.last()) {
            (Route::Plan, _) | (Route::Refresh, None) => (Method::POST, format!("{base}/uploads"), Some(plan), 201),
            (Route::Refresh, Some(id)) => {
                (Method::POST, format!("{base}/uploads/{id}/parts"), Some(json!({ "part_numbers": [1] })), 200)
            }
            (Route::Download, _) => (Method::GET, format!("{base}/assets/bench%2Fblob.bin"), None, 200),
            (Route::List, _) => (Method::GET, format!("{base}/uploads?limit=20"), None, 200),
            (Route::Job, _) => (Method::GET, format!("{base}/jobs/{}", client.job), None, 200),
            (Route::Audit, _) => (Method::GET, format!("{base}/audit?limit=20"), None, 200),
        };
        let route = if want == 201 { Route::Plan } else { route };
        let started = Instant::now();
        match call(&http, method, &url, &client.token, body).await {
            Ok((status, body)) if status == want => {
                tally.latencies.entry(route).or_default().push(started.elapsed());
                if route == Route::Plan
                    && let Some(id) = body["upload"]["id"].as_str()
                {
                    uploads.push(id.to_string());
                }
            }
            Ok((status, body)) => tally.errors.push(format!("{}: {status} {}", route.name(), body["code"])),
            Err(e) => tally.errors.push(format!("{}: {e}", route.name())),
        }
    }
    tally
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, urls, operator, clients, seconds, orgs] = args.as_slice() else {
        bail!("usage: byob-bench-serve URL[,URL…] OPERATOR_TOKEN CLIENTS SECONDS ORGS");
    };
    let urls: Vec<&str> = urls.split(',').collect();
    let (clients, seconds, orgs): (usize, u64, usize) = (clients.parse()?, seconds.parse()?, orgs.parse()?);
    let http = reqwest::Client::builder().pool_max_idle_per_host(clients).build()?;
    let per_org = clients.div_ceil(orgs);
    let mut all = Vec::new();
    for n in 0..orgs {
        all.extend(org(&http, urls[n % urls.len()], operator, n, per_org).await?);
    }
    all.truncate(clients);
    // Each client talks to the process of its number, whichever process made its org: both share the catalog.
    for (n, client) in all.iter_mut().enumerate() {
        client.url = urls[n % urls.len()].to_string();
    }
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let tasks: Vec<_> =
        all.into_iter().enumerate().map(|(n, c)| tokio::spawn(run_client(http.clone(), c, until, n))).collect();
    let mut total = Tally::default();
    for task in tasks {
        let tally = task.await?;
        for (route, mut list) in tally.latencies {
            total.latencies.entry(route).or_default().append(&mut list);
        }
        total.errors.extend(tally.errors);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let requests: usize = total.latencies.values().map(Vec::len).sum::<usize>() + total.errors.len();
    println!("{clients} clients, {seconds} s, {} process(es), {orgs} orgs", urls.len());
    println!("requests: {requests} ({:.0} /s), errors: {}", requests as f64 / elapsed, total.errors.len());
    println!("{:<28} {:>8} {:>9} {:>9} {:>9}", "route", "count", "p50 ms", "p99 ms", "p99.9 ms");
    for (route, mut list) in total.latencies {
        list.sort();
        println!(
            "{:<28} {:>8} {:>9.1} {:>9.1} {:>9.1}",
            route.name(),
            list.len(),
            percentile(&list, 0.5),
            percentile(&list, 0.99),
            percentile(&list, 0.999)
        );
    }
    for error in total.errors.iter().take(10) {
        println!("error: {error}");
    }
    if !total.errors.is_empty() {
        bail!("{} requests failed", total.errors.len());
    }
    Ok(())
}
