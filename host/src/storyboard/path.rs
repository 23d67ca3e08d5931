//! Storyboard paths (`accounts[0].account_id`, `products[*].format_ids[*]`):
//! a port of the official runner's path.js, which validations and context
//! captures share.

use serde_json::Value;

/// path.js `MAX_PATH_LENGTH`: longer paths resolve to nothing.
const MAX_PATH_LENGTH: usize = 1024;
/// path.js `RESOLVE_PATH_ALL_MAX`: `resolve_path_all` stops after this many values.
pub const RESOLVE_PATH_ALL_MAX: usize = 10_000;
/// path.js `FORBIDDEN_KEYS`: never resolved, whatever the document holds.
pub(crate) const FORBIDDEN_KEYS: [&str; 3] = ["__proto__", "constructor", "prototype"];

/// One parsed path segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// `.name` (also a bare number after a dot: `rights.0`, which path.js keeps as a string key).
    Key(String),
    /// `[3]`.
    Index(usize),
    /// `[*]` (only from [`parse_path_with_wildcards`]).
    Wildcard,
}

/// path.js `parsePath`: segments matched by `([^.\[\]]+)|\[(\d+)\]`, anything else skipped.
pub fn parse_path(path: &str) -> Vec<Segment> {
    parse(path, false)
}

/// path.js `parsePathWithWildcards`: as [`parse_path`], plus `[*]`.
pub fn parse_path_with_wildcards(path: &str) -> Vec<Segment> {
    parse(path, true)
}

fn parse(path: &str, wildcards: bool) -> Vec<Segment> {
    if path.len() > MAX_PATH_LENGTH {
        return Vec::new();
    }
    let bytes = path.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'.' | b']' => i += 1,
            b'[' => i = bracket(path, i, wildcards, &mut out),
            _ => {
                let end = path[i..].find(['.', '[', ']']).map_or(path.len(), |n| i + n);
                out.push(Segment::Key(path[i..end].to_owned()));
                i = end;
            }
        }
    }
    out
}

/// A `[` at `at`: `[digits]` or `[*]` is a segment; otherwise the regex
/// scan in path.js just moves on by one character.
fn bracket(path: &str, at: usize, wildcards: bool, out: &mut Vec<Segment>) -> usize {
    let rest = &path[at + 1..];
    let Some(close) = rest.find(']') else {
        return at + 1;
    };
    let inner = &rest[..close];
    if wildcards && inner == "*" {
        out.push(Segment::Wildcard);
        return at + close + 2;
    }
    if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()) {
        // An index too large for usize can never exist in an array.
        out.push(Segment::Index(inner.parse().unwrap_or(usize::MAX)));
        return at + close + 2;
    }
    at + 1
}

/// path.js `resolvePath`: the value at `path`, or None where path.js gives `undefined`.
pub fn resolve_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    if v.is_null() {
        return None;
    }
    let mut current = v;
    for seg in parse_path(path) {
        current = step(current, &seg)?;
    }
    Some(current)
}

/// One hop. A key on an array works as in JavaScript: an own property
/// (`"0"`, `"1"`, ...) is an element. (path.js would also answer an array's
/// `length`; no storyboard asks for it, and here it resolves to nothing.)
fn step<'a>(current: &'a Value, seg: &Segment) -> Option<&'a Value> {
    match (seg, current) {
        (Segment::Index(i), Value::Array(a)) => a.get(*i),
        (Segment::Key(k), _) if FORBIDDEN_KEYS.contains(&k.as_str()) => None,
        (Segment::Key(k), Value::Object(o)) => o.get(k),
        (Segment::Key(k), Value::Array(a)) => canonical_index(k).and_then(|i| a.get(i)),
        _ => None,
    }
}

/// `"3"` → 3, as a JavaScript array index key (no sign, no leading zeros).
fn canonical_index(k: &str) -> Option<usize> {
    let ok = !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) && (k == "0" || !k.starts_with('0'));
    ok.then(|| k.parse().ok()).flatten()
}

