//! MCP over Streamable HTTP, stateless: turns one HTTP request into one
//! HTTP response, for both protocol eras.
//!
//! - 2025-03-26 … 2025-11-25: `initialize` negotiates a version the client
//!   then names in `MCP-Protocol-Version` (absent = 2025-03-26, the only
//!   revision with batches).
//! - 2026-07-28: no handshake; every request carries its version and the
//!   client's capabilities in `params._meta`, mirrored in headers
//!   (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`) that must agree.
//!
//! Responses are JSON, or `text/event-stream` when a handler sent progress
//! or log notifications and the client accepts SSE.

use crate::ctx::{Ctx, META_CAPABILITIES, META_VERSION};
use crate::http::{HttpRequest, HttpResponse};
use crate::jsonrpc::{self, classify, Message, RpcError};
use crate::methods::{params_object, Reply};
use crate::server::{Server, LEGACY_PROTOCOL_VERSIONS, STATELESS_PROTOCOL_VERSIONS, SUPPORTED_PROTOCOL_VERSIONS};
use serde_json::{json, Value};

/// The revision that has JSON-RPC batches, also assumed when a request
/// names none.
const BATCH_VERSION: &str = "2025-03-26";
/// Most messages in one batch.
pub const MAX_BATCH: usize = 100;
/// Result `_meta` key naming the server (2026-07-28).
const META_SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

impl Server {
    /// Answers one HTTP request. Pure: no I/O, so it runs the same inside
    /// a component and in native unit tests.
    pub fn handle(&self, request: &HttpRequest) -> HttpResponse {
        if request.method != "POST" {
            let mut resp = error_response(405, &Value::Null, RpcError::new(jsonrpc::INVALID_REQUEST, "only POST is supported"));
            resp.headers.push(("allow".into(), "POST".into()));
            return resp;
        }
        if let Err(refusal) = check_media_types(request) {
            return refusal;
        }
        let body: Value = match serde_json::from_slice(&request.body) {
            Ok(v) => v,
            Err(e) => return error_response(400, &Value::Null, RpcError::new(jsonrpc::PARSE_ERROR, format!("parse error: {e}"))),
        };
        let header = request.header("mcp-protocol-version").map(str::trim);
        let meta_version = body.get("params").and_then(|p| p.get("_meta")).and_then(|m| m.get(META_VERSION));
        match header {
            Some(v) if LEGACY_PROTOCOL_VERSIONS.contains(&v) => self.handle_legacy(request, v, body),
            // A body in the stateless shape gets that revision's checks,
            // whatever the header says (they report the disagreement).
            Some(v) if STATELESS_PROTOCOL_VERSIONS.contains(&v) || meta_version.is_some() => self.handle_stateless(request, v, body),
            Some(v) => {
                let err = RpcError::new(
                    jsonrpc::UNSUPPORTED_VERSION,
                    format!("unsupported MCP-Protocol-Version `{v}`; supported: {}", SUPPORTED_PROTOCOL_VERSIONS.join(", ")),
                )
                .with_data(json!({ "supported": SUPPORTED_PROTOCOL_VERSIONS, "requested": v }));
                error_response(400, &request_id(&body), err)
            }
            None if meta_version.is_some() => {
                let err = RpcError::new(jsonrpc::HEADER_MISMATCH, "missing MCP-Protocol-Version header (required in MCP 2026-07-28)");
                error_response(400, &request_id(&body), err)
            }
            None => self.handle_legacy(request, BATCH_VERSION, body),
        }
    }

