//! A step's `validations`, graded as the official runner grades them
//! (validations.js `runValidation`), and the step verdict (runner.js
//! `executeStep`).
//!
//! Check kinds outside this port fail loudly ("unsupported check kind"),
//! where the official runner would grade them `not_applicable` and pass.

mod http;
mod more;
mod refs;
mod schema;

pub use more::{grade_assert_contribution, Extras};
pub use schema::Schemas;

use super::outcome::{js_string, Outcome};
use super::path::resolve_path;
use super::Check;
use serde_json::Value;

/// What the individual checks read.
struct Grading<'a> {
    task: &'a str,
    step: &'a Value,
    outcome: &'a Outcome,
    /// TaskResult `data` as graded: normalized for the task ([`Outcome::for_task`]),
    /// `{ error }` for an `expect_error` step left without data ([`Outcome::for_step`]).
    data: Option<&'a Value>,
    schemas: &'a Schemas,
    resolve_ctx: &'a dyn Fn(&Value) -> Value,
    extras: &'a Extras<'a>,
}

/// Grades `step`'s `validations` against what its call of `task` produced,
/// `outcome` as the runner reads it (after [`Outcome::for_task`] and
/// [`Outcome::for_step`], which the caller already applied for its own
/// context captures and report). `resolve_ctx` substitutes `$context.<key>`
/// tokens (runner.js resolves them in each validation's `value` and
/// `allowed_values`; `refs_resolve` with `from: context` reads context keys
/// through it too); `extras` are the run-wide facts some check kinds read
/// (agent URL, contribution flags, raw-probe headers, controller capabilities).
pub fn grade(
    task: &str,
    step: &Value,
    outcome: &Outcome,
    schemas: &Schemas,
    resolve_ctx: &dyn Fn(&Value) -> Value,
    extras: &Extras,
) -> Vec<Check> {
    let Some(validations) = step["validations"].as_array() else {
        return Vec::new();
    };
    let g = Grading { task, step, outcome, data: outcome.data(), schemas, resolve_ctx, extras };
    validations.iter().map(|v| run(&resolved(v, resolve_ctx), &g)).collect()
}

/// runner.js `executeStep`: whether the step passed as a whole. The call
/// must have succeeded, or, for `expect_error: true`, failed (any error:
/// transport, JSON-RPC, `isError`, or an error payload); and every check
/// must hold. A step expecting an error whose call succeeded fails, even if
/// its checks hold. (`negative_path` is documentation only: the runner
/// never reads it.)
pub fn step_passed(step: &Value, outcome: &Outcome, checks: &[Check]) -> bool {
    let call_ok = if step["expect_error"] == true { !outcome.success() } else { outcome.success() };
    call_ok && checks.iter().all(|c| c.passed)
}

/// runner.js: `$context.*` in `value` and in each of `allowed_values` is
/// substituted before grading.
fn resolved(v: &Value, resolve_ctx: &dyn Fn(&Value) -> Value) -> Value {
    let mut v = v.clone();
    if let Some(value) = v.get_mut("value") {
        *value = resolve_ctx(value);
    }
    if let Some(Value::Array(items)) = v.get_mut("allowed_values") {
        items.iter_mut().for_each(|item| *item = resolve_ctx(item));
    }
    v
}

fn run(v: &Value, g: &Grading) -> Check {
    let kind = v["check"].as_str().unwrap_or_default();
    match kind {
        "response_schema" => schema::response_schema(v, g.task, g.step, g.data, g.schemas),
        "field_present" | "envelope_field_present" => field_present(v, kind, g),
        "field_absent" | "envelope_field_absent" => field_absent(v, kind, g),
        "field_value" | "envelope_field_value" => field_value(v, kind, g, false),
        "field_value_or_absent" | "envelope_field_value_or_absent" => field_value(v, kind, g, true),
        "status_code" => status_code(v, g),
        "error_code" => error_code(v, g),
        "http_status" => http::http_status(v, g),
        "http_status_in" => http::http_status_in(v, g),
        "on_401_require_header" => http::on_401_require_header(v, g),
        "resource_equals_agent_url" => http::resource_equals_agent_url(v, g),
        "refs_resolve" => refs::refs_resolve(v, g),
        "field_contains" => more::field_contains(v, g),
        "field_less_than" => more::field_less_than(v, g),
        "field_equals_context" => more::field_equals_context(v, g),
        "any_of" => more::any_of(v, g.extras.contributions),
        "a2a_submitted_artifact" | "a2a_context_continuity" => more::a2a_not_captured(v, kind),
        "upstream_traffic" => more::upstream_traffic(v, g),
        _ => fail(kind, v, format!("unsupported check kind `{kind}`")),
    }
}

