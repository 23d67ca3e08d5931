//! Typed tools: a Rust function over a `Deserialize + JsonSchema` argument
//! type, with the input (and optionally output) schema derived from types.

use crate::content::Content;
use crate::ctx::Ctx;
use crate::input::InputRequired;
use crate::jsonrpc::RpcError;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

/// A successful (or tool-level failed) `tools/call` result.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ToolResult {
    /// Unstructured content blocks.
    pub content: Vec<Content>,
    /// Typed result, sent as `structuredContent`.
    pub structured: Option<Value>,
    /// Marks a failure the model should see (not a protocol error).
    pub is_error: bool,
}

impl ToolResult {
    /// A result with one text block.
    pub fn text(text: impl Into<String>) -> Self {
        ToolResult { content: vec![Content::Text(text.into())], ..Default::default() }
    }

    /// A result with the given content blocks.
    pub fn content(content: Vec<Content>) -> Self {
        ToolResult { content, ..Default::default() }
    }

    /// A structured result: `structuredContent` plus the same JSON as text,
    /// so clients that only read `content` see it too.
    pub fn json(value: impl serde::Serialize) -> Self {
        let value = serde_json::to_value(value).unwrap_or_else(|e| json!({ "error": e.to_string() }));
        ToolResult { content: vec![Content::Text(value.to_string())], structured: Some(value), is_error: false }
    }

    /// The MCP `CallToolResult` object.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("content".into(), Value::Array(self.content.iter().map(Content::to_json).collect()));
        if let Some(s) = &self.structured {
            out.insert("structuredContent".into(), s.clone());
        }
        if self.is_error {
            out.insert("isError".into(), Value::Bool(true));
        }
        Value::Object(out)
    }
}

/// Why a handler did not produce its result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Failure {
    /// A tool failure the model should see: an `isError` result.
    Tool,
    /// A protocol error: JSON-RPC error with this code (and HTTP status).
    Rpc { code: i64, data: Option<Value>, status: u16 },
    /// Input needed from the client first (2026-07-28).
    Input(Box<InputRequired>),
}

/// A handler failure. From a tool, [`ToolError::new`] (and any `Display`
/// error via `?`) becomes an `isError` result the model sees; the other
/// constructors become JSON-RPC errors, and an [`InputRequired`] asks the
/// client for input.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolError {
    /// Message shown to the model/user.
    pub message: String,
    /// Optional structured detail (`structuredContent`).
    pub structured: Option<Value>,
    pub(crate) failure: Failure,
}

impl ToolError {
    /// A failure with a message.
    pub fn new(message: impl Into<String>) -> Self {
        ToolError { message: message.into(), structured: None, failure: Failure::Tool }
    }

    /// A protocol error (JSON-RPC `-32602`): the request itself was wrong.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::rpc(crate::jsonrpc::INVALID_PARAMS, message, None, 200)
    }

    /// A protocol error with any JSON-RPC code and optional `data`.
    pub fn rpc(code: i64, message: impl Into<String>, data: Option<Value>, status: u16) -> Self {
        ToolError { message: message.into(), structured: None, failure: Failure::Rpc { code, data, status } }
    }

    /// The client did not declare capability `name` this handler needs
    /// (2026-07-28 `-32021`, HTTP 400). Passes when the request does not
    /// say (older revisions declare capabilities only at `initialize`).
    pub fn require_capability(ctx: &Ctx, name: &str) -> Result<(), ToolError> {
        match ctx.client_supports(name) {
            Some(false) => Err(missing_capabilities([name])),
            _ => Ok(()),
        }
    }

    pub(crate) fn to_rpc(&self) -> Option<(RpcError, u16)> {
        match &self.failure {
            Failure::Rpc { code, data, status } => {
                Some((RpcError { code: *code, message: self.message.clone(), data: data.clone() }, *status))
            }
            _ => None,
        }
    }
}

/// `-32021` naming the capabilities the client lacks.
pub(crate) fn missing_capabilities<'a>(names: impl IntoIterator<Item = &'a str>) -> ToolError {
    let names: Vec<&str> = names.into_iter().collect();
    let required: Map<String, Value> = names.iter().map(|n| (n.to_string(), json!({}))).collect();
    ToolError::rpc(
        crate::jsonrpc::MISSING_CAPABILITY,
        format!("this request needs client capabilities the client did not declare: {}", names.join(", ")),
        Some(json!({ "requiredCapabilities": required })),
        400,
    )
}

