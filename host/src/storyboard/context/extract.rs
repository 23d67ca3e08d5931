//! What a step's response gives later steps: the runner's implicit per-task extraction (a port of
//! `CONTEXT_EXTRACTORS` in the official runner's context.js, `@adcp/sdk` 6.11.0) and the step's
//! explicit `context_outputs` (context.js `applyContextOutputsWithProvenance`, as runner.js
//! `executeStep` applies them). After a step passes, the runner copies well-known ids out of the
//! response (`product_id`, `media_buy_id`, `account`, ...) so later steps' enrichers and
//! `$context.<key>` references can use them without YAML `context_outputs`.

use super::js::{defined, index, is_undefined, length, prop, truthy};
use super::Context;
use crate::storyboard::path::{resolve_path, to_json_pointer};
use crate::storyboard::Check;
use serde_json::{json, Map, Value};

/// runner.js `TASK_COMPLETION_PATH_PREFIX`: a `context_outputs` path resolved against the polled
/// task artifact instead of the immediate response.
const TASK_COMPLETION_PREFIX: &str = "task_completion.";

/// A `context_outputs` path that resolved to absent, `null` or `""`. runner.js turns each into a
/// failed validation on the producing step (`capture_path_not_resolvable`), which fails the step.
#[derive(Debug, Clone, PartialEq)]
pub struct CaptureFailure {
    /// The context key the output would have written.
    pub key: String,
    /// The path as authored (including any `task_completion.` prefix).
    pub path: String,
    /// What the path resolved to (`None` = absent).
    pub resolved: Option<Value>,
}

impl CaptureFailure {
    /// The synthesized validation runner.js appends (`check: capture_path_not_resolvable`).
    pub fn to_check(&self) -> Check {
        let pointer = to_json_pointer(self.path.strip_prefix(TASK_COMPLETION_PREFIX).unwrap_or(&self.path));
        Check {
            check: "capture_path_not_resolvable".to_string(),
            description: format!("context_outputs path \"{}\" (key \"{}\") did not resolve to a usable value", self.path, self.key),
            passed: false,
            error: Some(format!(
                "expected a value at {} (json_pointer {pointer}), got {}",
                self.path,
                self.resolved.as_ref().map_or("nothing".to_string(), Value::to_string)
            )),
        }
    }
}

/// One extracted key. `None` is JavaScript `undefined`: context.js extractors assign some members
/// unconditionally (`account_id: accounts[0].account_id`), and `Object.assign` then stores the key
/// with an `undefined` value, shadowing any earlier value.
pub type Extracted = Vec<(String, Option<Value>)>;

