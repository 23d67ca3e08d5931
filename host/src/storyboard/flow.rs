//! Running one storyboard: discovery, applicability gates, controller
//! seeding, then phases and steps in order with the official runner's
//! cascade rules (runner.js `executeStoryboardPass`): a failed stateful
//! step skips the stateful steps that depend on it, and those skips fail
//! their phase (they count as skips in the totals).

use super::bundle::Storyboard;
use super::checks::Schemas;
use super::context::Context;
use super::invariants::{Invariants, Observed};
use super::outcome::Outcome;
use super::report::{PhaseResult, StepResult, StoryboardResult};
use super::request::RequestOptions;
use super::sandbox::Sandbox;
use super::webhook::{self, PriorStep, Receiver};
use super::{seeding, Check};
use crate::tenants::Tenant;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Instant;

/// What every storyboard of a run shares.
pub struct Env {
    /// The tenant under test (each storyboard gets a sandboxed copy).
    pub tenant: std::sync::Arc<Tenant>,
    /// Published JSON schemas for `response_schema`.
    pub schemas: std::sync::Arc<Schemas>,
    /// Bearer token sent with every request.
    pub auth: Option<String>,
}

/// What a storyboard's steps share while it runs.
pub(super) struct Run<'a> {
    pub sandbox: Sandbox,
    pub receiver: Receiver,
    pub ctx: Context,
    pub opts: RequestOptions,
    pub tools: Vec<String>,
    pub capabilities: Option<Value>,
    pub schemas: &'a Schemas,
    pub storyboard: &'a Storyboard,
    /// How each step that ran ended (for `triggered_by`).
    pub prior: HashMap<String, PriorStep>,
    /// Flags passed steps contributed (`contributes_to`), read by `any_of`,
    /// each with the first `(phase, step)` that contributed it.
    pub contributions: super::Contributions,
}

/// Runs `sb` in a sandbox of its own; `progress` sees each step as it ends.
pub async fn run(env: &Env, sb: &Storyboard, progress: &(dyn Fn(&str, &StepResult) + Sync)) -> StoryboardResult {
    let started = Instant::now();
    let title = sb.doc["title"].as_str().unwrap_or_default().to_owned();
    let mut result = match run_inner(env, sb, progress).await {
        Ok(phases) => StoryboardResult::new(&sb.id, &title, phases, None),
        Err(e) => StoryboardResult::unusable(&sb.id, &title, format!("{e:#}")),
    };
    result.total_duration_ms = started.elapsed().as_secs_f64() * 1e3;
    result.finish()
}

