//! The run's context: a port of the official runner's context.js (`injectContext`, alias cache,
//! runner variables, `applyContextOutputsWithProvenance`) and of the parts of runner.js
//! `executeStep` that read and write it (`@adcp/sdk` 6.11.0).

use self::js::{strip_undefined, undefined};
use crate::storyboard::Check;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

mod extract;
pub(crate) mod js;

pub use self::extract::{extract_context, CaptureFailure, Extracted};

/// The accumulated context of one storyboard run.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// Keys with a value.
    values: Map<String, Value>,
    /// Keys present with the JavaScript value `undefined` (see [`Extracted`]).
    undefined_keys: BTreeSet<String>,
    /// context.js alias cache: `$generate:uuid_v4#<alias>` and `generate:` outputs, shared per run.
    /// Interior mutability: minting happens while injecting, which validations do through a
    /// shared reference (`&dyn Fn(&Value) -> Value`).
    aliases: RefCell<BTreeMap<String, String>>,
    /// Base URL of the runner's webhook receiver (`{{runner.webhook_base}}`), if any.
    webhook_base: Option<String>,
    /// context.js `runnerVars.stepOperationIds`: the operation id minted per step id.
    step_operation_ids: RefCell<BTreeMap<String, String>>,
}

/// How a key stands in the context, in JavaScript terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Slot<'a> {
    /// `!(key in context)`.
    Missing,
    /// `key in context` but the value is `undefined`.
    Undefined,
    /// A value (possibly `null`).
    Value(&'a Value),
}

impl Context {
    /// An empty context. `webhook_base` is the runner's webhook receiver base URL
    /// (e.g. `http://127.0.0.1:PORT`, no trailing slash); None = no receiver, so
    /// `{{runner.webhook_*}}` tokens stay literal, as in the official runner.
    pub fn new(webhook_base: Option<String>) -> Self {
        Self { webhook_base, ..Self::default() }
    }