    /// 2025-03-26 … 2025-11-25.
    fn handle_legacy(&self, request: &HttpRequest, version: &str, body: Value) -> HttpResponse {
        let Value::Array(batch) = body else {
            return match self.answer_legacy(request, version, &body) {
                Err((id, err)) => error_response(400, &id, err),
                Ok(None) => HttpResponse::empty(202),
                Ok(Some((reply, notes))) => frame(request, reply, notes, 200),
            };
        };
        if version != BATCH_VERSION {
            let msg = format!("JSON-RPC batches are not part of MCP {version}; send one message per request");
            return error_response(400, &Value::Null, RpcError::new(jsonrpc::INVALID_REQUEST, msg));
        }
        if batch.is_empty() || batch.len() > MAX_BATCH {
            let msg = format!("a batch must hold 1 to {MAX_BATCH} messages, got {}", batch.len());
            return error_response(400, &Value::Null, RpcError::new(jsonrpc::INVALID_REQUEST, msg));
        }
        // Notifications raised inside a batch are dropped: a batch answers
        // with one JSON array.
        let replies: Vec<Value> = batch
            .iter()
            .filter_map(|m| match self.answer_legacy(request, version, m) {
                Ok(reply) => reply.map(|(r, _)| r),
                Err((id, err)) => Some(err.to_response(&id)),
            })
            .collect();
        match replies.is_empty() {
            true => HttpResponse::empty(202),
            false => HttpResponse::json(200, &Value::Array(replies)),
        }
    }

    /// One legacy message: `Ok(None)` for notifications and responses,
    /// else the JSON-RPC response plus notifications raised on the way.
    fn answer_legacy(
        &self,
        request: &HttpRequest,
        version: &str,
        message: &Value,
    ) -> Result<Option<(Value, Vec<Value>)>, (Value, RpcError)> {
        let Message::Request { id, method, params } = classify(message)? else { return Ok(None) };
        let mut ctx = Ctx::new(request, version, false);
        ctx.meta = params.get("_meta").and_then(Value::as_object).cloned().unwrap_or_default();
        let reply = match method.as_str() {
            "initialize" => Reply::Done(self.initialize(&params)),
            "ping" => Reply::Done(json!({})),
            "logging/setLevel" => match params.get("level").and_then(Value::as_str).and_then(crate::LogLevel::parse) {
                // Accepted, but a stateless server cannot hold it for later
                // requests: see `Ctx::log`.
                Some(_) => Reply::Done(json!({})),
                None => RpcError::new(
                    jsonrpc::INVALID_PARAMS,
                    "`level` must be one of debug, info, notice, warning, error, critical, alert, emergency",
                )
                .into(),
            },
            _ => self.dispatch_common(&method, &params, &mut ctx, RESOURCE_NOT_FOUND_LEGACY),
        };
        let response = match reply {
            Reply::Done(result) => jsonrpc::result(&id, result),
            // `methods::input_required` turns these into errors before 2026-07-28.
            Reply::Input(_) => RpcError::new(jsonrpc::INTERNAL_ERROR, "input-required result outside MCP 2026-07-28").to_response(&id),
            Reply::Error(err, _) => err.to_response(&id),
        };
        Ok(Some((response, ctx.notes.into_inner())))
    }

    /// The methods both eras share.
    fn dispatch_common(&self, method: &str, params: &Value, ctx: &mut Ctx, not_found: i64) -> Reply {
        if let Err(e) = params_object(params) {
            return e.into();
        }
        match method {
            "tools/list" => self.list_tools(params),
            "tools/call" => self.call_tool(params, ctx),
            "prompts/list" => self.list_prompts(params),
            "prompts/get" => self.get_prompt(params, ctx),
            "resources/list" => self.list_resources(params),
            "resources/templates/list" => self.list_templates(params),
            "resources/read" => self.read_resource(params, ctx, not_found),
            "completion/complete" => self.complete(params, ctx),
            other => Reply::Error(RpcError::new(jsonrpc::METHOD_NOT_FOUND, format!("method not found: `{other}`")), 404),
        }
    }

    fn initialize(&self, params: &Value) -> Value {
        let requested = params.get("protocolVersion").and_then(Value::as_str);
        // Negotiation per spec: echo a version we support, else offer our newest.
        let version = requested.filter(|v| LEGACY_PROTOCOL_VERSIONS.contains(v)).unwrap_or(LEGACY_PROTOCOL_VERSIONS[0]);
        let mut result = json!({
            "protocolVersion": version,
            "capabilities": self.capabilities(true),
            "serverInfo": { "name": self.name, "version": self.version },
        });
        if let Some(text) = &self.instructions {
            result["instructions"] = json!(text);
        }
        result
    }

