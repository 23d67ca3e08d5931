//! Per-task request enrichers: a port of `REQUEST_ENRICHERS` and the selection helpers of the
//! official runner's request-builder.js (`@adcp/sdk` 6.11.0). An enricher fills what a storyboard
//! fixture (`sample_request`) cannot know at authoring time: discovery-derived ids, the run's
//! brand/account, dates relative to now. Values may carry the `js::UNDEFINED` marker; the caller
//! strips it once the whole request is built.

use super::RequestOptions;
use crate::storyboard::context::js::{
    defined, index, iso_from_ms, length, math_round, non_nullish, number, parse_iso_ms, prop, spread, to_number, truthy, undefined,
};
use crate::storyboard::context::Context;
use serde_json::{json, Map, Value};

/// request-builder.js `UNKNOWN_FORMAT_ID`: placeholder when no format was discovered.
fn unknown_format_id() -> Value {
    json!({"agent_url": "https://unknown.example.com/", "id": "unknown"})
}

/// request-builder.js `FALLBACK_CALLER_AGENT_URL` (check_governance `caller`).
const FALLBACK_CALLER_AGENT_URL: &str = "https://e2e-orchestrator.adcontextprotocol.org/";

/// request-builder.js `PRODUCT_ID_SENTINELS` / `PRICING_OPTION_ID_SENTINELS`: fixture placeholders
/// that defer to discovery (universal storyboards ship `product_id: test-product`).
const PRODUCT_ID_SENTINEL: &str = "test-product";
const PRICING_OPTION_ID_SENTINEL: &str = "test-pricing";

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Every task request-builder.js has an enricher for (`hasRequestEnricher`). For these the runner
/// builds the request through the enricher, so a task here that this port lacks must fail loudly
/// rather than fall back to the bare fixture.
pub const ENRICHED_TASKS: [&str; 40] = [
    "sync_accounts",
    "list_accounts",
    "sync_audiences",
    "get_brand_identity",
    "get_rights",
    "get_products",
    "create_media_buy",
    "update_media_buy",
    "get_media_buys",
    "get_media_buy_delivery",
    "sync_catalogs",
    "sync_event_sources",
    "log_event",
    "report_usage",
    "list_creative_formats",
    "build_creative",
    "preview_creative",
    "sync_creatives",
    "list_creatives",
    "get_signals",
    "activate_signal",
    "get_adcp_capabilities",
    "sync_governance",
    "list_content_standards",
    "get_content_standards",
    "calibrate_content",
    "sync_plans",
    "check_governance",
    "get_account_financials",
    "create_content_standards",
    "update_content_standards",
    "validate_content_delivery",
    "acquire_rights",
    "update_rights",
    "creative_approval",
    "si_get_offering",
    "si_initiate_session",
    "si_send_message",
    "si_terminate_session",
    "comply_test_controller",
];

/// request-builder.js `hasRequestEnricher`: whether runner.js builds this task's request through an enricher.
pub fn has_request_enricher(task: &str) -> bool {
    ENRICHED_TASKS.contains(&task)
}

/// request-builder.js `FIXTURE_AWARE_ENRICHERS`: their output is the body; only envelope fields come
/// from the fixture (so e.g. a create_media_buy fixture's top-level `brand` never reaches the wire).
pub const FIXTURE_AWARE: [&str; 5] =
    ["create_media_buy", "comply_test_controller", "update_media_buy", "get_media_buys", "get_media_buy_delivery"];

