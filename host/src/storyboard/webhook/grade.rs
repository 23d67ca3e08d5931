//! Grading `expect_webhook` and `expect_webhook_retry_keys_stable` on the
//! matching deliveries (webhook-assertions.js `runExpectWebhook`,
//! `runExpectRetryKeysStable`), with the official messages.

use super::filter::Filter;
use super::{Delivery, WebhookStep};
use crate::storyboard::Check;
use serde_json::Value;

/// `^[A-Za-z0-9_.:-]{16,255}$` (types.js `WEBHOOK_IDEMPOTENCY_KEY_PATTERN`).
const KEY_PATTERN: &str = "^[A-Za-z0-9_.:-]{16,255}$";

/// expect_webhook: ≥1 match with a well-formed `idempotency_key`, and at most
/// `expect_max_deliveries_per_logical_event` distinct keys when that is set.
pub(super) fn expect_webhook(step: &Value, filter: &Filter, matches: &[&Delivery]) -> WebhookStep {
    let task = "expect_webhook";
    let cap = step.get("expect_max_deliveries_per_logical_event").and_then(Value::as_f64);
    // Without a cap the official runner stops at the first match.
    let matches = if cap.is_some() { matches } else { &matches[..matches.len().min(1)] };
    let Some(first) = matches.first() else {
        let ms = timeout_ms(step, 30.0);
        return single_failure(step, task, format!("No webhook matching filter arrived within {ms}ms."));
    };
    if let Some(err) = &first.parse_error {
        return single_failure(step, task, format!("Webhook body was not valid JSON: {err}"));
    }
    if step.get("expect_idempotency_key") != Some(&Value::Bool(false)) {
        if let Some(error) = idempotency_key_problem(first) {
            return failure(task, "Webhook conformance assertion failed.", error);
        }
    }
    if let Some(cap) = cap {
        let mut distinct: Vec<&str> = Vec::new();
        for key in matches.iter().filter_map(|d| idempotency_key(d)).filter(|k| !k.is_empty()) {
            if !distinct.contains(&key) {
                distinct.push(key);
            }
        }
        if distinct.len() as f64 > cap {
            let error = format!(
                "Observed {} distinct logical events in the window (idempotency_keys); expected ≤ {}.",
                distinct.len(),
                js_number(cap)
            );
            return single_failure(step, task, error);
        }
    }
    let at = filter.step_id.as_deref().unwrap_or("receiver");
    let check = Check {
        check: task.into(),
        description: format!("Webhook arrived at {at} with valid idempotency_key."),
        passed: true,
        error: None,
    };
    WebhookStep::Graded { passed: true, checks: vec![check] }
}

/// expect_webhook_retry_keys_stable: enough deliveries, every one carrying
/// the same well-formed `idempotency_key`.
pub(super) fn retry_keys_stable(step: &Value, matches: &[&Delivery]) -> WebhookStep {
    let task = "expect_webhook_retry_keys_stable";
    let min = step.get("expect_min_deliveries").and_then(Value::as_f64).unwrap_or(2.0);
    if (matches.len() as f64) < min {
        let error = format!(
            "Observed {} deliveries; expected at least {}. The sender may not be retrying on 5xx responses.",
            matches.len(),
            js_number(min)
        );
        return single_failure(step, task, error);
    }
    let keys: Vec<Option<&str>> = matches.iter().map(|d| idempotency_key(d)).collect();
    if let Some((d, _)) = matches.iter().zip(&keys).find(|(_, k)| k.is_none_or(str::is_empty)) {
        return single_failure(step, task, format!("Delivery {} carried no idempotency_key.", d.delivery_index));
    }
    if !keys.iter().all(|k| k.is_some_and(key_well_formed)) {
        let error = format!("One or more deliveries carried a malformed idempotency_key. Required pattern: {KEY_PATTERN}");
        return single_failure(step, task, error);
    }
    if keys.iter().any(|k| *k != keys[0]) {
        let error = "idempotency_key rotated across retries. Senders MUST reuse the first delivery's key for every retry of the same logical event.";
        return single_failure(step, task, error.into());
    }
    let description = format!("{} deliveries observed; all carried byte-identical idempotency_key.", matches.len());
    WebhookStep::Graded { passed: true, checks: vec![Check { check: task.into(), description, passed: true, error: None }] }
}

