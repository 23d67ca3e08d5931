//! Media buys: create, update (pause, cancel, creatives, targeting),
//! read back, and delivery reporting. Buys and packages are looked up by
//! id, whatever account a later call names.

use super::{accounts, catalog};
use crate::envelope::{now_secs, opt_str, parse_rfc3339, req_str, rfc3339, AdcpError, Outcome};
use crate::{idempotency, store, Call};
use serde_json::{json, Value};

/// States no update leads out of.
pub const TERMINAL: &[&str] = &["completed", "rejected", "canceled"];
/// Measurement windows this seller can bill against.
const BILLABLE_WINDOWS: &[&str] = &["live", "c3", "c7"];
/// Smallest billing variance this seller accepts, percent.
const MIN_VARIANCE_PERCENT: f64 = 5.0;

pub fn load(id: &str) -> Result<Option<Value>, AdcpError> {
    Ok(store::bucket("media_buys")?.get::<Value>(id)?)
}

pub fn save(buy: &Value) -> Result<(), AdcpError> {
    let id = buy["media_buy_id"].as_str().expect("buys have ids");
    Ok(store::bucket("media_buys")?.put(id, buy)?)
}

/// `pending_creatives` until every package has a creative, then
/// `pending_start` before the flight and `active` during it.
fn derived_status(buy: &Value) -> &'static str {
    let packages = buy["packages"].as_array().map(Vec::as_slice).unwrap_or_default();
    let all_have_creatives =
        !packages.is_empty() && packages.iter().all(|p| p["creative_assignments"].as_array().is_some_and(|a| !a.is_empty()));
    if !all_have_creatives {
        return "pending_creatives";
    }
    let starts = buy["start_time"].as_str().and_then(parse_rfc3339).unwrap_or(0);
    if starts > now_secs() as i64 {
        "pending_start"
    } else {
        "active"
    }
}

fn check_terms(i: usize, package: &Value) -> Result<(), AdcpError> {
    let Some(terms) = package.get("measurement_terms").and_then(|t| t.get("billing_measurement")) else { return Ok(()) };
    let field = format!("packages[{i}].measurement_terms.billing_measurement");
    if let Some(window) = terms.get("measurement_window").and_then(Value::as_str) {
        if !BILLABLE_WINDOWS.contains(&window) {
            return Err(AdcpError::new(
                "TERMS_REJECTED",
                format!("measurement window `{window}` is not billable here; use one of {BILLABLE_WINDOWS:?}"),
            )
            .with_field(&format!("{field}.measurement_window")));
        }
    }
    if let Some(variance) = terms.get("max_variance_percent").and_then(Value::as_f64) {
        if variance < MIN_VARIANCE_PERCENT {
            return Err(AdcpError::new(
                "TERMS_REJECTED",
                format!("max_variance_percent {variance} is below the {MIN_VARIANCE_PERCENT}% this seller can guarantee"),
            )
            .with_field(&format!("{field}.max_variance_percent")));
        }
    }
    Ok(())
}

fn budget(i: usize, package: &Value) -> Result<f64, AdcpError> {
    let field = format!("packages[{i}].budget");
    let b = match package.get("budget") {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(-1.0),
        Some(Value::Object(o)) => o.get("total").and_then(Value::as_f64).unwrap_or(-1.0),
        None => return Err(AdcpError::invalid(&field, format!("`{field}` is required"))),
        Some(_) => return Err(AdcpError::invalid(&field, format!("`{field}` must be a number"))),
    };
    if b < 0.0 {
        return Err(AdcpError::invalid(&field, format!("`{field}` must be zero or more, got {b}")));
    }
    Ok(b)
}

/// Start and end of the flight; `asap` starts now.
fn flight(request: &Value) -> Result<(i64, i64), AdcpError> {
    let start = match req_str(request, "start_time")? {
        "asap" => now_secs() as i64,
        s => parse_rfc3339(s)
            .ok_or_else(|| AdcpError::invalid("start_time", format!("`start_time` `{s}` is not an RFC 3339 date-time or `asap`")))?,
    };
    let end_text = req_str(request, "end_time")?;
    let end = parse_rfc3339(end_text)
        .ok_or_else(|| AdcpError::invalid("end_time", format!("`end_time` `{end_text}` is not an RFC 3339 date-time")))?;
    if end <= start {
        return Err(AdcpError::invalid("end_time", "`end_time` must be after `start_time`"));
    }
    Ok((start, end))
}

