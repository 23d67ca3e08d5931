//! `idempotency.conflict_no_payload_leak` and `context.no_secret_echo`
//! (default-invariants.js): what a response may not carry.

use super::{adcp_error, Finding, StepView};
use serde_json::Value;

/// Shortest caller credential hunted verbatim (default-invariants.js `SECRET_MIN_LENGTH`).
pub(super) const SECRET_MIN_LENGTH: usize = 16;

/// Keys allowed inside an `IDEMPOTENCY_CONFLICT` `adcp_error`, in the order
/// the error message lists them (server/envelope-allowlist.js `ADCP_ERROR_FIELD_ALLOWLIST`).
const CONFLICT_ALLOWLIST: [&str; 6] = ["code", "message", "status", "correlation_id", "request_id", "operation_id"];

/// Property names that flag a credential echo at any depth, ASCII case-insensitive
/// (default-invariants.js `SUSPECT_PROPERTY_NAMES`).
const SUSPECT_PROPERTY_NAMES: [&str; 5] = ["authorization", "api_key", "apikey", "bearer", "x-api-key"];

/// Only an `IDEMPOTENCY_CONFLICT` error yields a result: a pass when its
/// `adcp_error` has allowlisted keys only (the stolen-key read oracle check).
pub(super) fn conflict_no_payload_leak(view: &StepView<'_>) -> Vec<Finding> {
    let Some((code, details)) = adcp_error(view) else { return Vec::new() };
    if code != "IDEMPOTENCY_CONFLICT" {
        return Vec::new();
    }
    let description = "IDEMPOTENCY_CONFLICT error redacts prior payload";
    let mut leaked: Vec<&str> = details.keys().map(String::as_str).filter(|k| !CONFLICT_ALLOWLIST.contains(k)).collect();
    if leaked.is_empty() {
        return vec![Finding::pass(description)];
    }
    leaked.sort_unstable();
    let error = format!(
        "IDEMPOTENCY_CONFLICT error envelope leaked non-allowlisted field(s): {}. Allowed envelope keys (ADCP_ERROR_FIELD_ALLOWLIST.IDEMPOTENCY_CONFLICT): {}.",
        leaked.join(", "),
        CONFLICT_ALLOWLIST.join(", ")
    );
    vec![Finding::fail(description, error)]
}

/// Every step with a response yields one result: a failure if the body
/// carries a suspect property name, a bearer-token literal, or a registered
/// caller secret anywhere.
pub(super) fn no_secret_echo(view: &StepView<'_>, secrets: &[String]) -> Vec<Finding> {
    let Some(body) = view.response.as_ref().filter(|b| !b.is_null()) else { return Vec::new() };
    let description = "Response omits caller-supplied secrets and credential-shaped fields";
    match find_secret_echo(body, secrets) {
        Some(hit) => vec![Finding::fail(description, format!("step \"{}\" response {hit}", view.step_id))],
        None => vec![Finding::pass(description)],
    }
}

/// The first echo found, walking with a stack exactly like default-invariants.js
/// `findSecretEcho` (so the same hit is reported when there are several).
fn find_secret_echo(value: &Value, secrets: &[String]) -> Option<String> {
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => {
                if has_bearer_literal(s) {
                    return Some("contains a bearer-token literal".into());
                }
                if secrets.iter().any(|secret| s.contains(secret.as_str())) {
                    return Some("contains a caller-supplied secret value verbatim".into());
                }
            }
            Value::Array(items) => stack.extend(items.iter()),
            Value::Object(map) => {
                for (key, inner) in map {
                    if key.is_ascii() && SUSPECT_PROPERTY_NAMES.contains(&key.to_ascii_lowercase().as_str()) {
                        return Some(format!("contains suspect property name \"{key}\""));
                    }
                    stack.push(inner);
                }
            }
            _ => {}
        }
    }
    None
}

/// `/\bbearer\s+[A-Za-z0-9._~+/=-]{10,}/i` (default-invariants.js
/// `BEARER_TOKEN_PATTERN`): ASCII word boundary, ASCII-only case folding,
/// JavaScript's `\s`. The whitespace and token classes are disjoint, so a
/// greedy scan decides it without backtracking.
fn has_bearer_literal(s: &str) -> bool {
    let bytes = s.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let token = |c: char| c.is_ascii_alphanumeric() || "._~+/=-".contains(c);
    (0..bytes.len().saturating_sub(5)).any(|i| {
        if !bytes[i..i + 6].eq_ignore_ascii_case(b"bearer") || (i > 0 && word(bytes[i - 1])) {
            return false;
        }
        let rest = &s[i + 6..];
        let after_ws = rest.trim_start_matches(js_space);
        after_ws.len() < rest.len() && after_ws.chars().take_while(|c| token(*c)).count() >= 10
    })
}

