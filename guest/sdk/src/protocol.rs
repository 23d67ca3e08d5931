//! MCP over Streamable HTTP, stateless, JSON responses: turns one HTTP
//! request into one HTTP response.

use crate::http::{HttpRequest, HttpResponse};
use crate::jsonrpc::{self, classify, Message, RpcError};
use crate::server::{Server, SUPPORTED_PROTOCOL_VERSIONS};
use crate::tool::{BadArguments, Ctx, ToolResult};
use serde_json::{json, Value};

impl Server {
    /// Answers one HTTP request. Pure: no I/O, so it runs the same inside
    /// a component and in native unit tests.
    pub fn handle(&self, request: &HttpRequest) -> HttpResponse {
        if request.method != "POST" {
            let mut resp = error_response(405, &Value::Null, RpcError::new(jsonrpc::INVALID_REQUEST, "only POST is supported"));
            resp.headers.push(("allow".into(), "POST".into()));
            return resp;
        }
        if let Err(refusal) = check_transport(request) {
            return refusal;
        }
        let body: Value = match serde_json::from_slice(&request.body) {
            Ok(v) => v,
            Err(e) => return error_response(400, &Value::Null, RpcError::new(jsonrpc::PARSE_ERROR, format!("parse error: {e}"))),
        };
        let ctx = Ctx { request };
        let Value::Array(batch) = body else {
            return match self.answer(&body, &ctx) {
                Err((id, err)) => error_response(400, &id, err),
                Ok(None) => HttpResponse::empty(202),
                Ok(Some(reply)) => HttpResponse::json(200, &reply),
            };
        };
        // Batches exist only in 2025-03-26 (also what a request without
        // `MCP-Protocol-Version` is assumed to speak); later revisions
        // removed them.
        let version = request.header("mcp-protocol-version").unwrap_or(BATCH_VERSION);
        if version != BATCH_VERSION {
            let msg = format!("JSON-RPC batches are not part of MCP {version}; send one message per request");
            return error_response(400, &Value::Null, RpcError::new(jsonrpc::INVALID_REQUEST, msg));
        }
        if batch.is_empty() || batch.len() > MAX_BATCH {
            let msg = format!("a batch must hold 1 to {MAX_BATCH} messages, got {}", batch.len());
            return error_response(400, &Value::Null, RpcError::new(jsonrpc::INVALID_REQUEST, msg));
        }
        let replies: Vec<Value> = batch
            .iter()
            .filter_map(|m| match self.answer(m, &ctx) {
                Ok(reply) => reply,
                Err((id, err)) => Some(err.to_response(&id)),
            })
            .collect();
        match replies.is_empty() {
            true => HttpResponse::empty(202),
            false => HttpResponse::json(200, &Value::Array(replies)),
        }
    }

    /// One message: `Ok(None)` for notifications and responses (nothing to
    /// send back), `Ok(Some(reply))` for requests.
    fn answer(&self, message: &Value, ctx: &Ctx) -> Result<Option<Value>, (Value, RpcError)> {
        Ok(match classify(message)? {
            Message::Notification { .. } | Message::Response => None,
            Message::Request { id, method, params } => Some(match self.dispatch(&method, params, ctx) {
                Ok(result) => jsonrpc::result(&id, result),
                Err(err) => err.to_response(&id),
            }),
        })
    }

    fn dispatch(&self, method: &str, params: Value, ctx: &Ctx) -> Result<Value, RpcError> {
        match method {
            "initialize" => Ok(self.initialize(&params)),
            "ping" => Ok(json!({})),
            "tools/list" => Ok(json!({ "tools": self.tools.iter().map(|t| t.describe()).collect::<Vec<_>>() })),
            "tools/call" => self.call_tool(params, ctx).map(|r| r.to_json()),
            other => Err(RpcError::new(jsonrpc::METHOD_NOT_FOUND, format!("method not found: `{other}`"))),
        }
    }

