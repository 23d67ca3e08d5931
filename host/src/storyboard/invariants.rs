//! Cross-step invariants ("assertions") graded on every step of a storyboard
//! run, ported from the official runner (`@adcp/sdk` 6.11.0
//! `testing/storyboard/default-invariants.js`, `assertions.js`, and the
//! per-step loop in `runner.js` `executeStoryboardPass`).
//!
//! How the official runner applies them:
//! - All four ids below are registered `default: true`, so every storyboard
//!   gets all four unless its `invariants: { disable: [...] }` turns one off.
//!   The legacy array form (`invariants: [id, ...]`) only *adds* ids, so it
//!   changes nothing for these (assertions.js `resolveAssertions`).
//! - Unknown ids (in the array / `enable`), a `disable` naming a non-default
//!   id, unknown object keys, and bad step-level `invariants.disable` fail the
//!   run before the first step (assertions.js `validateStepInvariants`).
//! - After each executed step, each invariant (registration order, minus the
//!   step's own `invariants.disable`) sees the step result; every result it
//!   returns is appended to the step's `validations[]` as
//!   `{check: "assertion", description: "<id>: <description>"}` and a failing
//!   one sets the step's `passed` to false (runner.js: "that's what makes
//!   assertions gating, not advisory"), which later invariants of the same
//!   step then see.
//! - Steps the runner never executes (cascade skips) are not observed;
//!   steps without a response (skips, `expect_webhook`) yield nothing.

mod governance;
mod lifecycle;
mod resolve;
mod secrets;

use super::context::js::truthy_value as js_truthy;
use super::Check;
use serde_json::Value;

/// `idempotency.conflict_no_payload_leak`.
pub const CONFLICT_NO_PAYLOAD_LEAK: &str = "idempotency.conflict_no_payload_leak";
/// `context.no_secret_echo`.
pub const NO_SECRET_ECHO: &str = "context.no_secret_echo";
/// `governance.denial_blocks_mutation`.
pub const DENIAL_BLOCKS_MUTATION: &str = "governance.denial_blocks_mutation";
/// `status.monotonic`.
pub const STATUS_MONOTONIC: &str = "status.monotonic";

/// Every registered id, all default-on, in default-invariants.js registration
/// order (which is the order they run on a step and appear in `validations[]`).
pub const DEFAULT_IDS: [&str; 4] = [CONFLICT_NO_PAYLOAD_LEAK, NO_SECRET_ECHO, DENIAL_BLOCKS_MUTATION, STATUS_MONOTONIC];

/// The invariants of one storyboard run, with the state they carry across steps.
/// A `requires_scenarios` scenario is a run of its own (the official runner
/// resolves invariants per `runStoryboard` call), so it gets a fresh value.
#[derive(Debug, Clone)]
pub struct Invariants {
    enabled: Vec<&'static str>,
    secrets: Vec<String>,
    governance: governance::State,
    lifecycle: lifecycle::History,
}

/// One executed step as the invariants see it (runner.js `StoryboardStepResult`).
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    /// The storyboard step (its `id`, `expect_error` and `invariants.disable` are read).
    pub step: &'a Value,
    /// The task the step called (`step.task`).
    pub task: &'a str,
    /// The request payload sent (plan ids are read from it).
    pub request: &'a Value,
    /// The SDK's `taskResult.data`: an error result's structured content
    /// (carrying `adcp_error`), or a success's structured content plus
    /// `_message` (the joined text content); None when there was none.
    pub response: Option<&'a Value>,
    /// Whether the step passed so far: the (expect_error-inverted) call
    /// outcome and all its validations. NOT "the call returned an error".
    pub passed: bool,
}

/// What one invariant reports for a step (`AssertionResult` minus ids).
#[derive(Debug, Clone, PartialEq)]
struct Finding {
    passed: bool,
    description: String,
    error: Option<String>,
}

impl Finding {
    fn pass(description: &str) -> Self {
        Finding { passed: true, description: description.to_owned(), error: None }
    }

    fn fail(description: &str, error: String) -> Self {
        Finding { passed: false, description: description.to_owned(), error: Some(error) }
    }
}

/// The step fields the invariants read, after the runner's redaction.
struct StepView<'a> {
    step_id: &'a str,
    task: &'a str,
    expect_error: bool,
    passed: bool,
    request: Value,
    response: Option<Value>,
}

impl Invariants {
    /// Resolves the storyboard's `invariants:` key and validates every step's
    /// `invariants.disable`; an unknown or misplaced id is an error naming it.
    pub fn for_storyboard(storyboard: &Value) -> Result<Self, String> {
        let enabled = resolve::resolve(storyboard)?;
        Ok(Invariants { enabled, secrets: Vec::new(), governance: Default::default(), lifecycle: Default::default() })
    }

    /// The ids that run, in order.
    pub fn ids(&self) -> &[&'static str] {
        &self.enabled
    }

    /// Registers a caller credential for `context.no_secret_echo` to hunt
    /// verbatim (the runner's bearer token, basic password, OAuth tokens...).
    /// Values under 16 characters are ignored, as in default-invariants.js
    /// `addIfSecret` (so `demo-sales-v1` is never hunted).
    pub fn add_secret(&mut self, value: &str) {
        if value.chars().map(char::len_utf16).sum::<usize>() >= secrets::SECRET_MIN_LENGTH && !self.secrets.iter().any(|s| s == value) {
            self.secrets.push(value.to_owned());
        }
    }