/// Moves a buy still waiting on creatives or its start to where it now is.
pub fn refresh_status(buy: &mut Value) {
    if matches!(buy["status"].as_str(), Some("pending_creatives" | "pending_start")) {
        buy["status"] = json!(derived_status(buy));
    }
}

pub fn create_media_buy(request: &Value, call: &Call) -> Outcome {
    super::check_version(request)?;
    idempotency::key(request)?;
    idempotency::once(call, "create_media_buy", request, || create(request, call))
}

fn create(request: &Value, call: &Call) -> Outcome {
    let packages = request
        .get("packages")
        .and_then(Value::as_array)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| AdcpError::invalid("packages", "`packages` must be a non-empty array"))?;
    // Cheapest checks first: terms and numbers, then dates, then lookups.
    for (i, p) in packages.iter().enumerate() {
        check_terms(i, p)?;
    }
    let budgets = packages.iter().enumerate().map(|(i, p)| budget(i, p)).collect::<Result<Vec<_>, _>>()?;
    let (start, end) = flight(request)?;
    accounts::check_can_buy(request)?;
    let mut currency = None;
    let mut resolved = Vec::new();
    for (i, p) in packages.iter().enumerate() {
        let pid = p
            .get("product_id")
            .and_then(Value::as_str)
            .ok_or_else(|| AdcpError::invalid(&format!("packages[{i}].product_id"), "`product_id` is required"))?;
        let product = catalog::product(pid)?
            .ok_or_else(|| AdcpError::not_found("PRODUCT_NOT_FOUND", &format!("packages[{i}].product_id"), "product", pid))?;
        let po_id = p.get("pricing_option_id").and_then(Value::as_str).unwrap_or("default");
        let option = catalog::pricing_option(&product, po_id).ok_or_else(|| {
            AdcpError::invalid(&format!("packages[{i}].pricing_option_id"), format!("product `{pid}` has no pricing option `{po_id}`"))
        })?;
        currency.get_or_insert_with(|| option["currency"].as_str().unwrap_or("USD").to_owned());
        resolved.push((pid.to_owned(), option["pricing_option_id"].clone(), option.clone()));
    }
    if start < now_secs() as i64 - 3600 {
        return Err(AdcpError::invalid("start_time", "`start_time` is in the past; use a future time or `asap`"));
    }
    if let Some(forced) = crate::controller::take_create_arm(call)? {
        return Ok(forced);
    }

    let media_buy_id = store::next_id("mb")?;
    let now = rfc3339(now_secs());
    let mut out_packages = Vec::new();
    for ((p, budget), (pid, po_id, option)) in packages.iter().zip(&budgets).zip(&resolved) {
        let package_id = store::next_id("pkg")?;
        let mut pkg = json!({
            "package_id": package_id, "product_id": pid, "pricing_option_id": po_id, "budget": budget,
            "currency": option["currency"], "paused": false,
        });
        for field in ["creative_assignments", "targeting_overlay", "measurement_terms", "pacing", "bid_price", "format_ids"] {
            if let Some(v) = p.get(field) {
                pkg[field] = v.clone();
            }
        }
        store::bucket("packages")?.put(&package_id, &media_buy_id)?;
        out_packages.push(pkg);
    }
    let mut buy = json!({
        "media_buy_id": media_buy_id,
        "currency": currency.unwrap_or_else(|| "USD".into()),
        "total_budget": budgets.iter().sum::<f64>(),
        "start_time": rfc3339(start.max(0) as u64),
        "end_time": rfc3339(end.max(0) as u64),
        "packages": out_packages,
        "account": request.get("account").cloned().unwrap_or(Value::Null),
        "brand": request.get("brand").cloned().unwrap_or(Value::Null),
        "created_at": now, "updated_at": now, "confirmed_at": now,
        "delivery": { "impressions": 0, "clicks": 0, "spend": 0.0 },
    });
    buy["status"] = json!(derived_status(&buy));
    if let Some(push) = request.get("push_notification_config") {
        buy["push_notification_config"] = push.clone();
    }
    save(&buy)?;
    super::webhooks::notify(&buy, "create_media_buy", request);
    let mut response = json!({
        "media_buy_id": buy["media_buy_id"], "status": buy["status"], "packages": buy["packages"],
        "confirmed_at": buy["confirmed_at"], "valid_actions": valid_actions(&buy),
    });
    if let Some(key) = request.get("idempotency_key") {
        response["idempotency_key"] = key.clone();
    }
    Ok(response)
}

