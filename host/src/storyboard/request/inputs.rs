//! `context_inputs`: explicit context values written into a built request by path (context.js
//! `applyContextInputs` and path.js `setPath`, `@adcp/sdk` 6.11.0). runner.js applies them after the
//! fixture/enricher, so they can fill what an enricher dropped (media_buy_seller's
//! `list_formats_integrity` relies on this for `format_ids[0]`).

use crate::storyboard::context::js::undefined;
use crate::storyboard::context::{Context, Slot};
use crate::storyboard::path::{parse_path, Segment};
use serde_json::{Map, Value};

/// path.js `FORBIDDEN_KEYS` are never written either.
use crate::storyboard::path::FORBIDDEN_KEYS;

/// context.js `applyContextInputs`: for each `{ key, inject_at }` whose key is in the context
/// (even as `undefined`), write the context value at the path.
pub(super) fn apply_context_inputs(request: &mut Map<String, Value>, step: &Value, ctx: &Context) -> Result<(), String> {
    let Some(inputs) = step.get("context_inputs").and_then(Value::as_array) else {
        return Ok(());
    };
    let mut target = Value::Object(std::mem::take(request));
    for input in inputs {
        let (Some(key), Some(at)) = (input.get("key").and_then(Value::as_str), input.get("inject_at").and_then(Value::as_str)) else {
            return Err(format!("step {}: context_inputs entry needs string key and inject_at: {input}", super::step_id(step)));
        };
        match ctx.slot(key) {
            Slot::Value(v) => set_path(&mut target, at, v.clone()),
            Slot::Undefined => set_path(&mut target, at, undefined()),
            Slot::Missing => {}
        }
    }
    if let Value::Object(m) = target {
        *request = m;
    }
    Ok(())
}

/// path.js `setPath`: write `value` at `path`, creating missing (or `null`) intermediate objects or
/// arrays as the next segment asks. Silently does nothing where path.js does nothing: a member
/// step on a non-object (arrays included), an index step on a non-array, a forbidden key.
/// Writing past an array's end pads with `null` (JavaScript leaves holes that serialize as `null`).
pub(crate) fn set_path(target: &mut Value, path: &str, value: Value) {
    let segments = parse_path(path);
    let Some((last, init)) = segments.split_last() else {
        return;
    };
    let mut cur = target;
    for (i, seg) in init.iter().enumerate() {
        let fresh = if matches!(segments[i + 1], Segment::Index(_)) { Value::Array(Vec::new()) } else { Value::Object(Map::new()) };
        let Some(slot) = slot_mut(cur, seg) else {
            return;
        };
        if slot.is_null() {
            *slot = fresh;
        }
        cur = slot;
    }
    if let Some(slot) = slot_mut(cur, last) {
        *slot = value;
    }
}

/// The writable slot for one segment, created as `null` when missing; None where setPath gives up.
fn slot_mut<'a>(cur: &'a mut Value, seg: &Segment) -> Option<&'a mut Value> {
    match (seg, cur) {
        (Segment::Index(i), Value::Array(a)) => {
            if *i == usize::MAX {
                return None;
            }
            if a.len() <= *i {
                a.resize(*i + 1, Value::Null);
            }
            a.get_mut(*i)
        }
        (Segment::Key(k), Value::Object(m)) if !FORBIDDEN_KEYS.contains(&k.as_str()) => Some(m.entry(k.clone()).or_insert(Value::Null)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_creates_intermediates_like_set_path() {
        let mut v = json!({"format_ids": [], "x": null});
        set_path(&mut v, "format_ids[0]", json!({"id": "f"}));
        set_path(&mut v, "x.y[1].z", json!(true));
        set_path(&mut v, "format_ids.k", json!(1));
        set_path(&mut v, "__proto__.p", json!(1));
        assert_eq!(v, json!({"format_ids": [{"id": "f"}], "x": {"y": [null, {"z": true}]}}));
    }

    #[test]
    fn inputs_write_present_keys_only() {
        let mut ctx = Context::new(None);
        ctx.set("f", json!({"id": "f"}));
        let step = json!({"context_inputs": [{"key": "f", "inject_at": "format_ids[0]"}, {"key": "missing", "inject_at": "m"}]});
        let mut req = Map::new();
        assert!(apply_context_inputs(&mut req, &step, &ctx).is_ok());
        assert_eq!(Value::Object(req), json!({"format_ids": [{"id": "f"}]}));
        let bad = json!({"context_inputs": [{"key": "f"}]});
        assert!(apply_context_inputs(&mut Map::new(), &bad, &ctx).is_err());
    }
}
