//! Task webhooks to the buyer's `push_notification_config.url`, sent
//! through the host's outbound allowlist. Best effort: a buyer that cannot
//! be reached never fails the call that triggered the webhook, and the
//! webhook's `idempotency_key` is derived from the event, so a retry (or a
//! replayed request, which never gets here) cannot look like a new event.

use crate::envelope::{now_secs, rfc3339};
use serde_json::{json, Value};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(3);

/// The runner-assigned operation id: the last path segment of the URL.
fn operation_id(url: &str) -> Option<&str> {
    url.split('?').next()?.trim_end_matches('/').rsplit('/').next().filter(|s| !s.is_empty() && !s.contains(':'))
}

/// Tells the buyer `task_type` completed with `result` for `buy`.
pub fn notify(buy: &Value, task_type: &str, request: &Value) {
    let Some(url) = request.pointer("/push_notification_config/url").and_then(Value::as_str) else { return };
    if !url.starts_with("http://") && !url.starts_with("https://") {
        return;
    }
    let media_buy_id = buy["media_buy_id"].as_str().unwrap_or("unknown");
    let mut payload = json!({
        "idempotency_key": format!("whk_{task_type}_{media_buy_id}"),
        "task_id": format!("task_{media_buy_id}"),
        "task_type": task_type,
        "protocol": "media-buy",
        "status": "completed",
        "timestamp": rfc3339(now_secs()),
        "result": { "media_buy_id": media_buy_id, "status": buy["status"], "packages": buy["packages"] },
    });
    if let Some(op) = operation_id(url) {
        payload["operation_id"] = json!(op);
    }
    let body = payload.to_string();
    let mut headers = vec![("content-type", "application/json")];
    let auth =
        request.pointer("/push_notification_config/authentication/credentials").and_then(Value::as_str).map(|c| format!("Bearer {c}"));
    if let (Some(a), Some(schemes)) = (&auth, request.pointer("/push_notification_config/authentication/schemes").and_then(Value::as_array))
    {
        if schemes.iter().any(|s| s == "Bearer") {
            headers.push(("authorization", a.as_str()));
        }
    }
    match hostel_sdk::outbound::send("POST", url, &headers, body.as_bytes(), TIMEOUT) {
        Ok(r) if r.status < 300 => {}
        Ok(r) => eprintln!("webhook to {url}: HTTP {}", r.status),
        Err(e) => eprintln!("webhook to {url} not delivered: {e}"),
    }
}