/// The enricher for `task`: Ok(None) when request-builder.js has none, Err when it has one this port lacks.
pub(crate) fn enrich(task: &str, step: &Value, ctx: &mut Context, opts: &RequestOptions) -> Result<Option<Map<String, Value>>, String> {
    let sample = defined(step.get("sample_request"));
    let out = match task {
        "sync_accounts" => obj(json!({"accounts": [{
            "brand": resolve_brand(opts), "operator": brand_domain(opts), "billing": "operator", "payment_terms": "net_30"}]})),
        "list_accounts" => obj(json!({"brand": resolve_brand(opts)})),
        "get_products" => get_products(sample, ctx, opts),
        "create_media_buy" => create_media_buy(sample, ctx, opts),
        "update_media_buy" => update_media_buy(step, sample, ctx, opts),
        "get_media_buys" | "get_media_buy_delivery" => get_media_buys(sample, ctx, opts),
        "list_creative_formats" | "get_adcp_capabilities" => Map::new(),
        "sync_creatives" => sync_creatives(ctx, opts),
        "list_creatives" => obj(json!({"account": ctx_account(ctx, opts)})),
        "get_signals" => get_signals(sample, ctx, opts),
        "activate_signal" => activate_signal(sample, ctx),
        "sync_governance" => obj(json!({"accounts": [{"account": ctx_account(ctx, opts), "governance_agents": [{
            "url": "https://governance.test.example",
            "authentication": {"schemes": ["Bearer"], "credentials": "test-governance-token-padded-to-meet-min-length-32"},
            "categories": ["budget_authority", "brand_policy"]}]}]})),
        "sync_plans" => sync_plans(opts),
        "check_governance" => obj(json!({"plan_id": ctx_or(ctx, "plan_id", json!("unknown")), "caller": FALLBACK_CALLER_AGENT_URL,
            "payload": {"type": "media_buy", "account": ctx_account(ctx, opts), "brand": resolve_brand(opts),
                "total_budget": opts.budget.map_or(json!(10000), number)}})),
        "comply_test_controller" => comply_test_controller(sample, ctx, opts),
        "si_get_offering" | "si_initiate_session" | "si_send_message" | "si_terminate_session" => si(task, ctx, opts),
        t if ENRICHED_TASKS.contains(&t) => {
            return Err(format!(
                "request enricher for task `{t}` is not ported (request-builder.js has one); this runner cannot build its request"
            ))
        }
        _ => return Ok(None),
    };
    Ok(Some(out))
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// client.js `resolveBrand(options)`: the run's brand, default `{ domain: "test.example" }`.
pub(crate) fn resolve_brand(opts: &RequestOptions) -> Value {
    opts.brand.clone().unwrap_or_else(|| json!({"domain": "test.example"}))
}

/// `resolveBrand(options).domain`, `undefined` when the brand has none.
fn brand_domain(opts: &RequestOptions) -> Value {
    prop(Some(&resolve_brand(opts)), "domain").cloned().unwrap_or_else(undefined)
}

/// client.js `resolveAccount(options)`: `{ brand, operator: brand.domain, sandbox: options.sandbox }`.
pub(crate) fn resolve_account(opts: &RequestOptions) -> Value {
    json!({"brand": resolve_brand(opts), "operator": brand_domain(opts), "sandbox": opts.sandbox.map_or_else(undefined, Value::Bool)})
}

/// `context.account ?? resolveAccount(options)`.
fn ctx_account(ctx: &Context, opts: &RequestOptions) -> Value {
    non_nullish(ctx.get("account")).cloned().unwrap_or_else(|| resolve_account(opts))
}

/// `context[key] ?? fallback`.
fn ctx_or(ctx: &Context, key: &str, fallback: Value) -> Value {
    non_nullish(ctx.get(key)).cloned().unwrap_or(fallback)
}

/// `injectContext({ ...v }, context)` without runner variables, as the enrichers call it.
fn inject_plain(ctx: &mut Context, v: Option<&Value>) -> Map<String, Value> {
    let spread = Value::Object(spread(v));
    obj(ctx.inject_raw(&spread, false))
}

fn get_products(sample: Option<&Value>, ctx: &Context, opts: &RequestOptions) -> Map<String, Value> {
    // request-builder.js reads the raw fixture's buying_mode, and needs discovered products.
    if prop(sample, "buying_mode") == Some(&json!("refine")) && truthy(ctx.get("products")) {
        return obj(
            json!({"buying_mode": "refine", "refine": [{"scope": "request", "ask": "Only guaranteed packages with premium placement."}],
            "brand": resolve_brand(opts), "account": ctx_account(ctx, opts)}),
        );
    }
    let brief = opts
        .brief
        .clone()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| "Show me all available advertising products across all channels".into());
    obj(json!({"buying_mode": "brief", "brief": brief, "brand": resolve_brand(opts)}))
}

/// request-builder.js `selectProduct`: first discovered product with pricing options, else the first.
fn select_product(ctx: &Context) -> Option<Value> {
    let products = ctx.get("products")?.as_array().filter(|p| !p.is_empty())?;
    let priced = products.iter().find(|p| length(prop(Some(p), "pricing_options")).is_some_and(|n| n > 0));
    priced.or(products.first()).cloned()
}