/// context.js `extractContext(taskName, data)`: what the convention extractor for `task` takes from
/// the response data. Tasks without an extractor give nothing. Unlike JavaScript nothing here can
/// throw, so there is no equivalent of the `catch { return {} }` branch.
pub fn extract_context(task: &str, data: &Value) -> Extracted {
    let d = Some(data);
    let mut out = Extracted::new();
    // Like assigning to a JavaScript object: a repeated key keeps its place and takes the new value.
    let mut put = |k: &str, v: Option<&Value>| match out.iter_mut().find(|(key, _)| key == k) {
        Some(slot) => slot.1 = v.cloned(),
        None => out.push((k.to_string(), v.cloned())),
    };
    match task {
        "sync_accounts" => {
            let Some(first) = index(prop(d, "accounts"), 0).filter(|f| truthy(Some(f))) else { return out };
            let f = Some(&first);
            if truthy(prop(f, "account_id")) {
                put("account_id", prop(f, "account_id"));
            }
            if truthy(prop(f, "status")) {
                put("account_status", prop(f, "status"));
            }
            // context.js: only members the response carries, so brand/operator stay paired or absent (#1419).
            let mut account = Map::new();
            for k in ["brand", "operator"] {
                if let Some(v) = prop(f, k).filter(|v| truthy(Some(v))) {
                    account.insert(k.to_string(), v.clone());
                }
            }
            put("account", Some(&Value::Object(account)));
        }
        "list_accounts" => first_then(&mut put, d, "accounts", &[("account_id", "account_id")], false),
        "get_products" => {
            let Some(first) = index(prop(d, "products"), 0).filter(|f| truthy(Some(f))) else { return out };
            put("products", prop(d, "products"));
            if truthy(prop(Some(&first), "product_id")) {
                put("product_id", prop(Some(&first), "product_id"));
            }
            let proposal = index(prop(d, "proposals"), 0);
            if truthy(prop(proposal.as_ref(), "proposal_id")) {
                put("proposal_id", prop(proposal.as_ref(), "proposal_id"));
            }
        }
        "create_media_buy" | "update_media_buy" => {
            if_truthy(&mut put, d, "media_buy_id", "media_buy_id");
            if_truthy(&mut put, d, "status", "media_buy_status");
        }
        "get_media_buys" => {
            // context.js: a page with `has_more: true` is mid-pagination; buys[0] is not "the" buy.
            if prop(prop(d, "pagination"), "has_more") == Some(&Value::Bool(true)) {
                return out;
            }
            first_then(&mut put, d, "media_buys", &[("media_buy_id", "media_buy_id"), ("status", "media_buy_status")], false);
        }
        "list_creative_formats" => first_then(&mut put, d, "formats", &[("format_id", "format_id")], true),
        "get_signals" => first_then(&mut put, d, "signals", &[("signal_id", "signal_id")], true),
        "build_creative" => build_creative(&mut put, d),
        "sync_creatives" => {
            if length(prop(d, "creatives")).unwrap_or(0) > 0 {
                put("creative_results", prop(d, "creatives"));
            }
        }
        "list_creatives" => list_with_id(&mut put, d, "creatives", "creatives", "creative_id", "creative_id"),
        "preview_creative" => {
            if length(prop(d, "previews")).unwrap_or(0) > 0 {
                put("previews", prop(d, "previews"));
            }
        }
        "activate_signal" => {
            let Some(first) = index(prop(d, "deployments"), 0).filter(|f| truthy(Some(f))) else { return out };
            put("deployments", prop(d, "deployments"));
            if truthy(prop(Some(&first), "activation_key")) {
                put("activation_key", prop(Some(&first), "activation_key"));
            }
            if truthy(prop(Some(&first), "type")) {
                put("deployment_type", prop(Some(&first), "type"));
            }
        }
        "sync_catalogs" => list_with_id(&mut put, d, "catalogs", "catalogs", "catalog_id", "catalog_id"),
        "sync_audiences" => list_with_id(&mut put, d, "audiences", "audiences", "audience_id", "audience_id"),
        "sync_event_sources" => list_with_id(&mut put, d, "event_sources", "event_sources", "event_source_id", "event_source_id"),
        "si_initiate_session" => if_truthy(&mut put, d, "session_id", "session_id"),
        "si_get_offering" => {
            if_truthy(&mut put, d, "offering_id", "offering_id");
            let first = index(prop(d, "offerings"), 0);
            if truthy(prop(first.as_ref(), "offering_id")) {
                put("offering_id", prop(first.as_ref(), "offering_id"));
            }
        }
        "sync_plans" => first_then(&mut put, d, "plans", &[("plan_id", "plan_id")], false),
        "sync_governance" => {
            put("governance_synced", Some(&json!(true)));
            put("governance_response", d);
        }
        _ => extract_governance_and_rights(task, d, &mut put),
    }
    out
}

/// Extractors of the governance, property-list, content-standards and rights tasks.
fn extract_governance_and_rights(task: &str, d: Option<&Value>, put: &mut impl FnMut(&str, Option<&Value>)) {
    match task {
        "create_property_list" => {
            let list = prop(d, "list");
            if !truthy(list) {
                return;
            }
            if_truthy(put, list, "list_id", "property_list_id");
            if_truthy(put, list, "name", "property_list_name");
        }
        "create_content_standards" => if_truthy(put, d, "standards_id", "content_standards_id"),
        "get_rights" => {
            let first = index(prop(d, "rights"), 0);
            if truthy(prop(first.as_ref(), "rights_id")) {
                put("rights_id", prop(first.as_ref(), "rights_id"));
            }
        }
        "acquire_rights" if truthy(prop(d, "rights_grant_id")) => {
            put("rights_grant_id", prop(d, "rights_grant_id"));
            put("rights_id", prop(d, "rights_id"));
        }
        "check_governance" => {
            if_truthy(put, d, "governance_context", "governance_context");
            if_truthy(put, d, "check_id", "check_id");
            if_truthy(put, d, "plan_id", "plan_id");
            if_truthy(put, d, "status", "governance_status");
        }
        "report_plan_outcome" => {
            if_truthy(put, d, "outcome_id", "outcome_id");
            if_truthy(put, d, "status", "outcome_status");
        }
        _ => {}
    }
}

/// `if (d?.field) extracted.key = d.field`.
fn if_truthy(put: &mut impl FnMut(&str, Option<&Value>), d: Option<&Value>, field: &str, key: &str) {
    if truthy(prop(d, field)) {
        put(key, prop(d, field));
    }
}

