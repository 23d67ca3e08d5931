//! Pre-flight controller seeding (seeding.js): a storyboard with
//! `prerequisites.controller_seeding: true` and `fixtures` gets each fixture
//! installed through `comply_test_controller` `seed_*` scenarios before its
//! phases run, reported as phase `__controller_seeding__`.

use super::flow::{skipped, Run};
use super::outcome::Outcome;
use super::report::{PhaseResult, StepResult};
use serde_json::{json, Map, Value};
use std::time::Instant;

/// The phase id the official runner reports seeding under.
pub const PHASE_ID: &str = "__controller_seeding__";

struct Seed {
    step_id: String,
    title: String,
    scenario: &'static str,
    params: Value,
    authoring_error: Option<String>,
}

/// `(fixtures key, id field, scenario, title noun)`, in the official order.
const KINDS: &[(&str, &str, &str, &str)] = &[
    ("products", "product_id", "seed_product", "product"),
    ("pricing_options", "pricing_option_id", "seed_pricing_option", "pricing option"),
    ("creatives", "creative_id", "seed_creative", "creative"),
    ("plans", "plan_id", "seed_plan", "plan"),
    ("media_buys", "media_buy_id", "seed_media_buy", "media buy"),
];

fn seeds(fixtures: &Value) -> Vec<Seed> {
    let mut out = Vec::new();
    for (key, id_field, scenario, noun) in KINDS {
        for (i, entry) in fixtures[*key].as_array().map(Vec::as_slice).unwrap_or_default().iter().enumerate() {
            let mut fixture: Map<String, Value> = entry.as_object().cloned().unwrap_or_default();
            let id = fixture.remove(*id_field).and_then(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned));
            // Pricing options are keyed by product and option.
            let product = if *key == "pricing_options" {
                fixture.remove("product_id").and_then(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned))
            } else {
                None
            };
            let mut params = Map::new();
            let (step_id, title, error) = match (*key, &id, &product) {
                ("pricing_options", Some(po), Some(p)) => {
                    (format!("{scenario}.{p}.{po}"), format!("Seed pricing option {po} on {p}"), None)
                }
                ("pricing_options", _, _) => {
                    let label = id.clone().or(product.clone()).unwrap_or(format!("#{i}"));
                    let missing: Vec<&str> = [("product_id", &product), ("pricing_option_id", &id)]
                        .iter()
                        .filter(|(_, v)| v.is_none())
                        .map(|(n, _)| *n)
                        .collect();
                    let e = format!("fixtures.pricing_options[{i}] requires non-empty string(s) for: {}", missing.join(", "));
                    (format!("{scenario}.{label}"), format!("Seed pricing option {label}"), Some(e))
                }
                (_, Some(id), _) => (format!("{scenario}.{id}"), format!("Seed {noun} {id}"), None),
                (_, None, _) => {
                    let e = format!("fixtures.{key}[{i}] requires a non-empty string '{id_field}'");
                    (format!("{scenario}.#{i}"), format!("Seed {noun} #{i}"), Some(e))
                }
            };
            if let Some(p) = product {
                params.insert("product_id".into(), p.into());
            }
            if let Some(id) = id {
                params.insert((*id_field).into(), id.into());
            }
            params.insert("fixture".into(), Value::Object(fixture));
            out.push(Seed { step_id, title, scenario, params: Value::Object(params), authoring_error: error });
        }
    }
    out
}

/// Seeds the storyboard's fixtures; `None` when it asks for no seeding.
pub(super) async fn run(run: &mut Run<'_>) -> Option<PhaseResult> {
    let doc = &run.storyboard.doc;
    if doc["prerequisites"]["controller_seeding"] != true {
        return None;
    }
    let calls = seeds(&doc["fixtures"]);
    if calls.is_empty() {
        return None;
    }
    let step = |s: &Seed| json!({ "id": s.step_id, "title": s.title, "task": "comply_test_controller" });
    if !run.tools.iter().any(|t| t == "comply_test_controller") {
        let detail = "Skipped: agent did not advertise comply_test_controller, so fixture seeding cannot run.";
        let steps = calls.iter().map(|s| skipped(&step(s), PHASE_ID, "missing_test_controller", true, detail)).collect();
        return Some(PhaseResult {
            phase_id: PHASE_ID.into(),
            phase_title: "Controller seeding (pre-flight)".into(),
            passed: true,
            optional: false,
            steps,
        });
    }
    let mut steps = Vec::new();
    for call in calls {
        let started = Instant::now();
        let error = match &call.authoring_error {
            Some(e) => Some(e.clone()),
            None => {
                let mut args = json!({ "account": run.opts.controller_account(), "scenario": call.scenario });
                args["params"] = call.params.clone();
                let answer = run.sandbox.call_tool("comply_test_controller", &args).await;
                let outcome = Outcome::from_http(answer.status, &answer.body, answer.content_type.as_deref());
                let data = outcome.data();
                if outcome.success() && data.is_some_and(|d| d["success"] == true) {
                    None
                } else {
                    Some(match data {
                        Some(d) if d["error_detail"].is_string() => match d["error"].as_str() {
                            Some(e) => format!("{e}: {}", d["error_detail"].as_str().unwrap_or_default()),
                            None => d["error_detail"].as_str().unwrap_or_default().to_owned(),
                        },
                        Some(d) if d["error"].is_string() => d["error"].as_str().unwrap_or_default().to_owned(),
                        _ => outcome.error_message().unwrap_or(format!("comply_test_controller {} call failed", call.scenario)),
                    })
                }
            }
        };
        let base = StepResult::of(&step(&call), PHASE_ID);
        let duration_ms = started.elapsed().as_secs_f64() * 1e3;
        steps.push(StepResult { passed: error.is_none(), duration_ms, error, request: Some(call.params), ..base });
    }
    let passed = steps.iter().all(|s| s.passed);
    Some(PhaseResult { phase_id: PHASE_ID.into(), phase_title: "Controller seeding (pre-flight)".into(), passed, optional: false, steps })
}