    fn initialize(&self, params: &Value) -> Value {
        let requested = params.get("protocolVersion").and_then(Value::as_str);
        // Negotiation per spec: echo a version we support, else offer our newest.
        let version = requested.filter(|v| SUPPORTED_PROTOCOL_VERSIONS.contains(v)).unwrap_or(SUPPORTED_PROTOCOL_VERSIONS[0]);
        let mut result = json!({
            "protocolVersion": version,
            "capabilities": { "tools": { "listChanged": false } },
            "serverInfo": { "name": self.name, "version": self.version },
        });
        if let Some(text) = &self.instructions {
            result["instructions"] = json!(text);
        }
        result
    }

    fn call_tool(&self, params: Value, ctx: &Ctx) -> Result<ToolResult, RpcError> {
        let invalid = |msg: String| RpcError::new(jsonrpc::INVALID_PARAMS, msg);
        let name = params.get("name").and_then(Value::as_str).ok_or_else(|| invalid("`name` must be a string".into()))?;
        let tool = self.find_tool(name).ok_or_else(|| invalid(format!("unknown tool: `{name}`")))?;
        let args = match params.get("arguments") {
            None | Some(Value::Null) => json!({}),
            Some(v @ Value::Object(_)) => v.clone(),
            Some(_) => return Err(invalid("`arguments` must be an object".into())),
        };
        match (tool.handler)(args, ctx) {
            Err(BadArguments(msg)) => Err(invalid(format!("invalid arguments for tool `{name}`: {msg}"))),
            Ok(Ok(result)) => Ok(result),
            Ok(Err(e)) => Ok(ToolResult { content: vec![crate::tool::Content::Text(e.message)], structured: e.structured, is_error: true }),
        }
    }
}

/// The revision that has JSON-RPC batches.
const BATCH_VERSION: &str = "2025-03-26";
/// Most messages in one batch.
pub const MAX_BATCH: usize = 100;

