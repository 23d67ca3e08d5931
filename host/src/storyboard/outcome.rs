//! What a step's call produced, read the way the official runner reads it.
//!
//! Most steps go through the SDK client (`executeStoryboardTask` → MCP SDK
//! `callTool` → TaskExecutor → response-unwrapper.js); steps that override
//! auth or omit the idempotency key on a mutating task go through the raw
//! probe (probes.js `rawMcpProbe`), which reads the answer differently.
//! Both end in a TaskResult `{ success, data, error }`, which is what the
//! validations and the step verdict look at.

use mcp::{code_from_error_string, raw_rpc_error, rpc_message, sdk_task_result};
pub(crate) use mcp::{js_string, truthy};
use serde_json::{json, Value};

mod mcp;
mod normalize;

/// runner.js `MAX_ERROR_LENGTH`: longer step errors are cut.
const MAX_ERROR_LENGTH: usize = 2000;

/// Tools whose request schema requires `idempotency_key` (utils/idempotency.js
/// `MUTATING_TASKS`, derived there from the SDK's Zod request schemas).
#[rustfmt::skip]
pub const MUTATING_TASKS: &[&str] = &[
    "acquire_rights", "activate_signal", "build_creative", "calibrate_content", "create_collection_list", "create_content_standards",
    "create_media_buy", "create_property_list", "delete_collection_list", "delete_property_list", "log_event",
    "provide_performance_feedback", "report_plan_outcome", "report_usage", "si_initiate_session", "si_send_message", "sync_accounts",
    "sync_audiences", "sync_catalogs", "sync_creatives", "sync_event_sources", "sync_governance", "sync_plans", "update_collection_list",
    "update_content_standards", "update_media_buy", "update_property_list", "update_rights",
];

/// How the official runner sends a step, which decides how it reads the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatch {
    /// Through the SDK client: MCP `tools/call`, then TaskExecutor's status handling and unwrapping.
    Sdk,
    /// Through probes.js `rawMcpProbe` (a bare JSON-RPC POST with `Accept: application/json`).
    RawProbe,
}

/// runner.js `executeStep`: the raw probe is used when the step overrides
/// `auth`, or sets `omit_idempotency_key: true` on a mutating task.
pub fn dispatch_for(task: &str, step: &Value) -> Dispatch {
    let omits_key = step["omit_idempotency_key"] == true && MUTATING_TASKS.contains(&task);
    if step.get("auth").is_some() || omits_key {
        Dispatch::RawProbe
    } else {
        Dispatch::Sdk
    }
}

/// A step's answer as the runner sees it: its TaskResult plus the HTTP facts.
#[derive(Debug, Clone)]
pub struct Outcome {
    status: u16,
    rpc: Option<Value>,
    dispatch: Dispatch,
    task_status: Option<String>,
    success: bool,
    data: Option<Value>,
    error: Option<String>,
    extraction: &'static str,
}

impl Outcome {
    /// The answer to a step sent through the SDK client (the usual case).
    /// `body` is JSON or an SSE stream (`text/event-stream`: the last `data:`
    /// JSON-RPC message with an id is the answer).
    pub fn from_http(status: u16, body: &[u8], content_type: Option<&str>) -> Outcome {
        let rpc = match rpc_message(status, body, content_type) {
            Ok(rpc) => rpc,
            Err(error) => return Outcome::failed(status, None, Dispatch::Sdk, error),
        };
        if let Some(err) = rpc.get("error").filter(|e| !e.is_null()) {
            // MCP SDK `McpError`: "MCP error <code>: <message>"; TaskExecutor
            // turns the throw into `{ success: false, error }` with no data.
            let msg = format!("MCP error {}: {}", js_string(&err["code"]), js_string(&err["message"]));
            return Outcome::failed(status, Some(rpc), Dispatch::Sdk, msg);
        }
        match rpc.get("result").filter(|r| r.is_object()) {
            Some(result) => {
                let mut out = sdk_task_result(result);
                out.status = status;
                out.rpc = Some(rpc);
                out
            }
            None => Outcome::failed(status, Some(rpc), Dispatch::Sdk, "Invalid tools/call result: not an object".into()),
        }
    }