impl<E: std::fmt::Display> From<E> for ToolError {
    fn from(e: E) -> Self {
        ToolError::new(e.to_string())
    }
}

impl From<InputRequired> for ToolError {
    fn from(input: InputRequired) -> Self {
        ToolError { message: "input required".into(), structured: None, failure: Failure::Input(Box::new(input)) }
    }
}

/// Why a call could not reach the handler body: these become JSON-RPC
/// `-32602` errors rather than `isError` results.
pub(crate) struct BadArguments(pub String);

pub(crate) type Handler = Box<dyn Fn(Value, &Ctx) -> Result<Result<ToolResult, ToolError>, BadArguments>>;

/// A registered tool: metadata plus a type-erased handler.
pub(crate) struct Tool {
    pub name: String,
    pub description: String,
    /// Derived on demand: the server is rebuilt per request and most
    /// requests never list tools.
    pub input_schema: Schema,
    pub output_schema: Option<fn() -> Value>,
    pub handler: Handler,
}

/// A schema derived from a type on demand, or given verbatim.
pub(crate) enum Schema {
    Derived(fn() -> Value),
    Raw(Value),
}

impl Tool {
    pub fn new<A, F>(name: &str, description: &str, f: F) -> Tool
    where
        A: DeserializeOwned + schemars::JsonSchema + 'static,
        F: Fn(A, &Ctx) -> Result<ToolResult, ToolError> + 'static,
    {
        let handler: Handler = Box::new(move |args, ctx| Ok(f(parse_args(args)?, ctx)));
        Tool::erased(name, description, Schema::Derived(object_schema::<A>), None, handler)
    }

    pub fn typed<A, R, F>(name: &str, description: &str, f: F) -> Tool
    where
        A: DeserializeOwned + schemars::JsonSchema + 'static,
        R: serde::Serialize + schemars::JsonSchema + 'static,
        F: Fn(A, &Ctx) -> Result<R, ToolError> + 'static,
    {
        let handler: Handler = Box::new(move |args, ctx| Ok(f(parse_args(args)?, ctx).map(ToolResult::json)));
        Tool::erased(name, description, Schema::Derived(object_schema::<A>), Some(object_schema::<R>), handler)
    }

    pub fn raw<F>(name: &str, description: &str, input_schema: Value, f: F) -> Tool
    where
        F: Fn(Value, &Ctx) -> Result<ToolResult, ToolError> + 'static,
    {
        Tool::erased(name, description, Schema::Raw(input_schema), None, Box::new(move |args, ctx| Ok(f(args, ctx))))
    }

    fn erased(name: &str, description: &str, input_schema: Schema, output_schema: Option<fn() -> Value>, handler: Handler) -> Tool {
        Tool { name: name.to_owned(), description: description.to_owned(), input_schema, output_schema, handler }
    }

    pub fn describe(&self) -> Value {
        let input = match &self.input_schema {
            Schema::Derived(f) => f(),
            Schema::Raw(v) => v.clone(),
        };
        let mut out = json!({ "name": self.name, "description": self.description, "inputSchema": input });
        if let Some(output) = self.output_schema {
            out["outputSchema"] = output();
        }
        out
    }
}

pub(crate) fn parse_args<A: DeserializeOwned>(args: Value) -> Result<A, BadArguments> {
    serde_json::from_value(args).map_err(|e| BadArguments(e.to_string()))
}

/// The derived JSON schema, shaped as MCP wants an `inputSchema` or
/// `outputSchema`: an object schema, without the `$schema`/`title` noise
/// schemars adds.
pub(crate) fn object_schema<A: schemars::JsonSchema>() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(A)).unwrap_or_else(|_| json!({}));
    if let Some(obj) = schema.as_object_mut() {
        obj.remove("$schema");
        obj.remove("title");
        obj.entry("type").or_insert_with(|| json!("object"));
        if obj.get("type") == Some(&json!("object")) {
            obj.entry("properties").or_insert_with(|| json!({}));
        }
    }
    schema
}
