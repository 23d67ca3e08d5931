//! `comply_test_controller`: deterministic hooks for conformance testing
//! (force a status, simulate delivery or spend, seed catalog fixtures,
//! force the next create to go asynchronous). The training agent is a
//! sandbox as a whole; a request naming a production account
//! (`sandbox: false`) is refused.

use crate::envelope::{now_secs, rfc3339, AdcpError, Outcome};
use crate::sales::{accounts, buys, catalog, creatives};
use crate::{store, Call};
use serde_json::{json, Value};

/// Scenarios declared in `get_adcp_capabilities` (the schema's vocabulary).
pub const SCENARIOS: &[&str] =
    &["force_creative_status", "force_account_status", "force_media_buy_status", "simulate_delivery", "simulate_budget_spend"];
/// Everything `list_scenarios` reports, fixture seeding included.
const ALL_SCENARIOS: &[&str] = &[
    "force_creative_status",
    "force_account_status",
    "force_media_buy_status",
    "simulate_delivery",
    "simulate_budget_spend",
    "seed_product",
    "seed_pricing_option",
    "force_create_media_buy_arm",
];
const MEDIA_BUY_STATUSES: &[&str] = &["pending_creatives", "pending_start", "active", "paused", "completed", "rejected", "canceled"];

fn fail(error: &str, detail: impl Into<String>) -> AdcpError {
    AdcpError::raw(json!({ "success": false, "error": error, "error_detail": detail.into() }))
}

fn param<'a>(params: &'a Value, name: &str) -> Result<&'a str, AdcpError> {
    params
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| fail("INVALID_PARAMS", format!("`params.{name}` is required")))
}

fn status_param<'a>(params: &'a Value, allowed: &[&str]) -> Result<&'a str, AdcpError> {
    let status = param(params, "status")?;
    match allowed.contains(&status) {
        true => Ok(status),
        false => Err(fail("INVALID_PARAMS", format!("`params.status` must be one of {allowed:?}"))),
    }
}

fn transition(previous: &str, current: &str) -> Value {
    json!({ "success": true, "previous_state": previous, "current_state": current })
}

