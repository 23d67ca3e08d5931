//! How the official runner (`@adcp/sdk` 6.11.0) builds the payload of a storyboard step: a port of
//! request-builder.js `enrichRequest` and of runner.js `executeStep` up to dispatch (fixture or
//! enricher, `context_inputs`, `applyBrandInvariant`, `applyDisableSandboxHint`,
//! `applyIdempotencyInvariant`), plus the SDK client's version envelope.
//!
//! Verified against requests captured from `adcp storyboard run` (see
//! /work/notes/captured-requests.jsonl): for the storyboards this runner targets, every step's
//! arguments match, UUIDs and dates aside.

use self::enrich::enrich;
use self::inputs::apply_context_inputs;
use self::wire::{apply_brand_invariant, apply_disable_sandbox_hint, apply_idempotency_invariant};
use crate::storyboard::context::js::{defined, now_ms, spread, strip_undefined, truthy};
use crate::storyboard::context::Context;
use serde_json::{Map, Value};

mod enrich;
mod inputs;
mod wire;

pub use self::enrich::{has_request_enricher, ENRICHED_TASKS, FIXTURE_AWARE};
pub use self::wire::wire_arguments;

/// request-builder.js `ENVELOPE_FIELDS`: what fixture-aware enrichers take over from the fixture.
const ENVELOPE_FIELDS: [&str; 4] = ["context", "ext", "push_notification_config", "idempotency_key"];

/// What the runner's `options` carry that shapes requests.
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// `options.brand`. None (what the CLI passes): enrichers use `{ domain: "test.example" }` and
    /// runner.js `applyBrandInvariant` does nothing.
    pub brand: Option<Value>,
    /// `options.sandbox`, copied into `resolveAccount` refs. comply() forces `true` unless `--no-sandbox`.
    pub sandbox: Option<bool>,
    /// `options.brief` (`--brief`): get_products brief / get_signals spec.
    pub brief: Option<String>,
    /// `options.budget`.
    pub budget: Option<f64>,
    /// `options.test_kit`, for `$test_kit.<path>` task names. The CLI passes none.
    pub test_kit: Option<Value>,
    /// `options.disable_sandbox` (`--no-sandbox`): stamp `ext.adcp.disable_sandbox: true`.
    pub disable_sandbox: bool,
    /// `options.si_offering_id`.
    pub si_offering_id: Option<String>,
    /// `options.si_context`.
    pub si_context: Option<String>,
    /// Fixed `Date.now()` in ms for deterministic tests; None = the clock.
    pub now_ms: Option<i64>,
}

impl RequestOptions {
    /// The options `adcp storyboard run <agent> <storyboard_id>` runs with (bin/adcp.js
    /// `runFullAssessment` → comply.js): `sandbox: true`, no brand, no brief, no test kit.
    ///
    /// The official CLI never loads `prerequisites.test_kit` (test-kits/*.yaml): the kit's brand is
    /// not used for requests, and `$test_kit.*` task names fall back to `task_default`. To agree with
    /// it step by step, both arguments are therefore ignored; set the fields explicitly to model a
    /// programmatic `runStoryboard(…, { brand, test_kit })` caller instead.
    pub fn new(storyboard: &Value, test_kit: Option<&Value>) -> Self {
        let _ = (storyboard, test_kit);
        Self { sandbox: Some(true), ..Self::default() }
    }

    /// test-controller.js `buildAccount(options)`: the account of runner-internal
    /// `comply_test_controller` calls (controller detection, fixture seeding):
    /// `{ ...resolveAccount(options), sandbox: true }`. Not used for storyboard steps, whose
    /// controller account comes from the comply_test_controller enricher.
    pub fn controller_account(&self) -> Value {
        let mut account = spread(Some(&enrich::resolve_account(self)));
        account.insert("sandbox".into(), Value::Bool(true));
        strip_undefined(Value::Object(account))
    }

    /// `Date.now()`.
    pub(crate) fn now(&self) -> i64 {
        self.now_ms.unwrap_or_else(now_ms)
    }
}

