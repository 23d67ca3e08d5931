//! The ephemeral webhook receiver (webhook-receiver.js, loopback mode): an
//! HTTP/1.1 server on 127.0.0.1:0 recording every POST to
//! `/step/<step_id>/<operation_id>`, answering 204 (or an armed retry status).

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// Largest body accepted (413 beyond), as `MAX_BODY_BYTES`.
const MAX_BODY_BYTES: usize = 1_048_576;
/// `SECRET_HEADER_PATTERN`: the names shared with payload redaction plus `x-api-key`/`x-auth-token` forms.
fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    crate::storyboard::invariants::SECRET_NAMES.contains(&name.as_str()) || SECRET_HEADERS_ONLY.contains(&name.as_str())
}

/// Deliveries kept per run / per (step, operation) before answering 503.
const MAX_CAPTURED_TOTAL: usize = 1000;
const MAX_CAPTURED_PER_KEY: usize = 100;
/// `HEADERS_TIMEOUT_MS`: a sender trickling headers cannot hold a connection.
const HEADERS_TIMEOUT: Duration = Duration::from_secs(10);

/// What only `SECRET_HEADER_PATTERN` adds (header values stored as `[redacted]`).
const SECRET_HEADERS_ONLY: &[&str] = &["x-apikey", "x-api_key", "x-api-key", "x-authtoken", "x-auth_token", "x-auth-token"];

/// One webhook the receiver recorded (webhook-receiver.js `CapturedWebhook`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Delivery {
    /// A UUID v4 naming this delivery.
    pub id: String,
    /// The `<step_id>` path segment.
    pub step_id: String,
    /// The `<operation_id>` path segment.
    pub operation_id: String,
    /// 1 for the first delivery to this (step, operation), then 2, ...
    pub delivery_index: u32,
    /// Arrival time, milliseconds since the Unix epoch.
    pub received_at_ms: u64,
    /// Always `POST` (other methods get 405 and are not recorded).
    pub method: String,
    /// The request target (path and query).
    pub path: String,
    /// Lowercased headers, duplicates joined with `, `, secrets `[redacted]`.
    pub headers: BTreeMap<String, String>,
    /// The body as UTF-8 (lossy).
    pub raw_body: String,
    /// The parsed body, for a non-empty body whose content type is absent or mentions `json`.
    pub body: Option<Value>,
    /// Why such a body did not parse as JSON.
    pub parse_error: Option<String>,
    /// The status the receiver answered.
    pub response_status: u16,
}

#[derive(Default)]
struct State {
    captured: Vec<Delivery>,
    delivery_counts: HashMap<(String, String), u32>,
    /// (step, operation) → (statuses left to answer with, status).
    retry: HashMap<(String, String), (u32, u16)>,
}

/// The receiver of one storyboard run; dropping it stops the server.
pub struct Receiver {
    base_url: String,
    state: Arc<Mutex<State>>,
    server: JoinHandle<()>,
}

impl Receiver {
    /// Binds 127.0.0.1:0 and serves until dropped.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(State::default()));
        let server = tokio::spawn(serve(listener, state.clone()));
        Ok(Receiver { base_url, state, server })
    }

    /// `http://127.0.0.1:<port>` (`{{runner.webhook_base}}`).
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// Every delivery recorded so far, in arrival order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.state.lock().map(|s| s.captured.clone()).unwrap_or_default()
    }

    /// Answers the next `count` deliveries to (step, operation) with `status`
    /// instead of 204, so a conformant sender retries (`set_retry_replay`).
    pub fn set_retry_replay(&self, step_id: &str, operation_id: &str, count: u32, status: u16) {
        if let Ok(mut s) = self.state.lock() {
            s.retry.insert((step_id.to_owned(), operation_id.to_owned()), (count, status));
        }
    }
}

#[cfg(test)]
impl Receiver {
    /// The armed (remaining count, status) for (step, operation).
    pub(crate) fn retry_policy(&self, step_id: &str, operation_id: &str) -> Option<(u32, u16)> {
        self.state.lock().ok()?.retry.get(&(step_id.to_owned(), operation_id.to_owned())).copied()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection task.
        self.server.abort();
    }
}

async fn serve(listener: TcpListener, state: Arc<Mutex<State>>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of file descriptors and the like: back off rather than spin.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let state = state.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(req, state.clone()));
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new()).header_read_timeout(HEADERS_TIMEOUT);
            let _ = http.serve_connection(TokioIo::new(stream), service).await;
        });
        while connections.try_join_next().is_some() {}
    }
}

