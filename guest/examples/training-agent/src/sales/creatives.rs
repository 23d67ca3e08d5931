//! The creative library: `sync_creatives` (upsert + package assignments),
//! `list_creatives`, and review status the test controller can force.

use super::buys;
use crate::envelope::{now_secs, rfc3339, AdcpError, Outcome};
use crate::{idempotency, store, Call};
use serde_json::{json, Value};

pub const STATUSES: &[&str] = &["processing", "pending_review", "approved", "rejected", "archived"];

pub fn sync_creatives(request: &Value, call: &Call) -> Outcome {
    super::check_version(request)?;
    idempotency::once_if_keyed(call, "sync_creatives", request, || sync(request))
}

/// `(creative_id, package_id)` pairs from either shape buyers send:
/// `[{creative_id, package_id}]` or `{creative_id: [package_id, …]}`.
fn assignment_pairs(assignments: Option<&Value>) -> Vec<(String, String)> {
    match assignments {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|a| Some((a.get("creative_id")?.as_str()?.to_owned(), a.get("package_id")?.as_str()?.to_owned())))
            .collect(),
        Some(Value::Object(map)) => map
            .iter()
            .flat_map(|(c, pkgs)| pkgs.as_array().into_iter().flatten().filter_map(|p| p.as_str()).map(move |p| (c.clone(), p.to_owned())))
            .collect(),
        _ => Vec::new(),
    }
}

fn sync(request: &Value) -> Outcome {
    let items = request
        .get("creatives")
        .and_then(Value::as_array)
        .ok_or_else(|| AdcpError::invalid("creatives", "`creatives` must be an array"))?;
    let dry_run = request.get("dry_run") == Some(&json!(true));
    let bucket = store::bucket("creatives")?;
    let now = rfc3339(now_secs());
    let mut out = Vec::new();
    for (i, c) in items.iter().enumerate() {
        let field = format!("creatives[{i}]");
        let Some(id) = c.get("creative_id").and_then(Value::as_str).filter(|s| !s.is_empty()) else {
            return Err(AdcpError::invalid(&format!("{field}.creative_id"), "each creative needs a `creative_id`"));
        };
        let Some(format_id) = c.get("format_id").filter(|f| f.get("id").and_then(Value::as_str).is_some()) else {
            out.push(json!({ "creative_id": id, "action": "failed", "errors": [{ "code": "INVALID_REQUEST", "message": "`format_id` with an `id` is required" }] }));
            continue;
        };
        let existing = bucket.get::<Value>(id)?;
        let content = json!({ "name": c.get("name").cloned().unwrap_or(json!(id)), "format_id": format_id, "assets": c.get("assets").cloned().unwrap_or(json!({})) });
        let (action, record) = match existing {
            Some(mut e) if e["content"] == content => {
                // Re-submitting an archived creative brings it back for review.
                if e["status"] == json!("archived") {
                    e["status"] = json!("pending_review");
                    e["updated_date"] = json!(now);
                    ("updated", e)
                } else {
                    ("unchanged", e)
                }
            }
            Some(mut e) => {
                e["content"] = content;
                e["status"] = json!("pending_review");
                e["updated_date"] = json!(now);
                ("updated", e)
            }
            None => (
                "created",
                json!({ "creative_id": id, "content": content, "status": "pending_review", "created_date": now, "updated_date": now }),
            ),
        };
        if !dry_run {
            bucket.put(id, &record)?;
        }
        out.push(json!({ "creative_id": id, "action": action, "status": record["status"] }));
    }
    let pairs = assignment_pairs(request.get("assignments"));
    if !dry_run {
        for (creative_id, package_id) in &pairs {
            assign(creative_id, package_id)?;
        }
    }
    for item in out.iter_mut() {
        let assigned: Vec<&str> = pairs.iter().filter(|(c, _)| item["creative_id"] == json!(c)).map(|(_, p)| p.as_str()).collect();
        if !assigned.is_empty() && item["action"] != json!("failed") {
            item["assigned_to"] = json!(assigned);
        }
    }
    let mut body = json!({ "creatives": out });
    if dry_run {
        body["dry_run"] = json!(true);
    }
    Ok(body)
}

/// Adds `creative_id` to the package's assignments (idempotent).
fn assign(creative_id: &str, package_id: &str) -> Result<(), AdcpError> {
    let Some(buy_id) = store::bucket("packages")?.get::<String>(package_id)? else {
        return Err(AdcpError::not_found("PACKAGE_NOT_FOUND", "assignments", "package", package_id));
    };
    let Some(mut buy) = buys::load(&buy_id)? else {
        return Err(AdcpError::not_found("MEDIA_BUY_NOT_FOUND", "assignments", "media buy", &buy_id));
    };
    if let Some(pkg) = buy["packages"].as_array_mut().and_then(|ps| ps.iter_mut().find(|p| p["package_id"] == json!(package_id))) {
        let list = pkg.as_object_mut().expect("object").entry("creative_assignments").or_insert_with(|| json!([]));
        if let Some(list) = list.as_array_mut() {
            if !list.iter().any(|a| a["creative_id"] == json!(creative_id)) {
                list.push(json!({ "creative_id": creative_id }));
            }
        }
    }
    buys::refresh_status(&mut buy);
    buys::save(&buy)
}

pub fn list_creatives(request: &Value, _: &Call) -> Outcome {
    super::check_version(request)?;
    let ids: Option<Vec<&str>> =
        request.pointer("/filters/creative_ids").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect());
    let statuses: Option<Vec<&str>> =
        request.pointer("/filters/statuses").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect());
    let creatives: Vec<Value> = store::all("creatives")?
        .into_iter()
        .filter(|c| ids.as_ref().is_none_or(|ids| ids.iter().any(|i| c["creative_id"] == json!(i))))
        .filter(|c| statuses.as_ref().is_none_or(|s| s.iter().any(|st| c["status"] == json!(st))))
        .map(|c| {
            json!({
                "creative_id": c["creative_id"], "name": c["content"]["name"], "format_id": c["content"]["format_id"],
                "status": c["status"], "created_date": c["created_date"], "updated_date": c["updated_date"],
            })
        })
        .collect();
    let n = creatives.len();
    Ok(json!({ "query_summary": { "total_matching": n, "returned": n }, "pagination": { "has_more": false }, "creatives": creatives }))
}

/// Forces a creative's review status; archived is final.
pub fn force_status(id: &str, status: &str, reason: Option<&str>) -> Result<Result<(String, String), (&'static str, String)>, AdcpError> {
    let bucket = store::bucket("creatives")?;
    let Some(mut c) = bucket.get::<Value>(id)? else { return Ok(Err(("NOT_FOUND", format!("creative `{id}` not found")))) };
    let previous = c["status"].as_str().unwrap_or("pending_review").to_owned();
    if previous == "archived" && status != "archived" {
        return Ok(Err(("INVALID_TRANSITION", format!("creative `{id}` is archived; it cannot become {status}"))));
    }
    c["status"] = json!(status);
    if let Some(r) = reason {
        c["rejection_reason"] = json!(r);
    }
    c["updated_date"] = json!(rfc3339(now_secs()));
    bucket.put(id, &c)?;
    Ok(Ok((previous, status.to_owned())))
}