/// runner.js `resolveTaskName`: the step's task, with `$test_kit.<path>` resolved against
/// `opts.test_kit` and falling back to `task_default`. None: the runner fails the step with
/// `Step task "<task>" references a test-kit field that resolved to nothing and no task_default is set.`
pub fn resolve_task_name(step: &Value, opts: &RequestOptions) -> Option<String> {
    let task = step.get("task")?.as_str()?;
    let Some(path) = task.strip_prefix("$test_kit.") else {
        return Some(task.to_string());
    };
    let found = opts.test_kit.as_ref().and_then(|kit| path.split('.').try_fold(kit, |v, seg| v.as_object()?.get(seg)));
    match found.and_then(Value::as_str).filter(|s| !s.is_empty()) {
        Some(t) => Some(t.to_string()),
        None => step.get("task_default").and_then(Value::as_str).map(str::to_string),
    }
}

/// The request runner.js `executeStep` sends for `step` (its `request` record, before the SDK adds
/// the version envelope; see [`wire_arguments`]). `task` is the step's effective task
/// ([`resolve_task_name`]). In order:
/// 1. `expect_error` with a fixture: the fixture with context injected, nothing else;
/// 2. else a task with an enricher: request-builder.js `enrichRequest` (fixture members win over
///    enricher members at top level; fixture-aware enrichers keep their body and take only the
///    envelope fields `context`/`ext`/`push_notification_config`/`idempotency_key` from the fixture);
/// 3. else the injected fixture, or `{}`;
/// 4. `context_inputs` (`key` present in context → written at `inject_at`);
/// 5. brand invariant (only with `opts.brand`), `ext.adcp.disable_sandbox` (only with
///    `opts.disable_sandbox`), a fresh UUID v4 `idempotency_key` for mutating tasks that lack a
///    non-empty string one unless the step sets `omit_idempotency_key: true`.
///
/// Unresolved `$context.<key>` strings are left in place: the caller must check
/// [`crate::storyboard::context::find_unresolved_context_vars`] and, unless the step is `expect_error`, skip
/// the step instead of sending it. Errors: a non-object fixture, a malformed `context_inputs`
/// entry, or a task whose enricher this port lacks.
pub fn build_request(task: &str, step: &Value, ctx: &mut Context, opts: &RequestOptions) -> Result<Value, String> {
    let sample = defined(step.get("sample_request"));
    if let Some(s) = sample.filter(|s| !s.is_object() && !s.is_null()) {
        return Err(format!("step {}: sample_request must be an object, got {s}", step_id(step)));
    }
    let truthy_sample = sample.filter(|s| s.is_object());
    let mut request = if truthy(step.get("expect_error")) && truthy_sample.is_some() {
        inject_fixture(ctx, truthy_sample)
    } else if has_request_enricher(task) {
        enrich_request(task, step, ctx, opts)?
    } else if truthy_sample.is_some() {
        inject_fixture(ctx, truthy_sample)
    } else {
        Map::new()
    };
    apply_context_inputs(&mut request, step, ctx)?;
    if opts.brand.is_some() {
        apply_brand_invariant(&mut request, task, opts);
    }
    if opts.disable_sandbox {
        apply_disable_sandbox_hint(&mut request);
    }
    apply_idempotency_invariant(&mut request, task, step);
    Ok(strip_undefined(Value::Object(request)))
}

fn step_id(step: &Value) -> &str {
    step.get("id").and_then(Value::as_str).unwrap_or("?")
}

