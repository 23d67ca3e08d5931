//! Check kinds beyond the common field checks: `field_contains`,
//! `field_less_than`, `field_equals_context`, `any_of`, and the kinds whose
//! inputs an in-process MCP run never has (`a2a_submitted_artifact`,
//! `a2a_context_continuity`, `upstream_traffic`), graded as validations.js
//! grades them when those inputs are missing.

use super::super::context::js::strip_undefined;
use super::super::outcome::js_string;
use super::super::path::{resolve_path, resolve_path_all};
use super::super::Check;
use super::{check, fail, values_match, Grading};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Run-wide facts a few check kinds read beyond the step's answer (the
/// official runner's `ValidationContext`). `Extras::default()` is what a
/// run knows without them: no agent URL, no contribution flags, no response
/// headers, no `query_upstream_traffic` controller.
#[derive(Debug, Default, Clone, Copy)]
pub struct Extras<'a> {
    /// `runState.agentUrl`, the URL of the agent under test: `refs_resolve`'s
    /// `scope.equals: $agent_url` and `resource_equals_agent_url` compare with it ("" = unknown).
    pub agent_url: &'a str,
    /// `runState.contributions`: the `contributes_to` flags recorded so far in
    /// the run (see runner.js `evalContributesIf`). None: not collected, and `any_of` fails loudly.
    pub contributions: Option<&'a crate::storyboard::Contributions>,
    /// The raw probe's response headers (probes.js `httpResult.headers`), names
    /// lowercased; `on_401_require_header` reads them. None: not captured.
    pub headers: Option<&'a BTreeMap<String, String>>,
    /// comply.js `_controllerCapabilities`: the run detected a `comply_test_controller`
    /// whose `list_scenarios` includes `query_upstream_traffic`. Never true for
    /// `adcp storyboard run <id>` (runStoryboard without comply), nor for our tenants.
    pub upstream_traffic_advertised: bool,
}

/// `JSON.stringify(v)` in a template literal (`undefined` for a missing value; integral numbers without a fraction).
pub(super) fn js_json(v: Option<&Value>) -> String {
    v.map_or_else(|| "undefined".to_owned(), |v| strip_undefined(v.clone()).to_string())
}

/// JavaScript `typeof` of a JSON value (`undefined` for a missing one).
fn js_typeof(v: Option<&Value>) -> &'static str {
    match v {
        None => "undefined",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(_) => "object",
    }
}

/// The validation's non-empty `path`, or None (each kind words that failure itself).
fn path(v: &Value) -> Option<&str> {
    v["path"].as_str().filter(|p| !p.is_empty())
}

/// validations.js `resolveContextComparand` for a `context_key`: the run
/// context's value, or None when the key is absent or `undefined` (the
/// official runner then passes the check with a `context_key_absent`
/// observation: the capturing step may have been skipped). Read through the
/// caller's `$context.<key>` substitution, inside an object so an `undefined`
/// value (dropped member) is told from `null`; keys that are not `\w+` never resolve.
fn context_value(key: &str, g: &Grading) -> Option<Value> {
    let token = Value::String(format!("$context.{key}"));
    let probe = (g.resolve_ctx)(&json!({ "v": token }));
    probe.get("v").filter(|x| **x != token).cloned()
}

/// validations.js `validateFieldContains`: some value `path` reaches (`[*]`
/// fans out) equals `value`, or one of a non-empty `allowed_values`.
pub(super) fn field_contains(v: &Value, g: &Grading) -> Check {
    const KIND: &str = "field_contains";
    let Some(path) = path(v) else {
        return fail(KIND, v, format!("No path specified for {KIND} validation"));
    };
    let allowed = v["allowed_values"].as_array().filter(|a| !a.is_empty());
    let value = v.get("value");
    if value.is_none() && allowed.is_none() {
        return fail(KIND, v, format!("{KIND} requires either `value` or `allowed_values`"));
    }
    let resolved: Vec<&Value> = g.data.map(|d| resolve_path_all(d, path)).unwrap_or_default();
    let candidates: Vec<Option<&Value>> = allowed.map_or_else(|| vec![value], |a| a.iter().map(Some).collect());
    if resolved.iter().any(|actual| candidates.iter().any(|c| values_match(Some(actual), *c))) {
        return check(KIND, v, None);
    }
    let got = js_json(Some(&Value::Array(resolved.into_iter().cloned().collect())));
    let error = match allowed {
        Some(_) => format!("Expected one of {} to appear in path; got {got}", js_json(v.get("allowed_values"))),
        None => format!("Expected {} to appear in path; got {got}", js_json(value)),
    };
    fail(KIND, v, error)
}