async fn handle(req: Request<Incoming>, state: Arc<Mutex<State>>) -> Result<Response<Empty<Bytes>>, std::convert::Infallible> {
    if req.method() != Method::POST {
        return Ok(status(405));
    }
    let path = req.uri().path_and_query().map_or_else(|| req.uri().path().to_owned(), |pq| pq.as_str().to_owned());
    let Some((step_id, operation_id)) = parse_step_path(req.uri().path()) else { return Ok(status(404)) };
    let headers = normalize_headers(req.headers());
    let raw = match Limited::new(req.into_body(), MAX_BODY_BYTES).collect().await {
        Ok(body) => String::from_utf8_lossy(&body.to_bytes()).into_owned(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Ok(status(413)),
        Err(_) => return Ok(status(400)),
    };
    let (body, parse_error) = parse_body(&raw, headers.get("content-type").map(String::as_str));
    let Ok(mut s) = state.lock() else { return Ok(status(500)) };
    let key = (step_id.clone(), operation_id.clone());
    let per_key = s.captured.iter().filter(|d| d.step_id == step_id && d.operation_id == operation_id).count();
    if s.captured.len() >= MAX_CAPTURED_TOTAL || per_key >= MAX_CAPTURED_PER_KEY {
        let mut r = status(503);
        r.headers_mut().insert("retry-after", hyper::header::HeaderValue::from_static("1"));
        return Ok(r);
    }
    let delivery_index = s.delivery_counts.get(&key).copied().unwrap_or(0) + 1;
    s.delivery_counts.insert(key.clone(), delivery_index);
    let response_status = match s.retry.get_mut(&key) {
        Some((left, code)) if *left > 0 => {
            *left -= 1;
            *code
        }
        _ => 204,
    };
    let redacted = headers.into_iter().map(|(k, v)| if is_secret_header(&k) { (k, "[redacted]".to_owned()) } else { (k, v) });
    s.captured.push(Delivery {
        id: uuid::Uuid::new_v4().to_string(),
        step_id,
        operation_id,
        delivery_index,
        received_at_ms: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
        method: "POST".into(),
        path,
        headers: redacted.collect(),
        raw_body: raw,
        body,
        parse_error,
        response_status,
    });
    Ok(status(response_status))
}

fn status(code: u16) -> Response<Empty<Bytes>> {
    let mut r = Response::new(Empty::new());
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r
}

/// `(step_id, operation_id)` of `/step/<[A-Za-z0-9_]+>/<[A-Za-z0-9_-]+>[/]` (`STEP_PATH_RE`).
pub(super) fn parse_step_path(path: &str) -> Option<(String, String)> {
    let rest = path.strip_prefix("/step/")?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (step, op) = rest.split_once('/')?;
    let word = |s: &str, extra: &[u8]| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || extra.contains(&b));
    (word(step, b"") && word(op, b"-")).then(|| (step.to_owned(), op.to_owned()))
}

fn normalize_headers(headers: &hyper::HeaderMap) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        out.entry(name.as_str().to_ascii_lowercase()).and_modify(|v| *v = format!("{v}, {value}")).or_insert(value);
    }
    out
}

/// `parseBody`: JSON when the body is non-empty and the content type absent or `*json*`.
fn parse_body(raw: &str, content_type: Option<&str>) -> (Option<Value>, Option<String>) {
    let looks_json = content_type.is_none_or(|ct| ct.to_ascii_lowercase().contains("json"));
    if raw.is_empty() || !looks_json {
        return (None, None);
    }
    match serde_json::from_str(raw) {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn post(base: &str, method: &str, path: &str, headers: &str, body: &str) -> u16 {
        let addr = base.trim_start_matches("http://");
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nhost: {addr}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out[9..12].parse().unwrap()
    }

    #[tokio::test]
    async fn records_posts_to_step_urls_only() {
        let r = Receiver::start().await.unwrap();
        let base = r.base_url();
        assert!(base.starts_with("http://127.0.0.1:"));
        let body = r#"{"idempotency_key":"whk_create_media_buy_mb_1","n":1}"#;
        let ct = "content-type: application/json\r\nauthorization: Bearer abc\r\n";
        assert_eq!(post(&base, "POST", "/step/create_buy/3f1c-ab_9?x=1", ct, body).await, 204);
        assert_eq!(post(&base, "POST", "/step/create_buy/3f1c-ab_9/", "", "not json").await, 204);
        assert_eq!(post(&base, "POST", "/step/create_buy/3f1c-ab_9", "content-type: text/plain\r\n", "x").await, 204);
        assert_eq!(post(&base, "GET", "/step/create_buy/op", "", "").await, 405);
        assert_eq!(post(&base, "POST", "/step/create-buy/op", "", "{}").await, 404);
        assert_eq!(post(&base, "POST", "/hook", "", "{}").await, 404);
        let d = r.deliveries();
        assert_eq!(d.len(), 3);
        assert_eq!((d[0].step_id.as_str(), d[0].operation_id.as_str(), d[0].delivery_index), ("create_buy", "3f1c-ab_9", 1));
        assert_eq!(d[0].path, "/step/create_buy/3f1c-ab_9?x=1");
        assert_eq!(d[0].body.as_ref().unwrap()["n"], 1);
        assert_eq!(d[0].headers["authorization"], "[redacted]");
        assert_eq!(d[0].headers["content-type"], "application/json");
        assert!(d[1].body.is_none() && d[1].parse_error.is_some());
        assert!(d[2].body.is_none() && d[2].parse_error.is_none() && d[2].raw_body == "x");
        assert_eq!(d[2].delivery_index, 3);
    }

    #[tokio::test]
    async fn retry_replay_and_size_limit() {
        let r = Receiver::start().await.unwrap();
        let base = r.base_url();
        r.set_retry_replay("s", "op", 2, 503);
        let codes = [post(&base, "POST", "/step/s/op", "", "{}").await, post(&base, "POST", "/step/s/op", "", "{}").await];
        assert_eq!(codes, [503, 503]);
        assert_eq!(post(&base, "POST", "/step/s/op", "", "{}").await, 204);
        assert_eq!(r.deliveries().iter().map(|d| d.response_status).collect::<Vec<_>>(), [503, 503, 204]);
        let big = "x".repeat(MAX_BODY_BYTES + 1);
        assert_eq!(post(&base, "POST", "/step/s/op", "", &big).await, 413);
        assert_eq!(r.deliveries().len(), 3);
    }

    #[test]
    fn step_paths() {
        assert_eq!(parse_step_path("/step/a_1/B-2/"), Some(("a_1".into(), "B-2".into())));
        assert_eq!(parse_step_path("/step/a/b/c"), None);
        assert_eq!(parse_step_path("/step//b"), None);
        assert_eq!(parse_step_path("/step/a/"), None);
    }
}
