//! OpenTelemetry trace export (cargo feature `otel`, on by default; off at
//! runtime until `server.otel_endpoint` is set): one SERVER span per MCP
//! request, in the trace the request's `traceparent` named, batched and
//! POSTed as OTLP/HTTP JSON (`/v1/traces`) to a collector. Export never
//! slows requests: spans go through a bounded queue and are dropped (and
//! counted in the log) when the collector cannot keep up.

use bytes::Bytes;
use http_body_util::Full;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

/// Spans waiting for export at most; beyond, new spans are dropped.
const QUEUE: usize = 4096;
/// Spans per export request at most.
const BATCH: usize = 512;

/// One finished request, as a span.
pub struct Span {
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits: this host's span.
    pub span_id: String,
    /// The caller's span, when it sent a `traceparent`.
    pub parent_span_id: Option<String>,
    /// e.g. `tools/call echo`.
    pub name: String,
    /// Start.
    pub start: SystemTime,
    /// End.
    pub end: SystemTime,
    /// HTTP status answered.
    pub status: u16,
    /// `(key, value)` string attributes.
    pub attributes: Vec<(&'static str, String)>,
}

/// Where spans go; cheap to clone.
#[derive(Clone)]
pub struct Exporter {
    tx: mpsc::Sender<Span>,
}

impl Exporter {
    /// Starts the export task POSTing to `endpoint` (`http://host:port/v1/traces`).
    pub fn start(endpoint: &str, service: &str) -> anyhow::Result<Exporter> {
        let (authority, path) = endpoint
            .strip_prefix("http://")
            .and_then(|rest| rest.split_once('/').map(|(a, p)| (a.to_owned(), format!("/{p}"))))
            .ok_or_else(|| anyhow::anyhow!("`server.otel_endpoint` must be http://HOST:PORT/PATH, got `{endpoint}`"))?;
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(export_loop(rx, authority, path, service.to_owned()));
        Ok(Exporter { tx })
    }

    /// Queues `span`; drops it if the queue is full.
    pub fn record(&self, span: Span) {
        if self.tx.try_send(span).is_err() {
            tracing::debug!("span dropped: export queue full");
        }
    }
}

async fn export_loop(mut rx: mpsc::Receiver<Span>, authority: String, path: String, service: String) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        // Wait for a first span, then gather what else arrives within 1 s.
        match rx.recv().await {
            Some(span) => batch.push(span),
            None => return,
        }
        let deadline = tokio::time::sleep(Duration::from_secs(1));
        tokio::pin!(deadline);
        while batch.len() < BATCH {
            tokio::select! {
                span = rx.recv() => match span {
                    Some(span) => batch.push(span),
                    None => break,
                },
                () = &mut deadline => break,
            }
        }
        let body = encode(&batch, &service);
        let n = batch.len();
        batch.clear();
        if let Err(e) = post(&authority, &path, body).await {
            tracing::warn!(error = %format!("{e:#}"), spans = n, "OTLP export failed; spans dropped");
        }
    }
}

fn nanos(t: SystemTime) -> String {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos()).to_string()
}

/// OTLP/HTTP JSON (`ExportTraceServiceRequest`).
pub fn encode(spans: &[Span], service: &str) -> Vec<u8> {
    let spans: Vec<Value> = spans
        .iter()
        .map(|s| {
            let mut attributes: Vec<Value> = s.attributes.iter().map(|(k, v)| json!({ "key": k, "value": { "stringValue": v } })).collect();
            attributes.push(json!({ "key": "http.response.status_code", "value": { "intValue": s.status.to_string() } }));
            let mut span = json!({
                "traceId": s.trace_id,
                "spanId": s.span_id,
                "name": s.name,
                "kind": 2,
                "startTimeUnixNano": nanos(s.start),
                "endTimeUnixNano": nanos(s.end),
                "attributes": attributes,
                "status": { "code": if s.status >= 500 { 2 } else { 1 } },
            });
            if let Some(parent) = &s.parent_span_id {
                span["parentSpanId"] = json!(parent);
            }
            span
        })
        .collect();
    let body = json!({ "resourceSpans": [{
        "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": service } }] },
        "scopeSpans": [{ "scope": { "name": "hostel", "version": env!("CARGO_PKG_VERSION") }, "spans": spans }],
    }]});
    serde_json::to_vec(&body).expect("a Value serializes")
}

async fn post(authority: &str, path: &str, body: Vec<u8>) -> anyhow::Result<()> {
    let req = http::Request::post(path)
        .header(http::header::HOST, authority)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))?;
    let (status, _) = crate::http_client::send(authority, req, Duration::from_secs(20)).await?;
    anyhow::ensure!(status.is_success(), "collector answered {status}");
    Ok(())
}