/// `if (!list?.[0]) return {}; return { [whole]: list, ...first[field] → key }` where the first
/// element's members are copied unconditionally (possibly `undefined`), as context.js does.
fn first_then(put: &mut impl FnMut(&str, Option<&Value>), d: Option<&Value>, list: &str, fields: &[(&str, &str)], with_list: bool) {
    let Some(first) = index(prop(d, list), 0).filter(|f| truthy(Some(f))) else { return };
    if with_list {
        put(list, prop(d, list));
    }
    for (field, key) in fields {
        put(key, prop(Some(&first), field));
    }
}

/// `{ [whole]: list, [key]: list[0][field] if truthy }` for a non-empty-first-element list.
fn list_with_id(put: &mut impl FnMut(&str, Option<&Value>), d: Option<&Value>, list: &str, whole: &str, field: &str, key: &str) {
    let Some(first) = index(prop(d, list), 0).filter(|f| truthy(Some(f))) else { return };
    put(whole, prop(d, list));
    if truthy(prop(Some(&first), field)) {
        put(key, prop(Some(&first), field));
    }
}

/// context.js `build_creative`: single `creative_manifest` and/or multi `creative_manifests`.
fn build_creative(put: &mut impl FnMut(&str, Option<&Value>), d: Option<&Value>) {
    let manifest = prop(d, "creative_manifest");
    if truthy(manifest) {
        put("creative_manifest", manifest);
        if truthy(prop(manifest, "format_id")) {
            put("format_id", prop(manifest, "format_id"));
        }
    }
    let first = index(prop(d, "creative_manifests"), 0).filter(|f| truthy(Some(f)));
    if let Some(first) = first {
        put("creative_manifests", prop(d, "creative_manifests"));
        if truthy(prop(Some(&first), "format_id")) {
            put("format_id", prop(Some(&first), "format_id"));
        }
    }
}

impl Context {
    /// What a finished step leaves for later steps (runner.js `executeStep`, after validations):
    /// 1. if `task_ok` and there is response data: the convention extraction for `task`
    ///    (context.js `extractContext`); keys it yields as `undefined` shadow earlier values;
    /// 2. the step's `context_outputs` (YAML `key:` or `name:`), whatever `task_ok` is:
    ///    `generate:` entries always store the run's UUID for that key; `path:` entries resolve
    ///    against the response data (path.js syntax) and store non-null, non-`""` values, else
    ///    yield a [`CaptureFailure`] the runner reports as a failed validation on this step.
    ///
    /// `response` is the response data as the runner sees it (the tool's structured result, e.g.
    /// MCP `structuredContent`); `task_ok` is runner.js's pre-validation `passed` (normal steps:
    /// the call succeeded; `expect_error` steps: the call failed). Errors for what this port does
    /// not do: `task_completion.` paths on a response that would make the runner poll `tasks/get`.
    pub fn absorb_step(
        &mut self,
        task: &str,
        step: &Value,
        response: Option<&Value>,
        task_ok: bool,
    ) -> Result<Vec<CaptureFailure>, String> {
        let data = response.filter(|d| !d.is_null());
        if let (true, Some(d)) = (task_ok, data) {
            self.extract(task, d);
        }
        self.capture_outputs(step, data)
    }

    /// Step 1 of [`Context::absorb_step`] alone: the convention extraction for `task` from `data`
    /// (call it only when the step passed and has data, as runner.js does).
    pub fn extract(&mut self, task: &str, data: &Value) {
        for (k, v) in extract_context(task, data) {
            match v {
                Some(v) => self.set(&k, v),
                None => self.set_undefined(&k),
            }
        }
    }

    /// Step 2 of [`Context::absorb_step`] alone: the step's `context_outputs` against `data`
    /// (None when the response had no data).
    pub fn capture_outputs(&mut self, step: &Value, data: Option<&Value>) -> Result<Vec<CaptureFailure>, String> {
        let data = data.filter(|d| !d.is_null());
        let Some(outputs) = step.get("context_outputs").and_then(Value::as_array).filter(|o| !o.is_empty()) else {
            return Ok(Vec::new());
        };
        let polls = outputs.iter().any(|o| o.get("path").and_then(Value::as_str).is_some_and(|p| p.starts_with(TASK_COMPLETION_PREFIX)));
        if polls && data.is_some_and(is_poll_eligible) {
            return Err(format!(
                "step {}: context_outputs `task_completion.` paths on a submitted/working task need tasks/get polling, which this runner does not do",
                step_id(step)
            ));
        }
        let mut failures = Vec::new();
        for output in outputs {
            self.apply_output(output, data, &mut failures)?;
        }
        Ok(failures)
    }

