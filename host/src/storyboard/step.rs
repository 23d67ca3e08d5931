//! One storyboard step (runner.js `executeStep`): applicability skips,
//! the request, one call to a fresh instance, grading, and what the answer
//! adds to the run's context.

use super::flow::{skipped, Run};
use super::outcome::{self, Dispatch, Outcome};
use super::report::StepResult;
use super::request;
use super::webhook::{self, WebhookInputs, WebhookStep};
use super::Check;
use super::{checks, context};
use serde_json::Value;
use std::time::Instant;

/// Runs `step` of phase `phase_id`.
pub(super) async fn execute(run: &mut Run<'_>, step: &Value, phase_id: &str) -> StepResult {
    let raw_task = step["task"].as_str().unwrap_or_default();
    if raw_task.starts_with("expect_webhook") {
        return webhook_step(run, step, phase_id);
    }
    // `$test_kit.<path>` tasks resolve against the test kit, else `task_default`.
    let Some(task) = request::resolve_task_name(step, &run.opts).filter(|t| !t.is_empty()) else {
        let why = format!("Step task \"{raw_task}\" references a test-kit field that resolved to nothing and no task_default is set.");
        return failed(step, phase_id, raw_task, why);
    };
    if task == "assert_contribution" {
        return assert_contribution(run, step, phase_id);
    }
    // runner.js `executeProbeStep`: raw HTTP probes of the agent's URL
    // (OAuth metadata, request signing) have no in-process equivalent.
    if PROBE_TASKS.contains(&task.as_str()) {
        return failed(
            step,
            phase_id,
            &task,
            format!("probe step `{task}` needs the agent's public URL; hostel's in-process runner does not run it"),
        );
    }
    if step.get("auth").is_some() {
        return failed(step, phase_id, &task, "step key `auth` is not supported by hostel's runner".into());
    }
    let has = |t: &str| run.tools.iter().any(|have| have == t);
    if let Some(tool) = step["requires_tool"].as_str().filter(|t| !has(t)) {
        let reason = if tool == "comply_test_controller" { "missing_test_controller" } else { "missing_tool" };
        return skipped(step, phase_id, reason, true, &format!("Required tool \"{tool}\" not advertised."));
    }
    if task == "sync_accounts" {
        let operator_auth = run.capabilities.as_ref().and_then(|c| c.pointer("/account/require_operator_auth"));
        if operator_auth == Some(&Value::Bool(true)) {
            return skipped(
                step,
                phase_id,
                "not_applicable",
                true,
                "Agent declared require_operator_auth: true; sync_accounts is not applicable.",
            );
        }
    }
    if !has(&task) {
        return skipped(step, phase_id, "missing_tool", true, &format!("Agent did not advertise tool \"{task}\"."));
    }
    let step_id = step["id"].as_str().unwrap_or_default();
    let arguments = match request::build_request(&task, step, &mut run.ctx, &run.opts) {
        Ok(a) => a,
        Err(e) => return failed(step, phase_id, &task, format!("cannot build the request: {e}")),
    };
    let expect_error = step["expect_error"] == true;
    let unresolved = context::find_unresolved_context_vars(&arguments);
    if !unresolved.is_empty() && !expect_error {
        let keys: Vec<&str> = unresolved.iter().map(|v| v.key.as_str()).collect();
        let detail = format!("Skipped: unresolved context variables from prior steps: {}.", keys.join(", "));
        let mut r = skipped(step, phase_id, "prerequisite_failed", false, &detail);
        r.validations = unresolved
            .iter()
            .map(|v| Check {
                check: "unresolved_substitution".into(),
                description: format!("request token \"{}\" did not resolve — prior step did not populate context.{}", v.token, v.key),
                passed: false,
                error: None,
            })
            .collect();
        r.request = Some(arguments);
        return r;
    }

    let started = Instant::now();
    let dispatch = outcome::dispatch_for(&task, step);
    // What goes on the wire carries the version envelope; the report and
    // the checks see the request as built (as in the official runner).
    let wire = request::wire_arguments(&task, step, &arguments);
    let (answer, read): (_, fn(u16, &[u8], Option<&str>) -> Outcome) = match dispatch {
        Dispatch::Sdk => (run.sandbox.call_tool(&task, &wire).await, Outcome::from_http),
        Dispatch::RawProbe => (run.sandbox.call_tool_raw(&task, &wire).await, Outcome::from_raw_probe),
    };
    let duration_ms = started.elapsed().as_secs_f64() * 1e3;
    let outcome = read(answer.status, &answer.body, answer.content_type.as_deref()).for_task(&task).for_step(expect_error);
    let ctx = &mut run.ctx;
    let extras = checks::Extras { contributions: Some(&run.contributions), ..Default::default() };
    let mut validations = checks::grade(&task, step, &outcome, run.schemas, &|v: &Value| ctx.inject(v, step_id), &extras);
    let passed = checks::step_passed(step, &outcome, &[]);
    if passed {
        if let Some(data) = outcome.data() {
            run.ctx.extract(&task, data);
        }
    }
    validations.extend(run.ctx.apply_outputs(step, outcome.data()));
    let all_held = validations.iter().all(|c| c.passed);
    StepResult {
        task,
        passed: passed && all_held,
        duration_ms,
        validations,
        error: if expect_error || passed { None } else { outcome.error_message() },
        request: Some(arguments),
        response: outcome.data().cloned(),
        ..StepResult::of(step, phase_id)
    }
}

fn webhook_step(run: &mut Run<'_>, step: &Value, phase_id: &str) -> StepResult {
    let started = Instant::now();
    let step_id = step["id"].as_str().unwrap_or_default();
    let (ctx, prior) = (&run.ctx, &run.prior);
    let deliveries = run.receiver.deliveries();
    let inputs = WebhookInputs {
        deliveries: &deliveries,
        operation_id: &|s| ctx.step_operation_id(s),
        prior_step: &|s| prior.get(s).copied(),
        inject: &|v| ctx.inject(v, step_id),
    };
    // No waiting: an instance cannot outlive its request, so every webhook
    // the triggering steps send has arrived by the time they answered.
    let (passed, validations) = match webhook::grade_expect_webhook(step, &inputs) {
        WebhookStep::Graded { passed, checks } => (passed, checks),
        WebhookStep::Skipped { reason, detail } => return skipped(step, phase_id, reason, true, &detail),
    };
    StepResult { passed, duration_ms: started.elapsed().as_secs_f64() * 1e3, validations, ..StepResult::of(step, phase_id) }
}

/// probes.js `PROBE_TASKS` other than `assert_contribution`.
const PROBE_TASKS: &[&str] = &["protected_resource_metadata", "oauth_auth_server_metadata", "request_signing_probe"];

/// An `assert_contribution` step: no call, its checks read the flags
/// earlier steps contributed (`contributes_to`).
fn assert_contribution(run: &Run<'_>, step: &Value, phase_id: &str) -> StepResult {
    let validations = checks::grade_assert_contribution(step, &run.contributions);
    let passed = validations.iter().all(|c| c.passed);
    let error = (!passed).then(|| "Probe validations failed.".to_owned());
    StepResult { task: "assert_contribution".into(), passed, validations, error, ..StepResult::of(step, phase_id) }
}

fn failed(step: &Value, phase_id: &str, task: &str, error: String) -> StepResult {
    StepResult { task: task.to_owned(), error: Some(error), ..StepResult::of(step, phase_id) }
}