    /// 2026-07-28: validate the envelope, then dispatch.
    fn handle_stateless(&self, request: &HttpRequest, header: &str, body: Value) -> HttpResponse {
        let id = request_id(&body);
        let (method, params) = match classify(&body) {
            Err((id, err)) => return error_response(400, &id, err),
            Ok(Message::Notification { .. } | Message::Response) => return HttpResponse::empty(202),
            Ok(Message::Request { method, params, .. }) => (method, params),
        };
        let meta = match check_envelope(request, header, &method, &params) {
            Ok(meta) => meta,
            Err(err) => return error_response(400, &id, err),
        };
        let version = STATELESS_PROTOCOL_VERSIONS.iter().find(|v| **v == header).copied().unwrap_or(STATELESS_PROTOCOL_VERSIONS[0]);
        let mut ctx = Ctx::new(request, version, true);
        ctx.meta = meta;
        let reply = match method.as_str() {
            "server/discover" => Reply::Done(self.discover()),
            _ => self.dispatch_common(&method, &params, &mut ctx, jsonrpc::INVALID_PARAMS),
        };
        let (response, status) = match reply {
            Reply::Done(result) => (jsonrpc::result(&id, self.decorate(&method, result)), 200),
            Reply::Input(result) => (jsonrpc::result(&id, result), 200),
            Reply::Error(err, status) => (err.to_response(&id), status),
        };
        frame(request, response, ctx.notes.into_inner(), status)
    }

    fn discover(&self) -> Value {
        let mut result = json!({ "supportedVersions": STATELESS_PROTOCOL_VERSIONS, "capabilities": self.capabilities(false) });
        if let Some(text) = &self.instructions {
            result["instructions"] = json!(text);
        }
        result
    }

    /// 2026-07-28 result fields: `resultType`, the server's identity, and
    /// cache hints on cacheable methods.
    fn decorate(&self, method: &str, mut result: Value) -> Value {
        result["resultType"] = json!("complete");
        result["_meta"] = json!({ META_SERVER_INFO: { "name": self.name, "version": self.version } });
        if matches!(
            method,
            "server/discover" | "tools/list" | "prompts/list" | "resources/list" | "resources/templates/list" | "resources/read"
        ) {
            result["ttlMs"] = json!(self.cache.ttl_ms);
            result["cacheScope"] = json!(if self.cache.public { "public" } else { "private" });
        }
        result
    }
}

/// `resources/read` of an unknown URI before 2026-07-28 (which uses -32602).
const RESOURCE_NOT_FOUND_LEGACY: i64 = -32002;

