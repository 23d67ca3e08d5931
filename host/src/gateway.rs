//! The MCP endpoint pipeline: tenant → method → Origin → auth → readiness
//! → concurrency → body limit → fresh instance. Each step answers with the
//! error DESIGN.md assigns to it.

use crate::access::{check_bearer, origin_allowed, Auth};
use crate::errors::{request_id, HostError, INTERNAL_ERROR};
use crate::server::AppState;
use crate::tenants::Slot;
use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;

/// Seconds clients are told to wait while a tenant compiles.
const RETRY_COMPILING: &str = "2";
/// Seconds clients are told to wait when over a concurrency limit.
const RETRY_BUSY: &str = "1";

/// Request headers a guest never sees: hop-by-hop headers, credentials, and
/// whatever a client sent in the host's own `x-hostel-*` namespace.
fn strip_for_guest(headers: &mut http::HeaderMap, tenant: &str) {
    for name in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authorization",
        "authorization",
    ] {
        headers.remove(name);
    }
    let private: Vec<_> = headers.keys().filter(|k| k.as_str().starts_with("x-hostel-")).cloned().collect();
    for k in private {
        headers.remove(k);
    }
    // The one `x-hostel-*` header a guest sees is the host's own: which
    // tenant it is serving (a component may serve several, also host-routed).
    if let Ok(v) = http::HeaderValue::from_str(tenant) {
        headers.insert("x-hostel-tenant", v);
    }
}

/// Serves `POST` (and preflight) on a tenant's MCP endpoint.
pub async fn serve_mcp(state: &AppState, tenant: &str, mut req: Request<Incoming>) -> Response<Full<Bytes>> {
    let started = std::time::Instant::now();
    #[cfg(feature = "otel")]
    let wall_start = std::time::SystemTime::now();
    let trace = crate::trace::Trace::from_headers(req.headers());
    let traceparent = trace.traceparent();
    req.headers_mut().insert("traceparent", traceparent.clone());
    // Lossy, not dropped: an Origin that is not ASCII is present, and
    // matches no allowed origin (403), rather than counting as absent.
    let origin = req.headers().get(header::ORIGIN).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let http_method = req.method().clone();
    let mut log = RequestLog::default();
    let mut resp = match pipeline(state, tenant, req, origin.as_deref(), &mut log).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    };
    resp.headers_mut().insert("x-request-id", trace.request_id());
    resp.headers_mut().insert("traceparent", traceparent);
    if let Some(origin) = origin.filter(|o| origin_allowed(o, &state.allowed_origins)) {
        if let Ok(v) = HeaderValue::from_str(&origin) {
            resp.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
            resp.headers_mut().insert(header::VARY, HeaderValue::from_static("Origin"));
        }
    }
    let took = started.elapsed();
    // Unknown tenants are not counted: arbitrary names must not grow the map.
    if resp.status() != StatusCode::NOT_FOUND || state.registry.get(tenant).is_some() {
        state.metrics.record(tenant, resp.status().as_u16(), took);
        if let Some(o) = &log.observed {
            state.metrics.observe(tenant, o);
            o.output.flush_to_log(tenant, &trace.id);
        }
    }
    tracing::info!(
        target: "hostel::request",
        tenant,
        request_id = %trace.id,
        method = %http_method,
        mcp_method = log.mcp_method.as_deref().unwrap_or(""),
        tool = log.tool.as_deref().unwrap_or(""),
        status = resp.status().as_u16(),
        duration_us = took.as_micros() as u64,
        instance_us = log.observed.as_ref().map_or(0, |o| (o.instantiate + o.guest).as_micros() as u64),
        "request"
    );
    #[cfg(feature = "otel")]
    if let Some(otel) = &state.otel {
        let mcp = log.mcp_method.clone().unwrap_or_else(|| http_method.to_string());
        let mut attributes = vec![("hostel.tenant", tenant.to_owned()), ("mcp.method.name", mcp.clone())];
        if let Some(tool) = &log.tool {
            attributes.push(("gen_ai.tool.name", tool.clone()));
        }
        otel.record(crate::otel::Span {
            trace_id: trace.id.clone(),
            span_id: trace.span.clone(),
            parent_span_id: trace.parent.clone(),
            name: match &log.tool {
                Some(tool) => format!("{mcp} {tool}"),
                None => mcp,
            },
            start: wall_start,
            end: wall_start + took,
            status: resp.status().as_u16(),
            attributes,
        });
    }
    resp
}

/// What the per-request log line and metrics need from inside the pipeline.
#[derive(Default)]
struct RequestLog {
    mcp_method: Option<String>,
    tool: Option<String>,
    observed: Option<crate::metrics::Observation>,
}