/// request-builder.js `selectPricingOption`: first cpm/flat option, else the first.
fn select_pricing_option(product: Option<&Value>) -> Option<Value> {
    let options = prop(product, "pricing_options")?.as_array().filter(|o| !o.is_empty())?;
    let fixed = options.iter().find(|o| matches!(prop(Some(o), "pricing_model").and_then(Value::as_str), Some("cpm" | "flat")));
    fixed.or(options.first()).cloned()
}

/// A fixture string that is not a discovery-deferring sentinel (`asNonSentinel`).
fn non_sentinel<'a>(v: Option<&'a Value>, sentinel: &str) -> Option<&'a Value> {
    defined(v).filter(|v| v.as_str().is_some_and(|s| s != sentinel))
}

/// A fixture date kept only when it is not in the past (`Date.parse(sample) >= now`).
fn future_or(sample: Option<&Value>, key: &str, now: i64, default: String) -> Value {
    match prop(sample, key).and_then(Value::as_str) {
        Some(s) if parse_iso_ms(s).is_some_and(|t| t >= now) => Value::String(s.to_string()),
        _ => Value::String(default),
    }
}

fn create_media_buy(sample: Option<&Value>, ctx: &mut Context, opts: &RequestOptions) -> Map<String, Value> {
    let product = select_product(ctx);
    let pricing = select_pricing_option(product.as_ref());
    let now = opts.now();
    let start_time = future_or(sample, "start_time", now, iso_from_ms(now + DAY_MS));
    let end_time = future_or(sample, "end_time", now, iso_from_ms(now + 8 * DAY_MS));
    let packages: Vec<Value> = prop(sample, "packages").and_then(Value::as_array).cloned().unwrap_or_default();
    let base = match packages.first() {
        Some(first) if truthy(Some(first)) => inject_plain(ctx, Some(first)),
        _ => Map::new(),
    };
    let mut first = base.clone();
    let product_id = non_sentinel(base.get("product_id"), PRODUCT_ID_SENTINEL)
        .or(non_nullish(prop(product.as_ref(), "product_id")))
        .or(non_nullish(ctx.get("product_id")))
        .cloned()
        .unwrap_or(json!(PRODUCT_ID_SENTINEL));
    let min_spend = non_nullish(prop(pricing.as_ref(), "min_spend_per_package")).map_or(1000.0, |v| to_number(Some(v)));
    let budget = non_nullish(base.get("budget")).cloned().or(opts.budget.map(number)).unwrap_or_else(|| number(js_max(1000.0, min_spend)));
    let pricing_option_id = non_sentinel(base.get("pricing_option_id"), PRICING_OPTION_ID_SENTINEL)
        .or(non_nullish(prop(pricing.as_ref(), "pricing_option_id")))
        .or(non_nullish(ctx.get("pricing_option_id")))
        .cloned()
        .unwrap_or(json!("default"));
    first.insert("product_id".into(), product_id);
    first.insert("budget".into(), budget);
    first.insert("pricing_option_id".into(), pricing_option_id);
    // Synthesized only for auction/cpm pricing and only when the fixture has no bid_price.
    let model = prop(pricing.as_ref(), "pricing_model").and_then(Value::as_str);
    if defined(base.get("bid_price")).is_none() && matches!(model, Some("auction" | "cpm")) {
        let floor = Some(to_number(prop(pricing.as_ref(), "floor_price"))).filter(|f| *f != 0.0 && !f.is_nan()).unwrap_or(5.0);
        first.insert("bid_price".into(), number(math_round(floor * 1.5 * 100.0) / 100.0));
    }
    let mut all = vec![Value::Object(first)];
    all.extend(packages.iter().skip(1).map(|p| Value::Object(inject_plain(ctx, Some(p)))));
    obj(
        json!({"account": ctx_account(ctx, opts), "brand": resolve_brand(opts), "start_time": start_time, "end_time": end_time, "packages": all}),
    )
}