/// validations.js `validateFieldLessThan`: the number at `path` is below the
/// comparand, the run context's `context_key` value or else `value`. A
/// `context_key` missing from the context passes (see [`context_value`]).
pub(super) fn field_less_than(v: &Value, g: &Grading) -> Check {
    const KIND: &str = "field_less_than";
    let Some(path) = path(v) else {
        return fail(KIND, v, "No path specified for field_less_than validation".into());
    };
    let comparand = match v["context_key"].as_str().filter(|k| !k.is_empty()) {
        Some(key) => match context_value(key, g) {
            Some(c) => Some(c),
            None => return check(KIND, v, None),
        },
        None => v.get("value").cloned(),
    };
    let actual = g.data.and_then(|d| resolve_path(d, path)).filter(|a| !a.is_null());
    let Some(actual) = actual else {
        return fail(KIND, v, format!("Field not found at path: {path}"));
    };
    let Some(a) = actual.as_f64() else {
        let got = format!("{} {}", js_typeof(Some(actual)), js_json(Some(actual)));
        return fail(KIND, v, format!("field_less_than requires a finite number at path \"{path}\"; got {got}"));
    };
    let Some(c) = comparand.as_ref().and_then(Value::as_f64) else {
        let got = format!("{} {}", js_typeof(comparand.as_ref()), js_json(comparand.as_ref()));
        return fail(KIND, v, format!("field_less_than comparand must be a finite number; got {got}"));
    };
    if a < c {
        return check(KIND, v, None);
    }
    fail(KIND, v, format!("Expected {} < {}", js_json(Some(actual)), js_json(comparand.as_ref())))
}

/// validations.js `validateFieldEqualsContext`: the value at `path` equals
/// the run context's `context_key` value (`valuesMatch`). A key missing
/// from the context passes (see [`context_value`]).
pub(super) fn field_equals_context(v: &Value, g: &Grading) -> Check {
    const KIND: &str = "field_equals_context";
    let Some(path) = path(v) else {
        return fail(KIND, v, "No path specified for field_equals_context validation".into());
    };
    let Some(key) = v["context_key"].as_str().filter(|k| !k.is_empty()) else {
        return fail(KIND, v, "field_equals_context requires context_key to be set".into());
    };
    let Some(expected) = context_value(key, g) else {
        return check(KIND, v, None);
    };
    let actual = g.data.and_then(|d| resolve_path(d, path));
    if values_match(actual, Some(&expected)) {
        return check(KIND, v, None);
    }
    let got = js_json(Some(actual.unwrap_or(&Value::Null)));
    fail(KIND, v, format!("Expected {} (from context[\"{key}\"]); got {got}", js_json(Some(&expected))))
}

/// validations.js `validateAnyOf`: one of `allowed_values` (as strings) was
/// contributed by an earlier step. Without the run's flags, fails loudly.
pub(super) fn any_of(v: &Value, contributions: Option<&crate::storyboard::Contributions>) -> Check {
    let Some(contributions) = contributions else {
        return fail("any_of", v, "any_of needs the run's `contributes_to` flags, which were not passed to the grader".into());
    };
    let flags: Vec<String> = v["allowed_values"].as_array().map(|a| a.iter().map(js_string).collect()).unwrap_or_default();
    if flags.iter().any(|f| contributions.contains_key(f)) {
        return check("any_of", v, None);
    }
    fail("any_of", v, format!("None of the required contributions were recorded: {}", json!(flags)))
}

/// runner.js `executeProbeStep` for `task: assert_contribution`: no call,
/// only the step's validations against the run's contribution flags. Only
/// `any_of` is graded (the only kind storyboards put there); any other kind
/// fails loudly.
pub fn grade_assert_contribution(step: &Value, contributions: &crate::storyboard::Contributions) -> Vec<Check> {
    let validations = step["validations"].as_array().map(Vec::as_slice).unwrap_or_default();
    let grade = |v: &Value| match v["check"].as_str().unwrap_or_default() {
        "any_of" => any_of(v, Some(contributions)),
        kind => fail(kind, v, format!("unsupported check kind `{kind}` on an assert_contribution step")),
    };
    validations.iter().map(grade).collect()
}

