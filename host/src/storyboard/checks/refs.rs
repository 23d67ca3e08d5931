//! validations.js `validateRefsResolve`: every reference object found at
//! `source.path` (in the run's context or this step's answer) must match,
//! on all `match_keys`, an object at `target.path`.

use super::super::path::resolve_path_all;
use super::super::Check;
use super::Grading;
use regex::Regex;
use serde_json::{Map, Value};
use std::sync::LazyLock;

/// A reference object (`{ agent_url, id }`).
type Ref = Map<String, Value>;

/// validations.js `REF_FIELD_MAX_LEN`: longer ref fields are cut in reports.
const REF_FIELD_MAX_LEN: usize = 512;

/// validations.js `AGENT_CARD_SUFFIX_RE`.
static AGENT_CARD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)/\.well-known/agent(?:-card)?\.json$").expect("valid regex"));
/// a2a-discovery.js `TRANSPORT_SUFFIX_REGEX`.
static TRANSPORT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)/(?:mcp|a2a|sse)/?$").expect("valid regex"));
/// validations.js `CREDENTIAL_SHAPE_RE`.
static CREDENTIALS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@").expect("valid regex"));

/// The `refs_resolve` check. Passes when every in-scope source ref resolves;
/// refs outside `scope` pass (`on_out_of_scope: warn` / `ignore`, the
/// default `warn`) or fail (`fail`); a target that says `pagination.has_more`
/// cannot fail the check (adcp-client#712).
pub(super) fn refs_resolve(v: &Value, g: &Grading) -> Check {
    let description = v["description"].as_str().unwrap_or_default().to_owned();
    let fail = |error: String| Check { check: "refs_resolve".into(), description: description.clone(), passed: false, error: Some(error) };
    let keys: Vec<&str> = v["match_keys"].as_array().map(|k| k.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let (source, target) = (&v["source"], &v["target"]);
    if !source.is_object() || !target.is_object() || keys.is_empty() {
        return fail("`source`, `target`, and `match_keys` are all required for refs_resolve.".into());
    }
    let source_root = root(source, g);
    let target_root = root(target, g);
    let refs = |root: &Option<Value>, side: &Value| -> Vec<Ref> {
        let path = side["path"].as_str().unwrap_or_default();
        root.as_ref().map(|r| resolve_path_all(r, path).into_iter().filter_map(|x| x.as_object().cloned()).collect()).unwrap_or_default()
    };
    let (sources, targets) = (refs(&source_root, source), refs(&target_root, target));
    let paginated = target["from"] == "current_step" && target_root.as_ref().is_some_and(|r| r["pagination"]["has_more"] == true);

    let mode = v["on_out_of_scope"].as_str().unwrap_or("warn");
    let (in_scope, out_of_scope) = partition(&sources, &v["scope"], g.extras.agent_url);
    let unresolved: Vec<&Ref> = in_scope.into_iter().filter(|s| !targets.iter().any(|t| refs_match(s, t, &keys))).collect();
    let mut missing = if paginated { Vec::new() } else { dedup(unresolved, &keys) };
    if mode == "fail" {
        missing.extend(dedup(out_of_scope, &keys));
    }
    if missing.is_empty() {
        return Check { check: "refs_resolve".into(), description, passed: true, error: None };
    }
    let preview: Vec<String> = missing.iter().take(3).map(|r| report_json(r, &keys)).collect();
    let n = missing.len();
    fail(if n > 3 {
        format!("{n} ref(s) did not resolve; first 3: {}", preview.join(", "))
    } else {
        format!("{n} ref(s) did not resolve: {}", preview.join(", "))
    })
}

/// `from: context` reads the run's context (a flat map of captured keys):
/// the path's first segment is a context key, fetched through the caller's
/// `$context.<key>` substitution. Anything else reads this step's answer.
fn root(side: &Value, g: &Grading) -> Option<Value> {
    if side["from"] != "context" {
        return g.data.cloned();
    }
    let path = side["path"].as_str().unwrap_or_default();
    let key: String = path.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    if key.is_empty() {
        return Some(Value::Object(Map::new()));
    }
    let token = Value::String(format!("$context.{key}"));
    let value = (g.resolve_ctx)(&token);
    // An unresolved token comes back unchanged: the key is not in the context.
    let mut ctx = Map::new();
    if value != token {
        ctx.insert(key, value);
    }
    Some(Value::Object(ctx))
}

/// Splits refs by `scope: { key, equals }` (`equals: $agent_url` is the
/// agent under test); URL-valued keys compare canonicalized. No scope: all in scope.
fn partition<'a>(refs: &'a [Ref], scope: &Value, agent_url: &str) -> (Vec<&'a Ref>, Vec<&'a Ref>) {
    let Some(key) = scope["key"].as_str().filter(|_| scope.is_object()) else {
        return (refs.iter().collect(), Vec::new());
    };
    let equals = match &scope["equals"] {
        Value::String(s) if s == "$agent_url" => Value::String(agent_url.to_owned()),
        other => other.clone(),
    };
    let wanted = normalize(&equals, key);
    refs.iter().partition(|r| !wanted.is_null() && r.get(key).is_some_and(|x| js_strict_eq(&normalize(x, key), &wanted)))
}