async fn run_inner(env: &Env, sb: &Storyboard, progress: &(dyn Fn(&str, &StepResult) + Sync)) -> anyhow::Result<Vec<PhaseResult>> {
    let doc = &sb.doc;
    let phases = doc["phases"].as_array().ok_or_else(|| anyhow::anyhow!("`phases` must be a list"))?;
    // Transport-level storyboards grade the HTTP server (authentication,
    // RFC 9421 signatures), which an in-process run bypasses by design.
    if matches!(doc["track"].as_str(), Some("security" | "security_transport")) {
        let detail = format!(
            "storyboard `{}` tests the HTTP transport (track `{}`), which hostel's in-process runner bypasses; run the official runner against `hostel serve` for it",
            sb.id,
            doc["track"].as_str().unwrap_or_default()
        );
        return Ok(vec![synthetic("not_in_process", "Not applicable in-process", "Skipped — transport-level storyboard", &detail)]);
    }
    let mut invariants = Invariants::for_storyboard(doc).map_err(anyhow::Error::msg)?;
    let receiver = Receiver::start().await?;
    let sandbox = Sandbox::new(&env.tenant, Some(&receiver.base_url()), env.auth.clone()).await?;
    // A component that cannot list its tools fails the storyboard on a
    // discovery step (runner.js `buildDiscoveryFailedResult`), not as bad input.
    let tools = match sandbox.tool_names().await {
        Ok(tools) => tools,
        Err(e) => {
            let step = serde_json::json!({ "id": "discovery", "title": "Discover agent capabilities", "task": "tools/list" });
            let failed = StepResult { error: Some(format!("discovery failed: {e:#}")), ..StepResult::of(&step, "discovery") };
            return Ok(vec![PhaseResult {
                phase_id: "discovery".into(),
                phase_title: "Discovery".into(),
                passed: false,
                optional: false,
                steps: vec![failed],
            }]);
        }
    };
    // The profile's raw capabilities gate `requires_capability` and the
    // sync_accounts applicability check, as in the official runner.
    let capabilities = if tools.iter().any(|t| t == "get_adcp_capabilities") {
        let answer = sandbox.call_tool("get_adcp_capabilities", &serde_json::json!({ "adcp_major_version": 3 })).await;
        Outcome::from_http(answer.status, &answer.body, answer.content_type.as_deref()).data().cloned()
    } else {
        None
    };
    let mut run = Run {
        ctx: Context::new(Some(receiver.base_url())),
        opts: RequestOptions::new(doc, sb.test_kit.as_ref()),
        sandbox,
        receiver,
        tools,
        capabilities,
        schemas: &env.schemas,
        storyboard: sb,
        prior: HashMap::new(),
        contributions: HashMap::new(),
    };
    // Per-step webhook URLs exist before any step runs, so a receiver
    // policy (retry-replay) is armed before the step that triggers it.
    let ctx = &run.ctx;
    webhook::arm(doc, &run.receiver, &mut |s| ctx.ensure_step_operation_id(s));
    if let Some(phase) = not_applicable(&run) {
        return Ok(vec![phase]);
    }

    let mut out = Vec::new();
    let seeding = seeding::run(&mut run).await;
    let seeding_broke = seeding.as_ref().is_some_and(|p| !p.passed);
    if let Some(phase) = seeding {
        for s in &phase.steps {
            progress(&sb.id, s);
        }
        out.push(phase);
    }
    // phase id → the step that tripped its stateful cascade.
    let mut cascades: HashMap<String, String> = HashMap::new();
    let mut prior_phases: Vec<String> = Vec::new();
    for phase in phases {
        let phase_id = phase["id"].as_str().unwrap_or_default().to_owned();
        let mut result = PhaseResult {
            phase_id: phase_id.clone(),
            phase_title: phase["title"].as_str().unwrap_or_default().to_owned(),
            passed: true,
            optional: phase["optional"] == true,
            steps: Vec::new(),
        };
        if skip_phase(phase, sb.test_kit.as_ref()) {
            out.push(result);
            prior_phases.push(phase_id);
            continue;
        }
        let steps = phase["steps"].as_array().map(Vec::as_slice).unwrap_or_default();
        let stateful_ids: Vec<&str> = steps.iter().filter(|s| s["stateful"] == true).filter_map(|s| s["id"].as_str()).collect();
        let mut pending_not_applicable: Option<String> = None;
        let mut established = false;
        for step in steps {
            let stateful = step["stateful"] == true;
            let tripped = cascade_trigger(phase, &phase_id, &prior_phases, &cascades);
            let mut r = if seeding_broke {
                skipped(step, &phase_id, "controller_seeding_failed", true, "Skipped: controller seeding failed.")
            } else if stateful && tripped.is_some() {
                let task = super::request::resolve_task_name(step, &run.opts).unwrap_or_default();
                // runner.js checks the tool list even for runner-side tasks
                // (`expect_webhook*`), so those become benign `missing_tool` skips.
                if !run.tools.iter().any(|t| *t == task) {
                    skipped(step, &phase_id, "missing_tool", true, &format!("Agent did not advertise tool \"{task}\"."))
                } else {
                    let why = format!("Skipped: prior stateful step \"{}\" failed; state never materialized.", tripped.unwrap_or_default());
                    skipped(step, &phase_id, "prerequisite_failed", false, &why)
                }
            } else {
                let mut r = super::step::execute(&mut run, step, &phase_id).await;
                if !r.skipped {
                    let response = r.response.clone();
                    let request = r.request.clone().unwrap_or(Value::Null);
                    let seen = Observed { step, task: &r.task, request: &request, response: response.as_ref(), passed: r.passed };
                    let checks: Vec<Check> = invariants.observe(seen);
                    // A failing invariant fails the step (runner.js: assertions gate).
                    if checks.iter().any(|c| !c.passed) {
                        r.passed = false;
                    }
                    r.validations.extend(checks);
                }
                r
            };
            r.phase_id = phase_id.clone();
            let step_id = r.step_id.clone();
            if !r.skipped && r.passed && contributes_if(step, &run.prior) {
                if let Some(flag) = step["contributes_to"].as_str() {
                    run.contributions.entry(flag.to_owned()).or_insert_with(|| (phase_id.clone(), step_id.clone()));
                }
            }
            run.prior.insert(step_id.clone(), PriorStep { passed: r.passed, skipped: r.skipped });
            if r.skipped {
                let hard = matches!(r.skip_reason.as_deref(), Some("missing_tool" | "missing_test_controller"));
                if stateful && hard && stateful_ids.len() > 1 {
                    cascades.entry(phase_id.clone()).or_insert_with(|| step_id.clone());
                } else if stateful && r.skip_reason.as_deref() == Some("not_applicable") && pending_not_applicable.is_none() {
                    pending_not_applicable = Some(step_id.clone());
                }
            } else if r.passed {
                established |= stateful;
            } else if stateful {
                cascades.entry(phase_id.clone()).or_insert_with(|| step_id.clone());
            }
            progress(&sb.id, &r);
            result.steps.push(r);
        }
        if let Some(na) = pending_not_applicable {
            if !established && !cascades.contains_key(&phase_id) && stateful_ids.iter().any(|id| *id != na) {
                cascades.insert(phase_id.clone(), na);
            }
        }
        out.push(result);
        prior_phases.push(phase_id);
    }
    regrade_branch_sets(phases, &mut out, &run.contributions);
    Ok(out)
}

