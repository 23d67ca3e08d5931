//! Which deliveries a webhook step looks at (webhook-assertions.js
//! `buildFilter`, webhook-receiver.js `matchesFilter`).

use super::{Delivery, WebhookInputs};
use serde_json::{Map, Value};

/// Deliveries of one step's URL, optionally one operation, optionally with body fields.
#[derive(Debug, Clone, Default)]
pub(super) struct Filter {
    pub step_id: Option<String>,
    pub operation_id: Option<String>,
    pub body: Option<Map<String, Value>>,
}

impl Filter {
    /// Scoped to `triggered_by`'s URL (its step id, and its operation id once
    /// minted); an explicit `filter.operation_id` / `filter.body` (tokens
    /// resolved) overrides / narrows it.
    pub fn for_step(step: &Value, inputs: &WebhookInputs<'_>) -> Self {
        let mut f = Filter::default();
        if let Some(trigger) = step.get("triggered_by").and_then(Value::as_str).filter(|t| !t.is_empty()) {
            f.step_id = Some(trigger.to_owned());
            f.operation_id = (inputs.operation_id)(trigger);
        }
        if let Some(spec) = step.get("filter").filter(|v| v.is_object()) {
            let resolved = (inputs.inject)(spec);
            if let Some(op) = resolved.get("operation_id").and_then(Value::as_str) {
                f.operation_id = Some(op.to_owned());
            }
            if let Some(body) = resolved.get("body").and_then(Value::as_object) {
                f.body = Some(body.clone());
            }
        }
        f
    }

    /// Whether `d` passes every set criterion (empty strings do not filter, as in JS).
    pub fn matches(&self, d: &Delivery) -> bool {
        if self.step_id.as_deref().is_some_and(|s| !s.is_empty() && s != d.step_id) {
            return false;
        }
        if self.operation_id.as_deref().is_some_and(|o| !o.is_empty() && o != d.operation_id) {
            return false;
        }
        let Some(body) = self.body.as_ref().filter(|b| !b.is_empty()) else { return true };
        let Some(actual) = d.body.as_ref() else { return false };
        body.iter().all(|(path, expected)| dotted(actual, path).is_some_and(|a| js_deep_equal(a, expected)))
    }
}

/// `resolveDottedPath`: object keys, and canonical array indexes (JS property access).
fn dotted<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(root, |cursor, seg| match cursor {
        Value::Object(map) => map.get(seg),
        Value::Array(items) => seg.parse::<usize>().ok().filter(|i| i.to_string() == seg).and_then(|i| items.get(i)),
        _ => None,
    })
}

/// `deepEqual`: structural, numbers compared as JavaScript numbers (`5000 === 5000.0`).
fn js_deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| js_deep_equal(p, q)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| js_deep_equal(v, w))),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn delivery(step: &str, op: &str, body: Option<Value>) -> Delivery {
        Delivery { step_id: step.into(), operation_id: op.into(), body, ..Delivery::default() }
    }

    fn filter_for(step: Value, op_ids: &[(&str, &str)]) -> Filter {
        let op = |s: &str| op_ids.iter().find(|(k, _)| *k == s).map(|(_, v)| v.to_string());
        let prior = |_: &str| None;
        let inject = |v: &Value| v.clone();
        let inputs = WebhookInputs { deliveries: &[], operation_id: &op, prior_step: &prior, inject: &inject };
        Filter::for_step(&step, &inputs)
    }

    #[test]
    fn scoped_to_the_trigger_url() {
        let f = filter_for(json!({"triggered_by": "create"}), &[("create", "op-1")]);
        assert!(f.matches(&delivery("create", "op-1", None)));
        assert!(!f.matches(&delivery("create", "op-2", None)));
        assert!(!f.matches(&delivery("other", "op-1", None)));
        let unminted = filter_for(json!({"triggered_by": "create"}), &[]);
        assert!(unminted.matches(&delivery("create", "anything", None)));
    }

    #[test]
    fn explicit_filter_overrides_operation_and_matches_body_paths() {
        let step =
            json!({"triggered_by": "create", "filter": {"operation_id": "op-9", "body": {"result.status": "active", "list.0.n": 5}}});
        let f = filter_for(step, &[("create", "op-1")]);
        let body = json!({"result": {"status": "active"}, "list": [{"n": 5.0}]});
        assert!(f.matches(&delivery("create", "op-9", Some(body.clone()))));
        assert!(!f.matches(&delivery("create", "op-1", Some(body))));
        assert!(!f.matches(&delivery("create", "op-9", Some(json!({"result": {"status": "paused"}, "list": [{"n": 5}]})))));
        assert!(!f.matches(&delivery("create", "op-9", None)));
    }

    #[test]
    fn deep_equal_is_structural() {
        assert!(js_deep_equal(&json!({"a": [1, {"b": null}]}), &json!({"a": [1.0, {"b": null}]})));
        assert!(!js_deep_equal(&json!({"a": 1}), &json!({"a": 1, "b": 2})));
        assert!(!js_deep_equal(&json!("1"), &json!(1)));
        assert_eq!(dotted(&json!({"a": [10, 20]}), "a.01"), None);
    }
}
