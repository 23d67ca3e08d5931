//! The SDK client's reading of an MCP answer: the MCP SDK's Streamable
//! HTTP transport (JSON or SSE), TaskExecutor's status handling and
//! response-unwrapper.js, ending in a TaskResult.

use super::{Dispatch, Outcome};
pub(crate) use crate::storyboard::context::js::truthy_value as truthy;
use serde_json::{json, Value};

/// The JSON-RPC answer in an HTTP exchange, or the error the MCP SDK's
/// Streamable HTTP transport would raise.
pub(super) fn rpc_message(status: u16, body: &[u8], content_type: Option<&str>) -> Result<Value, String> {
    let text = String::from_utf8_lossy(body);
    if !(200..300).contains(&status) {
        return Err(format!("Streamable HTTP error: Error POSTing to endpoint: {text}"));
    }
    let essence = content_type.map(|c| c.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
    match essence.as_deref() {
        Some("text/event-stream") => last_sse_response(&text).ok_or_else(|| "SSE stream ended without a JSON-RPC response".to_owned()),
        Some("application/json") => {
            let v: Value = serde_json::from_str(&text).map_err(|e| format!("Invalid JSON response body: {e}"))?;
            // A batch answer: the response is the member carrying an id.
            match v {
                Value::Array(items) => {
                    items.into_iter().rev().find(is_response).ok_or_else(|| "JSON-RPC batch without a response".to_owned())
                }
                v => Ok(v),
            }
        }
        _ => Err(format!("Streamable HTTP error: Unexpected content type: {}", content_type.unwrap_or("null"))),
    }
}

/// The last `data:` event of an SSE stream that is a JSON-RPC response (has an id).
fn last_sse_response(text: &str) -> Option<Value> {
    let mut last = None;
    for event in text.replace("\r\n", "\n").split("\n\n") {
        let data: Vec<&str> = event.lines().filter_map(|l| l.strip_prefix("data:")).map(|d| d.strip_prefix(' ').unwrap_or(d)).collect();
        if data.is_empty() {
            continue;
        }
        if let Ok(v) = serde_json::from_str::<Value>(&data.join("\n")) {
            if is_response(&v) {
                last = Some(v);
            }
        }
    }
    last
}

fn is_response(v: &Value) -> bool {
    v.get("id").is_some_and(|id| !id.is_null()) && (v.get("result").is_some() || v.get("error").is_some())
}

/// probes.js `rawMcpProbe`: session-init errors get their own explanation.
pub(super) fn raw_rpc_error(err: &Value) -> String {
    let code = &err["code"];
    let message = err["message"].as_str();
    let session_init = code == -32002
        || message.is_some_and(|m| m.to_ascii_lowercase().contains("session") && m.to_ascii_lowercase().contains("initialized"));
    match message {
        _ if session_init => format!(
            "MCP session not initialized ({}: {}). rawMcpProbe skips the initialize handshake; strict servers will reject here before auth is evaluated.",
            js_string(code),
            message.unwrap_or("no message")
        ),
        Some(m) => m.to_owned(),
        None => format!("JSON-RPC error {}", js_string(code)),
    }
}

/// TaskExecutor `handleAsyncResponse` on an MCP CallToolResult.
pub(super) fn sdk_task_result(result: &Value) -> Outcome {
    let mut result = result.clone();
    // The MCP SDK's CallToolResultSchema defaults `content` to [].
    if let Value::Object(o) = &mut result {
        o.entry("content").or_insert_with(|| json!([]));
    }
    let status = task_status(&result);
    let (data, extraction) = unwrap_mcp(&result);
    let mut out = Outcome {
        status: 0,
        rpc: None,
        dispatch: Dispatch::Sdk,
        task_status: Some(status.to_owned()),
        success: true,
        data: Some(data),
        error: None,
        extraction,
    };
    match status {
        "submitted" | "working" | "input-required" => {}
        "failed" | "rejected" | "canceled" => {
            let data = out.data.take().unwrap_or_default();
            let structured_error = adcp_error_code(&data).is_some();
            out.success = false;
            out.error = Some(if structured_error { operation_error(&data) } else { format!("Task {status}") });
            let has_payload = match &data {
                Value::Object(o) => !o.is_empty(),
                Value::Array(_) => true,
                _ => false,
            };
            out.data = (structured_error || has_payload).then_some(data);
        }
        // completed, and (TaskExecutor's default branch) anything else with data.
        _ => {
            let data = out.data.as_ref().unwrap_or(&Value::Null);
            if !operation_success(data) {
                out.success = false;
                out.error = Some(operation_error(data));
            }
        }
    }
    out
}

/// ProtocolResponseParser `getStatus` for an MCP result.
fn task_status(result: &Value) -> &'static str {
    const ALL: [&str; 9] =
        ["submitted", "working", "input-required", "completed", "failed", "canceled", "rejected", "auth-required", "unknown"];
    const EXCLUSIVE: [&str; 4] = ["submitted", "working", "input-required", "auth-required"];
    const ENVELOPE: [&str; 12] = [
        "status",
        "message",
        "timestamp",
        "context_id",
        "task_id",
        "replayed",
        "push_notification_config",
        "governance_context",
        "adcp_version",
        "errors",
        "context",
        "ext",
    ];
    let known = |v: &Value| v.as_str().and_then(|s| ALL.iter().find(|k| **k == s).copied());
    if let Some(s) = known(&result["status"]) {
        return s;
    }
    let sc = &result["structuredContent"];
    if let Some(s) = known(&sc["status"]) {
        // Shared literals (completed/failed/...) are also domain statuses:
        // they count only on an envelope without a domain payload (#646).
        let domain = sc.as_object().is_some_and(|o| o.keys().any(|k| !ENVELOPE.contains(&k.as_str())));
        if EXCLUSIVE.contains(&s) || !domain {
            return s;
        }
    }
    if result["isError"] == true {
        return "failed";
    }
    "completed"
}

