//! MCP methods, answered the same way in both protocol eras; `protocol.rs`
//! decides which methods an era has and how results are decorated.

use crate::ctx::Ctx;
use crate::input::{open, InputRequired};
use crate::jsonrpc::{RpcError, INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST};
use crate::server::Server;
use crate::tool::{missing_capabilities, BadArguments, Failure, ToolError, ToolResult};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde_json::{json, Map, Value};

/// A method's answer before era-specific decoration.
pub(crate) enum Reply {
    /// A complete result.
    Done(Value),
    /// An input-required result (2026-07-28 only).
    Input(Value),
    /// A JSON-RPC error and the HTTP status to send it with.
    Error(RpcError, u16),
}

impl From<RpcError> for Reply {
    fn from(e: RpcError) -> Self {
        Reply::Error(e, 200)
    }
}

fn invalid(msg: impl Into<String>) -> Reply {
    RpcError::new(INVALID_PARAMS, msg).into()
}

/// Result of the `*/list` methods, shared shape: items plus `nextCursor`.
fn page(server: &Server, key: &str, total: usize, params: &Value, describe: impl Fn(usize) -> Value) -> Reply {
    let start = match params.get("cursor") {
        None | Some(Value::Null) => 0,
        Some(Value::String(c)) => match decode_cursor(c) {
            Some(n) if n <= total => n,
            _ => return invalid(format!("invalid cursor `{c}`: pass back a `nextCursor` from this server")),
        },
        Some(_) => return invalid("`cursor` must be a string"),
    };
    let end = start.saturating_add(server.page_size).min(total);
    let mut out = json!({ key: (start..end).map(describe).collect::<Vec<_>>() });
    if end < total {
        out["nextCursor"] = json!(B64.encode(format!("offset:{end}")));
    }
    Reply::Done(out)
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    String::from_utf8(B64.decode(cursor).ok()?).ok()?.strip_prefix("offset:")?.parse().ok()
}

impl Server {
    pub(crate) fn capabilities(&self, legacy: bool) -> Value {
        let mut caps = json!({ "tools": {}, "logging": {} });
        if legacy {
            caps["tools"] = json!({ "listChanged": false });
        }
        if !self.prompts.is_empty() {
            caps["prompts"] = json!({});
        }
        if !self.resources.is_empty() || !self.templates.is_empty() {
            caps["resources"] = json!({});
        }
        if !self.prompts.is_empty() || !self.templates.is_empty() {
            caps["completions"] = json!({});
        }
        caps
    }

    pub(crate) fn list_tools(&self, params: &Value) -> Reply {
        page(self, "tools", self.tools.len(), params, |i| self.tools[i].describe())
    }

    pub(crate) fn list_prompts(&self, params: &Value) -> Reply {
        page(self, "prompts", self.prompts.len(), params, |i| self.prompts[i].describe())
    }

    pub(crate) fn list_resources(&self, params: &Value) -> Reply {
        page(self, "resources", self.resources.len(), params, |i| self.resources[i].describe())
    }

    pub(crate) fn list_templates(&self, params: &Value) -> Reply {
        page(self, "resourceTemplates", self.templates.len(), params, |i| self.templates[i].describe())
    }

    pub(crate) fn call_tool(&self, params: &Value, ctx: &mut Ctx) -> Reply {
        let (name, args, scope) = match named_request(params, ctx, "tools/call") {
            Ok(parts) => parts,
            Err(reply) => return reply,
        };
        let Some(tool) = self.find_tool(name) else { return invalid(format!("unknown tool: `{name}`")) };
        match (tool.handler)(args, ctx) {
            Err(BadArguments(msg)) => invalid(format!("invalid arguments for tool `{name}`: {msg}")),
            Ok(Ok(result)) => Reply::Done(result.to_json()),
            Ok(Err(e)) => match e.failure {
                Failure::Tool => Reply::Done(
                    ToolResult { content: vec![crate::Content::Text(e.message)], structured: e.structured, is_error: true }.to_json(),
                ),
                _ => failure(e, ctx, &scope),
            },
        }
    }

    pub(crate) fn get_prompt(&self, params: &Value, ctx: &mut Ctx) -> Reply {
        let (name, args, scope) = match named_request(params, ctx, "prompts/get") {
            Ok(parts) => parts,
            Err(reply) => return reply,
        };
        let Some(prompt) = self.prompts.iter().find(|p| p.name == name) else {
            return invalid(format!("unknown prompt: `{name}`"));
        };
        match (prompt.handler)(args, ctx) {
            Err(BadArguments(msg)) => invalid(format!("invalid arguments for prompt `{name}`: {msg}")),
            Ok(Ok(result)) => Reply::Done(result.to_json()),
            Ok(Err(e)) => failure(e, ctx, &scope),
        }
    }

    pub(crate) fn read_resource(&self, params: &Value, ctx: &mut Ctx, not_found: i64) -> Reply {
        let Some(uri) = params.get("uri").and_then(Value::as_str) else { return invalid("`uri` must be a string") };
        if let Err(reply) = take_inputs(params, ctx, &format!("resources/read:{uri}")) {
            return reply;
        }
        let read = if let Some(r) = self.resources.iter().find(|r| r.uri == uri) {
            (r.read)(ctx)
        } else if let Some((t, vars)) = self.templates.iter().find_map(|t| t.matches(uri).map(|v| (t, v))) {
            (t.read)(uri, &vars, ctx)
        } else {
            return RpcError::new(not_found, format!("resource not found: `{uri}`")).with_data(json!({ "uri": uri })).into();
        };
        match read {
            Ok(contents) if contents.is_empty() => {
                RpcError::new(not_found, format!("resource not found: `{uri}`")).with_data(json!({ "uri": uri })).into()
            }
            Ok(contents) => Reply::Done(json!({ "contents": contents.iter().map(|c| c.to_json()).collect::<Vec<_>>() })),
            Err(e) => failure(e, ctx, &format!("resources/read:{uri}")),
        }
    }

