//! Resolving a storyboard's `invariants:` key to the ids that run, with the
//! fail-fast authoring checks of the official runner (assertions.js
//! `resolveAssertions`, `normaliseInvariants`, `validateStepInvariants`).

use super::{js_truthy, DEFAULT_IDS};
use serde_json::Value;

/// The ids that run for `storyboard`, in order: the defaults minus
/// `disable`, then any `enable` / legacy-array id not already there.
pub(super) fn resolve(storyboard: &Value) -> Result<Vec<&'static str>, String> {
    let (disable, enable) = normalise(storyboard.get("invariants"))?;
    let mut enabled: Vec<&'static str> = DEFAULT_IDS.iter().copied().filter(|id| !disable.iter().any(|d| d == id)).collect();
    for id in &enable {
        if let Some(known) = DEFAULT_IDS.iter().find(|d| **d == id.as_str()) {
            if !enabled.contains(known) {
                // assertions.js: a Map insert, so an enabled-but-disabled default lands last.
                enabled.push(known);
            }
        }
    }
    let unknown_enable: Vec<&String> = enable.iter().filter(|id| !DEFAULT_IDS.contains(&id.as_str())).collect();
    let unknown_disable: Vec<&String> = disable.iter().filter(|id| !DEFAULT_IDS.contains(&id.as_str())).collect();
    resolution_errors(&unknown_enable, &unknown_disable)?;
    validate_step_invariants(storyboard, &disable, &enabled)?;
    Ok(enabled)
}

/// `(disable, enable)` of the storyboard's `invariants` key (assertions.js `normaliseInvariants`).
fn normalise(invariants: Option<&Value>) -> Result<(Vec<String>, Vec<String>), String> {
    let Some(inv) = invariants.filter(|v| js_truthy(v)) else { return Ok((Vec::new(), Vec::new())) };
    match inv {
        Value::Array(ids) => Ok((Vec::new(), string_list(ids, "invariants")?)),
        Value::Object(map) => {
            let unknown: Vec<&str> = map.keys().map(String::as_str).filter(|k| *k != "disable" && *k != "enable").collect();
            if !unknown.is_empty() {
                let s = if unknown.len() > 1 { "s" } else { "" };
                return Err(format!(
                    "Storyboard invariants has unknown field{s}: {}. Supported fields are: disable, enable.",
                    unknown.join(", ")
                ));
            }
            let list = |key: &str| match map.get(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(ids)) => string_list(ids, &format!("invariants.{key}")),
                Some(other) => Err(format!("Storyboard invariants.{key} must be a list of ids, got {other}")),
            };
            Ok((list("disable")?, list("enable")?))
        }
        Value::String(_) => Err(format!("Storyboard invariants must be a list of ids or {{disable, enable}}, got {inv}")),
        // Object.keys(true) is empty: a truthy scalar means "defaults".
        _ => Ok((Vec::new(), Vec::new())),
    }
}

fn string_list(ids: &[Value], what: &str) -> Result<Vec<String>, String> {
    ids.iter()
        .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| format!("Storyboard {what} entries must be ids (strings), got {v}")))
        .collect()
}

/// The fail-fast errors of assertions.js `resolveAssertions`.
fn resolution_errors(unknown_enable: &[&String], unknown_disable: &[&String]) -> Result<(), String> {
    let mut lines = Vec::new();
    let mut registered: Vec<&str> = DEFAULT_IDS.to_vec();
    registered.sort_unstable();
    if !unknown_enable.is_empty() {
        let s = if unknown_enable.len() > 1 { "s" } else { "" };
        let ids: Vec<&str> = unknown_enable.iter().map(|s| s.as_str()).collect();
        lines.push(format!(
            "Storyboard references unregistered assertion{s}: {}. {}Registered ids: {}. Import the module that calls registerAssertion(...) for each id before running the storyboard.",
            ids.join(", "),
            suggestion(&ids, &DEFAULT_IDS),
            registered.join(", ")
        ));
    }
    if !unknown_disable.is_empty() {
        let s = if unknown_disable.len() > 1 { "s" } else { "" };
        let ids: Vec<&str> = unknown_disable.iter().map(|s| s.as_str()).collect();
        lines.push(format!(
            "Storyboard invariants.disable names id{s} that are not default-on: {}. {}Known default-on ids: {}. Non-default assertions don't need to be disabled — omit them instead.",
            ids.join(", "),
            suggestion(&ids, &DEFAULT_IDS),
            registered.join(", ")
        ));
    }
    if lines.is_empty() {
        Ok(())
    } else {
        Err(lines.join(" "))
    }
}