/// JavaScript's `\s` (WhiteSpace and LineTerminator).
fn js_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::super::{Invariants, Observed};
    use super::*;
    use serde_json::json;

    fn observe(inv: &mut Invariants, step: Value, task: &str, response: Value, passed: bool) -> Vec<crate::storyboard::Check> {
        inv.observe(Observed { step: &step, task, request: &json!({}), response: Some(&response), passed })
    }

    #[test]
    fn conflict_with_bare_error_passes() {
        let mut inv = Invariants::for_storyboard(&json!({"phases": []})).unwrap();
        let resp = json!({"adcp_error": {"code": "IDEMPOTENCY_CONFLICT", "message": "key reused"}, "context": {"correlation_id": "c"}});
        let checks = observe(&mut inv, json!({"id": "conflict", "expect_error": true}), "create_media_buy", resp, true);
        let descs: Vec<&str> = checks.iter().map(|c| c.description.as_str()).collect();
        assert_eq!(
            descs,
            [
                "idempotency.conflict_no_payload_leak: IDEMPOTENCY_CONFLICT error redacts prior payload",
                "context.no_secret_echo: Response omits caller-supplied secrets and credential-shaped fields"
            ]
        );
        assert!(checks.iter().all(|c| c.passed && c.check == "assertion"));
    }

    #[test]
    fn conflict_leaking_the_prior_payload_fails() {
        let mut inv = Invariants::for_storyboard(&json!({})).unwrap();
        let resp = json!({"adcp_error": {"code": "IDEMPOTENCY_CONFLICT", "message": "m", "recovery": "correctable", "field": "budget"}});
        let checks = observe(&mut inv, json!({"id": "s", "expect_error": true}), "create_media_buy", resp, true);
        assert!(!checks[0].passed);
        assert_eq!(
            checks[0].error.as_deref(),
            Some(
                "IDEMPOTENCY_CONFLICT error envelope leaked non-allowlisted field(s): field, recovery. Allowed envelope keys \
                 (ADCP_ERROR_FIELD_ALLOWLIST.IDEMPOTENCY_CONFLICT): code, message, status, correlation_id, request_id, operation_id."
            )
        );
    }

    #[test]
    fn other_errors_are_not_graded_for_leaks() {
        let mut inv = Invariants::for_storyboard(&json!({})).unwrap();
        let resp = json!({"adcp_error": {"code": "INVALID_REQUEST", "message": "m", "field": "x"}});
        let checks = observe(&mut inv, json!({"id": "s"}), "create_media_buy", resp, true);
        assert_eq!(checks.len(), 1, "only no_secret_echo: {checks:?}");
    }

    #[test]
    fn clean_response_passes_secret_echo() {
        let mut inv = Invariants::for_storyboard(&json!({})).unwrap();
        inv.add_secret("0123456789abcdef-secret");
        let checks = observe(&mut inv, json!({"id": "s"}), "get_products", json!({"products": [], "note": "bearer of bad news"}), true);
        assert_eq!(checks.len(), 1);
        assert!(checks[0].passed);
    }

    #[test]
    fn echoed_credentials_fail_secret_echo() {
        let mut inv = Invariants::for_storyboard(&json!({})).unwrap();
        inv.add_secret("0123456789abcdef-secret");
        inv.add_secret("short-token"); // under 16 chars: never hunted
        let cases = [
            (json!({"debug": {"headers": {"Authorization": "[redacted]"}}}), "contains suspect property name \"Authorization\""),
            (json!({"msg": "sent with Bearer abcdefghij0123"}), "contains a bearer-token literal"),
            (json!({"list": ["x", "key=0123456789abcdef-secret"]}), "contains a caller-supplied secret value verbatim"),
        ];
        for (resp, hit) in cases {
            let checks = observe(&mut inv, json!({"id": "leaky"}), "get_products", resp, true);
            assert!(!checks[0].passed);
            assert_eq!(checks[0].error.as_deref(), Some(format!("step \"leaky\" response {hit}").as_str()));
        }
        let short = observe(&mut inv, json!({"id": "s"}), "get_products", json!({"v": "short-token"}), true);
        assert!(short[0].passed);
    }

    #[test]
    fn a_secret_under_a_redacted_key_is_not_seen() {
        // runner.js redacts `token`-shaped keys before assertions run.
        let mut inv = Invariants::for_storyboard(&json!({})).unwrap();
        inv.add_secret("0123456789abcdef-secret");
        let checks = observe(&mut inv, json!({"id": "s"}), "get_products", json!({"token": "0123456789abcdef-secret"}), true);
        assert!(checks[0].passed);
    }

    #[test]
    fn bearer_pattern_matches_like_javascript() {
        assert!(has_bearer_literal("Authorization: Bearer eyJhbGciOi.J9"));
        assert!(has_bearer_literal("BEARER\t\u{a0}abc/def+ghi="));
        assert!(!has_bearer_literal("xbearer abcdefghijkl"));
        assert!(has_bearer_literal("ébearer abcdefghijkl"), "JS \\b is ASCII-only");
        assert!(!has_bearer_literal("bearer abcdefghi"));
        assert!(!has_bearer_literal("bearerabcdefghijkl"));
        assert!(!has_bearer_literal("bearer"));
    }

    #[test]
    fn no_response_yields_nothing() {
        let mut inv = Invariants::for_storyboard(&json!({})).unwrap();
        let step = json!({"id": "w"});
        let checks = inv.observe(Observed { step: &step, task: "expect_webhook", request: &Value::Null, response: None, passed: true });
        assert!(checks.is_empty());
    }
}