/// Streamable HTTP rules checked before the body is read: the client must
/// accept JSON (406), send JSON (415), and name a revision we speak (400).
fn check_transport(request: &HttpRequest) -> Result<(), HttpResponse> {
    let refuse = |status, msg: String| Err(error_response(status, &Value::Null, RpcError::new(jsonrpc::INVALID_REQUEST, msg)));
    if let Some(accept) = request.header("accept") {
        let ok = accept
            .split(',')
            .map(|r| r.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
            .any(|r| matches!(r.as_str(), "application/json" | "application/*" | "*/*" | "text/event-stream"));
        if !ok {
            return refuse(406, format!("`Accept: {accept}` allows neither application/json nor text/event-stream"));
        }
    }
    if let Some(ctype) = request.header("content-type") {
        let essence = ctype.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if essence != "application/json" {
            return refuse(415, format!("`Content-Type: {ctype}`: MCP messages are application/json"));
        }
    }
    if let Some(version) = request.header("mcp-protocol-version") {
        if !SUPPORTED_PROTOCOL_VERSIONS.contains(&version) {
            return refuse(
                400,
                format!("unsupported MCP-Protocol-Version `{version}`; supported: {}", SUPPORTED_PROTOCOL_VERSIONS.join(", ")),
            );
        }
    }
    Ok(())
}

fn error_response(status: u16, id: &Value, err: RpcError) -> HttpResponse {
    HttpResponse::json(status, &err.to_response(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{JsonSchema, ToolError};
    use serde::Deserialize;

    #[derive(Deserialize, JsonSchema)]
    struct Args {
        /// Text.
        text: String,
    }

    fn server() -> Server {
        Server::new("t", "1").tool("echo", "echo", |a: Args, _: &Ctx| Ok(ToolResult::text(a.text))).tool(
            "fail",
            "fail",
            |_: Args, _: &Ctx| Err(ToolError::new("nope")),
        )
    }

    fn post(body: &str) -> (u16, Value) {
        post_with(&[], body)
    }

    fn post_with(headers: &[(&str, &str)], body: &str) -> (u16, Value) {
        let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let req = HttpRequest { method: "POST".into(), path: "/t/mcp".into(), headers, body: body.into() };
        let resp = server().handle(&req);
        let v = if resp.body.is_empty() { Value::Null } else { serde_json::from_slice(&resp.body).unwrap() };
        (resp.status, v)
    }

    #[test]
    fn error_codes() {
        assert_eq!(post("{").1["error"]["code"], -32700);
        assert_eq!(post(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#).1["error"]["code"], -32600);
        assert_eq!(post(r#"{"jsonrpc":"2.0","id":1,"method":"nope"}"#).1["error"]["code"], -32601);
        let (s, v) = post(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":3}}}"#);
        assert_eq!((s, v["error"]["code"].clone(), v["id"].clone()), (200, json!(-32602), json!(7)));
        assert_eq!(post(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).0, 202);
    }

    #[test]
    fn tools() {
        let (_, v) = post(r#"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}"#);
        assert_eq!(v["result"]["content"][0]["text"], "hi");
        let (_, v) = post(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fail","arguments":{"text":"x"}}}"#);
        assert_eq!(v["result"]["isError"], true);
        let (_, v) = post(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
        assert_eq!(v["result"]["tools"][0]["inputSchema"]["properties"]["text"]["type"], "string");
        let (_, v) = post(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"1999-01-01"}}"#);
        assert_eq!(v["result"]["protocolVersion"], SUPPORTED_PROTOCOL_VERSIONS[0]);
    }

    #[test]
    fn transport_rules_of_the_legacy_revisions() {
        let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        // Accept: JSON (alone or with SSE, or wildcards) is fine; else 406.
        for ok in ["application/json", "application/json, text/event-stream", "*/*", "text/event-stream;q=0.9, application/*"] {
            assert_eq!(post_with(&[("accept", ok)], ping).0, 200, "{ok}");
        }
        let (s, v) = post_with(&[("accept", "text/html")], ping);
        assert_eq!((s, v["error"]["code"].clone()), (406, json!(-32600)));
        // Content-Type must be JSON (parameters allowed); else 415.
        assert_eq!(post_with(&[("content-type", "application/json; charset=utf-8")], ping).0, 200);
        assert_eq!(post_with(&[("content-type", "text/plain")], ping).0, 415);
        // MCP-Protocol-Version: known revisions pass, others are 400.
        for v in SUPPORTED_PROTOCOL_VERSIONS {
            assert_eq!(post_with(&[("mcp-protocol-version", v)], ping).0, 200, "{v}");
        }
        let (s, v) = post_with(&[("mcp-protocol-version", "1999-01-01")], ping);
        assert_eq!(s, 400);
        assert!(v["error"]["message"].as_str().unwrap().contains("1999-01-01"), "{v}");
        // A session id sent by a client is tolerated (stateless server).
        assert_eq!(post_with(&[("mcp-session-id", "abc")], ping).0, 200);
    }

    #[test]
    fn batches_only_in_2025_03_26_and_bounded() {
        let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":2,"method":"nope"},{"jsonrpc":"1.0","id":3,"method":"ping"}]"#;
        for headers in [&[][..], &[("mcp-protocol-version", "2025-03-26")][..]] {
            let (s, v) = post_with(headers, batch);
            assert_eq!(s, 200);
            let ids: Vec<_> = v.as_array().unwrap().iter().map(|r| (r["id"].clone(), r["error"]["code"].clone())).collect();
            assert_eq!(ids, [(json!(1), Value::Null), (json!(2), json!(-32601)), (json!(3), json!(-32600))]);
        }
        let (s, v) = post(r#"[{"jsonrpc":"2.0","method":"notifications/initialized"}]"#);
        assert_eq!((s, v), (202, Value::Null));
        for version in ["2025-06-18", "2025-11-25"] {
            let (s, v) = post_with(&[("mcp-protocol-version", version)], batch);
            assert_eq!((s, v["error"]["code"].clone()), (400, json!(-32600)), "{version}");
        }
        assert_eq!(post("[]").0, 400);
        let big = format!("[{}]", vec![r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#; MAX_BATCH + 1].join(","));
        assert_eq!(post(&big).0, 400);
    }
}
