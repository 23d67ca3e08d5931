//! The check kinds that read the raw HTTP exchange (validations.js
//! `requireHttpResult`): `http_status`, `http_status_in`,
//! `on_401_require_header` and `resource_equals_agent_url`. Only raw-probe
//! steps have one (probes.js `rawMcpProbe` `httpResult`); on an SDK step
//! they all fail, as in the official runner.

use super::super::outcome::{js_string, Dispatch};
use super::super::Check;
use super::more::js_json;
use super::{check, fail, Grading};
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

/// validations.js `SCHEMA_KEYWORD_RE`.
static SCHEMA_KEYWORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)invalid[_ ]?params|validation|schema|required|must be").expect("valid regex"));
/// validations.js `SCHEMA_CODE_RE`.
static SCHEMA_CODE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)VALIDATION|INVALID|SCHEMA|BAD_REQUEST").expect("valid regex"));
/// `scheme://[userinfo@]host[:port]path`, what `new URL()` gives normalizeAgentUrl.
static URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([A-Za-z][A-Za-z0-9+.-]*)://(?:[^@/?#]*@)?([^/?#]+)([^?#]*)").expect("valid regex"));
/// test-kit.js `PROBE_TASK_ALLOWLIST`, named in the schema-before-auth diagnostic.
const PROBE_TASK_ALLOWLIST: &str = "list_creatives, get_media_buy_delivery, list_authorized_properties, get_signals, list_si_sessions";

/// validations.js `requireHttpResult`: the failure for a step without an
/// HTTP result (one sent through the SDK client), or None on a raw probe.
fn require_http(kind: &str, v: &Value, g: &Grading) -> Option<Check> {
    (g.outcome.dispatch() != Dispatch::RawProbe)
        .then(|| fail(kind, v, format!("Validation \"{kind}\" requires an HTTP probe result but this step was an MCP task.")))
}

/// validations.js `validateHttpStatus`: `value` is a number equal to the status.
/// (The ` (<error>)` suffix of the official message needs a fetch that threw, which cannot happen in-process.)
pub(super) fn http_status(v: &Value, g: &Grading) -> Check {
    if let Some(c) = require_http("http_status", v, g) {
        return c;
    }
    let status = g.outcome.status();
    match v.get("value").and_then(Value::as_f64) {
        Some(want) if want == f64::from(status) => check("http_status", v, None),
        _ => fail(
            "http_status",
            v,
            format!("Expected HTTP {}, got {status}", v.get("value").map_or_else(|| "undefined".to_owned(), js_string)),
        ),
    }
}

/// validations.js `validateHttpStatusIn`: the status is one of the numbers
/// in `allowed_values`. When an auth rejection (401/403) was expected and a
/// 400/422 came back with a schema-validation body, the official runner
/// names the two likely causes instead of the plain mismatch.
pub(super) fn http_status_in(v: &Value, g: &Grading) -> Check {
    const KIND: &str = "http_status_in";
    if let Some(c) = require_http(KIND, v, g) {
        return c;
    }
    let allowed: &[Value] = v["allowed_values"].as_array().map_or(&[], Vec::as_slice);
    let status = g.outcome.status();
    let has = |n: u16| allowed.iter().any(|a| a.as_f64() == Some(f64::from(n)));
    if has(status) {
        return check(KIND, v, None);
    }
    let expected_auth_reject = has(401) || has(403);
    // probes.js: the body is the parsed JSON; a non-JSON body (kept there as
    // text) is gone from the Outcome and counts as not schema-shaped here.
    let schema_rejected = matches!(status, 400 | 422) && g.outcome.rpc().is_some_and(looks_like_schema_validation_body);
    if expected_auth_reject && schema_rejected {
        return fail(KIND, v, schema_before_auth(status));
    }
    fail(KIND, v, format!("Expected HTTP status in {}, got {status}", js_json(Some(&Value::Array(allowed.to_vec())))))
}

