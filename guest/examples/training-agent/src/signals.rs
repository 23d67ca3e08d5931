//! The signals agent: a catalog of audience signals, discovery by brief,
//! and activation on agent or platform destinations (recorded in state).

use crate::envelope::{now_secs, opt_str, req_str, rfc3339, AdcpError, Outcome};
use crate::{idempotency, store, Call};
use serde_json::{json, Value};

/// This agent's own segments: (id, name, description, coverage %, CPM, keywords).
const CATALOG: &[(&str, &str, &str, f64, f64, &[&str])] = &[
    (
        "ev_intenders",
        "EV Intenders",
        "Adults showing electric-vehicle purchase intent in the last 30 days",
        8.5,
        3.0,
        &["electric", "ev", "vehicle", "car", "auto"],
    ),
    ("auto_in_market", "Auto In-Market", "Adults researching new or used vehicles", 14.0, 2.5, &["auto", "car", "vehicle", "dealer"]),
    (
        "outdoor_enthusiasts",
        "Outdoor Enthusiasts",
        "Adults who hike, camp or buy outdoor gear",
        11.2,
        2.0,
        &["outdoor", "hiking", "camping", "gear", "adventure"],
    ),
    (
        "eco_conscious",
        "Eco-Conscious Consumers",
        "Adults who favour sustainable brands and products",
        18.3,
        1.75,
        &["eco", "green", "sustainable", "electric", "climate"],
    ),
    (
        "frequent_travelers",
        "Frequent Travelers",
        "Adults with three or more trips in the last year",
        9.7,
        2.25,
        &["travel", "flight", "hotel", "trip"],
    ),
    ("young_families", "Young Families", "Households with children under 10", 21.4, 1.5, &["family", "kids", "parents", "children"]),
];

const AGENT_URL: &str = "https://training-agent.hostel.example/signals/mcp";

pub fn capabilities() -> Value {
    json!({ "features": { "catalog_signals": false } })
}

fn signal_json(entry: &(&str, &str, &str, f64, f64, &[&str])) -> Value {
    let (id, name, description, coverage, cpm, _) = *entry;
    json!({
        "signal_id": { "source": "agent", "agent_url": AGENT_URL, "id": id },
        "signal_agent_segment_id": format!("seg_{id}"),
        "name": name,
        "description": description,
        "signal_type": "owned",
        "data_provider": "Hostel Training Signals",
        "coverage_percentage": coverage,
        "deployments": [],
        "pricing_options": [{ "pricing_option_id": format!("po_{id}_cpm"), "model": "cpm", "cpm": cpm, "currency": "USD" }],
    })
}

fn score(entry: &(&str, &str, &str, f64, f64, &[&str]), spec: &str) -> usize {
    let spec = spec.to_ascii_lowercase();
    entry
        .5
        .iter()
        .filter(|k| spec.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| w == **k || (w.len() > 3 && w.starts_with(**k))))
        .count()
}

pub fn get_signals(request: &Value, _: &Call) -> Outcome {
    crate::sales::check_version(request)?;
    let spec = opt_str(request, "signal_spec")?.unwrap_or("");
    let wanted_ids: Option<Vec<String>> = request
        .get("signal_ids")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(|i| i.get("id").and_then(Value::as_str).or(i.as_str()).map(str::to_owned)).collect());
    let mut ranked: Vec<_> = CATALOG.iter().map(|e| (score(e, spec), e)).collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0));
    let mut signals: Vec<Value> = match &wanted_ids {
        Some(ids) => CATALOG.iter().filter(|e| ids.iter().any(|i| i == e.0 || *i == format!("seg_{}", e.0))).map(signal_json).collect(),
        // Matching signals first; with no match, the catalog's best sellers,
        // so a buyer always has something to activate.
        None => {
            let matches: Vec<_> = ranked.iter().filter(|(s, _)| *s > 0).map(|(_, e)| signal_json(e)).collect();
            if matches.is_empty() {
                ranked.iter().take(3).map(|(_, e)| signal_json(e)).collect()
            } else {
                matches
            }
        }
    };
    let max = request.get("max_results").and_then(Value::as_u64).unwrap_or(10).max(1) as usize;
    signals.truncate(max);
    Ok(json!({ "signals": signals }))
}

pub fn activate_signal(request: &Value, call: &Call) -> Outcome {
    crate::sales::check_version(request)?;
    idempotency::key(request)?;
    let segment = req_str(request, "signal_agent_segment_id")?;
    let entry = CATALOG
        .iter()
        .find(|e| format!("seg_{}", e.0) == segment)
        .ok_or_else(|| AdcpError::not_found("SIGNAL_NOT_FOUND", "signal_agent_segment_id", "signal", segment))?;
    if let Some(po) = opt_str(request, "pricing_option_id")? {
        if po != format!("po_{}_cpm", entry.0) {
            return Err(AdcpError::invalid("pricing_option_id", format!("pricing option `{po}` does not belong to `{segment}`")));
        }
    }
    let destinations = request
        .get("destinations")
        .and_then(Value::as_array)
        .filter(|d| !d.is_empty())
        .ok_or_else(|| AdcpError::invalid("destinations", "`destinations` must be a non-empty array"))?;
    let mut deployments = Vec::new();
    for (i, d) in destinations.iter().enumerate() {
        let field = format!("destinations[{i}]");
        let deployed_at = rfc3339(now_secs());
        let deployment = match d.get("type").and_then(Value::as_str) {
            Some("agent") => {
                let url = d
                    .get("agent_url")
                    .and_then(Value::as_str)
                    .ok_or_else(|| AdcpError::invalid(&field, "agent destination needs `agent_url`"))?;
                json!({ "type": "agent", "agent_url": url, "is_live": true, "deployed_at": deployed_at,
                        "activation_key": { "type": "key_value", "key": "adcp_segment", "value": segment } })
            }
            Some("platform") => {
                let platform = d
                    .get("platform")
                    .and_then(Value::as_str)
                    .ok_or_else(|| AdcpError::invalid(&field, "platform destination needs `platform`"))?;
                let mut dep = json!({ "type": "platform", "platform": platform, "is_live": true, "deployed_at": deployed_at,
                        "activation_key": { "type": "segment_id", "segment_id": format!("{platform}_{segment}") } });
                if let Some(account) = d.get("account").and_then(Value::as_str) {
                    dep["account"] = json!(account);
                }
                dep
            }
            _ => return Err(AdcpError::invalid(&format!("{field}.type"), "destination `type` must be `agent` or `platform`")),
        };
        deployments.push(deployment);
    }
    idempotency::once(call, "activate_signal", request, || {
        let id = store::next_id("act")?;
        let record = json!({ "activation_id": id, "signal_agent_segment_id": segment, "deployments": deployments });
        store::bucket("activations")?.put(&id, &record)?;
        Ok(json!({ "deployments": deployments }))
    })
}