    /// [`Context::absorb_step`] for a step whose call succeeded with response data `response`.
    pub fn absorb(&mut self, task: &str, step: &Value, response: &Value) -> Result<Vec<CaptureFailure>, String> {
        self.absorb_step(task, step, Some(response), true)
    }

    fn apply_output(&mut self, output: &Value, data: Option<&Value>, failures: &mut Vec<CaptureFailure>) -> Result<(), String> {
        // loader.js: YAML `name:` becomes `key:` when no `key:` is given.
        let key = match (output.get("key"), output.get("name")) {
            (Some(Value::String(k)), _) if !k.is_empty() => k.clone(),
            (_, Some(Value::String(n))) if !n.is_empty() => n.clone(),
            _ => return Err(format!("context_outputs entry without a string key/name: {output}")),
        };
        match (defined(output.get("generate")), output.get("path")) {
            (Some(g), None) if g == "uuid_v4" || g == "opaque_id" => {
                let v = self.alias(&key);
                self.set(&key, Value::String(v));
            }
            // context.js `else if (output.path)`: an empty path captures nothing and fails nothing.
            (None, Some(Value::String(path))) if path.is_empty() => {}
            (None, Some(Value::String(path))) => {
                let effective = path.strip_prefix(TASK_COMPLETION_PREFIX).unwrap_or(path);
                let found = data.and_then(|d| resolve_path(d, effective)).filter(|v| !is_undefined(v));
                match found {
                    Some(v) if !v.is_null() && v.as_str() != Some("") => self.set(&key, v.clone()),
                    _ => failures.push(CaptureFailure { key, path: path.clone(), resolved: found.cloned() }),
                }
            }
            // loader.js rejects these at load time; the official runner would not start the run.
            _ => return Err(format!("context_outputs entry '{key}' must set exactly one of path or generate (uuid_v4|opaque_id)")),
        }
        Ok(())
    }
}

/// runner.js `isPollEligibleEnvelope`: a submitted/working/input-required envelope with a task id.
fn is_poll_eligible(d: &Value) -> bool {
    let status = d.get("status").and_then(Value::as_str);
    matches!(status, Some("submitted" | "working" | "input-required"))
        && d.get("task_id").and_then(Value::as_str).is_some_and(|t| !t.is_empty())
}

fn step_id(step: &Value) -> &str {
    step.get("id").and_then(Value::as_str).unwrap_or("?")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_accounts_builds_account_ref_from_response() {
        let data =
            json!({"accounts": [{"account_id": "acc_1", "status": "active", "brand": {"domain": "b.example"}, "operator": "op.example"}]});
        let got = extract_context("sync_accounts", &data);
        assert_eq!(got[0], ("account_id".into(), Some(json!("acc_1"))));
        assert_eq!(got[1], ("account_status".into(), Some(json!("active"))));
        assert_eq!(got[2], ("account".into(), Some(json!({"brand": {"domain": "b.example"}, "operator": "op.example"}))));
        assert!(extract_context("sync_accounts", &json!({"accounts": []})).is_empty());
    }

    #[test]
    fn unconditional_members_can_be_undefined() {
        let got = extract_context("list_accounts", &json!({"accounts": [{"name": "x"}]}));
        assert_eq!(got, vec![("account_id".to_string(), None)]);
        let got = extract_context("get_signals", &json!({"signals": [{"signal_agent_segment_id": "s"}]}));
        assert_eq!(got[1], ("signal_id".to_string(), None));
    }

    #[test]
    fn get_media_buys_skips_mid_pagination_pages() {
        let page = json!({"media_buys": [{"media_buy_id": "mb_1", "status": "active"}], "pagination": {"has_more": true}});
        assert!(extract_context("get_media_buys", &page).is_empty());
        let last = json!({"media_buys": [{"media_buy_id": "mb_1", "status": "active"}]});
        assert_eq!(extract_context("get_media_buys", &last)[1], ("media_buy_status".to_string(), Some(json!("active"))));
    }

    #[test]
    fn get_products_keeps_catalog_and_first_ids() {
        let data = json!({"products": [{"product_id": "p1"}], "proposals": [{"proposal_id": "pr1"}]});
        let keys: Vec<String> = extract_context("get_products", &data).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["products", "product_id", "proposal_id"]);
        assert!(extract_context("get_adcp_capabilities", &data).is_empty());
    }
}