    /// The answer to a step sent through the raw probe (see [`dispatch_for`]).
    pub fn from_raw_probe(status: u16, body: &[u8], content_type: Option<&str>) -> Outcome {
        let Ok(rpc) = serde_json::from_slice::<Value>(body) else {
            // rawMcpProbe accepts JSON only and never parses SSE framing.
            let msg = format!("Non-JSON response body (content-type: {}).", content_type.unwrap_or("unknown"));
            return Outcome::failed(status, None, Dispatch::RawProbe, msg);
        };
        if status >= 400 {
            let msg = rpc["error"]["message"].as_str().map_or_else(|| format!("HTTP {status}"), str::to_owned);
            return Outcome::failed(status, Some(rpc), Dispatch::RawProbe, msg);
        }
        if let Some(err) = rpc.get("error").filter(|e| !e.is_null()) {
            let msg = raw_rpc_error(err);
            return Outcome::failed(status, Some(rpc), Dispatch::RawProbe, msg);
        }
        let result = &rpc["result"];
        let structured = result.get("structuredContent").filter(|s| !s.is_null());
        let data = structured.or_else(|| result.get("content").filter(|c| !c.is_null())).cloned();
        let is_error = truthy(&result["isError"]);
        let extraction = match (is_error, structured.is_some(), data.is_some()) {
            (true, ..) => "error",
            (false, true, _) => "structured_content",
            (false, false, true) => "text_fallback",
            _ => "none",
        };
        Outcome {
            status,
            rpc: Some(rpc),
            dispatch: Dispatch::RawProbe,
            task_status: None,
            success: !is_error,
            data,
            error: None,
            extraction,
        }
    }

    fn failed(status: u16, rpc: Option<Value>, dispatch: Dispatch, error: String) -> Outcome {
        let task_status = (dispatch == Dispatch::Sdk).then(|| "failed".to_owned());
        Outcome { status, rpc, dispatch, task_status, success: false, data: None, error: Some(error), extraction: "error" }
    }

    /// HTTP status of the exchange.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The JSON-RPC response message, when one was read.
    pub fn rpc(&self) -> Option<&Value> {
        self.rpc.as_ref()
    }

    /// How the step was dispatched (decides e.g. whether `http_status` checks apply).
    pub fn dispatch(&self) -> Dispatch {
        self.dispatch
    }

    /// TaskExecutor's view of the task status (`completed`, `failed`, `submitted`, ...); None for the raw probe.
    pub fn task_status(&self) -> Option<&str> {
        self.task_status.as_deref()
    }

    /// TaskResult `success`: false for a transport or JSON-RPC error, an MCP
    /// `isError` result, or (SDK path) a completed answer carrying
    /// `success: false`, `error`, `adcp_error` or a non-empty `errors[]`.
    pub fn success(&self) -> bool {
        self.success
    }

    /// Whether the call counts as an error (`!success`), what `expect_error` steps want.
    pub fn is_error(&self) -> bool {
        !self.success
    }

    /// TaskResult `data`, the document validations and context captures read
    /// (structuredContent, else JSON parsed from the text content, ...; the
    /// SDK path adds `_message` with the text content next to structuredContent).
    pub fn data(&self) -> Option<&Value> {
        self.data.as_ref()
    }

