//! A proxy between byob and a storage emulator that misbehaves as the test asks: answers a share of requests
//! itself with S3's `503 SlowDown` (with `Retry-After`) or `500 InternalError` (without) — the emulator never sees
//! those — cuts a share of connections in the middle of a body (a download's after half its bytes have gone; an
//! upload either before the emulator sees it or after it acted, the answer lost), and delays a share by a latency
//! spike. Draws come from a seeded
//! generator, so a failing run can be repeated; the faults can be changed while the proxy runs (set up cleanly,
//! then misbehave).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::{Request, Response, body::Frame, body::Incoming, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// What the proxy does to requests; each share is a probability between 0 and 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Faults {
    /// Answered by the proxy instead of the emulator: a 503 `SlowDown` (`slow_down_share` of them) or a 500.
    pub error_rate: f64,
    pub slow_down_share: f64,
    /// The `Retry-After` seconds of the 503s (the 500s carry none); `None`: no header at all.
    pub retry_after: Option<u64>,
    /// Connections cut in the middle of a body.
    pub reset_rate: f64,
    /// Of the cut uploads (any request but a GET), the share the emulator acted on before the cut.
    pub lost_answer_share: f64,
    /// Requests held for `latency` before they are forwarded.
    pub latency_rate: f64,
    pub latency: Duration,
    /// Only requests whose `METHOD path?query` contains this are touched (all when `None`).
    pub only: Option<&'static str>,
    /// At most this many faults (refusals and cuts) after these faults were set; then everything passes.
    pub max_faults: Option<usize>,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            error_rate: 0.0,
            slow_down_share: 0.5,
            retry_after: Some(1),
            reset_rate: 0.0,
            lost_answer_share: 0.5,
            latency_rate: 0.0,
            latency: Duration::ZERO,
            only: None,
            max_faults: None,
        }
    }
}

impl Faults {
    /// Every request refused with a 503 (no `Retry-After`) or a 500.
    #[must_use]
    pub fn refuse_all() -> Self {
        Self { error_rate: 1.0, retry_after: None, ..Self::default() }
    }
}

/// What happened to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Forwarded,
    /// Answered by the proxy with this status.
    Refused(u16),
    Reset,
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub at: Instant,
    pub outcome: Outcome,
}

struct Shared {
    upstream: String,
    http: reqwest::Client,
    /// The faults, and how many were injected since they were set.
    faults: Mutex<(Faults, usize)>,
    rng: Mutex<fastrand::Rng>,
    seen: Mutex<Vec<Seen>>,
}

/// The proxy; it stops when dropped.
pub struct FaultProxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Body = BoxBody<Bytes, std::io::Error>;

impl FaultProxy {
    /// A proxy in front of `upstream` (`http://host:port`), forwarding everything until told otherwise.
    pub async fn start(upstream: &str, seed: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            faults: Mutex::new((Faults::default(), 0)),
            rng: Mutex::new(fastrand::Rng::with_seed(seed)),
            seen: Mutex::new(Vec::new()),
        });
        let serving = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = serving.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| handle(shared.clone(), request));
                    // A connection the proxy cuts ends in an error here, as it should.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, shared, task }
    }

    /// The proxy's base URL, to give byob as the store's endpoint.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, faults: Faults) {
        *self.shared.faults.lock().unwrap() = (faults, 0);
    }

    /// Every request seen so far, in order of arrival.
    #[must_use]
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// How many requests ended with each kind of fault: (refused, reset).
    #[must_use]
    pub fn injected(&self) -> (usize, usize) {
        let seen = self.seen();
        let refused = seen.iter().filter(|s| matches!(s.outcome, Outcome::Refused(_))).count();
        let reset = seen.iter().filter(|s| s.outcome == Outcome::Reset).count();
        (refused, reset)
    }
}

/// What the draw decided for one request.
enum Plan {
    Forward,
    Refuse { slow_down: bool },
    Reset { after_upstream: bool },
}

fn plan(shared: &Shared, request: &str) -> (Plan, Option<Duration>, Faults) {
    let mut current = shared.faults.lock().unwrap();
    let (faults, injected) = *current;
    let spent = faults.max_faults.is_some_and(|max| injected >= max);
    if spent || faults.only.is_some_and(|only| !request.contains(only)) {
        return (Plan::Forward, None, faults);
    }
    let mut rng = shared.rng.lock().unwrap();
    let (draw, shade) = (rng.f64(), rng.f64());
    let delay = (rng.f64() < faults.latency_rate).then_some(faults.latency);
    let plan = if draw < faults.error_rate {
        Plan::Refuse { slow_down: shade < faults.slow_down_share }
    } else if draw < faults.error_rate + faults.reset_rate {
        Plan::Reset { after_upstream: shade < faults.lost_answer_share }
    } else {
        Plan::Forward
    };
    if !matches!(plan, Plan::Forward) {
        current.1 += 1;
    }
    (plan, delay, faults)
}

