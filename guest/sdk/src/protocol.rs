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
        let body: Value = match serde_json::from_slice(&request.body) {
            Ok(v) => v,
            Err(e) => return error_response(400, &Value::Null, RpcError::new(jsonrpc::PARSE_ERROR, format!("parse error: {e}"))),
        };
        if body.is_array() {
            return error_response(400, &Value::Null, RpcError::new(jsonrpc::INVALID_REQUEST, "JSON-RPC batches are not supported"));
        }
        match classify(&body) {
            Err((id, err)) => error_response(400, &id, err),
            Ok(Message::Notification { .. } | Message::Response) => HttpResponse::empty(202),
            Ok(Message::Request { id, method, params }) => {
                let ctx = Ctx { request };
                let reply = match self.dispatch(&method, params, &ctx) {
                    Ok(result) => jsonrpc::result(&id, result),
                    Err(err) => err.to_response(&id),
                };
                HttpResponse::json(200, &reply)
            }
        }
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
        let req = HttpRequest { method: "POST".into(), path: "/t/mcp".into(), headers: vec![], body: body.into() };
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
}
