//! Transport-neutral request/response values, so the MCP logic can be driven
//! by wasi:http today, by a lean export later, and by native unit tests.

/// An HTTP request as the MCP layer sees it: already fully read.
#[derive(Debug, Clone, Default)]
pub struct HttpRequest {
    /// Upper-case method, e.g. `POST`.
    pub method: String,
    /// Path and query as the host forwarded it (e.g. `/sales/mcp`).
    pub path: String,
    /// Header names are lower-case; repeated headers appear repeatedly.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The HTTP response the MCP layer produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with a JSON body.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        HttpResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(body).expect("serializing a Value cannot fail"),
        }
    }

    /// A `text/event-stream` response carrying `messages` as one `message`
    /// event each (notifications first, the final response last). The
    /// stream ends after the last one, so clients never try to resume it.
    pub fn sse(messages: &[serde_json::Value]) -> Self {
        let mut body = Vec::new();
        for m in messages {
            body.extend_from_slice(b"event: message\ndata: ");
            body.extend_from_slice(&serde_json::to_vec(m).expect("serializing a Value cannot fail"));
            body.extend_from_slice(b"\n\n");
        }
        HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "text/event-stream".into()), ("cache-control".into(), "no-cache".into())],
            body,
        }
    }

    /// A response without a body (e.g. 202 for notifications).
    pub fn empty(status: u16) -> Self {
        HttpResponse { status, headers: Vec::new(), body: Vec::new() }
    }
}