    /// Grades one executed step; the result goes to the step's validations,
    /// and any failed check fails the step.
    pub fn observe(&mut self, seen: Observed<'_>) -> Vec<Check> {
        let mut view = StepView {
            step_id: seen.step.get("id").and_then(Value::as_str).unwrap_or_default(),
            task: seen.task,
            expect_error: seen.step.get("expect_error").is_some_and(js_truthy),
            passed: seen.passed,
            // runner.js records both through `redactSecrets` before assertions see them.
            request: redact_secrets(seen.request),
            response: seen.response.map(redact_secrets),
        };
        let mut out = Vec::new();
        for id in self.enabled.clone() {
            if step_disables(seen.step, id) {
                continue;
            }
            for f in self.run_one(id, &view) {
                if !f.passed {
                    view.passed = false;
                }
                out.push(Check {
                    check: "assertion".into(),
                    description: format!("{id}: {}", f.description),
                    passed: f.passed,
                    error: f.error,
                });
            }
        }
        out
    }

    /// How many distinct resources `status.monotonic` saw over the run (its
    /// storyboard-scoped `onEnd` record, always passing; 0 means "silent").
    pub fn observation_count(&self) -> usize {
        self.lifecycle.len()
    }

    fn run_one(&mut self, id: &str, view: &StepView<'_>) -> Vec<Finding> {
        match id {
            CONFLICT_NO_PAYLOAD_LEAK => secrets::conflict_no_payload_leak(view),
            NO_SECRET_ECHO => secrets::no_secret_echo(view, &self.secrets),
            DENIAL_BLOCKS_MUTATION => self.governance.observe(view),
            STATUS_MONOTONIC => self.lifecycle.observe(view),
            _ => Vec::new(),
        }
    }
}

/// `{code, details}` of the response's `adcp_error` (default-invariants.js `extractAdcpError`).
fn adcp_error(view: &StepView<'_>) -> Option<(String, serde_json::Map<String, Value>)> {
    let envelope = view.response.as_ref()?.get("adcp_error")?.as_object()?;
    let code = envelope.get("code")?.as_str()?;
    Some((code.to_owned(), envelope.clone()))
}

/// A non-empty string (default-invariants.js `asString`).
fn as_str(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Names both of the runner's secret patterns cover (utils/redact-secrets.js
/// `SECRET_KEY_PATTERN`, webhook-receiver.js `SECRET_HEADER_PATTERN`), ASCII case-insensitive.
pub(crate) const SECRET_NAMES: &[&str] = &[
    "authorization",
    "credential",
    "credentials",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "password",
    "secret",
    "client_secret",
    "client-secret",
    "refresh_token",
    "refresh-token",
    "access_token",
    "access-token",
    "bearer",
    "session_token",
    "session-token",
    "cookie",
    "set_cookie",
    "set-cookie",
];

/// What only `SECRET_KEY_PATTERN` adds: payload keys the runner redacts.
const SECRET_KEYS_ONLY: &[&str] = &["session_id", "session-id", "offering_token", "offering-token"];

/// A copy of `value` with string/number values under secret-shaped keys
/// replaced by `"[redacted]"`, at any depth up to 32 (utils/redact-secrets.js).
pub fn redact_secrets(value: &Value) -> Value {
    redact(value, 0)
}

fn redact(value: &Value, depth: usize) -> Value {
    if depth > 32 {
        return value.clone();
    }
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| redact(v, depth + 1)).collect()),
        Value::Object(map) => {
            let secret = |k: &str| {
                let k = k.to_ascii_lowercase();
                k.is_ascii() && (SECRET_NAMES.contains(&k.as_str()) || SECRET_KEYS_ONLY.contains(&k.as_str()))
            };
            let out = map.iter().map(|(k, v)| {
                let scalar = v.is_string() || v.is_number();
                (k.clone(), if scalar && secret(k) { Value::from("[redacted]") } else { redact(v, depth + 1) })
            });
            Value::Object(out.collect())
        }
        _ => value.clone(),
    }
}

/// Whether the step's `invariants.disable` names `id` (assertions.js `stepDisablesAssertion`).
fn step_disables(step: &Value, id: &str) -> bool {
    step.pointer("/invariants/disable").and_then(Value::as_array).is_some_and(|d| d.iter().any(|x| x == id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redaction_matches_the_runner_contract() {
        let v =
            json!({"Authorization": "Bearer x", "nested": [{"api-key": 12, "session_id": "s", "token": {"deep": "kept"}}], "ok": "kept"});
        let r = redact_secrets(&v);
        assert_eq!(
            r,
            json!({"Authorization": "[redacted]", "nested": [{"api-key": "[redacted]", "session_id": "[redacted]", "token": {"deep": "kept"}}], "ok": "kept"})
        );
    }

    #[test]
    fn short_secrets_are_ignored() {
        let mut inv = Invariants::for_storyboard(&json!({})).unwrap();
        inv.add_secret("demo-sales-v1");
        inv.add_secret("demo-acme-outdoor-v1");
        assert_eq!(inv.secrets, ["demo-acme-outdoor-v1"]);
    }
}