/// The body's `idempotency_key` when the body is an object and the key a string.
fn idempotency_key(d: &Delivery) -> Option<&str> {
    d.body.as_ref()?.as_object()?.get("idempotency_key")?.as_str()
}

/// Why the first delivery's key is unacceptable (webhook-assertions.js `assertIdempotencyKey`).
fn idempotency_key_problem(d: &Delivery) -> Option<String> {
    let Some(body) = d.body.as_ref().and_then(Value::as_object) else { return Some("Webhook body was not a JSON object.".into()) };
    match body.get("idempotency_key").and_then(Value::as_str) {
        None | Some("") => Some("Webhook body is missing a non-empty `idempotency_key` — required by AdCP 3.0.".into()),
        Some(key) if !key_well_formed(key) => Some(format!("idempotency_key \"{key}\" does not match required pattern {KEY_PATTERN}.")),
        Some(_) => None,
    }
}

fn key_well_formed(key: &str) -> bool {
    (16..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b))
}

/// `clampTimeoutSeconds(step.timeout_seconds, fallback) * 1000`.
fn timeout_ms(step: &Value, fallback: f64) -> String {
    let raw = step.get("timeout_seconds").and_then(Value::as_f64).filter(|t| *t > 0.0).unwrap_or(fallback);
    js_number(raw.min(300.0) * 1000.0)
}

/// A number as JavaScript prints it (integers without `.0`).
fn js_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e21 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// webhook-assertions.js `singleFailure`: described by the step's `expected` (else title).
fn single_failure(step: &Value, task: &str, error: String) -> WebhookStep {
    let present = |k: &str| step.get(k).filter(|v| !v.is_null());
    let description = present("expected").or_else(|| present("title")).and_then(Value::as_str).unwrap_or_default();
    failure(task, description, error)
}

pub(super) fn failure(task: &str, description: &str, error: String) -> WebhookStep {
    let check = Check { check: task.into(), description: description.into(), passed: false, error: Some(error) };
    WebhookStep::Graded { passed: false, checks: vec![check] }
}

#[cfg(test)]
mod tests {
    use super::super::{grade_expect_webhook, Delivery, PriorStep, WebhookInputs, WebhookStep};
    use serde_json::{json, Value};

    fn hook(op: &str, index: u32, body: Value) -> Delivery {
        Delivery { step_id: "create".into(), operation_id: op.into(), delivery_index: index, body: Some(body), ..Delivery::default() }
    }

    fn grade(step: Value, deliveries: &[Delivery], prior: Option<PriorStep>) -> WebhookStep {
        let op = |s: &str| (s == "create").then(|| "op-1".to_owned());
        let prior = move |_: &str| prior;
        let inject = |v: &Value| v.clone();
        grade_expect_webhook(&step, &WebhookInputs { deliveries, operation_id: &op, prior_step: &prior, inject: &inject })
    }

    fn verdict(w: &WebhookStep) -> (bool, String, String) {
        match w {
            WebhookStep::Graded { passed, checks } => (*passed, checks[0].description.clone(), checks[0].error.clone().unwrap_or_default()),
            WebhookStep::Skipped { reason, detail } => panic!("skipped {reason}: {detail}"),
        }
    }

    fn replay_step() -> Value {
        json!({"id": "no_dup", "task": "expect_webhook", "triggered_by": "create", "timeout_seconds": 30,
               "expect_max_deliveries_per_logical_event": 1, "requires_contract": "webhook_receiver_runner", "expected": "At most one."})
    }

    #[test]
    fn one_logical_event_passes() {
        let key = json!({"idempotency_key": "whk_create_media_buy_mb_000013"});
        let ds = [hook("op-1", 1, key.clone()), hook("op-1", 2, key), hook("op-2", 1, json!({"idempotency_key": "another-key-0000000"}))];
        let (passed, description, _) = verdict(&grade(replay_step(), &ds, Some(PriorStep { passed: true, skipped: false })));
        assert!(passed);
        assert_eq!(description, "Webhook arrived at create with valid idempotency_key.");
    }

