//! `governance.denial_blocks_mutation` (default-invariants.js): once a
//! governance signal denies a plan, no later step may acquire a resource for
//! it. It never reports a pass; only a violating acquisition yields a result.

use super::{adcp_error, as_str, Finding, StepView};
use std::collections::HashMap;

/// Error codes that are plan-scoped seller refusals (`GOVERNANCE_DENIAL_CODES`).
const DENIAL_CODES: [&str; 6] =
    ["GOVERNANCE_DENIED", "CAMPAIGN_SUSPENDED", "PERMISSION_DENIED", "POLICY_VIOLATION", "TERMS_REJECTED", "COMPLIANCE_UNSATISFIED"];

/// Write tasks whose success carries a server-minted id at top level (`GOVERNANCE_WRITE_TASKS`).
const WRITE_TASKS: [&str; 10] = [
    "create_media_buy",
    "update_media_buy",
    "activate_signal",
    "create_property_list",
    "update_property_list",
    "delete_property_list",
    "create_collection_list",
    "update_collection_list",
    "delete_collection_list",
    "acquire_rights",
];

/// Media-buy statuses that mean the buy exists (`GOVERNANCE_ACQUIRED_STATUSES`).
const ACQUIRED_STATUSES: [&str; 5] = ["pending_creatives", "pending_start", "active", "paused", "completed"];

/// Top-level id fields read in this order (`GOVERNANCE_RESOURCE_ID_FIELDS`).
const RESOURCE_ID_FIELDS: [&str; 10] = [
    "media_buy_id",
    "plan_id",
    "creative_id",
    "audience_id",
    "catalog_id",
    "activation_id",
    "property_list_id",
    "collection_list_id",
    "acquisition_id",
    "operation_id",
];

/// The step that denied, and how.
#[derive(Debug, Clone)]
struct Anchor {
    step_id: String,
    signal: String,
}

/// Denials seen so far: per plan, and one run-wide for denials without a plan id.
#[derive(Debug, Clone, Default)]
pub(super) struct State {
    denied_plans: HashMap<String, Anchor>,
    run_denial: Option<Anchor>,
}

impl State {
    /// Records a denial, or fails an acquisition that follows one.
    pub(super) fn observe(&mut self, view: &StepView<'_>) -> Vec<Finding> {
        let plan_id = plan_id(view);
        if let Some(signal) = denial(view) {
            // An `expect_error` step acknowledges the denial: later mutations are a recovery path.
            if view.expect_error {
                return Vec::new();
            }
            let anchor = Anchor { step_id: view.step_id.to_owned(), signal };
            match &plan_id {
                Some(p) => {
                    self.denied_plans.entry(p.clone()).or_insert(anchor);
                }
                None if self.run_denial.is_none() => self.run_denial = Some(anchor),
                None => {}
            }
            return Vec::new();
        }
        let Some((field, id)) = acquisition(view) else { return Vec::new() };
        let anchor = plan_id.as_ref().and_then(|p| self.denied_plans.get(p)).or(self.run_denial.as_ref());
        let Some(anchor) = anchor else { return Vec::new() };
        vec![Finding::fail("Mutation acquired a resource after a governance denial", message(anchor, view, plan_id.as_deref(), field, &id))]
    }
}

fn message(anchor: &Anchor, view: &StepView<'_>, plan_id: Option<&str>, field: &str, id: &str) -> String {
    let escape_hint = format!(
        ". If the denial at step \"{}\" is an intentional recovery-path setup, add to that step:\n  invariants:\n    disable: [governance.denial_blocks_mutation]",
        anchor.step_id
    );
    let scope = plan_id.map_or(" (run-wide)".to_owned(), |p| format!(" for plan_id={p}"));
    let same = if plan_id.is_some() { " for the same plan" } else { "" };
    format!(
        "step \"{}\" returned {}{scope}; subsequent step \"{}\" (task={}) acquired {field}={id}{same}{escape_hint}",
        anchor.step_id, anchor.signal, view.step_id, view.task
    )
}

/// The denial signal of this step, if any (`detectGovernanceDenial`).
fn denial(view: &StepView<'_>) -> Option<String> {
    if let Some((code, _)) = adcp_error(view).filter(|(code, _)| DENIAL_CODES.contains(&code.as_str())) {
        return Some(code);
    }
    // check_governance says no with a 200 `status: "denied"`, not an adcp_error.
    let denied = view.task == "check_governance" && view.response.as_ref().is_some_and(|b| b.get("status").is_some_and(|s| s == "denied"));
    denied.then(|| "CHECK_GOVERNANCE_DENIED".to_owned())
}

/// The response's `plan_id`, else the request's (`extractGovernancePlanId`).
fn plan_id(view: &StepView<'_>) -> Option<String> {
    let from_response = as_str(view.response.as_ref().and_then(|b| b.get("plan_id")));
    from_response.or_else(|| as_str(view.request.get("plan_id"))).map(str::to_owned)
}