pub fn update_media_buy(request: &Value, call: &Call) -> Outcome {
    super::check_version(request)?;
    idempotency::key(request)?;
    idempotency::once(call, "update_media_buy", request, || update(request))
}

fn update(request: &Value) -> Outcome {
    let id = req_str(request, "media_buy_id")?;
    let mut buy = load(id)?.ok_or_else(|| AdcpError::not_found("MEDIA_BUY_NOT_FOUND", "media_buy_id", "media buy", id))?;
    let status = buy["status"].as_str().unwrap_or("").to_owned();
    let now = rfc3339(now_secs());
    if request.get("canceled") == Some(&json!(true)) {
        if TERMINAL.contains(&status.as_str()) {
            return Err(AdcpError::new("NOT_CANCELLABLE", format!("media buy `{id}` is already {status}")).with_field("canceled"));
        }
        buy["status"] = json!("canceled");
        buy["cancellation"] = json!({ "canceled_at": now, "canceled_by": "buyer", "reason": request.get("cancellation_reason").cloned().unwrap_or(json!("canceled by buyer")) });
    } else if TERMINAL.contains(&status.as_str()) {
        return Err(AdcpError::new("INVALID_STATE", format!("media buy `{id}` is {status}; it can no longer change")));
    }
    let mut affected = Vec::new();
    if let Some(updates) = request.get("packages").and_then(Value::as_array) {
        for (i, u) in updates.iter().enumerate() {
            let pid = u
                .get("package_id")
                .and_then(Value::as_str)
                .ok_or_else(|| AdcpError::invalid(&format!("packages[{i}].package_id"), "`package_id` is required"))?;
            let pkg = buy["packages"]
                .as_array_mut()
                .and_then(|ps| ps.iter_mut().find(|p| p["package_id"] == json!(pid)))
                .ok_or_else(|| AdcpError::not_found("PACKAGE_NOT_FOUND", &format!("packages[{i}].package_id"), "package", pid))?;
            if u.get("budget").is_some() {
                pkg["budget"] = json!(budget(i, u)?);
            }
            for field in ["paused", "creative_assignments", "targeting_overlay", "pacing", "bid_price"] {
                if let Some(v) = u.get(field) {
                    pkg[field] = v.clone();
                }
            }
            affected.push(json!({ "package_id": pid }));
        }
        let total: f64 = buy["packages"].as_array().into_iter().flatten().filter_map(|p| p["budget"].as_f64()).sum();
        buy["total_budget"] = json!(total);
    }
    for field in ["start_time", "end_time"] {
        if let Some(t) = opt_str(request, field)? {
            parse_rfc3339(t).ok_or_else(|| AdcpError::invalid(field, format!("`{field}` is not an RFC 3339 date-time")))?;
            buy[field] = json!(t);
        }
    }
    if buy["status"] != json!("canceled") {
        match request.get("paused") {
            Some(Value::Bool(true)) => buy["status"] = json!("paused"),
            Some(Value::Bool(false)) | None if status == "paused" && request.get("paused").is_some() => {
                buy["status"] = json!(derived_status(&buy))
            }
            _ if matches!(status.as_str(), "pending_creatives" | "pending_start") => buy["status"] = json!(derived_status(&buy)),
            _ => {}
        }
    }
    buy["updated_at"] = json!(now);
    save(&buy)?;
    Ok(json!({ "media_buy_id": id, "status": buy["status"], "affected_packages": affected, "implementation_date": now }))
}