    #[test]
    fn re_executed_replay_fails_as_duplicate() {
        let ds = [
            hook("op-1", 1, json!({"idempotency_key": "key-one-0000000000"})),
            hook("op-1", 2, json!({"idempotency_key": "key-two-0000000000"})),
        ];
        let (passed, description, error) = verdict(&grade(replay_step(), &ds, None));
        assert!(!passed);
        assert_eq!(description, "At most one.");
        assert_eq!(error, "Observed 2 distinct logical events in the window (idempotency_keys); expected ≤ 1.");
    }

    #[test]
    fn missing_or_bad_deliveries_fail() {
        let (_, _, error) = verdict(&grade(replay_step(), &[hook("op-2", 1, json!({}))], None));
        assert_eq!(error, "No webhook matching filter arrived within 30000ms.");
        let (_, description, error) = verdict(&grade(replay_step(), &[hook("op-1", 1, json!({"idempotency_key": "short"}))], None));
        assert_eq!(description, "Webhook conformance assertion failed.");
        assert_eq!(error, "idempotency_key \"short\" does not match required pattern ^[A-Za-z0-9_.:-]{16,255}$.");
        let (_, _, error) = verdict(&grade(replay_step(), &[hook("op-1", 1, json!({"idempotency_key": ""}))], None));
        assert_eq!(error, "Webhook body is missing a non-empty `idempotency_key` — required by AdCP 3.0.");
        let mut unparsed = hook("op-1", 1, Value::Null);
        (unparsed.body, unparsed.parse_error) = (None, Some("expected value".into()));
        assert_eq!(verdict(&grade(replay_step(), &[unparsed], None)).2, "Webhook body was not valid JSON: expected value");
        let no_key_check = json!({"task": "expect_webhook", "triggered_by": "create", "expect_idempotency_key": false});
        assert!(verdict(&grade(no_key_check, &[hook("op-1", 1, json!([1]))], None)).0);
    }

    #[test]
    fn skips_like_the_official_runner() {
        let failed = Some(PriorStep { passed: false, skipped: false });
        match grade(replay_step(), &[], failed) {
            WebhookStep::Skipped { reason, detail } => {
                assert_eq!(reason, "prerequisite_failed");
                assert_eq!(detail, "Triggering step \"create\" did not complete successfully.");
            }
            other => panic!("{other:?}"),
        }
        let other_contract = json!({"task": "expect_webhook", "requires_contract": "signed_requests_runner"});
        assert!(matches!(grade(other_contract, &[], None), WebhookStep::Skipped { reason: "unsatisfied_contract", .. }));
        let signature = json!({"task": "expect_webhook_signature_valid", "triggered_by": "create"});
        assert!(matches!(grade(signature, &[], None), WebhookStep::Skipped { reason: "unsatisfied_contract", .. }));
        assert!(!verdict(&grade(json!({"task": "expect_webhook_soon"}), &[], None)).0);
    }

    #[test]
    fn retry_keys_must_be_stable() {
        let step = json!({"task": "expect_webhook_retry_keys_stable", "triggered_by": "create", "title": "Retries reuse the key"});
        let same = json!({"idempotency_key": "stable-key-0000000"});
        let (passed, description, _) = verdict(&grade(step.clone(), &[hook("op-1", 1, same.clone()), hook("op-1", 2, same.clone())], None));
        assert!(passed);
        assert_eq!(description, "2 deliveries observed; all carried byte-identical idempotency_key.");
        let (_, _, error) = verdict(&grade(step.clone(), &[hook("op-1", 1, same.clone())], None));
        assert_eq!(error, "Observed 1 deliveries; expected at least 2. The sender may not be retrying on 5xx responses.");
        let rotated = [hook("op-1", 1, same), hook("op-1", 2, json!({"idempotency_key": "rotated-key-000000"}))];
        assert!(verdict(&grade(step.clone(), &rotated, None)).2.starts_with("idempotency_key rotated across retries."));
        let keyless = [hook("op-1", 1, json!({"idempotency_key": "stable-key-0000000"})), hook("op-1", 2, json!({}))];
        assert_eq!(verdict(&grade(step, &keyless, None)).2, "Delivery 2 carried no idempotency_key.");
    }
}