    /// Where `data` came from (runner.js `extractionFromTaskResult`): `structured_content`, `text_fallback`, `error` or `none`.
    pub fn extraction(&self) -> &'static str {
        self.extraction
    }

    /// The step's `error` as the runner reports it (TaskResult `error`, cut at 2000 characters).
    pub fn error_message(&self) -> Option<String> {
        let e = self.error.as_deref().filter(|e| !e.is_empty())?;
        if e.chars().count() > MAX_ERROR_LENGTH {
            return Some(format!("{}...[truncated]", e.chars().take(MAX_ERROR_LENGTH).collect::<String>()));
        }
        Some(e.to_owned())
    }

    /// The raw TaskResult `error`, uncut.
    pub fn raw_error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// The AdCP error code as the `error_code` check finds it, as a string.
    pub fn error_code(&self) -> Option<String> {
        self.error_code_value().map(|c| js_string(&c))
    }

    /// validations.js `validateErrorCode` search order: `errors[0].code`
    /// (only when the task failed: async envelopes may carry advisory
    /// errors), `adcp_error.code`, `error_code`, `code`, `error.code`, then
    /// the `CODE: message` prefix of the task error (or the whole error string).
    pub fn error_code_value(&self) -> Option<Value> {
        let data = self.data.as_ref();
        let first = data.and_then(|d| d["errors"].as_array()).filter(|_| !self.success).and_then(|e| e.first());
        let candidates = [
            first.and_then(|e| e.get("code")).filter(|c| c.is_string()),
            data.and_then(|d| d.get("adcp_error")).and_then(|a| a.get("code")),
            data.and_then(|d| d.get("error_code")),
            data.and_then(|d| d.get("code")),
            data.and_then(|d| d.get("error")).and_then(|e| e.get("code")),
        ];
        // `??` in the runner: skip only undefined and null.
        if let Some(code) = candidates.into_iter().flatten().find(|c| !c.is_null()) {
            return Some(code.clone());
        }
        code_from_error_string(self.error.as_deref()?).map(Value::String)
    }

    /// runner.js: an `expect_error` step whose result has no data but an
    /// error string gets `data = { error }` so validations have something to read.
    pub fn for_step(mut self, expect_error: bool) -> Outcome {
        if expect_error && !self.data.as_ref().is_some_and(truthy) {
            if let Some(e) = self.error.as_ref().filter(|e| !e.is_empty()) {
                self.data = Some(json!({ "error": e }));
            }
        }
        self
    }

    /// SingleAgentClient: a successful SDK-path answer's data is rewritten
    /// by the v2.5 adapters' `normalizeResponse` for `task` before anything
    /// reads it (e.g. `get_products` channel `video` → `olv`, `ctv`), so the
    /// official runner grades, captures and reports the rewritten data.
    /// Idempotent; the raw probe does not normalize.
    pub fn for_task(mut self, task: &str) -> Outcome {
        let Some(data) = self.data.take() else {
            return self;
        };
        if self.dispatch == Dispatch::Sdk && self.success && truthy(&data) {
            if normalize::rewrites(task, &data) {
                // The rewritten object lost its provenance tag: runner.js
                // `extractionFromTaskResult` then infers it from success + data.
                self.extraction = "structured_content";
            }
            self.data = Some(normalize::to_v3(task, data));
        } else {
            self.data = Some(data);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tools/call answer as the training agent sends it: structuredContent plus the same JSON as text.
    fn answer(sc: Value, is_error: bool) -> Vec<u8> {
        let mut result = json!({"content": [{"type": "text", "text": sc.to_string()}], "structuredContent": sc});
        if is_error {
            result["isError"] = json!(true);
        }
        json!({"jsonrpc": "2.0", "id": 3, "result": result}).to_string().into_bytes()
    }

    fn sdk(body: &[u8]) -> Outcome {
        Outcome::from_http(200, body, Some("application/json"))
    }

    #[test]
    fn success_reads_structured_content_plus_message() {
        let o = sdk(&answer(json!({"supported_protocols": ["media_buy"]}), false));
        assert!(o.success() && !o.is_error());
        assert_eq!(o.task_status(), Some("completed"));
        assert_eq!(o.extraction(), "structured_content");
        let data = o.data().unwrap();
        assert_eq!(data["supported_protocols"], json!(["media_buy"]));
        // response-unwrapper.js joins the text content into `_message`.
        assert_eq!(data["_message"], json!(r#"{"supported_protocols":["media_buy"]}"#));
        assert_eq!((o.error_message(), o.error_code()), (None, None));
    }

    #[test]
    fn sse_answer_is_the_last_response_event() {
        let json_body = answer(json!({"a": 1}), false);
        let sse = format!(
            "event: message\ndata: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}}\n\nevent: message\ndata: {}\n\n",
            String::from_utf8_lossy(&json_body)
        );
        let o = Outcome::from_http(200, sse.as_bytes(), Some("text/event-stream; charset=utf-8"));
        assert_eq!(o.data(), sdk(&json_body).data());
        assert!(o.success());
    }

    #[test]
    fn adcp_error_is_an_error_with_its_code() {
        let sc = json!({"adcp_error": {"code": "INVALID_REQUEST", "message": "budget must be zero or more"}, "context": {"correlation_id": "c"}});
        let o = sdk(&answer(sc.clone(), true));
        assert!(o.is_error());
        assert_eq!(o.extraction(), "error");
        assert_eq!(o.data(), Some(&sc), "isError answers carry no _message");
        assert_eq!(o.error_message().as_deref(), Some("INVALID_REQUEST: budget must be zero or more"));
        assert_eq!(o.error_code().as_deref(), Some("INVALID_REQUEST"));
    }

    #[test]
    fn error_code_search_order_and_quirks() {
        // Completed answer with errors[]: not a success, code from errors[0].
        let o = sdk(&answer(json!({"errors": [{"code": "PRODUCT_NOT_FOUND", "message": "nope"}]}), false));
        assert!(o.is_error());
        assert_eq!((o.error_code().as_deref(), o.error_message().as_deref()), (Some("PRODUCT_NOT_FOUND"), Some("nope")));
        // An isError payload without a recognised code: the task error is
        // "Task failed", and error_code falls back to that whole string.
        let o = sdk(&answer(json!({"success": false, "error": "UNKNOWN_SCENARIO"}), true));
        assert_eq!(o.error_message().as_deref(), Some("Task failed"));
        assert_eq!(o.error_code().as_deref(), Some("Task failed"));
        // Advisory errors[] on a successful (submitted) answer are not an error code.
        let o = sdk(&answer(json!({"status": "submitted", "task_id": "t", "errors": [{"code": "WARN"}]}), false));
        assert!(o.success());
        assert_eq!(o.task_status(), Some("submitted"));
        assert_eq!(o.error_code(), None);
    }

    #[test]
    fn transport_and_json_rpc_errors_have_no_data() {
        let rpc = br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"INVALID_REQUEST: bad"}}"#;
        let o = sdk(rpc);
        assert!(o.is_error() && o.data().is_none());
        assert_eq!(o.error_message().as_deref(), Some("MCP error -32602: INVALID_REQUEST: bad"));
        // Not CODE-prefixed, so error_code is the whole message.
        assert_eq!(o.error_code().as_deref(), Some("MCP error -32602: INVALID_REQUEST: bad"));
        // runner.js gives expect_error steps `{ error }` to validate.
        assert_eq!(o.clone().for_step(true).data(), Some(&json!({"error": "MCP error -32602: INVALID_REQUEST: bad"})));
        assert_eq!(o.for_step(false).data(), None);
        let o = Outcome::from_http(400, rpc, Some("application/json"));
        assert!(o.error_message().unwrap().starts_with("Streamable HTTP error: Error POSTing to endpoint: {"));
        let o = Outcome::from_http(200, b"<html>", Some("text/html"));
        assert_eq!(o.error_message().as_deref(), Some("Streamable HTTP error: Unexpected content type: text/html"));
    }

    #[test]
    fn text_only_answers() {
        let body = json!({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": "{\"a\":1}"}]}}).to_string();
        let o = sdk(body.as_bytes());
        assert_eq!((o.data(), o.extraction()), (Some(&json!({"a": 1})), "text_fallback"));
        let body = json!({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": "hello"}]}}).to_string();
        let o = sdk(body.as_bytes());
        assert_eq!(o.error_code().as_deref(), Some("invalid_response"));
        let body =
            json!({"jsonrpc": "2.0", "id": 1, "result": {"isError": true, "content": [{"type": "text", "text": "boom"}]}}).to_string();
        let o = sdk(body.as_bytes());
        assert_eq!(o.error_message().as_deref(), Some("mcp_error: boom"));
    }

    #[test]
    fn raw_probe_reads_the_envelope_directly() {
        let step = json!({"omit_idempotency_key": true});
        assert_eq!(dispatch_for("create_media_buy", &step), Dispatch::RawProbe);
        assert_eq!(dispatch_for("get_products", &step), Dispatch::Sdk);
        assert_eq!(dispatch_for("get_products", &json!({"auth": "none"})), Dispatch::RawProbe);

        let sc = json!({"adcp_error": {"code": "INVALID_REQUEST", "message": "m"}});
        let o = Outcome::from_raw_probe(200, &answer(sc.clone(), true), Some("application/json"));
        assert_eq!((o.is_error(), o.data(), o.error_message()), (true, Some(&sc), None));
        // No operation-success check and no `_message` on the raw path.
        let o = Outcome::from_raw_probe(200, &answer(json!({"success": false}), false), Some("application/json"));
        assert_eq!((o.success(), o.data()), (true, Some(&json!({"success": false}))));
        let o = Outcome::from_raw_probe(200, b"data: {}\n\n", Some("text/event-stream"));
        assert_eq!(o.error_message().as_deref(), Some("Non-JSON response body (content-type: text/event-stream)."));
        let o = Outcome::from_raw_probe(401, br#"{"error":{"code":-32001,"message":"unauthorized"}}"#, None);
        assert_eq!((o.status(), o.error_message().as_deref()), (401, Some("unauthorized")));
    }

    #[test]
    fn for_task_applies_the_sdk_v3_normalization() {
        let o = sdk(&answer(json!({"products": [{"channels": ["video"]}]}), false)).for_task("get_products");
        assert_eq!(o.data().unwrap()["products"][0]["channels"], json!(["olv", "ctv"]));
        let long = "x".repeat(2100);
        let o = sdk(&answer(json!({"adcp_error": {"code": "E", "message": long}}), true));
        assert!(o.error_message().unwrap().ends_with("...[truncated]"));
    }
}