/// What a buyer may do next with `buy`, in the protocol's vocabulary.
fn valid_actions(buy: &Value) -> Vec<&'static str> {
    match buy["status"].as_str().unwrap_or("") {
        s if TERMINAL.contains(&s) => vec![],
        "paused" => vec!["resume", "cancel", "update_budget", "update_dates", "update_packages"],
        _ => vec!["pause", "cancel", "update_budget", "update_dates", "update_packages", "add_packages", "sync_creatives"],
    }
}

/// A buy as buyers see it: internal bookkeeping removed, the account as
/// it is now (its status may have changed since the buy).
fn public(buy: &Value) -> Result<Value, AdcpError> {
    let mut b = buy.clone();
    let account = accounts::summary(&buy["account"])?;
    if let Some(o) = b.as_object_mut() {
        for internal in ["delivery", "push_notification_config", "brand", "account"] {
            o.remove(internal);
        }
        if let Some(a) = account {
            o.insert("account".into(), a);
        }
    }
    Ok(b)
}

fn selected(request: &Value) -> Result<Vec<Value>, AdcpError> {
    match request.get("media_buy_ids").and_then(Value::as_array) {
        Some(ids) => {
            let mut out = Vec::new();
            for id in ids.iter().filter_map(Value::as_str) {
                if let Some(b) = load(id)? {
                    out.push(b);
                }
            }
            Ok(out)
        }
        None => store::all("media_buys"),
    }
}

pub fn get_media_buys(request: &Value, _: &Call) -> Outcome {
    super::check_version(request)?;
    let mut buys = selected(request)?;
    if let Some(statuses) = request.get("status_filter").and_then(Value::as_array) {
        buys.retain(|b| statuses.contains(&b["status"]));
    }
    Ok(json!({ "media_buys": buys.iter().map(public).collect::<Result<Vec<_>, _>>()? }))
}

pub fn get_media_buy_delivery(request: &Value, _: &Call) -> Outcome {
    super::check_version(request)?;
    let buys = selected(request)?;
    let daily = request.get("include_package_daily_breakdown") == Some(&json!(true));
    let today = rfc3339(now_secs());
    let mut deliveries = Vec::new();
    let mut earliest = now_secs() as i64;
    for buy in &buys {
        let d = &buy["delivery"];
        let (impressions, clicks, spend) =
            (d["impressions"].as_f64().unwrap_or(0.0), d["clicks"].as_f64().unwrap_or(0.0), d["spend"].as_f64().unwrap_or(0.0));
        let total_budget = buy["total_budget"].as_f64().filter(|b| *b > 0.0);
        let packages = buy["packages"].as_array().cloned().unwrap_or_default();
        let n = packages.len().max(1) as f64;
        let by_package: Vec<Value> = packages
            .iter()
            .map(|p| {
                let share = total_budget.map_or(1.0 / n, |t| p["budget"].as_f64().unwrap_or(0.0) / t);
                let rate = catalog::product(p["product_id"].as_str().unwrap_or(""))
                    .ok()
                    .flatten()
                    .and_then(|prod| catalog::pricing_option(&prod, p["pricing_option_id"].as_str().unwrap_or("default")).cloned())
                    .and_then(|o| o["fixed_price"].as_f64())
                    .unwrap_or(0.0);
                let (imp, clk, sp) = ((impressions * share).round(), (clicks * share).round(), spend * share);
                let mut row = json!({
                    "package_id": p["package_id"], "impressions": imp, "clicks": clk, "spend": sp,
                    "pricing_model": "cpm", "rate": rate, "currency": buy["currency"],
                });
                if daily {
                    row["daily_breakdown"] = json!([{ "date": &today[..10], "impressions": imp, "spend": sp }]);
                }
                row
            })
            .collect();
        earliest = earliest.min(buy["start_time"].as_str().and_then(parse_rfc3339).unwrap_or(earliest));
        deliveries.push(json!({
            "media_buy_id": buy["media_buy_id"], "status": buy["status"],
            "totals": { "impressions": impressions, "clicks": clicks, "spend": spend },
            "by_package": by_package,
        }));
    }
    let currency = buys.first().and_then(|b| b["currency"].as_str()).unwrap_or("USD");
    Ok(json!({
        "reporting_period": { "start": rfc3339(earliest.min(now_secs() as i64).max(0) as u64), "end": today },
        "currency": currency,
        "media_buy_deliveries": deliveries,
    }))
}