fn schema_before_auth(status: u16) -> String {
    format!(
        "Agent returned HTTP {status} with a schema-validation body before any auth response. \
         Two possible causes: (1) `test_kit.auth.probe_task` points at a task that requires \
         non-empty parameters, so schema validation rejected the probe before auth ran (fix: set \
         `probe_task` to one of {PROBE_TASK_ALLOWLIST}); or (2) the agent evaluates \
         schema before auth, which is itself a conformance gap (protected endpoints must return \
         401/403 on invalid credentials regardless of body shape)."
    )
}

/// validations.js `looksLikeSchemaValidationBody`: a JSON-RPC invalid-params
/// / invalid-request code or schema-ish message, a non-empty `errors` or
/// `validation_errors`, or a schema-ish `error_code` / `code`; for a string
/// body, a short one with a schema keyword.
fn looks_like_schema_validation_body(body: &Value) -> bool {
    let obj = match body {
        Value::String(s) => return !s.is_empty() && s.encode_utf16().count() <= 1024 && SCHEMA_KEYWORD.is_match(s),
        Value::Object(obj) => obj,
        _ => return false,
    };
    if let Some(err) = obj.get("error").filter(|e| e.is_object() || e.is_array()) {
        if matches!(err["code"].as_f64(), Some(c) if c == -32602.0 || c == -32600.0) {
            return true;
        }
        if err["message"].as_str().is_some_and(|m| SCHEMA_KEYWORD.is_match(m)) {
            return true;
        }
    }
    let non_empty = |k: &str| obj.get(k).and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    if non_empty("errors") || non_empty("validation_errors") {
        return true;
    }
    // `obj.error_code ?? obj.code`: null and missing fall through.
    let top_code = obj.get("error_code").filter(|c| !c.is_null()).or_else(|| obj.get("code"));
    top_code.and_then(Value::as_str).is_some_and(|c| SCHEMA_CODE.is_match(c))
}

/// validations.js `validateOn401RequireHeader`: a 401 must carry the header
/// named by `value` (non-empty); any other status passes. Response headers
/// come from [`super::Extras::headers`]; without them a 401 fails loudly.
pub(super) fn on_401_require_header(v: &Value, g: &Grading) -> Check {
    const KIND: &str = "on_401_require_header";
    if let Some(c) = require_http(KIND, v, g) {
        return c;
    }
    let Some(header) = v["value"].as_str().filter(|h| !h.is_empty()).map(str::to_lowercase) else {
        return fail(KIND, v, "`value` is required (the header name to require on 401 responses).".into());
    };
    if g.outcome.status() != 401 {
        return check(KIND, v, None);
    }
    let Some(headers) = g.extras.headers else {
        return fail(KIND, v, format!("cannot check header \"{header}\": the raw probe's response headers were not passed to the grader"));
    };
    match headers.get(&header) {
        Some(value) if !value.is_empty() => check(KIND, v, None),
        _ => fail(KIND, v, format!("401 response missing required header \"{header}\".")),
    }
}

/// validations.js `validateResourceEqualsAgentUrl`: the body's `resource`
/// (RFC 9728) equals the agent URL, both normalized. The message names only
/// whether host or path differs (the official runner redacts the values).
pub(super) fn resource_equals_agent_url(v: &Value, g: &Grading) -> Check {
    const KIND: &str = "resource_equals_agent_url";
    if let Some(c) = require_http(KIND, v, g) {
        return c;
    }
    let resource = g.outcome.rpc().and_then(|b| b.get("resource")).and_then(Value::as_str).filter(|r| !r.is_empty());
    let Some(resource) = resource else {
        return fail(KIND, v, "Response body missing string `resource` field.".into());
    };
    // The official runner would throw on an unparseable agent URL (`new URL(expected)`).
    let Some(expected_host) = url_host(g.extras.agent_url) else {
        return fail(KIND, v, format!("the agent URL {:?} is unknown or not a URL; cannot compare `resource`", g.extras.agent_url));
    };
    let expected = normalize_agent_url(g.extras.agent_url);
    if normalize_agent_url(resource) == expected {
        return check(KIND, v, None);
    }
    let cause = if url_host(resource).as_deref().unwrap_or("unknown") != expected_host {
        "Advertised host differs from the agent host — the most common cause is copying your authorization server origin into `resource`. "
    } else {
        "Advertised path differs from the agent path. "
    };
    fail(
        KIND,
        v,
        format!(
            "RFC 9728 `resource` does not equal the URL clients call ({expected}). {cause}\
             Fix: set `resource` equal to the full agent URL in your protected-resource metadata document."
        ),
    )
}

