//! The tenant author's entry point: a named server with registered tools,
//! prompts and resources.

use crate::ctx::Ctx;
use crate::prompt::{Prompt, PromptResult};
use crate::resource::{Resource, ResourceInfo, Template, TemplateVars};
use crate::tool::{Tool, ToolError, ToolResult};
use crate::ResourceContents;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Revisions with the `initialize` handshake this SDK speaks, newest first.
pub const LEGACY_PROTOCOL_VERSIONS: &[&str] = &["2025-11-25", "2025-06-18", "2025-03-26"];
/// Stateless revisions (per-request `_meta`, `server/discover`).
pub const STATELESS_PROTOCOL_VERSIONS: &[&str] = &["2026-07-28"];
/// Every MCP revision this SDK speaks, newest first.
pub const SUPPORTED_PROTOCOL_VERSIONS: &[&str] = &["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"];

/// Suggests completions for one argument: `(argument name, typed prefix,
/// other arguments already given, ctx) -> values`.
pub type Completer = Box<dyn Fn(&str, &str, &serde_json::Map<String, Value>, &Ctx) -> Vec<String>>;

/// Cache hints (2026-07-28) on list and read results: how long a client
/// may reuse them, and whether a shared cache may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheHints {
    /// Milliseconds a result stays fresh.
    pub ttl_ms: u64,
    /// `true`: any client may share it; `false`: only this one.
    pub public: bool,
}

/// An MCP server: identity plus tools, prompts and resources. Built per
/// request, so registration must stay cheap (schemas are derived only
/// when listed).
pub struct Server {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) instructions: Option<String>,
    pub(crate) tools: Vec<Tool>,
    pub(crate) prompts: Vec<Prompt>,
    pub(crate) resources: Vec<Resource>,
    pub(crate) templates: Vec<Template>,
    pub(crate) completers: Vec<(String, Completer)>,
    pub(crate) page_size: usize,
    pub(crate) cache: CacheHints,
}

impl Server {
    /// A server reporting `name`/`version` as its `serverInfo`.
    pub fn new(name: &str, version: &str) -> Self {
        Server {
            name: name.into(),
            version: version.into(),
            instructions: None,
            tools: Vec::new(),
            prompts: Vec::new(),
            resources: Vec::new(),
            templates: Vec::new(),
            completers: Vec::new(),
            page_size: 100,
            cache: CacheHints { ttl_ms: 0, public: false },
        }
    }

    /// Usage hints returned from `initialize` / `server/discover`.
    pub fn instructions(mut self, text: &str) -> Self {
        self.instructions = Some(text.into());
        self
    }

    /// Items per page of `tools/list`, `prompts/list`, `resources/list` and
    /// `resources/templates/list` (default 100); clients follow `nextCursor`.
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// Cache hints for list and read results (default: fresh for 0 ms,
    /// private to the client).
    pub fn cache_hints(mut self, hints: CacheHints) -> Self {
        self.cache = hints;
        self
    }

    /// Registers a tool. The input schema is derived from `A`; arguments that
    /// do not deserialize into `A` are answered with JSON-RPC `-32602`.
    ///
    /// # Panics
    /// When a tool of the same name is already registered: that is a bug in
    /// the tenant, caught by its first request in any test.
    pub fn tool<A, F>(self, name: &str, description: &str, f: F) -> Self
    where
        A: DeserializeOwned + schemars::JsonSchema + 'static,
        F: Fn(A, &Ctx) -> Result<ToolResult, ToolError> + 'static,
    {
        self.add_tool(Tool::new(name, description, f))
    }

    /// Registers a tool with a typed result: the output schema is derived
    /// from `R`, and the result is sent as `structuredContent` (plus the
    /// same JSON as text for clients that only read `content`).
    pub fn typed_tool<A, R, F>(self, name: &str, description: &str, f: F) -> Self
    where
        A: DeserializeOwned + schemars::JsonSchema + 'static,
        R: serde::Serialize + schemars::JsonSchema + 'static,
        F: Fn(A, &Ctx) -> Result<R, ToolError> + 'static,
    {
        self.add_tool(Tool::typed(name, description, f))
    }

    /// Registers a tool with a hand-written input schema, passed through
    /// verbatim (any JSON Schema 2020-12 keywords), over raw JSON arguments.
    pub fn raw_tool<F>(self, name: &str, description: &str, input_schema: Value, f: F) -> Self
    where
        F: Fn(Value, &Ctx) -> Result<ToolResult, ToolError> + 'static,
    {
        self.add_tool(Tool::raw(name, description, input_schema, f))
    }

    fn add_tool(mut self, tool: Tool) -> Self {
        assert!(self.tools.iter().all(|t| t.name != tool.name), "tool `{}` registered twice", tool.name);
        self.tools.push(tool);
        self
    }