/// runner.js `resolveBranchSets` + `applyBranchSetGrading`: phases that
/// are alternative branches (`branch_set`, or optional phases contributing
/// a flag some `assert_contribution` step accepts with `any_of`). When a
/// peer phase contributed the flag, this phase's failures are moot: its
/// failed steps become `peer_branch_taken` skips. Failures in required
/// phases stand.
fn regrade_branch_sets(phases: &[Value], out: &mut [PhaseResult], sources: &super::Contributions) {
    let any_of_flags: Vec<&str> = phases
        .iter()
        .flat_map(|p| p["steps"].as_array().map(Vec::as_slice).unwrap_or_default())
        .filter(|s| s["task"] == "assert_contribution")
        .flat_map(|s| s["validations"].as_array().map(Vec::as_slice).unwrap_or_default())
        .filter(|v| v["check"] == "any_of")
        .flat_map(|v| v["allowed_values"].as_array().map(Vec::as_slice).unwrap_or_default())
        .filter_map(Value::as_str)
        .collect();
    for def in phases {
        let branch = match def.get("branch_set") {
            Some(b) => (b["semantics"] == "any_of").then(|| b["id"].as_str()).flatten(),
            None if def["optional"] == true => def["steps"]
                .as_array()
                .and_then(|steps| steps.iter().filter_map(|s| s["contributes_to"].as_str()).find(|f| any_of_flags.contains(f))),
            None => None,
        };
        let (Some(flag), Some(id)) = (branch, def["id"].as_str()) else { continue };
        let Some((source_phase, source_step)) = sources.get(flag).filter(|(p, _)| p != id) else { continue };
        let Some(result) = out.iter_mut().find(|r| r.phase_id == id) else { continue };
        if !result.optional {
            continue;
        }
        let detail = format!("{flag} contributed by {source_phase}.{source_step} — {id} is moot");
        for step in result.steps.iter_mut().filter(|s| !s.passed && !s.skipped) {
            step.passed = true;
            step.skipped = true;
            step.skip_reason = Some("peer_branch_taken".into());
            step.error = Some(detail.clone());
        }
    }
}