/// path.js `resolvePathAll`: every value `path` reaches, `[*]` fanning out
/// over arrays; `null` terminals are kept, missing ones are not.
pub fn resolve_path_all<'a>(v: &'a Value, path: &str) -> Vec<&'a Value> {
    let segments = parse_path_with_wildcards(path);
    let mut out = Vec::new();
    walk(Some(v), &segments, &mut out);
    out
}

fn walk<'a>(current: Option<&'a Value>, segments: &[Segment], out: &mut Vec<&'a Value>) {
    if out.len() >= RESOLVE_PATH_ALL_MAX {
        return;
    }
    let Some(current) = current else { return };
    let Some((seg, rest)) = segments.split_first() else {
        out.push(current);
        return;
    };
    match (seg, current) {
        (Segment::Wildcard, Value::Array(items)) => items.iter().for_each(|item| walk(Some(item), rest, out)),
        (Segment::Wildcard, _) => {}
        _ => walk(step(current, seg), rest, out),
    }
}

/// path.js `toJsonPointer`: `accounts[0].id` → `/accounts/0/id`, `""` for the root.
pub fn to_json_pointer(path: &str) -> String {
    parse_path(path)
        .iter()
        .map(|seg| match seg {
            Segment::Index(i) => format!("/{i}"),
            Segment::Key(k) => format!("/{}", k.replace('~', "~0").replace('/', "~1")),
            Segment::Wildcard => "/*".to_owned(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_like_path_js() {
        use Segment::*;
        assert_eq!(parse_path("accounts[0].account_id"), vec![Key("accounts".into()), Index(0), Key("account_id".into())]);
        assert_eq!(parse_path("rights.0.id"), vec![Key("rights".into()), Key("0".into()), Key("id".into())]);
        // `[*]` and `[x]` are not segments for the plain parser; the regex skips their brackets.
        assert_eq!(parse_path("a[*].b"), vec![Key("a".into()), Key("*".into()), Key("b".into())]);
        assert_eq!(
            parse_path_with_wildcards("products[*].format_ids[*]"),
            vec![Key("products".into()), Wildcard, Key("format_ids".into()), Wildcard]
        );
        assert!(parse_path(&"a".repeat(1025)).is_empty());
    }

    #[test]
    fn resolves_objects_arrays_and_js_quirks() {
        let v = json!({"accounts": [{"account_id": "a1", "n": null}], "rights": [{"id": "r"}]});
        assert_eq!(resolve_path(&v, "accounts[0].account_id"), Some(&json!("a1")));
        assert_eq!(resolve_path(&v, "rights.0.id"), Some(&json!("r")));
        assert_eq!(resolve_path(&v, "accounts[0].n"), Some(&Value::Null));
        assert_eq!(resolve_path(&v, "accounts[1]"), None);
        assert_eq!(resolve_path(&v, "accounts.account_id"), None);
        assert_eq!(resolve_path(&v, "accounts[0].account_id.x"), None);
        assert_eq!(resolve_path(&v, "constructor"), None);
        assert_eq!(resolve_path(&Value::Null, "a"), None);
        // The empty path is the document itself.
        assert_eq!(resolve_path(&v, ""), Some(&v));
    }

    #[test]
    fn resolves_wildcards() {
        let v = json!({"products": [{"format_ids": [{"id": "a"}, {"id": "b"}]}, {"format_ids": [{"id": "c"}]}, {}]});
        let ids: Vec<_> = resolve_path_all(&v, "products[*].format_ids[*].id").into_iter().cloned().collect();
        assert_eq!(ids, vec![json!("a"), json!("b"), json!("c")]);
        assert_eq!(resolve_path_all(&json!({"s": null}), "s"), vec![&Value::Null]);
        assert!(resolve_path_all(&json!({"s": 1}), "s[*]").is_empty());
    }

    #[test]
    fn json_pointers() {
        assert_eq!(to_json_pointer("accounts[0].a/b~c"), "/accounts/0/a~1b~0c");
        assert_eq!(to_json_pointer(""), "");
    }
}
