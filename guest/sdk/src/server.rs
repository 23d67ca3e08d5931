//! The tenant author's entry point: a named server with registered tools.

use crate::tool::{Ctx, Tool, ToolError, ToolResult};
use serde::de::DeserializeOwned;

/// MCP protocol revisions this SDK speaks, newest first.
pub const SUPPORTED_PROTOCOL_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];

/// An MCP server: identity plus tools. Built per request, so registration
/// must stay cheap.
pub struct Server {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) instructions: Option<String>,
    pub(crate) tools: Vec<Tool>,
}

impl Server {
    /// A server reporting `name`/`version` as its `serverInfo`.
    pub fn new(name: &str, version: &str) -> Self {
        Server { name: name.into(), version: version.into(), instructions: None, tools: Vec::new() }
    }

    /// Usage hints returned from `initialize`.
    pub fn instructions(mut self, text: &str) -> Self {
        self.instructions = Some(text.into());
        self
    }

    /// Registers a tool. The input schema is derived from `A`; arguments that
    /// do not deserialize into `A` are answered with JSON-RPC `-32602`.
    ///
    /// # Panics
    /// When a tool of the same name is already registered: that is a bug in
    /// the tenant, caught by its first request in any test.
    pub fn tool<A, F>(mut self, name: &str, description: &str, f: F) -> Self
    where
        A: DeserializeOwned + schemars::JsonSchema + 'static,
        F: Fn(A, &Ctx) -> Result<ToolResult, ToolError> + 'static,
    {
        assert!(self.tools.iter().all(|t| t.name != name), "tool `{name}` registered twice");
        self.tools.push(Tool::new(name, description, f));
        self
    }

    pub(crate) fn find_tool(&self, name: &str) -> Option<&Tool> {
        self.tools.iter().find(|t| t.name == name)
    }
}

/// What [`export!`](crate::export) accepts: `fn() -> Server`, or
/// `fn(&HttpRequest) -> Server` when the tools depend on the request (for
/// example one component serving several tenants, told apart by path).
/// The marker `M` only keeps the two impls apart.
pub trait MakeServer<M> {
    /// The server for this request.
    fn make(&self, request: &crate::HttpRequest) -> Server;
}

impl<F: Fn() -> Server> MakeServer<()> for F {
    fn make(&self, _: &crate::HttpRequest) -> Server {
        self()
    }
}

impl<F: Fn(&crate::HttpRequest) -> Server> MakeServer<crate::HttpRequest> for F {
    fn make(&self, request: &crate::HttpRequest) -> Server {
        self(request)
    }
}
