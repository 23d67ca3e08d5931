//! The runner's webhook receiver and the `expect_webhook*` pseudo-steps
//! (official runner: webhook-receiver.js, webhook-assertions.js,
//! context.js `expandMustache`), for the `webhook_receiver_runner` contract.
//!
//! URLs: `{{runner.webhook_url:<step_id>}}` expands to
//! `<base>/step/<step_id>/<operation_id>`, the operation id a UUID v4 minted
//! once per step id per run (`stepOperationIds`) and reused by every later
//! expansion for that step and by `{{prior_step.<step_id>.operation_id}}`;
//! `{{runner.webhook_base}}` is the bare base. Only step ids matching
//! `[A-Za-z0-9_]+` expand. The receiver accepts POSTs to
//! `/step/<[A-Za-z0-9_]+>/<[A-Za-z0-9_-]+>[/]` only.
//!
//! Timing: the official runner waits for deliveries (`expect_webhook` with
//! `expect_max_deliveries_per_logical_event` waits the full
//! `timeout_seconds`, default 30, max 300; without it, until the first match;
//! `expect_webhook_retry_keys_stable` the full window, default 90). In-process
//! a guest only sends webhooks during its own request, so once the earlier
//! steps have returned nothing more can arrive: grade immediately on the
//! deliveries recorded so far (the official wait never sees deliveries of
//! later steps either, since it blocks the step loop).

mod filter;
mod grade;
mod receiver;

pub use receiver::{Delivery, Receiver};

use super::context::js::truthy_value as truthy;
use super::Check;
use filter::Filter;
use serde_json::Value;

/// The pseudo-tasks graded here (webhook-assertions.js `WEBHOOK_ASSERTION_TASKS`).
pub const WEBHOOK_TASKS: [&str; 3] = ["expect_webhook", "expect_webhook_retry_keys_stable", "expect_webhook_signature_valid"];

/// Test-kit contracts this runner satisfies: it always hosts a receiver
/// (like the official CLI with `--webhook-receiver`).
pub const CONTRACTS: [&str; 1] = ["webhook_receiver_runner"];

/// How an earlier step ended, as `priorStepResults` holds it (after invariants).
#[derive(Debug, Clone, Copy)]
pub struct PriorStep {
    /// The step's final pass/fail.
    pub passed: bool,
    /// Whether it was skipped.
    pub skipped: bool,
}

/// What grading a webhook step needs from the run.
pub struct WebhookInputs<'a> {
    /// Every delivery recorded so far (`Receiver::deliveries`).
    pub deliveries: &'a [Delivery],
    /// The operation id minted for a step's `{{runner.webhook_url:<id>}}`, if any.
    pub operation_id: &'a dyn Fn(&str) -> Option<String>,
    /// The latest result of an already-run step with this id.
    pub prior_step: &'a dyn Fn(&str) -> Option<PriorStep>,
    /// Resolves `$context.*`, `{{runner.*}}` and `{{prior_step.*}}` tokens (context.js `injectContext`).
    pub inject: &'a dyn Fn(&Value) -> Value,
}

/// The outcome of a webhook step.
#[derive(Debug, Clone)]
pub enum WebhookStep {
    /// Graded: the step passes iff `passed`; `checks` are its validations.
    Graded {
        /// Whether the step passed.
        passed: bool,
        /// The validations, one per outcome as in the official runner.
        checks: Vec<Check>,
    },
    /// Not graded: a skipped step (`passed: true, skipped: true`) with this `skip_reason`.
    Skipped {
        /// `unsatisfied_contract` or `prerequisite_failed`.
        reason: &'static str,
        /// The skip detail (also the step's `error`).
        detail: String,
    },
}