    pub(crate) fn complete(&self, params: &Value, ctx: &Ctx) -> Reply {
        let r = &params["ref"];
        let key = match (r["type"].as_str(), r["name"].as_str(), r["uri"].as_str()) {
            (Some("ref/prompt"), Some(name), _) if self.prompts.iter().any(|p| p.name == name) => format!("ref/prompt:{name}"),
            (Some("ref/resource"), _, Some(uri)) if self.templates.iter().any(|t| t.uri_template == uri) => {
                format!("ref/resource:{uri}")
            }
            (Some("ref/prompt"), Some(name), _) => return invalid(format!("unknown prompt: `{name}`")),
            (Some("ref/resource"), _, Some(uri)) => return invalid(format!("unknown resource template: `{uri}`")),
            _ => return invalid("`ref` must be {type: ref/prompt, name} or {type: ref/resource, uri}"),
        };
        let (Some(arg), Some(value)) = (params["argument"]["name"].as_str(), params["argument"]["value"].as_str()) else {
            return invalid("`argument` must be {name, value} strings");
        };
        let given = params["context"]["arguments"].as_object().cloned().unwrap_or_default();
        let mut values = match self.completers.iter().find(|(k, _)| *k == key) {
            Some((_, f)) => f(arg, value, &given, ctx),
            None => Vec::new(),
        };
        let total = values.len();
        values.truncate(100);
        Reply::Done(json!({ "completion": { "values": values, "total": total, "hasMore": total > 100 } }))
    }
}

/// The `name`, object `arguments` and sealing scope of a `tools/call` or
/// `prompts/get`, with a retry's inputs read into `ctx`.
fn named_request<'p>(params: &'p Value, ctx: &mut Ctx, method: &str) -> Result<(&'p str, Value, String), Reply> {
    let name = params.get("name").and_then(Value::as_str).ok_or_else(|| invalid("`name` must be a string"))?;
    let args = match params.get("arguments") {
        None | Some(Value::Null) => json!({}),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(_) => return Err(invalid("`arguments` must be an object")),
    };
    // The state is bound to the call it was issued for: the same name and
    // arguments (serde_json orders object keys, so this is canonical).
    let scope = format!("{method}:{name}:{args}");
    take_inputs(params, ctx, &scope)?;
    Ok((name, args, scope))
}

/// Reads `inputResponses` / `requestState` (2026-07-28 retries) into `ctx`:
/// responses must be objects, the state must be one this tenant sealed
/// for `scope`.
fn take_inputs(params: &Value, ctx: &mut Ctx, scope: &str) -> Result<(), Reply> {
    match params.get("inputResponses") {
        None => {}
        Some(Value::Object(map)) => {
            if let Some((key, _)) = map.iter().find(|(_, v)| !v.is_object()) {
                return Err(invalid(format!("inputResponses.{key} must be an object (the client's result for that input request)")));
            }
            ctx.inputs = map.clone();
        }
        Some(_) => return Err(invalid("`inputResponses` must be an object keyed like the server's inputRequests")),
    }
    match params.get("requestState") {
        None => {}
        Some(Value::String(sealed)) => ctx.state = Some(open(scope, sealed).map_err(Reply::from)?),
        Some(_) => return Err(invalid("`requestState` must be the string the server sent")),
    }
    Ok(())
}

/// A handler's non-tool failure as a reply: protocol errors as they are,
/// input requests after checking the client can answer them.
fn failure(e: ToolError, ctx: &Ctx, scope: &str) -> Reply {
    if let Some((err, status)) = e.to_rpc() {
        return Reply::Error(err, status);
    }
    match e.failure {
        Failure::Input(input) => input_required(&input, ctx, scope),
        _ => RpcError::new(INTERNAL_ERROR, e.message).into(),
    }
}

fn input_required(input: &InputRequired, ctx: &Ctx, scope: &str) -> Reply {
    if !ctx.stateless {
        let msg = format!(
            "this request needs input from the client ({}); MCP {} can only ask for it with a server-to-client request, \
             which a stateless Hostel tenant cannot hold open across HTTP requests. Use MCP 2026-07-28 (input-required results)",
            input.requests.values().filter_map(|r| r["method"].as_str()).collect::<Vec<_>>().join(", "),
            ctx.version,
        );
        return RpcError::new(INVALID_REQUEST, msg).into();
    }
    let missing: Vec<&str> = input.required_capabilities().filter(|c| ctx.client_supports(c) == Some(false)).collect();
    if !missing.is_empty() {
        let e = missing_capabilities(missing);
        let (err, status) = e.to_rpc().expect("an rpc error");
        return Reply::Error(err, status);
    }
    match input.to_result(scope) {
        Ok(result) => Reply::Input(result),
        Err(e) => e.into(),
    }
}

/// Parses params as an object (absent = `{}`).
pub(crate) fn params_object(params: &Value) -> Result<Map<String, Value>, RpcError> {
    match params {
        Value::Null => Ok(Map::new()),
        Value::Object(m) => Ok(m.clone()),
        _ => Err(RpcError::new(INVALID_PARAMS, "`params` must be an object")),
    }
}
