//! What runner.js `executeStep` does to a built request before dispatch (`applyBrandInvariant`,
//! `applyDisableSandboxHint`, `applyIdempotencyInvariant`), and what the transport adds on the way
//! to the agent (`@adcp/sdk` 6.11.0).

use super::enrich::{resolve_account, resolve_brand};
use super::RequestOptions;
use crate::storyboard::context::js::{defined, spread};
use crate::storyboard::outcome::{dispatch_for, Dispatch, MUTATING_TASKS};
use serde_json::{json, Map, Value};

/// Tasks whose 3.0 request schema is closed (`additionalProperties: false`) without `brand`
/// (schema-loader.js `schemaAllowsTopLevelField`); the brand invariant must not add one.
const NO_TOP_LEVEL_BRAND: [&str; 11] = [
    "check_governance",
    "delete_collection_list",
    "delete_property_list",
    "get_collection_list",
    "get_plan_audit_logs",
    "get_property_list",
    "list_collection_lists",
    "list_property_lists",
    "report_plan_outcome",
    "sync_plans",
    "validate_property_delivery",
];

/// Likewise without `account`.
const NO_TOP_LEVEL_ACCOUNT: [&str; 4] = ["check_governance", "get_plan_audit_logs", "report_plan_outcome", "sync_plans"];

/// runner.js `applyBrandInvariant` (called only when `options.brand` is set): stamp the run's brand
/// at top level, merge it into a natural-key `account` (defaulting `operator` to the brand domain),
/// or add `resolveAccount(options)` when there is no `account`, as far as the tool's schema allows.
pub(crate) fn apply_brand_invariant(request: &mut Map<String, Value>, task: &str, opts: &RequestOptions) {
    let brand = resolve_brand(opts);
    let had_account = request.contains_key("account");
    if !NO_TOP_LEVEL_BRAND.contains(&task) {
        request.insert("brand".into(), brand.clone());
    }
    if had_account {
        let Some(Value::Object(acct)) = request.get("account").filter(|a| defined(Some(a)).is_some()) else {
            return;
        };
        if !(acct.contains_key("brand") || acct.contains_key("operator")) {
            return;
        }
        let mut merged = acct.clone();
        merged.insert("brand".into(), brand.clone());
        let domain = brand.get("domain").filter(|d| d.is_string());
        if !defined(merged.get("operator")).is_some_and(Value::is_string) {
            if let Some(d) = domain {
                merged.insert("operator".into(), d.clone());
            }
        }
        request.insert("account".into(), Value::Object(merged));
    } else if !NO_TOP_LEVEL_ACCOUNT.contains(&task) {
        request.insert("account".into(), resolve_account(opts));
    }
}

/// runner.js `applyDisableSandboxHint`: `ext.adcp.disable_sandbox: true`, keeping other `ext` members
/// (every 3.0 request schema allows `ext`).
pub(crate) fn apply_disable_sandbox_hint(request: &mut Map<String, Value>) {
    let mut ext = spread(request.get("ext"));
    let mut adcp = spread(ext.get("adcp"));
    adcp.insert("disable_sandbox".into(), json!(true));
    ext.insert("adcp".into(), Value::Object(adcp));
    request.insert("ext".into(), Value::Object(ext));
}

/// runner.js `applyIdempotencyInvariant`: mutating tasks get a fresh UUID v4 key unless the step
/// tests the missing-key path (`omit_idempotency_key: true`) or a non-empty string key is present
/// (e.g. a resolved `$generate:uuid_v4#alias`; a non-string key is replaced).
pub(crate) fn apply_idempotency_invariant(request: &mut Map<String, Value>, task: &str, step: &Value) {
    if step.get("omit_idempotency_key") == Some(&Value::Bool(true)) || !MUTATING_TASKS.contains(&task) {
        return;
    }
    if defined(request.get("idempotency_key")).and_then(Value::as_str).is_some_and(|k| !k.is_empty()) {
        return;
    }
    request.insert("idempotency_key".into(), Value::String(uuid::Uuid::new_v4().to_string()));
}

/// The `tools/call` arguments that actually reach the agent for a built `request`: the SDK client
/// (protocols/index.js `applyVersionEnvelope`, 3.0 pin) prepends `adcp_major_version: 3` unless the
/// request sets its own (error-compliance sends `99` on purpose); the raw probe path adds nothing.
pub fn wire_arguments(task: &str, step: &Value, request: &Value) -> Value {
    let Value::Object(m) = request else {
        return request.clone();
    };
    let mut out = m.clone();
    if dispatch_for(task, step) == Dispatch::Sdk && !out.contains_key("adcp_major_version") {
        out.insert("adcp_major_version".into(), json!(3));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storyboard::context::Context;
    use crate::storyboard::request::{build_request, resolve_task_name};

    fn cli_opts() -> RequestOptions {
        RequestOptions::new(&json!({}), None)
    }

    #[test]
    fn brand_invariant_applies_only_with_an_explicit_brand() {
        let opts = RequestOptions { brand: Some(json!({"domain": "acme.example"})), ..cli_opts() };
        let mut ctx = Context::new(None);
        let step = json!({"id": "s", "sample_request": {"account": {"brand": {"domain": "x"}, "sandbox": true}}});
        let got = build_request("list_creatives", &step, &mut ctx, &opts).unwrap_or_default();
        assert_eq!(
            got,
            json!({"brand": {"domain": "acme.example"},
            "account": {"brand": {"domain": "acme.example"}, "operator": "acme.example", "sandbox": true}})
        );
        let plans = build_request("sync_plans", &json!({"id": "p", "sample_request": {"plans": []}}), &mut ctx, &opts).unwrap_or_default();
        assert!(plans.get("brand").is_none() && plans.get("account").is_none());
        let task = resolve_task_name(&json!({"task": "$test_kit.auth.probe_task", "task_default": "list_creatives"}), &opts);
        assert_eq!(task.as_deref(), Some("list_creatives"));
    }

    #[test]
    fn idempotency_key_minted_only_where_required() {
        let mut req = Map::new();
        apply_idempotency_invariant(&mut req, "get_products", &json!({}));
        assert!(req.is_empty());
        apply_idempotency_invariant(&mut req, "sync_accounts", &json!({"omit_idempotency_key": true}));
        assert!(req.is_empty());
        req.insert("idempotency_key".into(), json!(7));
        apply_idempotency_invariant(&mut req, "sync_accounts", &json!({}));
        assert!(req["idempotency_key"].as_str().is_some_and(|k| uuid::Uuid::parse_str(k).is_ok()));
        let mut ext = Map::new();
        ext.insert("ext".into(), json!({"adcp": {"x": 1}, "y": 2}));
        apply_disable_sandbox_hint(&mut ext);
        assert_eq!(Value::Object(ext), json!({"ext": {"adcp": {"x": 1, "disable_sandbox": true}, "y": 2}}));
    }
}