/// validations.js `refsMatch`: every key present on both sides and strictly equal.
fn refs_match(a: &Ref, b: &Ref, keys: &[&str]) -> bool {
    keys.iter().all(|k| match (a.get(*k), b.get(*k)) {
        (Some(x), Some(y)) => js_strict_eq(&normalize(x, k), &normalize(y, k)),
        _ => false,
    })
}

/// JavaScript `===` on JSON values: objects and arrays from different documents are never identical.
fn js_strict_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Object(_) | Value::Array(_), _) => false,
        _ => a == b,
    }
}

/// validations.js `normalizeIfUrlKey`: string values of `*url` keys are canonicalized.
fn normalize(v: &Value, key: &str) -> Value {
    match v {
        Value::String(s) if key.to_ascii_lowercase().ends_with("url") => Value::String(canonical_agent_url(s)),
        other => other.clone(),
    }
}

/// validations.js `canonicalizeAgentUrlForScope`: lowercase scheme and host,
/// no userinfo, default port, query or fragment, no `/mcp`, `/a2a`, `/sse`
/// or agent-card suffix, no trailing slash. Unparseable input is returned as is.
fn canonical_agent_url(url: &str) -> String {
    let Some((scheme, host, path)) = super::http::url_parts(url) else {
        return url.to_owned();
    };
    let path = AGENT_CARD.replace(&path, "");
    let path = TRANSPORT.replace(&path, "");
    let path = if path == "/" { "" } else { path.strip_suffix('/').unwrap_or(&path) };
    format!("{scheme}://{host}{path}")
}

/// validations.js `dedupRefs`: one per distinct match-key projection, first kept.
fn dedup<'a>(refs: Vec<&'a Ref>, keys: &[&str]) -> Vec<&'a Ref> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for r in refs {
        let projection: Vec<Option<&Value>> = keys.iter().map(|k| r.get(*k)).collect();
        if !seen.contains(&projection) {
            seen.push(projection);
            out.push(r);
        }
    }
    out
}