/// `Math.max(a, b)` (NaN wins).
fn js_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn update_media_buy(step: &Value, sample: Option<&Value>, ctx: &mut Context, opts: &RequestOptions) -> Map<String, Value> {
    let mut req = if sample.is_some() { inject_plain(ctx, sample) } else { Map::new() };
    // Always the harness account, so sandbox routing matches create_media_buy (adcp-client#1505).
    req.insert("account".into(), ctx_account(ctx, opts));
    if defined(req.get("media_buy_id")).is_none() {
        req.insert("media_buy_id".into(), ctx_or(ctx, "media_buy_id", json!("unknown")));
    }
    if !truthy(sample) {
        // Legacy keyword inference on the step id when no fixture is authored.
        let id = step.get("id").and_then(Value::as_str).unwrap_or("");
        if id.contains("pause") {
            req.insert("paused".into(), json!(true));
        } else if id.contains("resume") {
            req.insert("paused".into(), json!(false));
        } else if id.contains("cancel") {
            req.insert("canceled".into(), json!(true));
        } else {
            req.insert("packages".into(), json!([{"package_id": ctx_or(ctx, "package_id", json!("unknown")), "budget": 2000}]));
        }
    }
    req
}

fn get_media_buys(sample: Option<&Value>, ctx: &mut Context, opts: &RequestOptions) -> Map<String, Value> {
    let mut req = if sample.is_some() { inject_plain(ctx, sample) } else { Map::new() };
    req.insert("account".into(), ctx_account(ctx, opts));
    if let (Some(id), None) = (non_nullish(ctx.get("media_buy_id")), defined(req.get("media_buy_ids"))) {
        req.insert("media_buy_ids".into(), json!([id]));
    }
    req
}

fn sync_creatives(ctx: &Context, opts: &RequestOptions) -> Map<String, Value> {
    let now = opts.now();
    let ctx_format = non_nullish(ctx.get("format_id")).cloned().unwrap_or_else(unknown_format_id);
    let formats = ctx.get("formats").and_then(Value::as_array).filter(|f| !f.is_empty());
    let creatives = match formats {
        // One creative per discovered format, so later steps find one in every format.
        Some(formats) => formats
            .iter()
            .enumerate()
            .map(|(i, f)| {
                json!({"creative_id": format!("test-creative-{now}-{i}"), "name": format!("E2E Test Creative {}", i + 1),
                "format_id": non_nullish(prop(Some(f), "format_id")).cloned().unwrap_or_else(|| ctx_format.clone()),
                "assets": assets_for_format(f)})
            })
            .collect(),
        None => vec![json!({"creative_id": format!("test-creative-{now}"), "name": "E2E Test Creative", "format_id": ctx_format,
            "assets": {"primary": display_image()}})],
    };
    obj(json!({"account": ctx_account(ctx, opts), "creatives": creatives}))
}

fn display_image() -> Value {
    json!({"asset_type": "image", "url": "https://test-assets.adcontextprotocol.org/acme-outdoor/hero-master.jpg",
        "width": 1200, "height": 628, "format": "image/jpeg"})
}

/// request-builder.js `buildAssetsForFormat`: guess video/native/display from the format's name and type.
fn assets_for_format(format: &Value) -> Value {
    let js_string = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.to_lowercase(),
        Some(Value::Object(_)) => "[object object]".to_string(),
        Some(v) => v.to_string().to_lowercase(),
        None => String::new(),
    };
    let name = js_string(non_nullish(prop(Some(format), "name")).or(non_nullish(prop(Some(format), "format_id"))));
    let kind = js_string(non_nullish(prop(Some(format), "type")));
    if kind == "video" || name.contains("video") || name.contains("vast") {
        return json!({"video": {"asset_type": "video", "url": "https://test-assets.adcontextprotocol.org/acme-outdoor/trail-pro-30s.mp4",
            "width": 1920, "height": 1080, "duration_ms": 30000, "container_format": "video/mp4"}});
    }
    if kind == "native" || name.contains("native") {
        return json!({"image": display_image(), "headline": {"asset_type": "text", "content": "Trail Pro 3000 — Built for the Summit"}});
    }
    json!({"primary": display_image()})
}