/// validations.js `validateA2ASubmittedArtifact` / `validateA2AContextContinuity`:
/// runner.js captures the A2A JSON-RPC envelope only for `--protocol a2a`;
/// without one both pass (with an `a2a_envelope_not_captured` observation).
/// Hostel runs MCP only, so they always pass.
pub(super) fn a2a_not_captured(v: &Value, kind: &str) -> Check {
    check(kind, v, None)
}

/// validations.js `validateUpstreamTraffic`: an agent whose controller does
/// not advertise `query_upstream_traffic` gets `not_applicable` (a pass).
/// Grading recorded traffic is not ported: with the scenario advertised, fail loudly.
pub(super) fn upstream_traffic(v: &Value, g: &Grading) -> Check {
    if !g.extras.upstream_traffic_advertised {
        return check("upstream_traffic", v, None);
    }
    fail("upstream_traffic", v, "the controller advertises query_upstream_traffic, but hostel's runner does not query or grade it".into())
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::schema::tests::schemas;
    use super::super::{grade, Check};
    use super::*;
    use crate::storyboard::outcome::Outcome;

    /// A successful SDK answer carrying `sc`.
    pub(in super::super) fn sdk_answer(sc: Value) -> Outcome {
        let result = json!({"content": [{"type": "text", "text": sc.to_string()}], "structuredContent": sc});
        Outcome::from_http(200, json!({"jsonrpc": "2.0", "id": 1, "result": result}).to_string().as_bytes(), Some("application/json"))
    }

    /// `$context.<key>` substitution over a small context, recursive like the flow's `Context::inject`
    /// (`undefined_key` holds `undefined`: its object members vanish).
    fn inject(v: &Value) -> Value {
        let ctx = json!({"media_buy_id": "mb_1", "budget": 5000, "nothing": null});
        match v {
            Value::String(s) => s.strip_prefix("$context.").and_then(|k| ctx.get(k)).cloned().unwrap_or_else(|| v.clone()),
            Value::Array(a) => Value::Array(a.iter().map(inject).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().filter(|(_, x)| *x != "$context.undefined_key").map(|(k, x)| (k.clone(), inject(x))).collect())
            }
            other => other.clone(),
        }
    }

    /// Grades the single validation `v` against `o` (task `get_products`).
    pub(in super::super) fn grade_one(v: Value, o: &Outcome, extras: &Extras) -> Check {
        let step = json!({ "validations": [v] });
        let o = o.clone().for_task("get_products").for_step(false);
        grade("get_products", &step, &o, schemas(), &inject, extras).remove(0)
    }

    fn run(v: Value) -> (bool, Option<String>) {
        let o = sdk_answer(json!({"errors": [{"code": "A"}, {"code": "B", "n": null}], "media_buy_id": "mb_1", "spend": 10.5, "s": "x"}));
        let c = grade_one(v, &o, &Extras::default());
        (c.passed, c.error)
    }

    #[test]
    fn field_contains() {
        assert_eq!(run(json!({"check": "field_contains", "path": "errors[*].code", "value": "B"})), (true, None));
        assert_eq!(run(json!({"check": "field_contains", "path": "errors[*].code", "allowed_values": ["Z", "A"]})), (true, None));
        assert_eq!(run(json!({"check": "field_contains", "path": "errors[*].n", "value": null})), (true, None));
        let want = Some(r#"Expected "C" to appear in path; got ["A","B"]"#.to_owned());
        assert_eq!(run(json!({"check": "field_contains", "path": "errors[*].code", "value": "C"})), (false, want));
        let want = Some(r#"Expected one of ["C",1] to appear in path; got []"#.to_owned());
        assert_eq!(run(json!({"check": "field_contains", "path": "nope[*]", "allowed_values": ["C", 1.0]})), (false, want));
        let want = Some("field_contains requires either `value` or `allowed_values`".to_owned());
        assert_eq!(run(json!({"check": "field_contains", "path": "errors", "allowed_values": []})), (false, want));
        let want = Some("No path specified for field_contains validation".to_owned());
        assert_eq!(run(json!({"check": "field_contains", "value": 1})), (false, want));
    }

    #[test]
    fn field_less_than() {
        assert_eq!(run(json!({"check": "field_less_than", "path": "spend", "context_key": "budget"})), (true, None));
        assert_eq!(run(json!({"check": "field_less_than", "path": "spend", "value": 11})), (true, None));
        assert_eq!(run(json!({"check": "field_less_than", "path": "spend", "value": "$context.budget"})), (true, None));
        // A context key the run never captured: pass (the capturing step may have been skipped).
        assert_eq!(run(json!({"check": "field_less_than", "path": "spend", "context_key": "missing"})), (true, None));
        assert_eq!(run(json!({"check": "field_less_than", "path": "spend", "context_key": "undefined_key"})), (true, None));
        let want = Some("Expected 10.5 < 10".to_owned());
        assert_eq!(run(json!({"check": "field_less_than", "path": "spend", "value": 10.0})), (false, want));
        let want = Some("Field not found at path: gone".to_owned());
        assert_eq!(run(json!({"check": "field_less_than", "path": "gone", "value": 1})), (false, want));
        let want = Some(r#"field_less_than requires a finite number at path "s"; got string "x""#.to_owned());
        assert_eq!(run(json!({"check": "field_less_than", "path": "s", "value": 1})), (false, want));
        let want = Some("field_less_than comparand must be a finite number; got object null".to_owned());
        assert_eq!(run(json!({"check": "field_less_than", "path": "spend", "context_key": "nothing"})), (false, want));
        let want = Some("field_less_than comparand must be a finite number; got undefined undefined".to_owned());
        assert_eq!(run(json!({"check": "field_less_than", "path": "spend"})), (false, want));
        let want = Some("No path specified for field_less_than validation".to_owned());
        assert_eq!(run(json!({"check": "field_less_than", "value": 1})), (false, want));
    }

    #[test]
    fn field_equals_context() {
        assert_eq!(run(json!({"check": "field_equals_context", "path": "media_buy_id", "context_key": "media_buy_id"})), (true, None));
        assert_eq!(run(json!({"check": "field_equals_context", "path": "media_buy_id", "context_key": "missing"})), (true, None));
        let want = Some(r#"Expected 5000 (from context["budget"]); got "mb_1""#.to_owned());
        assert_eq!(run(json!({"check": "field_equals_context", "path": "media_buy_id", "context_key": "budget"})), (false, want));
        let want = Some(r#"Expected "mb_1" (from context["media_buy_id"]); got null"#.to_owned());
        assert_eq!(run(json!({"check": "field_equals_context", "path": "gone", "context_key": "media_buy_id"})), (false, want));
        let want = Some("field_equals_context requires context_key to be set".to_owned());
        assert_eq!(run(json!({"check": "field_equals_context", "path": "media_buy_id"})), (false, want));
        let want = Some("No path specified for field_equals_context validation".to_owned());
        assert_eq!(run(json!({"check": "field_equals_context", "context_key": "budget"})), (false, want));
    }

    #[test]
    fn any_of_and_assert_contribution() {
        let flags = crate::storyboard::Contributions::from([("auth_mechanism_verified".to_owned(), ("p".to_owned(), "s".to_owned()))]);
        let v = json!({"check": "any_of", "allowed_values": ["oauth_verified", "auth_mechanism_verified"]});
        let o = sdk_answer(json!({}));
        assert!(grade_one(v.clone(), &o, &Extras { contributions: Some(&flags), ..Extras::default() }).passed);
        let none = crate::storyboard::Contributions::new();
        let c = grade_one(v.clone(), &o, &Extras { contributions: Some(&none), ..Extras::default() });
        let want = r#"None of the required contributions were recorded: ["oauth_verified","auth_mechanism_verified"]"#;
        assert_eq!((c.passed, c.error.as_deref()), (false, Some(want)));
        assert!(grade_one(v.clone(), &o, &Extras::default()).error.unwrap().contains("were not passed"));
        let step = json!({"task": "assert_contribution", "validations": [v, {"check": "field_present", "path": "x"}]});
        let got: Vec<bool> = grade_assert_contribution(&step, &flags).iter().map(|c| c.passed).collect();
        assert_eq!(got, [true, false]);
    }

    #[test]
    fn checks_without_their_inputs() {
        for kind in ["a2a_submitted_artifact", "a2a_context_continuity", "upstream_traffic"] {
            assert_eq!(run(json!({"check": kind, "description": "d"})), (true, None), "{kind}");
        }
        let e = Extras { upstream_traffic_advertised: true, ..Extras::default() };
        let c = grade_one(json!({"check": "upstream_traffic"}), &sdk_answer(json!({})), &e);
        assert!(!c.passed && c.error.unwrap().contains("does not query or grade it"));
    }
}