    /// Registers a prompt; its arguments are the fields of `A` (strings, as
    /// MCP sends them; `Option` fields are optional).
    pub fn prompt<A, F>(mut self, name: &str, description: &str, f: F) -> Self
    where
        A: DeserializeOwned + schemars::JsonSchema + 'static,
        F: Fn(A, &Ctx) -> Result<PromptResult, ToolError> + 'static,
    {
        assert!(self.prompts.iter().all(|p| p.name != name), "prompt `{name}` registered twice");
        self.prompts.push(Prompt::new(name, description, f));
        self
    }

    /// Registers a resource at a fixed URI.
    pub fn resource<F>(mut self, uri: &str, info: ResourceInfo, read: F) -> Self
    where
        F: Fn(&Ctx) -> Result<Vec<ResourceContents>, ToolError> + 'static,
    {
        assert!(self.resources.iter().all(|r| r.uri != uri), "resource `{uri}` registered twice");
        self.resources.push(Resource { uri: uri.into(), info, read: Box::new(read) });
        self
    }

    /// Registers a URI template (`scheme://items/{id}`); `read` gets the
    /// requested URI and the values its variables matched.
    pub fn resource_template<F>(mut self, uri_template: &str, info: ResourceInfo, read: F) -> Self
    where
        F: Fn(&str, &TemplateVars, &Ctx) -> Result<Vec<ResourceContents>, ToolError> + 'static,
    {
        self.templates.push(Template { uri_template: uri_template.into(), info, read: Box::new(read) });
        self
    }

    /// Completes arguments of prompt `name` (`completion/complete` with
    /// `ref/prompt`).
    pub fn prompt_completion<F>(mut self, name: &str, f: F) -> Self
    where
        F: Fn(&str, &str, &serde_json::Map<String, Value>, &Ctx) -> Vec<String> + 'static,
    {
        self.completers.push((format!("ref/prompt:{name}"), Box::new(f)));
        self
    }

    /// Completes variables of URI template `uri_template` (`ref/resource`).
    pub fn template_completion<F>(mut self, uri_template: &str, f: F) -> Self
    where
        F: Fn(&str, &str, &serde_json::Map<String, Value>, &Ctx) -> Vec<String> + 'static,
    {
        self.completers.push((format!("ref/resource:{uri_template}"), Box::new(f)));
        self
    }

    pub(crate) fn find_tool(&self, name: &str) -> Option<&Tool> {
        self.tools.iter().find(|t| t.name == name)
    }
}

/// What [`export!`](crate::export) accepts:
/// - `fn() -> Server`: built once per instance image, so under Hostel at
///   pre-initialization (deploy) rather than per request;
/// - `fn(&HttpRequest) -> Server` when the tools depend on the request (for
///   example one component serving several tenants, told apart by path):
///   built per request;
/// - `fn(&HttpRequest) -> &'static Server`: the tenant picks among servers
///   it keeps in [`Prebuilt`](crate::Prebuilt) statics, filled by the
///   `init = ...` hook of `export!`.
///
/// The marker `M` only keeps the impls apart.
pub trait MakeServer<M> {
    /// Runs `respond` on the server for `request`; `prebuilt` is the
    /// component's slot for a request-independent server.
    fn with_server<R>(&self, prebuilt: &crate::Prebuilt<Server>, request: &crate::HttpRequest, respond: impl FnOnce(&Server) -> R) -> R;

    /// Builds, at pre-initialization, whatever does not depend on a request.
    fn prebuild(&self, prebuilt: &crate::Prebuilt<Server>);
}

impl<F: Fn() -> Server> MakeServer<()> for F {
    fn with_server<R>(&self, prebuilt: &crate::Prebuilt<Server>, _: &crate::HttpRequest, respond: impl FnOnce(&Server) -> R) -> R {
        respond(prebuilt.get_or_init(self))
    }

    fn prebuild(&self, prebuilt: &crate::Prebuilt<Server>) {
        prebuilt.get_or_init(self);
    }
}

impl<F: Fn(&crate::HttpRequest) -> Server> MakeServer<crate::HttpRequest> for F {
    fn with_server<R>(&self, _: &crate::Prebuilt<Server>, request: &crate::HttpRequest, respond: impl FnOnce(&Server) -> R) -> R {
        respond(&self(request))
    }

    fn prebuild(&self, _: &crate::Prebuilt<Server>) {}
}

impl<F: Fn(&crate::HttpRequest) -> &'static Server> MakeServer<&'static Server> for F {
    fn with_server<R>(&self, _: &crate::Prebuilt<Server>, request: &crate::HttpRequest, respond: impl FnOnce(&Server) -> R) -> R {
        respond(self(request))
    }

    fn prebuild(&self, _: &crate::Prebuilt<Server>) {}
}