/// The `(field, id)` a passing write step acquired (`detectGovernanceAcquisition`).
fn acquisition(view: &StepView<'_>) -> Option<(&'static str, String)> {
    if view.expect_error || !view.passed || !WRITE_TASKS.contains(&view.task) {
        return None;
    }
    let body = view.response.as_ref().filter(|b| b.is_object() || b.is_array())?;
    if view.task == "create_media_buy" || view.task == "update_media_buy" {
        if let Some(status) = body.get("status").and_then(|s| s.as_str()) {
            if !ACQUIRED_STATUSES.contains(&status) {
                return None;
            }
        }
    }
    RESOURCE_ID_FIELDS.iter().find_map(|f| as_str(body.get(*f)).map(|id| (*f, id.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::super::{Invariants, Observed};
    use crate::storyboard::Check;
    use serde_json::{json, Value};

    fn step(inv: &mut Invariants, step: Value, task: &str, request: Value, response: Value) -> Vec<Check> {
        let passed = true;
        let checks = inv.observe(Observed { step: &step, task, request: &request, response: Some(&response), passed });
        checks.into_iter().filter(|c| c.description.starts_with("governance.")).collect()
    }

    #[test]
    fn acquisition_after_unexpected_denial_fails() {
        let mut inv = Invariants::for_storyboard(&json!({})).unwrap();
        let denied = json!({"adcp_error": {"code": "GOVERNANCE_DENIED", "message": "no"}});
        assert!(step(&mut inv, json!({"id": "deny"}), "create_media_buy", json!({"plan_id": "p1"}), denied).is_empty());
        let created = json!({"media_buy_id": "mb_1", "status": "active"});
        let checks = step(&mut inv, json!({"id": "retry"}), "create_media_buy", json!({"plan_id": "p1"}), created);
        assert_eq!(checks.len(), 1);
        assert!(!checks[0].passed);
        assert_eq!(checks[0].description, "governance.denial_blocks_mutation: Mutation acquired a resource after a governance denial");
        let err = checks[0].error.as_deref().unwrap();
        assert!(err.starts_with(
            "step \"deny\" returned GOVERNANCE_DENIED for plan_id=p1; subsequent step \"retry\" (task=create_media_buy) acquired media_buy_id=mb_1 for the same plan. If the denial"
        ), "{err}");
    }

    #[test]
    fn check_governance_denied_status_is_a_run_wide_denial() {
        let mut inv = Invariants::for_storyboard(&json!({})).unwrap();
        step(&mut inv, json!({"id": "check"}), "check_governance", json!({}), json!({"status": "denied"}));
        let checks = step(&mut inv, json!({"id": "activate"}), "activate_signal", json!({}), json!({"activation_id": "a1"}));
        assert!(checks[0].error.as_deref().unwrap().contains("returned CHECK_GOVERNANCE_DENIED (run-wide); subsequent step \"activate\""));
    }

    #[test]
    fn expected_denials_other_plans_and_non_acquisitions_pass_silently() {
        let mut inv = Invariants::for_storyboard(&json!({})).unwrap();
        let denied = json!({"adcp_error": {"code": "GOVERNANCE_DENIED", "message": "no"}});
        step(&mut inv, json!({"id": "d1", "expect_error": true}), "create_media_buy", json!({"plan_id": "p1"}), denied.clone());
        assert!(step(&mut inv, json!({"id": "ok1"}), "create_media_buy", json!({"plan_id": "p1"}), json!({"media_buy_id": "m"})).is_empty());
        step(&mut inv, json!({"id": "d2"}), "create_media_buy", json!({"plan_id": "p2"}), denied);
        let other_plan = step(&mut inv, json!({"id": "ok2"}), "create_media_buy", json!({"plan_id": "p3"}), json!({"media_buy_id": "m3"}));
        assert!(other_plan.is_empty());
        let rejected = json!({"media_buy_id": "m2", "status": "rejected"});
        assert!(step(&mut inv, json!({"id": "ok3"}), "create_media_buy", json!({"plan_id": "p2"}), rejected).is_empty());
        assert!(step(&mut inv, json!({"id": "ok4"}), "get_media_buys", json!({"plan_id": "p2"}), json!({"media_buy_id": "m2"})).is_empty());
    }

    #[test]
    fn the_step_level_escape_hatch_silences_it() {
        let sb = json!({"phases": [{"steps": [{"id": "retry", "invariants": {"disable": ["governance.denial_blocks_mutation"]}}]}]});
        let mut inv = Invariants::for_storyboard(&sb).unwrap();
        step(&mut inv, json!({"id": "deny"}), "create_media_buy", json!({}), json!({"adcp_error": {"code": "POLICY_VIOLATION"}}));
        let retry = json!({"id": "retry", "invariants": {"disable": ["governance.denial_blocks_mutation"]}});
        assert!(step(&mut inv, retry, "create_media_buy", json!({}), json!({"media_buy_id": "m"})).is_empty());
    }
}