    /// The value of `key`; None when absent or `undefined`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.values.get(key)
    }

    /// Set `key` (what `Object.assign(context, { key: v })` does).
    pub fn set(&mut self, key: &str, v: Value) {
        self.undefined_keys.remove(key);
        self.values.insert(key.to_string(), v);
    }

    /// Store JavaScript `undefined` under `key` (the key exists but has no value).
    pub(crate) fn set_undefined(&mut self, key: &str) {
        self.values.remove(key);
        self.undefined_keys.insert(key.to_string());
    }

    /// JavaScript `key in context` (true also for keys holding `undefined`).
    pub fn contains(&self, key: &str) -> bool {
        self.values.contains_key(key) || self.undefined_keys.contains(key)
    }

    /// The key's standing, distinguishing absent from `undefined`.
    pub(crate) fn slot(&self, key: &str) -> Slot<'_> {
        match self.values.get(key) {
            Some(v) => Slot::Value(v),
            None if self.undefined_keys.contains(key) => Slot::Undefined,
            None => Slot::Missing,
        }
    }

    /// All keys that have a value (for reports; `undefined` keys are left out, as JSON would).
    pub fn values(&self) -> &Map<String, Value> {
        &self.values
    }

    /// The operation id minted for `step_id` by `{{runner.webhook_url:<step_id>}}`, if any
    /// (what `{{prior_step.<step_id>.operation_id}}` expands to).
    pub fn step_operation_id(&self, step_id: &str) -> Option<String> {
        self.step_operation_ids.borrow().get(step_id).cloned()
    }

    /// Get or mint the operation id of `step_id` (webhook-assertions.js pre-mints these for
    /// `expect_webhook_retry_keys_stable` steps so the URL the agent receives matches).
    pub fn ensure_step_operation_id(&self, step_id: &str) -> String {
        self.step_operation_ids.borrow_mut().entry(step_id.to_string()).or_insert_with(|| uuid::Uuid::new_v4().to_string()).clone()
    }

    /// [`Context::capture_outputs`] with its outcome as graded validations: one failed
    /// `capture_path_not_resolvable` check per unresolvable path (runner.js appends these to the
    /// step's validations, failing it), or one failed `context_outputs` check naming what this
    /// runner cannot do.
    pub fn apply_outputs(&mut self, step: &Value, data: Option<&Value>) -> Vec<Check> {
        match self.capture_outputs(step, data) {
            Ok(failures) => failures.iter().map(CaptureFailure::to_check).collect(),
            Err(e) => vec![Check {
                check: "context_outputs".into(),
                description: "context_outputs capture".into(),
                passed: false,
                error: Some(e),
            }],
        }
    }

    /// Substitute placeholders anywhere in `v`, as context.js `injectContext(v, context, runnerVars)`:
    /// - `{{runner.webhook_base}}`, `{{runner.webhook_url:<step>}}` (→ `<base>/step/<step>/<operation
    ///   id>`, one id per step id per run), `{{prior_step.<step>.operation_id}}` expand inside
    ///   strings; unknown tokens, and all of them when there is no webhook receiver, stay literal;
    /// - a whole-string `$context.<key>` (key of `[A-Za-z0-9_]`) becomes the context value; when the
    ///   key is absent the string stays as is (runner.js then skips the step, see
    ///   [`find_unresolved_context_vars`]); when the key holds `undefined` the member disappears
    ///   (an array item becomes `null`);
    /// - a whole-string `$generate:uuid_v4` / `$generate:opaque_id` becomes a fresh UUID v4, and with
    ///   `#<alias>` the same UUID for the whole run.
    ///
    /// `step_id` is not used by the substitution (the webhook token names its own step); it is kept
    /// so callers name the step whose request is being built.
    ///
    /// Divergence: object members are visited in key order (serde_json without `preserve_order`),
    /// JavaScript visits them in authoring order. This only shows if one request both mints a step's
    /// operation id and reads it back with `{{prior_step.<step>.operation_id}}`.
    pub fn inject(&self, v: &Value, step_id: &str) -> Value {
        let _ = step_id;
        strip_undefined(self.inject_raw(v, true))
    }

    /// [`Context::inject`] without the final `JSON.stringify` pass: members whose `$context.<key>`
    /// is `undefined` keep the `js::UNDEFINED` marker. `runner_vars = false` is context.js called
    /// without `runnerVars` (as several request enrichers do): mustache tokens stay literal.
    pub(crate) fn inject_raw(&self, v: &Value, runner_vars: bool) -> Value {
        match v {
            Value::String(s) => self.replace_string(s, runner_vars),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.inject_raw(i, runner_vars)).collect()),
            Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), self.inject_raw(v, runner_vars))).collect()),
            other => other.clone(),
        }
    }

    fn replace_string(&self, s: &str, runner_vars: bool) -> Value {
        let expanded = if runner_vars { self.expand_mustache(s) } else { s.to_string() };
        if let Some(key) = context_ref(&expanded) {
            return match self.slot(key) {
                Slot::Value(v) => v.clone(),
                Slot::Undefined => undefined(),
                Slot::Missing => Value::String(expanded),
            };
        }
        if let Some(alias) = generate_ref(&expanded) {
            return Value::String(match alias {
                Some(alias) => self.alias(alias),
                None => uuid::Uuid::new_v4().to_string(),
            });
        }
        Value::String(expanded)
    }

    /// The run-wide UUID for a `$generate` alias (or `generate:` output key), minted on first use.
    pub(crate) fn alias(&self, alias: &str) -> String {
        self.aliases.borrow_mut().entry(alias.to_string()).or_insert_with(|| uuid::Uuid::new_v4().to_string()).clone()
    }

    /// context.js `expandMustache`: every `{{(runner|prior_step).<non-brace>+}}` token.
    fn expand_mustache(&self, input: &str) -> String {
        let mut out = String::new();
        let mut rest = input;
        while let Some(start) = rest.find("{{") {
            let body = &rest[start + 2..];
            let len = body.find(['{', '}']).unwrap_or(body.len());
            let inner = &body[..len];
            let is_token = (inner.starts_with("runner.") && inner.len() > 7 || inner.starts_with("prior_step.") && inner.len() > 11)
                && body[len..].starts_with("}}");
            if !is_token {
                // Not a token here; the regex would retry one character later.
                out.push_str(&rest[..start + 1]);
                rest = &rest[start + 1..];
                continue;
            }
            out.push_str(&rest[..start]);
            match self.expand_token(inner) {
                Some(value) => out.push_str(&value),
                None => out.push_str(&rest[start..start + 4 + len]),
            }
            rest = &body[len + 2..];
        }
        out.push_str(rest);
        out
    }

    /// One mustache token's expansion, or None to leave it in place.
    fn expand_token(&self, inner: &str) -> Option<String> {
        if inner == "runner.webhook_base" {
            return self.webhook_base.clone();
        }
        if let Some(step) = inner.strip_prefix("runner.webhook_url:").filter(|s| is_word(s)) {
            let base = self.webhook_base.clone().filter(|b| !b.is_empty())?;
            let op = self.ensure_step_operation_id(step);
            return Some(format!("{base}/step/{step}/{op}"));
        }
        let step = inner.strip_prefix("prior_step.")?.strip_suffix(".operation_id").filter(|s| is_word(s))?;
        self.step_operation_ids.borrow().get(step).cloned()
    }
}