async fn handle(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Response<Body>, std::io::Error> {
    let method = request.method().to_string();
    let path = request.uri().path_and_query().map(ToString::to_string).unwrap_or_default();
    let (plan, delay, faults) = plan(&shared, &format!("{method} {path}"));
    let record = |outcome| {
        let seen = Seen { method: method.clone(), path: path.clone(), at: Instant::now(), outcome };
        shared.seen.lock().unwrap().push(seen);
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let is_download = request.method() == hyper::Method::GET;
    match plan {
        Plan::Refuse { slow_down } => {
            record(Outcome::Refused(if slow_down { 503 } else { 500 }));
            let _ = request.into_body().collect().await;
            Ok(refusal(slow_down, faults.retry_after))
        }
        Plan::Reset { after_upstream } if !is_download => {
            // Cut before the emulator sees the request (the client is left mid-upload), or after it acted (the
            // answer is lost: a retry must not do the step twice unsafely).
            record(Outcome::Reset);
            if after_upstream {
                forward(&shared, request).await?;
            }
            Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "the fault proxy cut the connection"))
        }
        Plan::Reset { .. } | Plan::Forward => {
            let response = forward(&shared, request).await?;
            let body_len = hyper::body::Body::size_hint(response.body()).exact().unwrap_or(0);
            if matches!(plan, Plan::Reset { .. }) && body_len > 1 {
                record(Outcome::Reset);
                return Ok(cut_in_half(response).await);
            }
            record(Outcome::Forwarded);
            Ok(response)
        }
    }
}

/// S3's own answers to a client that should slow down or try again.
fn refusal(slow_down: bool, retry_after: Option<u64>) -> Response<Body> {
    let (status, code, message) = if slow_down {
        (503, "SlowDown", "Please reduce your request rate.")
    } else {
        (500, "InternalError", "We encountered an internal error. Please try again.")
    };
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>\
         <RequestId>FAULTPROXY</RequestId></Error>"
    );
    let mut response = Response::builder().status(status).header("content-type", "application/xml");
    if let (true, Some(seconds)) = (slow_down, retry_after) {
        response = response.header("retry-after", seconds.to_string());
    }
    response.body(full(Bytes::from(xml))).unwrap()
}

fn full(bytes: Bytes) -> Body {
    Full::new(bytes).map_err(|never: Infallible| match never {}).boxed()
}

/// Headers that belong to one connection, not to the message.
const HOP_BY_HOP: [&str; 5] = ["host", "connection", "content-length", "transfer-encoding", "keep-alive"];

async fn forward(shared: &Shared, request: Request<Incoming>) -> Result<Response<Body>, std::io::Error> {
    let io = |e: &dyn std::fmt::Display| std::io::Error::other(e.to_string());
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(|e| io(&e))?.to_bytes();
    let url = format!("{}{}", shared.upstream, parts.uri.path_and_query().map_or("/", |p| p.as_str()));
    let mut upstream = shared.http.request(parts.method.clone(), url).body(body);
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            upstream = upstream.header(name, value);
        }
    }
    let answer = upstream.send().await.map_err(|e| io(&e))?;
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !HOP_BY_HOP.contains(&name.as_str()) || (name == "content-length" && parts.method == hyper::Method::HEAD) {
            response = response.header(name, value);
        }
    }
    let bytes = answer.bytes().await.map_err(|e| io(&e))?;
    response.body(full(bytes)).map_err(|e| io(&e))
}

/// The response with its full length announced, but only its first half sent before the connection breaks.
async fn cut_in_half(response: Response<Body>) -> Response<Body> {
    let (mut parts, body) = response.into_parts();
    let bytes = body.collect().await.map(http_body_util::Collected::to_bytes).unwrap_or_default();
    parts.headers.insert("content-length", bytes.len().into());
    let half = bytes.slice(..bytes.len() / 2);
    let frames = futures::stream::iter([
        Ok(Frame::data(half)),
        Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "the fault proxy cut the body")),
    ]);
    Response::from_parts(parts, StreamBody::new(frames).boxed())
}