/// `injectContext({ ...step.sample_request }, context, runnerVars)`.
fn inject_fixture(ctx: &mut Context, sample: Option<&Value>) -> Map<String, Value> {
    match ctx.inject_raw(&Value::Object(spread(sample)), true) {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// request-builder.js `enrichRequest` for a task that has an enricher.
fn enrich_request(task: &str, step: &Value, ctx: &mut Context, opts: &RequestOptions) -> Result<Map<String, Value>, String> {
    // The fixture is injected first (minting webhook operation ids and aliases), as in the original.
    let fixture = defined(step.get("sample_request")).map(|s| inject_fixture(ctx, Some(s)));
    let mut enriched = enrich(task, step, ctx, opts)?.ok_or_else(|| format!("no request enricher for task `{task}`"))?;
    let Some(fixture) = fixture else {
        return Ok(enriched);
    };
    if FIXTURE_AWARE.contains(&task) {
        for field in ENVELOPE_FIELDS {
            if let (Some(v), None) = (defined(fixture.get(field)), defined(enriched.get(field))) {
                enriched.insert(field.to_string(), v.clone());
            }
        }
    } else {
        enriched.extend(fixture);
    }
    Ok(enriched)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storyboard::context::find_unresolved_context_vars;
    use crate::storyboard::context::js::parse_iso_ms;
    use serde_json::json;

    /// `adcp storyboard run` options at the instant the captured media_buy_seller run built its request.
    fn cli_opts() -> RequestOptions {
        RequestOptions { now_ms: parse_iso_ms("2026-11-30T10:19:33.640Z"), ..RequestOptions::new(&json!({}), None) }
    }

    fn build(task: &str, step: &Value, ctx: &mut Context) -> Value {
        build_request(task, step, ctx, &cli_opts()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn media_buy_seller_create_media_buy_matches_capture() {
        let mut ctx = Context::new(None);
        let accounts = json!({"accounts": [{"account_id": "acc_000001", "brand": {"domain": "acmeoutdoor.example"},
            "operator": "pinnacle-agency.example", "status": "active"}]});
        let products = json!({"products": [{"product_id": "premium_sports_video", "pricing_options": [
            {"currency": "USD", "fixed_price": 24.0, "pricing_model": "cpm", "pricing_option_id": "cpm_guaranteed"}]}]});
        assert!(ctx.absorb("sync_accounts", &json!({}), &accounts).is_ok() && ctx.absorb("get_products", &json!({}), &products).is_ok());
        let pnc = json!({"url": "https://buyer.example/webhooks/adcp",
            "authentication": {"schemes": ["HMAC-SHA256"], "credentials": "media-buy-seller-webhook-secret-token"}});
        let step = json!({"id": "create_media_buy", "task": "create_media_buy", "sample_request": {
            "brand": {"domain": "acmeoutdoor.example"},
            "account": {"brand": {"domain": "acmeoutdoor.example"}, "operator": "pinnacle-agency.example", "sandbox": true},
            "start_time": "2026-04-01T00:00:00Z", "end_time": "2026-06-30T23:59:59Z",
            "packages": [{"product_id": "sports_preroll_q2", "budget": 25000, "pricing_option_id": "cpm_guaranteed",
                "creative_assignments": [{"creative_id": "video_30s_trail_pro"}]},
                {"product_id": "lifestyle_display_q2", "budget": 15000, "pricing_option_id": "cpm_standard"}],
            "push_notification_config": pnc, "idempotency_key": "$generate:uuid_v4#media_buy_seller_create_buy_create_media_buy",
            "context": {"correlation_id": "media_buy_seller--create_media_buy"}}});
        let got = build("create_media_buy", &step, &mut ctx);
        let key = ctx.inject(&json!("$generate:uuid_v4#media_buy_seller_create_buy_create_media_buy"), "x");
        // Captured: fixture account/brand/dates dropped (fixture-aware enricher), account from sync_accounts,
        // stale dates replaced by now+1d/now+8d, bid_price synthesized for cpm pricing (no floor → 5 × 1.5).
        assert_eq!(
            got,
            json!({"account": {"brand": {"domain": "acmeoutdoor.example"}, "operator": "pinnacle-agency.example"},
            "brand": {"domain": "test.example"}, "start_time": "2026-12-01T10:19:33.640Z", "end_time": "2026-12-08T10:19:33.640Z",
            "packages": [{"product_id": "sports_preroll_q2", "budget": 25000, "pricing_option_id": "cpm_guaranteed",
                "creative_assignments": [{"creative_id": "video_30s_trail_pro"}], "bid_price": 7.5},
                {"product_id": "lifestyle_display_q2", "budget": 15000, "pricing_option_id": "cpm_standard"}],
            "context": {"correlation_id": "media_buy_seller--create_media_buy"}, "push_notification_config": pnc, "idempotency_key": key})
        );
        assert_eq!(wire_arguments("create_media_buy", &step, &got)["adcp_major_version"], json!(3));
    }

    #[test]
    fn controller_account_matches_captured_seeding_calls() {
        let want = json!({"brand": {"domain": "test.example"}, "operator": "test.example", "sandbox": true});
        assert_eq!(cli_opts().controller_account(), want);
        let opts = RequestOptions { sandbox: None, brand: Some(json!({"domain": "b.example"})), ..cli_opts() };
        assert_eq!(opts.controller_account(), json!({"brand": {"domain": "b.example"}, "operator": "b.example", "sandbox": true}));
    }

    #[test]
    fn error_compliance_expect_error_sends_fixture_verbatim() {
        let fixture = json!({"brand": {"domain": "acmeoutdoor.example"},
            "account": {"brand": {"domain": "acmeoutdoor.example"}, "operator": "pinnacle-agency.example"},
            "idempotency_key": "error-test-negative-budget", "start_time": "2026-05-01T00:00:00Z", "end_time": "2026-05-31T23:59:59Z",
            "packages": [{"product_id": "test-product", "budget": -500, "pricing_option_id": "test-pricing"}],
            "context": {"correlation_id": "error_compliance--negative_budget"}});
        let step = json!({"id": "negative_budget", "task": "create_media_buy", "expect_error": true, "sample_request": fixture});
        let mut ctx = Context::new(None);
        let got = build("create_media_buy", &step, &mut ctx);
        assert_eq!(got, fixture);
        let mut wire = fixture.clone();
        wire["adcp_major_version"] = json!(3);
        assert_eq!(wire_arguments("create_media_buy", &step, &got), wire);
        // A fixture's own version (the unsupported-major-version probe) is kept.
        let probe = json!({"adcp_major_version": 99, "buying_mode": "brief"});
        assert_eq!(wire_arguments("get_products", &json!({"expect_error": true}), &probe), probe);
    }

    #[test]
    fn error_compliance_get_products_fixture_overlays_enricher() {
        let account = json!({"brand": {"domain": "acmeoutdoor.example"}, "operator": "pinnacle-agency.example"});
        let step = json!({"id": "missing_fields", "task": "get_products",
            "sample_request": {"account": account, "context": {"correlation_id": "error_compliance--missing_fields"}}});
        let got = build("get_products", &step, &mut Context::new(None));
        assert_eq!(
            got,
            json!({"buying_mode": "brief", "brief": "Show me all available advertising products across all channels",
            "brand": {"domain": "test.example"}, "account": account, "context": {"correlation_id": "error_compliance--missing_fields"}})
        );
    }

    #[test]
    fn idempotency_missing_key_goes_raw_and_keyless() {
        let fixture = json!({"account": {"brand": {"domain": "acmeoutdoor.example"}, "operator": "pinnacle-agency.example"},
            "packages": [{"product_id": "test-product", "budget": 5000, "pricing_option_id": "test-pricing"}]});
        let step =
            json!({"id": "create_media_buy_missing_key", "expect_error": true, "omit_idempotency_key": true, "sample_request": fixture});
        let got = build("create_media_buy", &step, &mut Context::new(None));
        assert_eq!(got, fixture);
        assert_eq!(crate::storyboard::outcome::dispatch_for("create_media_buy", &step), crate::storyboard::outcome::Dispatch::RawProbe);
        assert_eq!(wire_arguments("create_media_buy", &step, &got), fixture);
    }

    #[test]
    fn idempotency_initial_and_replay_share_key_and_webhook_url() {
        let mut ctx = Context::new(Some("http://127.0.0.1:41691".into()));
        let step = |id: &str| {
            json!({"id": id, "sample_request": {"idempotency_key": "$generate:uuid_v4#replay_key",
            "account": {"brand": {"domain": "acmeoutdoor.example"}, "operator": "pinnacle-agency.example"},
            "start_time": "2026-06-01T00:00:00Z", "end_time": "2026-06-30T23:59:59Z",
            "packages": [{"product_id": "test-product", "budget": 5000, "pricing_option_id": "test-pricing"}],
            "push_notification_config": {"url": "{{runner.webhook_url:create_media_buy_initial}}"}}})
        };
        let initial = build("create_media_buy", &step("create_media_buy_initial"), &mut ctx);
        let replay = build("create_media_buy", &step("create_media_buy_replay"), &mut ctx);
        assert_eq!(initial, replay);
        // No products discovered: sentinels stay, pricing falls back to "default", account is resolveAccount().
        assert_eq!(initial["packages"], json!([{"product_id": "test-product", "budget": 5000, "pricing_option_id": "default"}]));
        assert_eq!(initial["account"], json!({"brand": {"domain": "test.example"}, "operator": "test.example", "sandbox": true}));
        let op = ctx.step_operation_id("create_media_buy_initial").unwrap_or_default();
        assert_eq!(initial["push_notification_config"]["url"], json!(format!("http://127.0.0.1:41691/step/create_media_buy_initial/{op}")));
    }

    #[test]
    fn comply_test_controller_always_carries_a_sandbox_account() {
        let mut ctx = Context::new(None);
        let step = json!({"id": "list_scenarios", "sample_request": {"scenario": "list_scenarios", "context": {"correlation_id": "c"}}});
        assert_eq!(
            build("comply_test_controller", &step, &mut ctx),
            json!({"scenario": "list_scenarios", "context": {"correlation_id": "c"},
            "account": {"brand": {"domain": "test.example"}, "operator": "test.example", "sandbox": true}})
        );
        ctx.set("account", json!({"brand": {"domain": "b.example"}}));
        ctx.set("media_buy_id", json!("mb_1"));
        let step = json!({"id": "force", "sample_request": {"brand": {"domain": "acmeoutdoor.example"}, "scenario": "force_media_buy_status",
            "params": {"media_buy_id": "$context.media_buy_id", "status": "active"}}});
        assert_eq!(
            build("comply_test_controller", &step, &mut ctx),
            json!({"brand": {"domain": "acmeoutdoor.example"},
            "scenario": "force_media_buy_status", "params": {"media_buy_id": "mb_1", "status": "active"},
            "account": {"brand": {"domain": "b.example"}, "operator": "b.example", "sandbox": true}})
        );
    }

    #[test]
    fn reads_fill_ids_and_context_inputs_write_by_path() {
        let mut ctx = Context::new(None);
        ctx.set("media_buy_id", json!("mb_7"));
        ctx.set("product_format_id", json!({"agent_url": "https://a", "id": "f"}));
        let get = build("get_media_buys", &json!({"id": "g", "sample_request": {"account": "ignored"}}), &mut ctx);
        assert_eq!(
            get,
            json!({"account": {"brand": {"domain": "test.example"}, "operator": "test.example", "sandbox": true},
            "media_buy_ids": ["mb_7"]})
        );
        let step = json!({"id": "l", "sample_request": {"format_ids": ["$context.product_format_id"]},
            "context_inputs": [{"key": "product_format_id", "inject_at": "format_ids[0]"}, {"key": "nope", "inject_at": "x"}]});
        assert_eq!(build("list_creative_formats", &step, &mut ctx), json!({"format_ids": [{"agent_url": "https://a", "id": "f"}]}));
        let upd = build("update_media_buy", &json!({"id": "pause_buy", "sample_request": null}), &mut ctx);
        assert_eq!(upd["media_buy_id"], json!("mb_7"));
        // A null fixture counts as "no fixture": keyword inference from the step id.
        assert!(upd["paused"] == json!(true) && upd["idempotency_key"].is_string());
    }

    #[test]
    fn unresolved_refs_stay_and_unported_enrichers_fail() {
        let mut ctx = Context::new(None);
        let step = json!({"id": "s", "sample_request": {"media_buy_id": "$context.media_buy_id", "status": "active"}});
        let got = build("comply_test_controller", &step, &mut ctx);
        assert_eq!(find_unresolved_context_vars(&got).len(), 1);
        assert!(build_request("sync_catalogs", &step, &mut ctx, &cli_opts()).is_err_and(|e| e.contains("sync_catalogs")));
        let plain = build("provide_performance_feedback", &json!({"id": "p", "sample_request": {"a": 1}}), &mut ctx);
        assert!(plain["a"] == json!(1) && plain["idempotency_key"].is_string());
        assert_eq!(build("get_adcp_capabilities", &json!({"id": "c"}), &mut ctx), json!({}));
    }
}