/// response-unwrapper.js `unwrapMCPResponse`, with TaskExecutor's fallback
/// to the raw result when nothing can be extracted.
fn unwrap_mcp(result: &Value) -> (Value, &'static str) {
    let texts: Vec<&str> = result["content"]
        .as_array()
        .map(|c| c.iter().filter(|i| i["type"] == "text").filter_map(|i| i["text"].as_str()).filter(|t| !t.is_empty()).collect())
        .unwrap_or_default();
    let sc = result.get("structuredContent").filter(|s| !s.is_null());
    if result["isError"] == true {
        if let Some(sc) = sc.filter(|s| s.is_object()) {
            return (sc.clone(), "error");
        }
        let parsed = texts.iter().filter_map(|t| serde_json::from_str::<Value>(t).ok()).find(|p| p["adcp_error"]["code"].is_string());
        if let Some(p) = parsed {
            return (p, "error");
        }
        let message = texts.first().copied().unwrap_or("MCP tool call failed");
        return (json!({"adcp_error": {"code": "mcp_error", "message": message, "synthetic": true}}), "error");
    }
    if let Some(sc) = sc {
        let mut data = sc.clone();
        if let (Value::Object(o), false) = (&mut data, texts.is_empty()) {
            o.insert("_message".into(), Value::String(texts.join("\n")));
        }
        return (data, "structured_content");
    }
    let Some(first) = texts.first() else {
        return (result.clone(), "none");
    };
    match serde_json::from_str::<Value>(first) {
        Ok(v) => (v, "text_fallback"),
        Err(_) => {
            let snippet =
                if first.chars().count() > 100 { format!("{}...", first.chars().take(100).collect::<String>()) } else { first.to_string() };
            let message = format!("Response does not contain structured AdCP data. Text content: \"{snippet}\"");
            (json!({"errors": [{"code": "invalid_response", "message": message}]}), "text_fallback")
        }
    }
}

/// TaskExecutor `isOperationSuccess`.
fn operation_success(data: &Value) -> bool {
    data["success"] != false && !truthy(&data["error"]) && !truthy(&data["adcp_error"]) && !is_adcp_error(data)
}

/// response-unwrapper.js `isAdcpError`.
fn is_adcp_error(data: &Value) -> bool {
    data["errors"].as_array().is_some_and(|e| !e.is_empty()) || data["adcp_error"]["code"].is_string()
}