fn get_signals(sample: Option<&Value>, ctx: &mut Context, opts: &RequestOptions) -> Map<String, Value> {
    if let Some(brief) = opts.brief.as_ref().filter(|b| !b.is_empty()) {
        return obj(json!({"signal_spec": brief}));
    }
    if let Some(ids) = prop(sample, "signal_ids").filter(|v| truthy(Some(v))) {
        return inject_plain(ctx, Some(&json!({"signal_ids": ids})));
    }
    obj(json!({"signal_spec": "E2E fallback signal discovery"}))
}

fn activate_signal(sample: Option<&Value>, ctx: &mut Context) -> Map<String, Value> {
    let signal = ctx.get("signals").and_then(Value::as_array).and_then(|s| s.first()).cloned();
    let segment = non_nullish(prop(signal.as_ref(), "signal_agent_segment_id")).or(non_nullish(ctx.get("signal_id"))).cloned();
    let first_option = index(prop(signal.as_ref(), "pricing_options"), 0);
    let pricing = non_nullish(prop(first_option.as_ref(), "pricing_option_id")).or(defined(ctx.get("pricing_option_id"))).cloned();
    let destinations = match prop(sample, "destinations").filter(|d| truthy(Some(d))) {
        Some(d) => inject_plain(ctx, Some(&json!({"destinations": d}))).remove("destinations").unwrap_or_else(undefined),
        None => json!([{"type": "agent", "agent_url": "https://test.example/signals"}]),
    };
    obj(json!({"signal_agent_segment_id": segment.unwrap_or(json!("test-signal")), "pricing_option_id": pricing.unwrap_or_else(undefined),
        "destinations": destinations}))
}

fn sync_plans(opts: &RequestOptions) -> Map<String, Value> {
    let now = opts.now();
    obj(json!({"plans": [{"plan_id": format!("test-plan-{now}"), "brand": resolve_brand(opts),
        "objectives": "E2E test campaign — maximize reach across digital channels",
        "budget": {"total": opts.budget.map_or(json!(10000), number), "currency": "USD", "reallocation_unlimited": true},
        "flight": {"start": iso_from_ms(now + DAY_MS), "end": iso_from_ms(now + 90 * DAY_MS)}, "approved_sellers": null}]}))
}

fn comply_test_controller(sample: Option<&Value>, ctx: &mut Context, opts: &RequestOptions) -> Map<String, Value> {
    // The controller requires account.sandbox: true, whatever the fixture or context says.
    let mut account = spread(Some(&ctx_account(ctx, opts)));
    account.insert("sandbox".into(), json!(true));
    // Natural-key AccountReference needs `operator`; a sync_accounts response may omit it (#1419).
    let is_str = |v: Option<&Value>| defined(v).is_some_and(Value::is_string);
    if !is_str(account.get("account_id")) && !is_str(account.get("operator")) {
        if let Some(domain) = prop(account.get("brand"), "domain").filter(|d| d.is_string()).cloned() {
            account.insert("operator".into(), domain);
        }
    }
    if truthy(sample) {
        let mut req = inject_plain(ctx, sample);
        req.insert("account".into(), Value::Object(account));
        return req;
    }
    obj(json!({"account": account, "scenario": ctx_or(ctx, "controller_scenario", json!("list_scenarios"))}))
}

fn si(task: &str, ctx: &Context, opts: &RequestOptions) -> Map<String, Value> {
    let offering = opts.si_offering_id.clone().unwrap_or_else(|| "e2e-test-offering".into());
    let session = ctx_or(ctx, "session_id", json!("unknown"));
    match task {
        "si_get_offering" => obj(json!({"offering_id": offering,
            "intent": opts.si_context.clone().unwrap_or_else(|| "E2E testing - checking SI offering availability".into())})),
        "si_initiate_session" => obj(json!({"offering_id": ctx_or(ctx, "offering_id", json!(offering)),
            "offering_token": defined(ctx.get("offering_token")).cloned().unwrap_or_else(undefined),
            "identity": {"consent_granted": false, "anonymous_session_id": format!("e2e-anon-{}", opts.now())},
            "intent": opts.si_context.clone().unwrap_or_else(|| "Browse available offerings".into()), "placement": "e2e-test",
            "supported_capabilities": {"modalities": {"conversational": true, "rich_media": true}}})),
        "si_send_message" => obj(json!({"session_id": session, "message": "Tell me more about this product."})),
        _ => obj(json!({"session_id": session, "reason": "user_exit"})),
    }
}