/// assertions.js `validateStepInvariants`: step-level `invariants` may only
/// `disable` ids that run for this storyboard and are not disabled run-wide.
fn validate_step_invariants(storyboard: &Value, storyboard_disable: &[String], resolved: &[&str]) -> Result<(), String> {
    let mut problems = Vec::new();
    let mut resolved_sorted = resolved.to_vec();
    resolved_sorted.sort_unstable();
    let phases = storyboard.get("phases").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let steps = phases.iter().flat_map(|p| p.get("steps").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default());
    for step in steps {
        let Some(inv) = step.get("invariants").filter(|v| js_truthy(v)) else { continue };
        let step_id = step.get("id").and_then(Value::as_str).unwrap_or_default();
        let Some(map) = inv.as_object() else {
            problems.push(format!("Step \"{step_id}\" invariants must be {{disable: [...]}}, got {inv}."));
            continue;
        };
        let unknown: Vec<&str> = map.keys().map(String::as_str).filter(|k| *k != "disable").collect();
        if !unknown.is_empty() {
            let s = if unknown.len() > 1 { "s" } else { "" };
            problems.push(format!(
                "Step \"{step_id}\" invariants has unknown field{s}: {}. Supported step-level fields are: disable.",
                unknown.join(", ")
            ));
            continue;
        }
        let ids = match map.get("disable") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(ids)) => string_list(ids, &format!("step \"{step_id}\" invariants.disable"))?,
            Some(other) => return Err(format!("Step \"{step_id}\" invariants.disable must be a list of ids, got {other}")),
        };
        for id in ids {
            if storyboard_disable.contains(&id) {
                problems.push(format!(
                    "Step \"{step_id}\" invariants.disable names \"{id}\", but the storyboard already disables it run-wide. The step-level directive is dead code — remove one."
                ));
            } else if !resolved.contains(&id.as_str()) {
                problems.push(format!(
                    "Step \"{step_id}\" invariants.disable names \"{id}\", which is not in the resolved assertion set for this run. {}Resolved ids: {}.",
                    suggestion(&[id.as_str()], resolved),
                    if resolved_sorted.is_empty() { "(none)".to_owned() } else { resolved_sorted.join(", ") }
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join(" "))
    }
}

/// `Did you mean "X"? ` for the first unknown id within edit distance 2 of a candidate (assertions.js `suggestionClause`).
fn suggestion(unknown: &[&str], candidates: &[&str]) -> String {
    for id in unknown {
        let mut best: Option<(&str, usize)> = None;
        for c in candidates {
            let d = levenshtein(id, c);
            if d == 0 || d > 2 {
                continue;
            }
            if best.is_none_or(|(_, bd)| d < bd) {
                best = Some((c, d));
            }
        }
        if let Some((hit, _)) = best {
            return format!("Did you mean \"{hit}\"? ");
        }
    }
    String::new()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let (a, b): (Vec<u16>, Vec<u16>) = (a.encode_utf16().collect(), b.encode_utf16().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut curr = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            curr[j + 1] = (curr[j] + 1).min(prev[j + 1] + 1).min(prev[j] + cost);
        }
        prev = curr;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::super::Invariants;
    use serde_json::json;

    #[test]
    fn every_storyboard_gets_the_four_defaults_in_registration_order() {
        let expected =
            ["idempotency.conflict_no_payload_leak", "context.no_secret_echo", "governance.denial_blocks_mutation", "status.monotonic"];
        for inv in [
            json!(null),
            json!(["context.no_secret_echo", "idempotency.conflict_no_payload_leak"]),
            json!({"enable": ["status.monotonic"]}),
        ] {
            let sb = json!({"invariants": inv, "phases": []});
            assert_eq!(Invariants::for_storyboard(&sb).unwrap().ids(), expected);
        }
    }

    #[test]
    fn disable_removes_and_enable_re_adds_at_the_end() {
        let sb = json!({"invariants": {"disable": ["context.no_secret_echo", "status.monotonic"]}});
        assert_eq!(
            Invariants::for_storyboard(&sb).unwrap().ids(),
            ["idempotency.conflict_no_payload_leak", "governance.denial_blocks_mutation"]
        );
        let sb = json!({"invariants": {"disable": ["context.no_secret_echo"], "enable": ["context.no_secret_echo"]}});
        assert_eq!(Invariants::for_storyboard(&sb).unwrap().ids().last(), Some(&"context.no_secret_echo"));
    }

    #[test]
    fn unknown_ids_fail_fast_naming_them() {
        let err = Invariants::for_storyboard(&json!({"invariants": ["status.monotonik"]})).unwrap_err();
        assert!(
            err.starts_with(
                "Storyboard references unregistered assertion: status.monotonik. Did you mean \"status.monotonic\"? Registered ids: "
            ),
            "{err}"
        );
        let err = Invariants::for_storyboard(&json!({"invariants": {"disable": ["a.b", "c.d"]}})).unwrap_err();
        assert!(
            err.starts_with("Storyboard invariants.disable names ids that are not default-on: a.b, c.d. Known default-on ids: "),
            "{err}"
        );
        let err = Invariants::for_storyboard(&json!({"invariants": {"disabled": ["status.monotonic"]}})).unwrap_err();
        assert_eq!(err, "Storyboard invariants has unknown field: disabled. Supported fields are: disable, enable.");
    }

    #[test]
    fn step_level_disable_is_validated() {
        let sb = |step_inv: serde_json::Value, run_inv: serde_json::Value| json!({"invariants": run_inv, "phases": [{"id": "p", "steps": [{"id": "s1", "invariants": step_inv}]}]});
        assert!(Invariants::for_storyboard(&sb(json!({"disable": ["status.monotonic"]}), json!(null))).is_ok());
        let err = Invariants::for_storyboard(&sb(json!({"enable": ["status.monotonic"]}), json!(null))).unwrap_err();
        assert_eq!(err, "Step \"s1\" invariants has unknown field: enable. Supported step-level fields are: disable.");
        let err = Invariants::for_storyboard(&sb(json!({"disable": ["status.monotonic"]}), json!({"disable": ["status.monotonic"]})))
            .unwrap_err();
        assert!(err.contains("already disables it run-wide"), "{err}");
        let err = Invariants::for_storyboard(&sb(json!({"disable": ["nope"]}), json!(null))).unwrap_err();
        assert!(err.starts_with(
            "Step \"s1\" invariants.disable names \"nope\", which is not in the resolved assertion set for this run. Resolved ids: "
        ));
    }
}