fn check(kind: &str, v: &Value, error: Option<String>) -> Check {
    Check { check: kind.to_owned(), description: v["description"].as_str().unwrap_or_default().to_owned(), passed: error.is_none(), error }
}

fn fail(kind: &str, v: &Value, error: String) -> Check {
    check(kind, v, Some(error))
}

/// The value at the validation's `path` in `data`, or the "no path" failure.
fn target<'a>(v: &Value, kind: &str, g: &Grading<'a>) -> Result<Option<&'a Value>, Check> {
    match v["path"].as_str().filter(|p| !p.is_empty()) {
        Some(path) => Ok(g.data.and_then(|d| resolve_path(d, path))),
        None => Err(fail(kind, v, format!("No path specified for {kind} validation"))),
    }
}

/// validations.js `validateFieldPresent`: present means neither missing nor null.
fn field_present(v: &Value, kind: &str, g: &Grading) -> Check {
    match target(v, kind, g) {
        Err(c) => c,
        Ok(Some(x)) if !x.is_null() => check(kind, v, None),
        Ok(_) => fail(kind, v, format!("Field not found at path: {}", v["path"].as_str().unwrap_or_default())),
    }
}

/// validations.js `validateFieldAbsent`: missing or null.
fn field_absent(v: &Value, kind: &str, g: &Grading) -> Check {
    match target(v, kind, g) {
        Err(c) => c,
        Ok(Some(x)) if !x.is_null() => {
            fail(kind, v, format!("Field found at path: {} (expected absent)", v["path"].as_str().unwrap_or_default()))
        }
        Ok(_) => check(kind, v, None),
    }
}

/// validations.js `validateFieldValue` / `validateFieldValueOrAbsent`: the
/// value equals `value`, or one of a non-empty `allowed_values`; with
/// `or_absent`, a missing field (not a null one) also passes.
fn field_value(v: &Value, kind: &str, g: &Grading, or_absent: bool) -> Check {
    let actual = match target(v, kind, g) {
        Err(c) => return c,
        Ok(actual) => actual,
    };
    if or_absent && actual.is_none() {
        return check(kind, v, None);
    }
    let absent = if or_absent { "absent or " } else { "" };
    if let Some(allowed) = v["allowed_values"].as_array().filter(|a| !a.is_empty()) {
        if allowed.iter().any(|x| values_match(actual, Some(x))) {
            return check(kind, v, None);
        }
        return fail(kind, v, format!("Expected {absent}one of {}, got {}", stringify(Some(&v["allowed_values"])), stringify(actual)));
    }
    let expected = v.get("value");
    if values_match(actual, expected) {
        return check(kind, v, None);
    }
    fail(kind, v, format!("Expected {absent}{}, got {}", stringify(expected), stringify(actual)))
}

/// validations.js `valuesMatch`: objects by their JSON, anything else by
/// `===` (a missing value matches a missing `value`).
fn values_match(actual: Option<&Value>, expected: Option<&Value>) -> bool {
    match (actual, expected) {
        (Some(Value::Number(a)), Some(Value::Number(b))) => a.as_f64() == b.as_f64(),
        (Some(a @ (Value::Object(_) | Value::Array(_))), Some(b)) => json_equal(a, b),
        (a, b) => a == b,
    }
}

/// `JSON.stringify(a) === JSON.stringify(b)`, with numbers compared as JavaScript numbers.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q)),
        (Value::Object(x), Value::Object(y)) => x.len() == y.len() && x.iter().all(|(k, p)| y.get(k).is_some_and(|q| json_equal(p, q))),
        _ => a == b,
    }
}

/// `JSON.stringify` for messages (`undefined` for a missing value).
fn stringify(v: Option<&Value>) -> String {
    v.map_or_else(|| "undefined".to_owned(), Value::to_string)
}

/// validations.js `validateStatusCode`: the task succeeded.
fn status_code(v: &Value, g: &Grading) -> Check {
    if g.outcome.success() {
        return check("status_code", v, None);
    }
    fail("status_code", v, format!("Task failed: {}", g.outcome.raw_error().filter(|e| !e.is_empty()).unwrap_or("unknown error")))
}

