//! JSON-RPC 2.0 envelope types and the error codes MCP uses.

use serde_json::{json, Value};

/// Invalid JSON was received.
pub const PARSE_ERROR: i64 = -32700;
/// The JSON sent is not a valid request object.
pub const INVALID_REQUEST: i64 = -32600;
/// The method does not exist.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Invalid method parameters.
pub const INVALID_PARAMS: i64 = -32602;
/// Internal error.
pub const INTERNAL_ERROR: i64 = -32603;
/// MCP 2026-07-28: `MCP-Protocol-Version`/`Mcp-Method`/`Mcp-Name` headers
/// missing or disagreeing with the body.
pub const HEADER_MISMATCH: i64 = -32020;
/// MCP 2026-07-28: the request needs a client capability it did not declare.
pub const MISSING_CAPABILITY: i64 = -32021;
/// MCP 2026-07-28: the protocol version is not one the server speaks.
pub const UNSUPPORTED_VERSION: i64 = -32022;

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    /// Numeric code (see the constants in this module).
    pub code: i64,
    /// Human-readable message.
    pub message: String,
    /// Optional structured detail.
    pub data: Option<Value>,
}

impl RpcError {
    /// An error without `data`.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError { code, message: message.into(), data: None }
    }

    /// The same error with `data`.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The error as a JSON-RPC response object for request `id`.
    pub fn to_response(&self, id: &Value) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some(data) = &self.data {
            error["data"] = data.clone();
        }
        json!({ "jsonrpc": "2.0", "id": id, "error": error })
    }
}

/// A successful JSON-RPC response object.
pub fn result(id: &Value, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

/// What one incoming JSON-RPC message turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A request: it has an `id` and expects a response.
    Request {
        /// Request id (string or number).
        id: Value,
        /// Method name.
        method: String,
        /// Params (`null` when absent).
        params: Value,
    },
    /// A notification: no `id`, no response.
    Notification {
        /// Method name.
        method: String,
    },
    /// A response to something the server sent; accepted and ignored.
    Response,
}

/// Classifies one JSON value as a JSON-RPC message.
///
/// On failure returns the id to echo (when one could be read) and the error.
pub fn classify(value: &Value) -> Result<Message, (Value, RpcError)> {
    let Some(obj) = value.as_object() else {
        return Err((Value::Null, RpcError::new(INVALID_REQUEST, "a JSON-RPC message must be an object")));
    };
    let id = obj.get("id").cloned();
    let echo = match &id {
        Some(v @ (Value::String(_) | Value::Number(_))) => v.clone(),
        _ => Value::Null,
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err((echo, RpcError::new(INVALID_REQUEST, "`jsonrpc` must be \"2.0\"")));
    }
    if obj.contains_key("result") || obj.contains_key("error") {
        return Ok(Message::Response);
    }
    let method = match obj.get("method") {
        Some(Value::String(m)) => m.clone(),
        _ => return Err((echo, RpcError::new(INVALID_REQUEST, "`method` must be a string"))),
    };
    let params = obj.get("params").cloned().unwrap_or(Value::Null);
    if !matches!(params, Value::Null | Value::Object(_) | Value::Array(_)) {
        return Err((echo, RpcError::new(INVALID_REQUEST, "`params` must be an object or array")));
    }
    match id {
        None => Ok(Message::Notification { method }),
        Some(Value::String(_) | Value::Number(_)) => Ok(Message::Request { id: echo, method, params }),
        Some(_) => Err((Value::Null, RpcError::new(INVALID_REQUEST, "`id` must be a string or a number"))),
    }
}