/// The request's `_meta` when the 2026-07-28 envelope is complete and its
/// headers agree with the body, in the order the revision checks them.
fn check_envelope(request: &HttpRequest, header: &str, method: &str, params: &Value) -> Result<serde_json::Map<String, Value>, RpcError> {
    let meta = params.get("_meta").and_then(Value::as_object);
    let missing: Vec<&str> = [META_VERSION, META_CAPABILITIES].into_iter().filter(|k| meta.is_none_or(|m| !m.contains_key(*k))).collect();
    if !missing.is_empty() {
        return Err(RpcError::new(jsonrpc::INVALID_PARAMS, format!("invalid params: missing _meta keys: {}", missing.join(", "))));
    }
    let meta = meta.expect("checked above").clone();
    let Some(version) = meta[META_VERSION].as_str() else {
        return Err(RpcError::new(jsonrpc::INVALID_PARAMS, format!("invalid params: _meta.{META_VERSION} must be a string")));
    };
    if !meta[META_CAPABILITIES].is_object() {
        return Err(RpcError::new(jsonrpc::INVALID_PARAMS, format!("invalid params: _meta.{META_CAPABILITIES} must be an object")));
    }
    if version != header {
        return Err(RpcError::new(
            jsonrpc::HEADER_MISMATCH,
            format!("MCP-Protocol-Version header `{header}` does not match _meta protocol version `{version}`"),
        ));
    }
    if !STATELESS_PROTOCOL_VERSIONS.contains(&version) {
        return Err(RpcError::new(jsonrpc::UNSUPPORTED_VERSION, format!("unsupported protocol version `{version}`"))
            .with_data(json!({ "supported": STATELESS_PROTOCOL_VERSIONS, "requested": version })));
    }
    match request.header("mcp-method").map(|h| decode_header(h.trim())) {
        Some(m) if m == method => {}
        Some(m) => {
            return Err(RpcError::new(jsonrpc::HEADER_MISMATCH, format!("Mcp-Method header `{m}` does not match body method `{method}`")))
        }
        None => return Err(RpcError::new(jsonrpc::HEADER_MISMATCH, "missing Mcp-Method header")),
    }
    let named = match method {
        "tools/call" | "prompts/get" => params.get("name"),
        "resources/read" => params.get("uri"),
        _ => None,
    };
    if let Some(name) = named.and_then(Value::as_str) {
        match request.header("mcp-name").map(|h| decode_header(h.trim())) {
            Some(n) if n == name => {}
            Some(n) => {
                return Err(RpcError::new(jsonrpc::HEADER_MISMATCH, format!("Mcp-Name header `{n}` does not match `{name}` in the body")))
            }
            None => return Err(RpcError::new(jsonrpc::HEADER_MISMATCH, format!("missing Mcp-Name header (`{name}`)"))),
        }
    }
    Ok(meta)
}

/// Header values that are not plain ASCII travel as `=?base64?…?=`.
fn decode_header(value: &str) -> String {
    use base64::Engine as _;
    value
        .strip_prefix("=?base64?")
        .and_then(|v| v.strip_suffix("?="))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| value.to_owned())
}

/// The request's id when the body has a usable one, for error replies.
fn request_id(body: &Value) -> Value {
    match body.get("id") {
        Some(v @ (Value::String(_) | Value::Number(_))) => v.clone(),
        _ => Value::Null,
    }
}

/// One response: SSE when there are notifications to deliver and the client
/// accepts SSE, else JSON (notifications dropped: nowhere to put them).
fn frame(request: &HttpRequest, response: Value, notes: Vec<Value>, status: u16) -> HttpResponse {
    if !notes.is_empty() && status == 200 && accepts(request, "text/event-stream") {
        let mut messages = notes;
        messages.push(response);
        return HttpResponse::sse(&messages);
    }
    HttpResponse::json(status, &response)
}

fn accepts(request: &HttpRequest, media: &str) -> bool {
    request.header("accept").is_some_and(|a| a.split(',').any(|r| essence(r) == media))
}

/// A media type or range without its parameters, lower-case.
fn essence(media: &str) -> String {
    media.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// Streamable HTTP rules checked before the body is read: the client must
/// accept JSON or SSE (406) and send JSON (415).
fn check_media_types(request: &HttpRequest) -> Result<(), HttpResponse> {
    let refuse = |status, msg: String| Err(error_response(status, &Value::Null, RpcError::new(jsonrpc::INVALID_REQUEST, msg)));
    if let Some(accept) = request.header("accept") {
        let ok = accept
            .split(',')
            .map(essence)
            .any(|r| matches!(r.as_str(), "application/json" | "application/*" | "*/*" | "text/event-stream"));
        if !ok {
            return refuse(406, format!("`Accept: {accept}` allows neither application/json nor text/event-stream"));
        }
    }
    if let Some(ctype) = request.header("content-type") {
        if essence(ctype) != "application/json" {
            return refuse(415, format!("`Content-Type: {ctype}`: MCP messages are application/json"));
        }
    }
    Ok(())
}

fn error_response(status: u16, id: &Value, err: RpcError) -> HttpResponse {
    HttpResponse::json(status, &err.to_response(id))
}