/// The step whose failure skips stateful steps of `phase`: its own, or one
/// in a phase it depends on (`depends_on`, default: every earlier phase).
fn cascade_trigger(phase: &Value, id: &str, prior: &[String], cascades: &HashMap<String, String>) -> Option<String> {
    if let Some(t) = cascades.get(id) {
        return Some(t.clone());
    }
    let deps: Vec<String> = match phase["depends_on"].as_array() {
        Some(list) => list.iter().filter_map(|d| d.as_str().map(str::to_owned)).collect(),
        None => prior.to_vec(),
    };
    deps.iter().find_map(|d| cascades.get(d).cloned())
}

/// runner.js `evalContributesIf`: no condition is true;
/// `prior_step.<id>.passed` needs that step to have passed, not skipped;
/// anything else is false.
fn contributes_if(step: &Value, prior: &HashMap<String, PriorStep>) -> bool {
    let Some(expr) = step["contributes_if"].as_str().map(str::trim) else { return true };
    let id = expr.strip_prefix("prior_step.").and_then(|r| r.strip_suffix(".passed"));
    match id.filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')) {
        Some(id) => prior.get(id).is_some_and(|p| p.passed && !p.skipped),
        None => false,
    }
}

/// `skip_if: [!]test_kit.<path>`; other grammar runs the phase (runner.js `shouldSkipPhase`).
fn skip_phase(phase: &Value, test_kit: Option<&Value>) -> bool {
    let Some(expr) = phase["skip_if"].as_str().map(str::trim) else { return false };
    let (negated, rest) = expr.strip_prefix('!').map_or((false, expr), |r| (true, r));
    let Some(path) = rest.strip_prefix("test_kit.") else { return false };
    let value = path.split('.').try_fold(test_kit.unwrap_or(&Value::Null), |v, k| v.get(k));
    super::context::js::truthy(value) != negated
}

/// The one-step phase the official runner reports for a storyboard that
/// does not apply (runner.js `buildCapabilityUnsupportedResult`,
/// `buildRequiredToolsMissingResult`): the agent declared a
/// `requires_capability` otherwise, or advertises none of `required_tools`.
fn not_applicable(run: &Run<'_>) -> Option<PhaseResult> {
    let doc = &run.storyboard.doc;
    let cap = &doc["requires_capability"];
    if let (Some(path), Some(caps)) = (cap["path"].as_str(), &run.capabilities) {
        let actual = path.split('.').try_fold(caps, |v, k| v.get(k));
        // Absent means "not declared": the storyboard runs (runner.js).
        if let Some(actual) = actual.filter(|a| **a != cap["equals"]) {
            let detail = format!("Capability predicate `{path} === {}` not satisfied: agent declared {actual}.", cap["equals"]);
            let title = "Storyboard skipped: capability not supported by this agent";
            return Some(synthetic("capability_unsupported", "Capability unsupported", title, &detail));
        }
    }
    let required: Vec<&str> = doc["required_tools"].as_array().map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    if !required.is_empty() && !required.iter().any(|t| run.tools.iter().any(|have| have == t)) {
        let detail = format!("agent does not advertise any of [{}]", required.join(", "));
        return Some(synthetic("missing_tool", "Skipped — required tools not advertised", &format!("Skipped — {detail}"), &detail));
    }
    None
}

/// A phase of one skipped step, standing for a storyboard that did not run.
fn synthetic(id: &str, phase_title: &str, title: &str, detail: &str) -> PhaseResult {
    let step = serde_json::json!({ "id": id, "title": title, "task": "" });
    PhaseResult {
        phase_id: id.into(),
        phase_title: phase_title.into(),
        passed: true,
        optional: false,
        steps: vec![skipped(&step, id, id, true, detail)],
    }
}

/// A step that did not run.
pub(super) fn skipped(step: &Value, phase_id: &str, reason: &str, passed: bool, detail: &str) -> StepResult {
    StepResult {
        passed,
        skipped: true,
        skip_reason: Some(reason.to_owned()),
        error: Some(detail.to_owned()),
        ..StepResult::of(step, phase_id)
    }
}