pub fn handle(request: &Value, call: &Call) -> Outcome {
    let scenario = request.get("scenario").and_then(Value::as_str).ok_or_else(|| fail("INVALID_PARAMS", "`scenario` is required"))?;
    if scenario == "list_scenarios" {
        return Ok(json!({ "success": true, "scenarios": ALL_SCENARIOS }));
    }
    if !ALL_SCENARIOS.contains(&scenario) {
        return Err(fail("UNKNOWN_SCENARIO", format!("scenario `{scenario}` is not supported; see list_scenarios")));
    }
    // This whole agent is a sandbox; an account that says it is real
    // (`sandbox: false`) must not be steered by test hooks.
    if request.pointer("/account/sandbox") == Some(&json!(false)) {
        return Err(fail("FORBIDDEN", "the test controller does not act on production accounts (`account.sandbox: false`)"));
    }
    let empty = json!({});
    let params = request.get("params").unwrap_or(&empty);
    match scenario {
        "force_creative_status" => {
            let id = param(params, "creative_id")?;
            let status = status_param(params, creatives::STATUSES)?;
            match creatives::force_status(id, status, params.get("rejection_reason").and_then(Value::as_str))? {
                Ok((prev, cur)) => Ok(transition(&prev, &cur)),
                Err((code, detail)) => Err(fail(code, detail)),
            }
        }
        "force_account_status" => {
            let id = param(params, "account_id")?;
            let status = status_param(params, accounts::STATUSES)?;
            match accounts::force_status(id, status)? {
                Some((prev, cur)) => Ok(transition(&prev, &cur)),
                None => Err(fail("NOT_FOUND", format!("account `{id}` not found"))),
            }
        }
        "force_media_buy_status" => {
            let id = param(params, "media_buy_id")?;
            let status = status_param(params, MEDIA_BUY_STATUSES)?;
            let mut buy = buys::load(id)?.ok_or_else(|| fail("NOT_FOUND", format!("media buy `{id}` not found")))?;
            let previous = buy["status"].as_str().unwrap_or("").to_owned();
            if previous != status && buys::TERMINAL.contains(&previous.as_str()) {
                let mut e = fail("INVALID_TRANSITION", format!("media buy `{id}` is {previous}; it cannot become {status}"));
                if let Some(body) = e.raw.as_mut() {
                    body["current_state"] = json!(previous);
                }
                return Err(e);
            }
            buy["status"] = json!(status);
            buy["updated_at"] = json!(rfc3339(now_secs()));
            buys::save(&buy)?;
            Ok(transition(&previous, status))
        }
        "simulate_delivery" => {
            let id = param(params, "media_buy_id")?;
            let mut buy = buys::load(id)?.ok_or_else(|| fail("NOT_FOUND", format!("media buy `{id}` not found")))?;
            let impressions = params.get("impressions").and_then(Value::as_f64).unwrap_or(0.0);
            let clicks = params.get("clicks").and_then(Value::as_f64).unwrap_or(0.0);
            let spend = params.pointer("/reported_spend/amount").and_then(Value::as_f64).unwrap_or(0.0);
            if impressions < 0.0 || clicks < 0.0 || spend < 0.0 {
                return Err(fail("INVALID_PARAMS", "delivery figures must not be negative"));
            }
            let d = &mut buy["delivery"];
            d["impressions"] = json!(d["impressions"].as_f64().unwrap_or(0.0) + impressions);
            d["clicks"] = json!(d["clicks"].as_f64().unwrap_or(0.0) + clicks);
            d["spend"] = json!(d["spend"].as_f64().unwrap_or(0.0) + spend);
            let cumulative = d.clone();
            buys::save(&buy)?;
            Ok(
                json!({ "success": true, "simulated": { "impressions": impressions, "clicks": clicks, "reported_spend": params.get("reported_spend").cloned().unwrap_or(json!({ "amount": spend, "currency": buy["currency"] })) }, "cumulative": cumulative }),
            )
        }
        "simulate_budget_spend" => {
            let id = param(params, "media_buy_id")?;
            let pct = params
                .get("spend_percentage")
                .and_then(Value::as_f64)
                .filter(|p| (0.0..=100.0).contains(p))
                .ok_or_else(|| fail("INVALID_PARAMS", "`params.spend_percentage` must be 0-100"))?;
            let mut buy = buys::load(id)?.ok_or_else(|| fail("NOT_FOUND", format!("media buy `{id}` not found")))?;
            let spend = buy["total_budget"].as_f64().unwrap_or(0.0) * pct / 100.0;
            buy["delivery"]["spend"] = json!(spend);
            buys::save(&buy)?;
            Ok(json!({ "success": true, "simulated": { "spend_percentage": pct, "spend": spend, "currency": buy["currency"] } }))
        }
        "seed_product" => {
            let id = param(params, "product_id")?;
            catalog::seed_product(id, params.get("fixture").unwrap_or(&empty))?;
            Ok(json!({ "success": true, "message": format!("product `{id}` seeded") }))
        }
        "seed_pricing_option" => {
            let product = param(params, "product_id")?;
            let option = param(params, "pricing_option_id")?;
            match catalog::seed_pricing_option(product, option, params.get("fixture").unwrap_or(&empty))? {
                true => Ok(json!({ "success": true, "message": format!("pricing option `{option}` seeded on `{product}`") })),
                false => Err(fail("NOT_FOUND", format!("product `{product}` not found; seed it first"))),
            }
        }
        "force_create_media_buy_arm" => {
            let arm = param(params, "arm")?;
            if arm != "submitted" {
                return Err(fail("INVALID_PARAMS", "only the `submitted` arm can be forced"));
            }
            let task_id = params.get("task_id").and_then(Value::as_str).map_or_else(|| store::next_id("task"), |t| Ok(t.to_owned()))?;
            let message = params.get("message").and_then(Value::as_str).unwrap_or("Awaiting manual approval");
            store::bucket("directives")?
                .put(&format!("{}:create_media_buy_arm", call.scope), &json!({ "task_id": task_id, "message": message }))?;
            Ok(json!({ "success": true, "forced": { "arm": "submitted", "task_id": task_id } }))
        }
        _ => unreachable!("checked against ALL_SCENARIOS"),
    }
}

/// Consumes a forced `submitted` arm for this buyer's next create.
pub fn take_create_arm(call: &Call) -> Result<Option<Value>, AdcpError> {
    let bucket = store::bucket("directives")?;
    let key = format!("{}:create_media_buy_arm", call.scope);
    let Some(directive) = bucket.get::<Value>(&key)? else { return Ok(None) };
    bucket.delete(&key)?;
    Ok(Some(json!({ "status": "submitted", "task_id": directive["task_id"], "message": directive["message"] })))
}