/// error-extraction.js `extractAdcpErrorInfo`, reduced to whether it finds a code.
fn adcp_error_code(data: &Value) -> Option<&str> {
    data["adcp_error"]["code"].as_str().or_else(|| data["errors"][0]["code"].as_str())
}

/// TaskExecutor `extractOperationError`.
fn operation_error(data: &Value) -> String {
    let ae = &data["adcp_error"];
    if truthy(ae) {
        let code = js_string(&ae["code"]);
        return if truthy(&ae["message"]) { format!("{code}: {}", js_string(&ae["message"])) } else { code };
    }
    if truthy(&data["error"]) {
        return js_string(&data["error"]);
    }
    if is_adcp_error(data) {
        let parts: Vec<String> =
            data["errors"].as_array().into_iter().flatten().map(|e| js_string(first_truthy(&e["message"], &e["code"]))).collect();
        let joined = parts.join("; ");
        if !joined.is_empty() {
            return joined;
        }
    }
    if truthy(&data["message"]) {
        return js_string(&data["message"]);
    }
    "Operation failed".to_owned()
}

fn first_truthy<'a>(a: &'a Value, b: &'a Value) -> &'a Value {
    if truthy(a) {
        a
    } else {
        b
    }
}

/// validations.js `extractCodeFromErrorString`: `CODE: message` → `CODE`, else the whole string.
pub(super) fn code_from_error_string(raw: &str) -> Option<String> {
    if raw.is_empty() {
        return None;
    }
    let head: String = raw.chars().take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_').collect();
    let coded = head.len() >= 3 && head.starts_with(|c: char| c.is_ascii_uppercase()) && {
        let rest = &raw[head.len()..];
        rest.starts_with(':') && rest[1..].starts_with(char::is_whitespace)
    };
    Some(if coded { head } else { raw.to_owned() })
}

/// JavaScript `String(v)` of a JSON value.
pub(crate) fn js_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 1e21).map_or_else(|| n.to_string(), |f| format!("{f:.0}")),
        Value::Array(items) => items.iter().map(|i| if i.is_null() { String::new() } else { js_string(i) }).collect::<Vec<_>>().join(","),
        Value::Object(_) => "[object Object]".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_status_tells_envelope_status_from_domain_status() {
        // A media buy's own `status: completed` next to domain fields is no task status.
        let domain = json!({"structuredContent": {"status": "canceled", "media_buy_id": "mb"}, "content": []});
        assert_eq!(task_status(&domain), "completed");
        let envelope = json!({"structuredContent": {"status": "failed", "context": {}}, "content": []});
        assert_eq!(task_status(&envelope), "failed");
        let submitted = json!({"structuredContent": {"status": "submitted", "media_buy_id": "mb"}, "content": []});
        assert_eq!(task_status(&submitted), "submitted");
        assert_eq!(task_status(&json!({"isError": true, "content": []})), "failed");
        // An envelope-only `failed` answer fails the task without a structured error.
        let o = sdk_task_result(&envelope);
        assert_eq!((o.success, o.error.as_deref(), o.data.is_some()), (false, Some("Task failed"), true));
    }

    #[test]
    fn coded_error_strings() {
        assert_eq!(code_from_error_string("IDEMPOTENCY_CONFLICT: key reused").as_deref(), Some("IDEMPOTENCY_CONFLICT"));
        assert_eq!(code_from_error_string("AB: short").as_deref(), Some("AB: short"));
        assert_eq!(code_from_error_string("Task failed").as_deref(), Some("Task failed"));
        assert_eq!(code_from_error_string(""), None);
    }

    #[test]
    fn json_batches_and_empty_streams() {
        let batch = br#"[{"jsonrpc":"2.0","method":"n"},{"jsonrpc":"2.0","id":2,"result":{}}]"#;
        assert_eq!(rpc_message(200, batch, Some("application/json")).unwrap()["id"], 2);
        assert!(rpc_message(200, b"event: ping\n\n", Some("text/event-stream")).is_err());
        assert!(rpc_message(200, b"{", Some("application/json")).unwrap_err().starts_with("Invalid JSON response body"));
    }
}
