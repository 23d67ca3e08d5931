//! Typed tools: a Rust function over a `Deserialize + JsonSchema` argument
//! type, with the input schema derived from that type.

use crate::http::HttpRequest;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

/// What a tool can see of the request that invoked it.
///
/// Tokens never reach the guest: the host strips `Authorization`.
pub struct Ctx<'a> {
    pub(crate) request: &'a HttpRequest,
}

impl Ctx<'_> {
    /// The request path as the host forwarded it, e.g. `/sales/mcp`.
    pub fn path(&self) -> &str {
        &self.request.path
    }

    /// Lower-case names of every request header, in arrival order.
    pub fn header_names(&self) -> Vec<&str> {
        self.request.headers.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// First value of request header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.request.header(name)
    }
}

/// One item of a tool result's `content` array.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Any other MCP content block (image, audio, resource, …) as raw JSON.
    Raw(Value),
}

impl Content {
    fn to_json(&self) -> Value {
        match self {
            Content::Text(text) => json!({ "type": "text", "text": text }),
            Content::Raw(v) => v.clone(),
        }
    }
}

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

/// A tool failure, reported to the client as an `isError` result.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolError {
    /// Message shown to the model/user.
    pub message: String,
    /// Optional structured detail (`structuredContent`).
    pub structured: Option<Value>,
}

impl ToolError {
    /// A failure with a message.
    pub fn new(message: impl Into<String>) -> Self {
        ToolError { message: message.into(), structured: None }
    }
}

impl<E: std::fmt::Display> From<E> for ToolError {
    fn from(e: E) -> Self {
        ToolError::new(e.to_string())
    }
}

/// Why a call could not reach the tool body: these become JSON-RPC
/// `-32602` errors rather than `isError` results.
pub(crate) struct BadArguments(pub String);

type Handler = Box<dyn Fn(Value, &Ctx) -> Result<Result<ToolResult, ToolError>, BadArguments>>;

/// A registered tool: metadata plus a type-erased handler.
pub(crate) struct Tool {
    pub name: String,
    pub description: String,
    /// Derived on demand: the server is rebuilt per request and most
    /// requests never list tools.
    pub input_schema: fn() -> Value,
    pub handler: Handler,
}

impl Tool {
    pub fn new<A, F>(name: &str, description: &str, f: F) -> Tool
    where
        A: DeserializeOwned + schemars::JsonSchema + 'static,
        F: Fn(A, &Ctx) -> Result<ToolResult, ToolError> + 'static,
    {
        let handler: Handler = Box::new(move |args, ctx| {
            let args: A = serde_json::from_value(args).map_err(|e| BadArguments(e.to_string()))?;
            Ok(f(args, ctx))
        });
        Tool { name: name.to_owned(), description: description.to_owned(), input_schema: input_schema::<A>, handler }
    }

    pub fn describe(&self) -> Value {
        json!({ "name": self.name, "description": self.description, "inputSchema": (self.input_schema)() })
    }
}

/// The derived JSON schema, shaped as MCP wants an `inputSchema`: an object
/// schema, without the `$schema`/`title` noise schemars adds.
fn input_schema<A: schemars::JsonSchema>() -> Value {
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
