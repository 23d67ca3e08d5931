//! What a tool, prompt or resource handler can see of its request, and the
//! notifications (progress, logs) it may send while it runs.

use crate::http::HttpRequest;
use serde_json::{json, Map, Value};
use std::cell::RefCell;

/// Request `_meta` keys of MCP 2026-07-28.
pub(crate) const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub(crate) const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
pub(crate) const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
pub(crate) const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";

/// Log severities (RFC 5424 order, least severe first), as MCP names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Normal but significant.
    Notice,
    /// Something unexpected, handled.
    Warning,
    /// An operation failed.
    Error,
    /// A component failed.
    Critical,
    /// Action needed now.
    Alert,
    /// Unusable.
    Emergency,
}

impl LogLevel {
    /// Every level, least severe first.
    pub const ALL: [LogLevel; 8] = [
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Notice,
        LogLevel::Warning,
        LogLevel::Error,
        LogLevel::Critical,
        LogLevel::Alert,
        LogLevel::Emergency,
    ];

    /// The MCP name, e.g. `warning`.
    pub fn as_str(self) -> &'static str {
        ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"][self as usize]
    }

    /// Parses an MCP level name.
    pub fn parse(name: &str) -> Option<LogLevel> {
        LogLevel::ALL.into_iter().find(|l| l.as_str() == name)
    }
}

/// What a handler can see of the request that invoked it.
///
/// Tokens never reach the guest: the host strips `Authorization`.
pub struct Ctx<'a> {
    pub(crate) request: &'a HttpRequest,
    pub(crate) version: &'a str,
    pub(crate) stateless: bool,
    pub(crate) meta: Map<String, Value>,
    pub(crate) inputs: Map<String, Value>,
    pub(crate) state: Option<Value>,
    pub(crate) notes: RefCell<Vec<Value>>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(request: &'a HttpRequest, version: &'a str, stateless: bool) -> Self {
        Ctx { request, version, stateless, meta: Map::new(), inputs: Map::new(), state: None, notes: RefCell::new(Vec::new()) }
    }

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

    /// The MCP revision this request speaks, e.g. `2026-07-28`.
    pub fn protocol_version(&self) -> &str {
        self.version
    }

    /// True for the stateless 2026-07-28 revision, where a tool can ask the
    /// client for input (see [`InputRequired`](crate::InputRequired)).
    pub fn is_stateless_revision(&self) -> bool {
        self.stateless
    }

    /// The client's capabilities, when this request declares them (2026-07-28
    /// sends them with every request; older revisions only at `initialize`,
    /// which a stateless server never sees again).
    pub fn client_capabilities(&self) -> Option<&Value> {
        self.meta.get(META_CAPABILITIES)
    }

    /// Whether the client declared capability `name` (`sampling`,
    /// `elicitation`, `roots`, …). `None` when the request does not say.
    pub fn client_supports(&self, name: &str) -> Option<bool> {
        self.client_capabilities().map(|caps| caps.get(name).is_some_and(|c| !c.is_null()))
    }

    /// The client's `{name, version}`, when sent.
    pub fn client_info(&self) -> Option<&Value> {
        self.meta.get(META_CLIENT_INFO)
    }

    /// The client's answer to input request `key` (2026-07-28), after a
    /// tool returned [`InputRequired`](crate::InputRequired) and the client
    /// retried. Always a JSON object (the SDK rejects anything else).
    pub fn input(&self, key: &str) -> Option<&Value> {
        self.inputs.get(key)
    }

    /// The state this handler attached to its last
    /// [`InputRequired`](crate::InputRequired), verified untampered (the
    /// host's per-tenant key authenticates it).
    pub fn request_state(&self) -> Option<&Value> {
        self.state.as_ref()
    }

    /// Reports progress on this request, when the client asked for it (a
    /// `progressToken` in `_meta`). Sent as `notifications/progress` ahead of
    /// the result if the client accepts `text/event-stream`.
    pub fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        let Some(token) = self.meta.get("progressToken") else { return };
        let mut params = json!({ "progressToken": token, "progress": progress });
        if let Some(total) = total {
            params["total"] = json!(total);
        }
        if let Some(message) = message {
            params["message"] = json!(message);
        }
        self.notify("notifications/progress", params);
    }

    /// Sends a log message to the client (`notifications/message`). In
    /// 2026-07-28 only when the request opted in with a log level and
    /// `level` reaches it; older revisions set the level with
    /// `logging/setLevel` on another request, which a stateless server
    /// cannot remember, so every message is sent.
    pub fn log(&self, level: LogLevel, data: impl serde::Serialize) {
        if self.stateless {
            let wanted = self.meta.get(META_LOG_LEVEL).and_then(Value::as_str).and_then(LogLevel::parse);
            if wanted.is_none_or(|w| level < w) {
                return;
            }
        }
        let data = serde_json::to_value(data).unwrap_or_else(|e| json!(e.to_string()));
        self.notify("notifications/message", json!({ "level": level.as_str(), "data": data }));
    }

    fn notify(&self, method: &str, params: Value) {
        self.notes.borrow_mut().push(json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }
}