/// `[A-Za-z0-9_]+` (JavaScript `\w` without the `u` flag).
fn is_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `/^\$context\.(\w+)$/`: the key of a whole-string context reference.
fn context_ref(s: &str) -> Option<&str> {
    s.strip_prefix("$context.").filter(|k| is_word(k))
}

/// `/^\$generate:(uuid_v4|opaque_id)(?:#([A-Za-z0-9_.-]+))?$/`: Some(alias or None) on a match.
fn generate_ref(s: &str) -> Option<Option<&str>> {
    let rest = s.strip_prefix("$generate:")?;
    let (kind, alias) = match rest.split_once('#') {
        Some((kind, alias)) => (kind, Some(alias)),
        None => (rest, None),
    };
    let alias_ok = alias.is_none_or(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)));
    (matches!(kind, "uuid_v4" | "opaque_id") && alias_ok).then_some(alias)
}

/// An unresolved `$context.<key>` left in a request (runner.js `findUnresolvedContextVars`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnresolvedVar {
    /// The context key.
    pub key: String,
    /// The whole token, e.g. `$context.media_buy_id`.
    pub token: String,
}

/// runner.js `findUnresolvedContextVars`: every whole-string `$context.<key>` still in `request`.
/// When any remain and the step is not `expect_error`, the runner does not send the request: the
/// step is skipped (`skip_reason: prerequisite_failed`, `passed: false`) with one
/// `unresolved_substitution` validation per distinct token, described as
/// `request token "<token>" did not resolve — prior step did not populate context.<key>`.
pub fn find_unresolved_context_vars(request: &Value) -> Vec<UnresolvedVar> {
    let mut out = Vec::new();
    collect_unresolved(request, &mut out);
    out
}

