//! Errors the host answers itself, as JSON-RPC error objects with the
//! right HTTP status and headers (DESIGN.md's error table).

use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde_json::{json, Value};

/// Host-level failures that are not the guest's doing.
pub const HOST_ERROR: i64 = -32000;
/// The guest failed (trap, OOM, deadline).
pub const INTERNAL_ERROR: i64 = -32603;

/// An error response under construction.
#[derive(Debug)]
pub struct HostError {
    status: StatusCode,
    code: i64,
    message: String,
    id: Value,
    headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl HostError {
    /// A `-32000` error with `status`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        HostError { status, code: HOST_ERROR, message: message.into(), id: Value::Null, headers: Vec::new() }
    }

    /// Overrides the JSON-RPC code.
    pub fn code(mut self, code: i64) -> Self {
        self.code = code;
        self
    }

    /// Echoes the request's JSON-RPC id.
    pub fn id(mut self, id: Value) -> Self {
        self.id = id;
        self
    }

    /// Adds a response header.
    pub fn header(mut self, name: header::HeaderName, value: &'static str) -> Self {
        self.headers.push((name, HeaderValue::from_static(value)));
        self
    }

    /// 404 for a tenant that does not exist.
    pub fn unknown_tenant(name: &str) -> Self {
        HostError::new(StatusCode::NOT_FOUND, format!("unknown tenant `{name}`"))
    }

    /// The HTTP response.
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let body = json!({
            "jsonrpc": "2.0",
            "id": self.id,
            "error": { "code": self.code, "message": self.message },
        });
        let mut resp = json_response(self.status, &body);
        for (name, value) in self.headers {
            resp.headers_mut().append(name, value);
        }
        resp
    }
}

/// A JSON response with `status`.
pub fn json_response(status: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// The `id` of a JSON-RPC request body, for echoing in errors; `null` when
/// the body is not a single request object.
pub fn request_id(body: &[u8]) -> Value {
    #[derive(serde::Deserialize)]
    struct IdOnly {
        id: Option<Value>,
    }
    match serde_json::from_slice::<IdOnly>(body) {
        Ok(IdOnly { id: Some(id @ (Value::String(_) | Value::Number(_))) }) => id,
        _ => Value::Null,
    }
}