/// The JSON-RPC `method` and, for calls, the tool/prompt name or URI.
fn peek_mcp(body: &[u8]) -> (Option<String>, Option<String>) {
    #[derive(serde::Deserialize)]
    struct Params {
        name: Option<String>,
        uri: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Peek {
        method: Option<String>,
        params: Option<Params>,
    }
    match serde_json::from_slice::<Peek>(body) {
        Ok(p) => (p.method, p.params.and_then(|p| p.name.or(p.uri))),
        Err(_) => (None, None),
    }
}

async fn pipeline(
    state: &AppState,
    name: &str,
    req: Request<Incoming>,
    origin: Option<&str>,
    log: &mut RequestLog,
) -> Result<Response<Full<Bytes>>, HostError> {
    let slot = state.registry.get(name).ok_or_else(|| HostError::unknown_tenant(name))?;
    if let Some(o) = origin {
        if !origin_allowed(o, &state.allowed_origins) {
            return Err(HostError::new(StatusCode::FORBIDDEN, format!("origin `{o}` is not allowed")));
        }
    }
    match *req.method() {
        Method::POST => {}
        Method::OPTIONS => return Ok(preflight()),
        _ => {
            return Err(HostError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "this endpoint accepts POST only (stateless Streamable HTTP, no SSE stream)",
            )
            .header(header::ALLOW, "POST"))
        }
    }
    match check_bearer(req.headers(), slot.tokens()) {
        Auth::Allowed => {}
        Auth::Missing => {
            state.metrics.reject(name, "auth");
            return Err(HostError::new(StatusCode::UNAUTHORIZED, "missing bearer token")
                .header(header::WWW_AUTHENTICATE, "Bearer realm=\"hostel\""));
        }
        Auth::Invalid => {
            state.metrics.reject(name, "auth");
            return Err(HostError::new(StatusCode::UNAUTHORIZED, "invalid bearer token")
                .header(header::WWW_AUTHENTICATE, "Bearer realm=\"hostel\", error=\"invalid_token\""));
        }
    }
    // Eager and lazy load failures read alike; the reason is in the log.
    let failed = || HostError::new(StatusCode::SERVICE_UNAVAILABLE, format!("tenant `{name}` failed to load; see the server log"));
    let tenant = match slot {
        Slot::Ready(t) => t,
        Slot::Lazy(pending) => crate::lazy::activate(&state.registry, &state.lazy_loads, &pending).await.map_err(|_| failed())?,
        Slot::Compiling { .. } => {
            return Err(HostError::new(StatusCode::SERVICE_UNAVAILABLE, format!("tenant `{name}` is starting (compiling its component)"))
                .header(header::RETRY_AFTER, RETRY_COMPILING))
        }
        Slot::Failed { .. } => return Err(failed()),
    };
    tenant.touch();
    let busy = || {
        state.metrics.reject(name, "busy");
        HostError::new(StatusCode::TOO_MANY_REQUESTS, "too many concurrent requests").header(header::RETRY_AFTER, RETRY_BUSY)
    };
    let _global = state.permits.clone().try_acquire_owned().map_err(|_| busy())?;
    let _local = tenant.permits.clone().try_acquire_owned().map_err(|_| busy())?;
    let _in_flight = state.metrics.in_flight(name);

    let limit = tenant.limits.max_body_bytes;
    let too_large = || {
        state.metrics.reject(name, "too_large");
        HostError::new(StatusCode::PAYLOAD_TOO_LARGE, format!("request body exceeds {limit} bytes"))
    };
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let (mut parts, body) = req.into_parts();
    // A client trickling its body would hold a concurrency permit forever.
    let read = tokio::time::timeout(state.body_read_timeout, Limited::new(body, limit).collect()).await;
    let body = match read {
        Ok(Ok(b)) => b.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Ok(Err(e)) => return Err(HostError::new(StatusCode::BAD_REQUEST, format!("failed to read request body: {e}"))),
        Err(_) => {
            let secs = state.body_read_timeout.as_secs();
            return Err(HostError::new(StatusCode::REQUEST_TIMEOUT, format!("request body not received within {secs} s")));
        }
    };
    strip_for_guest(&mut parts.headers, name);
    parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    match parts.headers.get(header::HOST).map(HeaderValue::to_str) {
        None => _ = parts.headers.insert(header::HOST, HeaderValue::from_static("localhost")),
        // wasi:http cannot hand the guest such a Host; the client's fault.
        Some(Err(_)) => return Err(HostError::new(StatusCode::BAD_REQUEST, "the Host header is not visible ASCII")),
        Some(Ok(_)) => {}
    }
    (log.mcp_method, log.tool) = peek_mcp(&body);
    let guest_req = Request::from_parts(parts, body.clone());
    let observed = log.observed.insert(Default::default());
    crate::instance::invoke_observed(&tenant, guest_req, observed).await.map_err(|e| {
        tracing::warn!(tenant = %name, error = %e, "guest request failed");
        state.metrics.trap(name, e.kind());
        HostError::new(e.status(), e.to_string()).code(INTERNAL_ERROR).id(request_id(&body))
    })
}

/// CORS preflight answer for an allowed (or absent) Origin.
fn preflight() -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::NO_CONTENT;
    let h = resp.headers_mut();
    h.insert(header::ALLOW, HeaderValue::from_static("POST, OPTIONS"));
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, OPTIONS"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(
            "authorization, content-type, accept, mcp-protocol-version, mcp-session-id, mcp-method, mcp-name, last-event-id",
        ),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("mcp-session-id, mcp-protocol-version, x-request-id, traceparent"),
    );
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    resp
}