fn collect_unresolved(v: &Value, out: &mut Vec<UnresolvedVar>) {
    match v {
        Value::String(s) => {
            if let Some(key) = context_ref(s) {
                out.push(UnresolvedVar { key: key.to_string(), token: s.clone() });
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_unresolved(i, out)),
        Value::Object(m) => m.values().for_each(|i| collect_unresolved(i, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn is_uuid(v: &Value) -> bool {
        v.as_str().and_then(|s| uuid::Uuid::parse_str(s).ok()).is_some_and(|u| u.get_version_num() == 4)
    }

    #[test]
    fn context_refs_resolve_stay_literal_or_vanish() {
        let mut ctx = Context::new(None);
        ctx.set("media_buy_id", json!("mb_1"));
        ctx.set_undefined("account_id");
        let got = ctx.inject(
            &json!({"a": "$context.media_buy_id", "b": "$context.missing", "c": "$context.account_id",
            "d": ["$context.account_id"], "e": "x $context.media_buy_id", "f": "$context.media_buy_id.x"}),
            "s",
        );
        assert_eq!(
            got,
            json!({"a": "mb_1", "b": "$context.missing", "d": [null], "e": "x $context.media_buy_id", "f": "$context.media_buy_id.x"})
        );
        let unresolved = find_unresolved_context_vars(&got);
        assert_eq!(unresolved, vec![UnresolvedVar { key: "missing".into(), token: "$context.missing".into() }]);
    }

    #[test]
    fn generate_aliases_are_shared_per_run() {
        let ctx = Context::new(None);
        let a = ctx
            .inject(&json!(["$generate:uuid_v4#k", "$generate:opaque_id#k", "$generate:uuid_v4", "$generate:uuid_v4", "$generate:x"]), "s");
        assert!(is_uuid(&a[0]) && is_uuid(&a[2]) && is_uuid(&a[3]));
        assert_eq!(a[0], a[1]);
        assert_ne!(a[2], a[3]);
        assert_eq!(a[4], json!("$generate:x"));
        let again = ctx.inject(&json!("$generate:uuid_v4#k"), "later");
        assert_eq!(again, a[0]);
    }

    #[test]
    fn runner_tokens_expand_only_with_a_receiver() {
        let step = json!({"url": "{{runner.webhook_url:create_media_buy_initial}}", "b": "{{runner.webhook_base}}/x",
            "u": "{{runner.nope}} {{other.x}}"});
        let none = Context::new(None);
        assert_eq!(none.inject(&step, "s"), step);
        let ctx = Context::new(Some("http://127.0.0.1:41691".into()));
        let got = ctx.inject(&step, "s");
        let op = ctx.step_operation_id("create_media_buy_initial").unwrap_or_default();
        assert!(is_uuid(&json!(op)));
        assert_eq!(got["url"], json!(format!("http://127.0.0.1:41691/step/create_media_buy_initial/{op}")));
        assert_eq!(got["b"], json!("http://127.0.0.1:41691/x"));
        assert_eq!(ctx.inject(&json!("{{prior_step.create_media_buy_initial.operation_id}}"), "s2"), json!(op));
        assert_eq!(ctx.inject(&json!("{{prior_step.other.operation_id}}"), "s2"), json!("{{prior_step.other.operation_id}}"));
        assert_eq!(got["u"], json!("{{runner.nope}} {{other.x}}"));
        // The same step id keeps its operation id for the whole run (replay sends the same URL).
        assert_eq!(ctx.inject(&json!("{{runner.webhook_url:create_media_buy_initial}}"), "replay"), got["url"]);
        assert_eq!(ctx.inject(&json!("{{{runner.webhook_base}}}"), "s"), json!("{http://127.0.0.1:41691}"));
    }

    #[test]
    fn set_clears_undefined_and_contains_follows_in() {
        let mut ctx = Context::new(None);
        ctx.set_undefined("k");
        assert!(ctx.contains("k") && ctx.get("k").is_none() && ctx.slot("k") == Slot::Undefined);
        ctx.set("k", json!(null));
        assert_eq!(ctx.slot("k"), Slot::Value(&Value::Null));
        assert_eq!(ctx.slot("other"), Slot::Missing);
    }

    #[test]
    fn absorb_runs_convention_then_outputs() {
        let mut ctx = Context::new(None);
        ctx.set("account_id", json!("old"));
        let step = json!({"id": "s", "context_outputs": [
            {"name": "product_format_id", "path": "products[0].format_ids[0]"},
            {"key": "missing", "path": "products[0].nope"},
            {"key": "blank", "path": "products[0].empty"},
            {"key": "gen", "generate": "uuid_v4"},
            {"key": "whole", "path": ""}]});
        let data = json!({"products": [{"product_id": "p1", "format_ids": [{"agent_url": "https://a", "id": "f"}], "empty": ""}]});
        let failures = ctx.absorb("get_products", &step, &data).unwrap_or_default();
        assert_eq!(ctx.get("product_id"), Some(&json!("p1")));
        assert_eq!(ctx.get("product_format_id"), Some(&json!({"agent_url": "https://a", "id": "f"})));
        assert_eq!(failures.iter().map(|f| f.key.as_str()).collect::<Vec<_>>(), ["missing", "blank"]);
        assert_eq!(failures[1].resolved, Some(json!("")));
        assert_eq!(failures[0].to_check().check, "capture_path_not_resolvable");
        assert_eq!(ctx.inject(&json!("$generate:uuid_v4#gen"), "next"), ctx.get("gen").cloned().unwrap_or_default());
        assert!(!ctx.contains("whole"));
        // list_accounts without ids shadows the earlier value with `undefined`.
        let _ = ctx.absorb("list_accounts", &json!({}), &json!({"accounts": [{"name": "x"}]}));
        assert!(ctx.contains("account_id") && ctx.get("account_id").is_none());
    }

    #[test]
    fn failed_steps_skip_convention_but_still_capture() {
        let mut ctx = Context::new(None);
        let step = json!({"id": "s", "context_outputs": [{"key": "mb", "path": "media_buy_id"}, {"key": "g", "generate": "opaque_id"}]});
        let failures = ctx.absorb_step("create_media_buy", &step, Some(&json!({"media_buy_id": "mb_9", "status": "active"})), false);
        assert_eq!(failures, Ok(vec![]));
        assert_eq!(ctx.get("mb"), Some(&json!("mb_9")));
        assert!(ctx.get("media_buy_id").is_none() && ctx.get("g").is_some());
        let none = ctx.absorb_step("create_media_buy", &step, None, false).unwrap_or_default();
        assert_eq!(none.len(), 1);
        let polled = json!({"context_outputs": [{"key": "k", "path": "task_completion.media_buy_id"}]});
        assert!(ctx.absorb("create_media_buy", &polled, &json!({"status": "submitted", "task_id": "t1"})).is_err());
        assert!(ctx.absorb("create_media_buy", &polled, &json!({"media_buy_id": "mb_2"})).is_ok_and(|f| f.is_empty()));
        assert_eq!(ctx.get("k"), Some(&json!("mb_2")));
    }

    #[test]
    fn apply_outputs_grades_capture_failures() {
        let mut ctx = Context::new(None);
        let step = json!({"id": "s", "context_outputs": [{"key": "k", "path": "a.b"}]});
        let checks = ctx.apply_outputs(&step, Some(&json!({"a": {"b": null}})));
        assert_eq!(checks.len(), 1);
        assert!(!checks[0].passed && checks[0].check == "capture_path_not_resolvable");
        assert!(ctx.apply_outputs(&json!({"context_outputs": [{"key": "k"}]}), None)[0].error.is_some());
    }
}