/// validations.js `validateErrorCode`: the code found (see
/// [`Outcome::error_code_value`]) is one of `allowed_values`, equals
/// `value`, or, with neither, exists.
fn error_code(v: &Value, g: &Grading) -> Check {
    let code = g.outcome.error_code_value();
    let code_str = code.as_ref().map(js_string);
    if let Some(allowed) = v["allowed_values"].as_array().filter(|a| !a.is_empty()) {
        if code_str.as_ref().is_some_and(|c| allowed.iter().any(|x| &js_string(x) == c)) {
            return check("error_code", v, None);
        }
        return fail("error_code", v, format!("Expected one of {}, got {}", v["allowed_values"], stringify(code.as_ref())));
    }
    let expected = v.get("value").filter(|x| super::outcome::truthy(x));
    let Some(expected) = expected else {
        return match code {
            Some(_) => check("error_code", v, None),
            None => fail("error_code", v, "No error code found in response".into()),
        };
    };
    let got = code_str.unwrap_or_else(|| "undefined".into());
    if got == js_string(expected) {
        return check("error_code", v, None);
    }
    fail("error_code", v, format!("Expected error code \"{}\", got \"{got}\"", js_string(expected)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(sc: Value, is_error: bool) -> Outcome {
        let result = json!({"content": [{"type": "text", "text": sc.to_string()}], "structuredContent": sc, "isError": is_error});
        Outcome::from_http(200, json!({"jsonrpc": "2.0", "id": 1, "result": result}).to_string().as_bytes(), Some("application/json"))
    }

    fn run_checks(task: &str, step: &Value, outcome: &Outcome) -> Vec<(bool, Option<String>)> {
        let ctx = json!({"media_buy_id": "mb_1"});
        let resolve = |v: &Value| match v.as_str().and_then(|s| s.strip_prefix("$context.")) {
            Some(k) => ctx.get(k).cloned().unwrap_or_else(|| v.clone()),
            None => v.clone(),
        };
        graded(task, step, outcome, &resolve).into_iter().map(|c| (c.passed, c.error)).collect()
    }

    /// [`grade`] on `outcome` read as the runner reads it, as `step.rs` does.
    fn graded(task: &str, step: &Value, outcome: &Outcome, resolve: &dyn Fn(&Value) -> Value) -> Vec<Check> {
        let outcome = outcome.clone().for_task(task).for_step(step["expect_error"] == true);
        grade(task, step, &outcome, super::schema::tests::schemas(), resolve, &Extras::default())
    }

    #[test]
    fn field_checks_port_validations_js() {
        let o = answer(json!({"media_buy_id": "mb_1", "status": "active", "replayed": null, "n": 2.0, "ctx": {"a": [1]}}), false);
        let step = json!({"validations": [
            {"check": "field_present", "path": "media_buy_id"},
            {"check": "field_present", "path": "replayed"},
            {"check": "field_value", "path": "status", "allowed_values": ["pending", "active"]},
            {"check": "field_value", "path": "status", "value": "paused"},
            {"check": "field_value", "path": "media_buy_id", "value": "$context.media_buy_id"},
            {"check": "field_value", "path": "n", "value": 2},
            {"check": "field_value", "path": "ctx", "value": {"a": [1]}},
            {"check": "field_value_or_absent", "path": "missing", "value": false},
            {"check": "field_value_or_absent", "path": "replayed", "allowed_values": [false]},
            {"check": "envelope_field_present", "path": "status"},
            {"check": "field_present"},
        ]});
        let got = run_checks("create_media_buy", &step, &o);
        let want = [
            (true, None),
            (false, Some("Field not found at path: replayed".to_owned())),
            (true, None),
            (false, Some(r#"Expected "paused", got "active""#.to_owned())),
            (true, None),
            (true, None),
            (true, None),
            (true, None),
            (false, Some("Expected absent or one of [false], got null".to_owned())),
            (true, None),
            (false, Some("No path specified for field_present validation".to_owned())),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn error_code_checks() {
        let o = answer(json!({"adcp_error": {"code": "INVALID_REQUEST", "message": "m"}}), true);
        let step = json!({"expect_error": true, "validations": [
            {"check": "error_code", "allowed_values": ["VALIDATION_ERROR", "INVALID_REQUEST"]},
            {"check": "error_code", "value": "INVALID_REQUEST"},
            {"check": "error_code", "value": "BUDGET_TOO_LOW"},
            {"check": "error_code", "allowed_values": ["VALIDATION_ERROR"]},
            {"check": "error_code"},
        ]});
        let got = run_checks("create_media_buy", &step, &o);
        assert_eq!(got[..2], [(true, None), (true, None)]);
        assert_eq!(got[2], (false, Some(r#"Expected error code "BUDGET_TOO_LOW", got "INVALID_REQUEST""#.to_owned())));
        assert_eq!(got[3], (false, Some(r#"Expected one of ["VALIDATION_ERROR"], got "INVALID_REQUEST""#.to_owned())));
        assert_eq!(got[4], (true, None));
        let none = answer(json!({"media_buy_id": "mb"}), false);
        assert_eq!(run_checks("create_media_buy", &step, &none)[4], (false, Some("No error code found in response".to_owned())));
    }

    #[test]
    fn expect_error_steps_pass_only_when_the_call_failed() {
        let step = json!({"expect_error": true, "validations": [{"check": "error_code", "value": "VERSION_UNSUPPORTED"}, {"check": "field_present", "path": "context"}]});
        let failed = answer(json!({"adcp_error": {"code": "VERSION_UNSUPPORTED", "message": "m"}, "context": {}}), true);
        let checks = graded("get_products", &step, &failed, &|v| v.clone());
        assert!(checks.iter().all(|c| c.passed) && step_passed(&step, &failed, &checks));
        // The same checks hold on a successful answer, but the step fails: it expected an error.
        let succeeded = answer(json!({"error_code": "VERSION_UNSUPPORTED", "products": [], "context": {}}), false);
        let checks = graded("get_products", &step, &succeeded, &|v| v.clone());
        assert!(checks.iter().all(|c| c.passed) && !step_passed(&step, &succeeded, &checks));
        // A normal step fails on an error answer whatever its checks say.
        let normal = json!({"validations": [{"check": "field_present", "path": "context"}]});
        assert!(!step_passed(&normal, &failed, &graded("get_products", &normal, &failed, &|v| v.clone())));
        // A JSON-RPC error leaves only `{ error }` to validate.
        let rpc = Outcome::from_http(200, br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad"}}"#, Some("application/json"));
        let step = json!({"expect_error": true, "validations": [{"check": "field_present", "path": "error"}, {"check": "field_present", "path": "context"}]});
        assert_eq!(run_checks("get_products", &step, &rpc), [(true, None), (false, Some("Field not found at path: context".to_owned()))]);
    }

    #[test]
    fn response_schema_grades_the_normalized_answer() {
        let products: Value = serde_json::from_str(super::schema::tests::PRODUCTS).unwrap();
        let step = json!({"response_schema_ref": "media-buy/get-products-response.json", "validations": [{"check": "response_schema", "description": "d"}]});
        assert_eq!(run_checks("get_products", &step, &answer(products.clone(), false)), [(true, None)]);
        let mut broken = products;
        broken.as_object_mut().unwrap().remove("products");
        let got = run_checks("get_products", &step, &answer(broken, false));
        assert!(!got[0].0 && got[0].1.as_deref().unwrap().contains("\"products\" is a required property"), "{got:?}");
    }

    #[test]
    fn unsupported_kinds_and_http_status() {
        let o = answer(json!({}), false);
        let step = json!({"validations": [{"check": "bogus_check", "path": "x", "value": 1}, {"check": "http_status", "value": 200}, {"check": "status_code"}]});
        let got = run_checks("get_products", &step, &o);
        assert_eq!(got[0], (false, Some("unsupported check kind `bogus_check`".to_owned())));
        assert_eq!(
            got[1],
            (false, Some("Validation \"http_status\" requires an HTTP probe result but this step was an MCP task.".to_owned()))
        );
        assert_eq!(got[2], (true, None));
        let raw = Outcome::from_raw_probe(401, br#"{"error":{"code":-32001,"message":"no"}}"#, Some("application/json"));
        let step = json!({"validations": [{"check": "http_status", "value": 401}, {"check": "http_status", "value": 200}]});
        assert_eq!(run_checks("get_products", &step, &raw), [(true, None), (false, Some("Expected HTTP 200, got 401".to_owned()))]);
    }
}