/// Grades an `expect_webhook*` step (webhook-assertions.js `executeWebhookAssertionStep`).
pub fn grade_expect_webhook(step: &Value, inputs: &WebhookInputs<'_>) -> WebhookStep {
    let task = step.get("task").and_then(Value::as_str).unwrap_or_default();
    if !WEBHOOK_TASKS.contains(&task) {
        return grade::failure(
            task,
            "Webhook assertion not supported by hostel's runner.",
            format!("unsupported webhook assertion task `{task}`"),
        );
    }
    if let Some(contract) = step.get("requires_contract").filter(|c| truthy(c)) {
        let name = contract.as_str().map_or_else(|| contract.to_string(), str::to_owned);
        if !CONTRACTS.contains(&name.as_str()) {
            let detail = format!("Test-kit contract \"{name}\" is not configured on this runner.");
            return WebhookStep::Skipped { reason: "unsatisfied_contract", detail };
        }
    }
    if let Some(trigger) = step.get("triggered_by").and_then(Value::as_str).filter(|t| !t.is_empty()) {
        if (inputs.prior_step)(trigger).is_some_and(|p| p.skipped || !p.passed) {
            let detail = format!("Triggering step \"{trigger}\" did not complete successfully.");
            return WebhookStep::Skipped { reason: "prerequisite_failed", detail };
        }
    }
    let filter = Filter::for_step(step, inputs);
    let matches: Vec<&Delivery> = inputs.deliveries.iter().filter(|d| filter.matches(d)).collect();
    match task {
        "expect_webhook" => grade::expect_webhook(step, &filter, &matches),
        "expect_webhook_retry_keys_stable" => grade::retry_keys_stable(step, &matches),
        // The official CLI never configures `webhook_signing`, so this always skips.
        _ => WebhookStep::Skipped {
            reason: "unsatisfied_contract",
            detail: "`expect_webhook_signature_valid` requires `webhook_signing` on runStoryboard options (pass a JwksResolver; replay + revocation stores default to in-memory).".into(),
        },
    }
}

/// Pre-arms retry-replay for every `expect_webhook_retry_keys_stable` step
/// (webhook-assertions.js `armWebhookAssertions`): call before the first step.
/// `operation_id` returns the triggering step's operation id, minting it
/// into the run's `stepOperationIds` if absent, so its URL matches the policy.
pub fn arm(storyboard: &Value, receiver: &Receiver, operation_id: &mut dyn FnMut(&str) -> String) {
    let phases = storyboard.get("phases").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let steps = phases.iter().flat_map(|p| p.get("steps").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default());
    for step in steps.filter(|s| s.get("task").is_some_and(|t| t == "expect_webhook_retry_keys_stable")) {
        let Some(trigger) = step.get("triggered_by").and_then(Value::as_str).filter(|t| !t.is_empty()) else { continue };
        let op = operation_id(trigger);
        let spec = step.get("retry_trigger");
        // `delivered < count` with integer deliveries: a fractional count rounds up.
        let count = spec.and_then(|s| s.get("count")).and_then(Value::as_f64).unwrap_or(3.0).clamp(1.0, 10.0).ceil() as u32;
        let status = spec.and_then(|s| s.get("http_status")).and_then(Value::as_f64).unwrap_or(503.0);
        let status = [429, 500, 502, 503, 504].into_iter().find(|s| f64::from(*s) == status).unwrap_or(503);
        receiver.set_retry_replay(trigger, &op, count, status);
    }
}

/// `<base>/step/<step_id>/<operation_id>`, the URL `{{runner.webhook_url:<step_id>}}` expands to.
pub fn step_url(base: &str, step_id: &str, operation_id: &str) -> String {
    format!("{base}/step/{step_id}/{operation_id}")
}

/// A fresh operation id (context.js mints `randomUUID()`).
pub fn mint_operation_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn urls_route_to_the_step_path() {
        let op = mint_operation_id();
        let url = step_url("http://127.0.0.1:9", "create_media_buy_initial", &op);
        let path = url.strip_prefix("http://127.0.0.1:9").unwrap();
        assert_eq!(receiver::parse_step_path(path), Some(("create_media_buy_initial".to_owned(), op)));
    }

    #[tokio::test]
    async fn arm_installs_clamped_retry_policies_for_the_trigger() {
        let rx = Receiver::start().await.unwrap();
        let sb = json!({"phases": [{"steps": [
            {"id": "create", "task": "create_media_buy"},
            {"id": "r", "task": "expect_webhook_retry_keys_stable", "triggered_by": "create", "retry_trigger": {"count": 50, "http_status": 418}}
        ]}]});
        let mut minted = Vec::new();
        arm(&sb, &rx, &mut |step: &str| {
            minted.push(step.to_owned());
            "op-1".to_owned()
        });
        assert_eq!(minted, ["create"]);
        let policy = rx.retry_policy("create", "op-1");
        assert_eq!(policy, Some((10, 503)), "count clamped to 10, disallowed status falls back to 503");
    }
}