/// validations.js `projectRefForReport` as JSON, keys in `match_keys`
/// order, long strings cut, credentials scrubbed from URLs.
fn report_json(r: &Ref, keys: &[&str]) -> String {
    let fields: Vec<String> = keys
        .iter()
        .filter_map(|k| {
            let v = r.get(*k)?;
            let v = match v {
                Value::String(s) => Value::String(sanitize(s)),
                other => other.clone(),
            };
            Some(format!("{}:{}", Value::String((*k).to_owned()), v))
        })
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// validations.js `sanitizeFieldString`, reduced to its cut and `scheme://user:pass@` scrub.
fn sanitize(s: &str) -> String {
    let out = if s.chars().count() > REF_FIELD_MAX_LEN {
        format!("{}…", s.chars().take(REF_FIELD_MAX_LEN - 1).collect::<String>())
    } else {
        s.to_owned()
    };
    CREDENTIALS.replace_all(&out, "$1").into_owned()
}

#[cfg(test)]
mod tests {
    use super::super::super::outcome::Outcome;
    use super::super::schema::tests::schemas;
    use super::*;
    use serde_json::json;

    const AGENT: &str = "https://Sales.Example:443/agents/sales/mcp/";

    fn grade(v: Value, context: Value, data: Value) -> Check {
        let resolve = move |t: &Value| match t.as_str().and_then(|s| s.strip_prefix("$context.")) {
            Some(k) => context.get(k).cloned().unwrap_or_else(|| t.clone()),
            None => t.clone(),
        };
        let outcome = Outcome::from_http(200, b"{}", Some("application/json"));
        let step = json!({});
        let g = Grading {
            task: "list_creative_formats",
            step: &step,
            outcome: &outcome,
            data: Some(&data),
            schemas: schemas(),
            resolve_ctx: &resolve,
            extras: &super::super::Extras { agent_url: AGENT, ..Default::default() },
        };
        refs_resolve(&v, &g)
    }

    fn check(on_out_of_scope: &str) -> Value {
        json!({"check": "refs_resolve", "description": "d",
            "source": {"from": "context", "path": "products[*].format_ids[*]"},
            "target": {"from": "current_step", "path": "formats[*].format_id"},
            "match_keys": ["agent_url", "id"], "scope": {"key": "agent_url", "equals": "$agent_url"}, "on_out_of_scope": on_out_of_scope})
    }

    fn ctx(ids: &[(&str, &str)]) -> Value {
        let format_ids: Vec<Value> = ids.iter().map(|(url, id)| json!({"agent_url": url, "id": id})).collect();
        json!({"products": [{"format_ids": format_ids}]})
    }

    #[test]
    fn canonical_urls() {
        assert_eq!(canonical_agent_url("https://Sales.Example:443/agents/sales/mcp/"), "https://sales.example/agents/sales");
        assert_eq!(canonical_agent_url("http://u:p@127.0.0.1:18080/sales/mcp?x#y"), "http://127.0.0.1:18080/sales");
        assert_eq!(canonical_agent_url("https://a.example/.well-known/agent-card.json"), "https://a.example");
        assert_eq!(canonical_agent_url("https://a.example/"), "https://a.example");
        assert_eq!(canonical_agent_url("not a url"), "not a url");
    }

    #[test]
    fn in_scope_refs_must_resolve() {
        let formats = json!({"formats": [{"format_id": {"agent_url": "https://sales.example/agents/sales", "id": "a"}}]});
        let ok = ctx(&[("https://sales.example/agents/sales/", "a"), ("https://creative.example", "x")]);
        assert!(grade(check("warn"), ok.clone(), formats.clone()).passed);
        let broken = ctx(&[("https://sales.example/agents/sales", "ghost"), ("https://sales.example/agents/sales", "ghost")]);
        let c = grade(check("warn"), broken.clone(), formats.clone());
        assert_eq!(
            c.error.as_deref(),
            Some(r#"1 ref(s) did not resolve: {"agent_url":"https://sales.example/agents/sales","id":"ghost"}"#)
        );
        // A target that has more pages cannot fail the check.
        let mut paged = formats.clone();
        paged["pagination"] = json!({"has_more": true});
        assert!(grade(check("warn"), broken, paged).passed);
        // Out-of-scope refs fail only under `on_out_of_scope: fail`.
        let third_party = ctx(&[("https://creative.example", "x")]);
        assert!(grade(check("ignore"), third_party.clone(), formats.clone()).passed);
        assert!(!grade(check("fail"), third_party, formats.clone()).passed);
        // Nothing in the context: nothing to resolve.
        assert!(grade(check("warn"), json!({}), formats).passed);
    }

    #[test]
    fn incomplete_checks_fail() {
        let c = grade(json!({"check": "refs_resolve", "source": {"from": "context", "path": "p"}}), json!({}), json!({}));
        assert_eq!(c.error.as_deref(), Some("`source`, `target`, and `match_keys` are all required for refs_resolve."));
    }
}