/// `new URL(url)` pieces: lowercase scheme, `host` (lowercase, default port dropped), path ("/" when empty).
pub(super) fn url_parts(url: &str) -> Option<(String, String, String)> {
    let m = URL.captures(url)?;
    let scheme = m[1].to_ascii_lowercase();
    let mut host = m[2].to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" | "ws" => ":80",
        "https" | "wss" => ":443",
        "ftp" => ":21",
        _ => "",
    };
    if !default_port.is_empty() && host.ends_with(default_port) {
        host.truncate(host.len() - default_port.len());
    }
    let path = if m[3].is_empty() { "/".to_owned() } else { m[3].to_owned() };
    Some((scheme, host, path))
}

/// `new URL(url).host`, or None where the constructor would throw.
fn url_host(url: &str) -> Option<String> {
    url_parts(url).map(|(_, host, _)| host)
}

/// validations.js `normalizeAgentUrl`: scheme, host and path, no userinfo,
/// query or fragment, one trailing slash dropped (the root "/" kept).
/// Unparseable input is returned as is. (WHATWG percent-encoding and
/// dot-segment normalization are not reproduced.)
fn normalize_agent_url(url: &str) -> String {
    let Some((scheme, host, path)) = url_parts(url) else {
        return url.to_owned();
    };
    let path = if path.len() > 1 { path.strip_suffix('/').unwrap_or(&path) } else { &path };
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::super::more::tests::{grade_one, sdk_answer};
    use super::super::Extras;
    use super::*;
    use crate::storyboard::outcome::Outcome;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn probe(status: u16, body: Value) -> Outcome {
        Outcome::from_raw_probe(status, body.to_string().as_bytes(), Some("application/json"))
    }

    fn run(v: Value, o: &Outcome, extras: &Extras) -> (bool, Option<String>) {
        let c = grade_one(v, o, extras);
        (c.passed, c.error)
    }

    #[test]
    fn http_checks_need_a_raw_probe() {
        let sdk = sdk_answer(json!({"resource": "x"}));
        for kind in ["http_status", "http_status_in", "on_401_require_header", "resource_equals_agent_url"] {
            let want = format!("Validation \"{kind}\" requires an HTTP probe result but this step was an MCP task.");
            assert_eq!(run(json!({"check": kind, "value": 200}), &sdk, &Extras::default()), (false, Some(want)));
        }
    }

    #[test]
    fn http_status_in_and_the_schema_before_auth_diagnostic() {
        let e = Extras::default();
        let unauth = probe(401, json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32001, "message": "no"}}));
        assert_eq!(run(json!({"check": "http_status_in", "allowed_values": [401, 403]}), &unauth, &e), (true, None));
        let want = Some("Expected HTTP status in [200,202], got 401".to_owned());
        assert_eq!(run(json!({"check": "http_status_in", "allowed_values": [200, 202]}), &unauth, &e), (false, want));
        // A string "401" is not the number 401 (`===`), and no allowed_values means none.
        assert!(!run(json!({"check": "http_status_in", "allowed_values": ["401"]}), &unauth, &e).0);
        let want = Some("Expected HTTP status in [], got 401".to_owned());
        assert_eq!(run(json!({"check": "http_status_in"}), &unauth, &e), (false, want));
        let schema = probe(400, json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": "Invalid params"}}));
        let (passed, error) = run(json!({"check": "http_status_in", "allowed_values": [401, 403]}), &schema, &e);
        assert!(!passed && error.unwrap().starts_with("Agent returned HTTP 400 with a schema-validation body before any auth response."));
        // Without an expected auth rejection, the plain mismatch.
        let want = Some("Expected HTTP status in [200], got 400".to_owned());
        assert_eq!(run(json!({"check": "http_status_in", "allowed_values": [200]}), &schema, &e), (false, want));
    }

    #[test]
    fn schema_shaped_bodies() {
        assert!(looks_like_schema_validation_body(&json!({"error": {"code": -32600}})));
        assert!(looks_like_schema_validation_body(&json!({"error": {"code": 1, "message": "field is required"}})));
        assert!(looks_like_schema_validation_body(&json!({"errors": [{}]})));
        assert!(looks_like_schema_validation_body(&json!({"error_code": null, "code": "VALIDATION_ERROR"})));
        assert!(looks_like_schema_validation_body(&json!("missing required field")));
        assert!(!looks_like_schema_validation_body(&json!({"error": {"code": -32001, "message": "unauthorized"}})));
        assert!(!looks_like_schema_validation_body(&json!({"errors": [], "code": "AUTH_REQUIRED"})));
        assert!(!looks_like_schema_validation_body(&json!("x".repeat(1025) + "schema")));
    }

    #[test]
    fn on_401_require_header() {
        let unauth = probe(401, json!({"error": {"code": -32001, "message": "no"}}));
        let v = json!({"check": "on_401_require_header", "value": "WWW-Authenticate"});
        let mut headers = BTreeMap::from([("www-authenticate".to_owned(), "Bearer realm=\"x\"".to_owned())]);
        assert_eq!(run(v.clone(), &unauth, &Extras { headers: Some(&headers), ..Extras::default() }), (true, None));
        headers.insert("www-authenticate".into(), String::new());
        let want = Some("401 response missing required header \"www-authenticate\".".to_owned());
        assert_eq!(run(v.clone(), &unauth, &Extras { headers: Some(&headers), ..Extras::default() }), (false, want));
        let (passed, error) = run(v.clone(), &unauth, &Extras::default());
        assert!(!passed && error.unwrap().contains("response headers were not passed"));
        // Not a 401: nothing to require.
        assert_eq!(run(v, &probe(200, json!({"result": {}})), &Extras::default()), (true, None));
        let want = Some("`value` is required (the header name to require on 401 responses).".to_owned());
        assert_eq!(run(json!({"check": "on_401_require_header"}), &unauth, &Extras::default()), (false, want));
    }

    #[test]
    fn resource_equals_agent_url() {
        let e = Extras { agent_url: "http://127.0.0.1:18080/sales/mcp", ..Extras::default() };
        let v = json!({"check": "resource_equals_agent_url"});
        let ok = probe(200, json!({"resource": "HTTP://user@127.0.0.1:18080/sales/mcp/?q#f"}));
        assert_eq!(run(v.clone(), &ok, &e), (true, None));
        let (passed, error) = run(v.clone(), &probe(200, json!({"resource": "http://127.0.0.1:18080/sales"})), &e);
        assert!(!passed && error.as_deref().unwrap().contains("(http://127.0.0.1:18080/sales/mcp). Advertised path differs"), "{error:?}");
        let (passed, error) = run(v.clone(), &probe(200, json!({"resource": "https://auth.example/sales/mcp"})), &e);
        assert!(!passed && error.unwrap().contains("Advertised host differs from the agent host"));
        let want = Some("Response body missing string `resource` field.".to_owned());
        assert_eq!(run(v.clone(), &probe(200, json!({"resource": 1})), &e), (false, want));
        assert!(run(v, &ok, &Extras::default()).1.unwrap().contains("agent URL \"\" is unknown"));
        assert_eq!(normalize_agent_url("https://A.example:443"), "https://a.example/");
        assert_eq!(normalize_agent_url("not a url"), "not a url");
    }
}
