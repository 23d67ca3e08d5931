//! SingleAgentClient `normalizeResponseToV3`: the SDK client rewrites a
//! successful answer's data through the v2.5 adapters' `normalizeResponse`
//! whatever version the agent speaks, before the runner grades it. On a v3
//! answer most of it is a no-op; the channel mapping is not (`video` →
//! `olv`, `ctv`), and schema checks see the rewritten data.

use serde_json::{json, Map, Value};

/// The rewritten data for `task` (adapters/legacy/v2-5: `get_products`,
/// `create_media_buy`, `update_media_buy`, `list_creative_formats`;
/// everything else unchanged).
pub(super) fn to_v3(task: &str, data: Value) -> Value {
    match task {
        "get_products" => products(data),
        "create_media_buy" | "update_media_buy" => media_buy(data),
        "list_creative_formats" => formats(data),
        _ => data,
    }
}

/// Whether [`to_v3`] builds a new object for `data` (JavaScript spread),
/// which drops the unwrapper's non-enumerable `_extraction_path` tag.
pub(super) fn rewrites(task: &str, data: &Value) -> bool {
    match task {
        "get_products" => data.get("products").is_some(),
        "create_media_buy" | "update_media_buy" => data.get("packages").is_some_and(super::truthy),
        "list_creative_formats" => data.is_array() || data["formats"].is_array(),
        _ => false,
    }
}

/// pricing-adapter.js `normalizeGetProductsResponse`.
fn products(data: Value) -> Value {
    let Value::Object(mut o) = data else {
        return data;
    };
    match o.remove("products") {
        None => Value::Object(o),
        Some(Value::Array(items)) => {
            let items = items.into_iter().map(|p| product_channels(product_pricing(p))).collect();
            o.insert("products".into(), Value::Array(items));
            Value::Object(o)
        }
        Some(other) => {
            let message = format!("Expected products to be an array, got {}", js_typeof(&other));
            json!({"errors": [{"code": "invalid_response", "message": message}]})
        }
    }
}

/// pricing-adapter.js `normalizeProductPricing` / `normalizePricingOption`:
/// v2 `rate` / `is_fixed` / `price_guidance.floor` become `fixed_price` / `floor_price`.
fn product_pricing(mut p: Value) -> Value {
    if let Some(Value::Array(options)) = p.get_mut("pricing_options") {
        for o in options.iter_mut() {
            *o = pricing_option(std::mem::take(o));
        }
    }
    p
}

fn pricing_option(option: Value) -> Value {
    let Value::Object(mut o) = option else {
        return option;
    };
    let v2 = o.contains_key("rate") || o.contains_key("is_fixed") || o.get("price_guidance").is_some_and(|g| g.get("floor").is_some());
    let v3 = o.contains_key("fixed_price") || o.contains_key("floor_price");
    if v3 && !v2 {
        return Value::Object(o);
    }
    let rate = o.remove("rate");
    let is_fixed = o.remove("is_fixed");
    let guidance = o.remove("price_guidance");
    if let Some(rate) = rate.filter(|_| matches!(is_fixed, None | Some(Value::Bool(true)))) {
        o.insert("fixed_price".into(), rate);
    }
    if let Some(mut g) = guidance {
        if let Some(floor) = g.as_object_mut().and_then(|g| g.remove("floor")) {
            o.insert("floor_price".into(), floor);
        }
        // `price_guidance` stays only when percentiles remain.
        if g.as_object().is_some_and(|g| !g.is_empty()) {
            o.insert("price_guidance".into(), g);
        }
    }
    Value::Object(o)
}

/// pricing-adapter.js `normalizeProductChannels`: v2 channel names become
/// their v3 equivalents, duplicates dropped, first occurrence kept.
fn product_channels(mut p: Value) -> Value {
    let Some(Value::Array(channels)) = p.get_mut("channels") else {
        return p;
    };
    let mut out: Vec<Value> = Vec::new();
    for ch in channels.drain(..) {
        let mapped: Vec<Value> = match ch.as_str() {
            Some("video") => vec![json!("olv"), json!("ctv")],
            Some("audio") => vec![json!("streaming_audio")],
            Some("native") => vec![json!("display")],
            Some("retail") => vec![json!("retail_media")],
            _ => vec![ch],
        };
        for m in mapped {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    *channels = out;
    p
}

/// creative-adapter.js `normalizeMediaBuyResponse`: each package loses null
/// `creative_assignments` / `creative_ids` / `products`, and v2
/// `creative_ids` become `creative_assignments`.
fn media_buy(mut data: Value) -> Value {
    if let Some(Value::Array(packages)) = data.get_mut("packages") {
        for pkg in packages.iter_mut() {
            if let Value::Object(o) = pkg {
                package(o);
            }
        }
    }
    data
}

fn package(o: &mut Map<String, Value>) {
    for field in ["creative_assignments", "creative_ids", "products"] {
        if o.get(field).is_some_and(Value::is_null) {
            o.remove(field);
        }
    }
    if o.get("creative_assignments").is_some_and(super::truthy) {
        return;
    }
    if let Some(ids) = o.get("creative_ids").filter(|i| super::truthy(i)).cloned() {
        o.remove("creative_ids");
        let assignments: Vec<Value> = ids.as_array().into_iter().flatten().map(|id| json!({ "creative_id": id })).collect();
        o.insert("creative_assignments".into(), Value::Array(assignments));
    }
}

/// format-renders.js `normalizeFormatsResponse`: a bare array becomes
/// `{ formats }`; a v2 format's `width` / `height` / `dimensions` become one primary render.
fn formats(data: Value) -> Value {
    match data {
        Value::Array(items) => {
            json!({ "formats": items.into_iter().map(format_renders).collect::<Vec<_>>() })
        }
        Value::Object(mut o) => {
            if let Some(Value::Array(items)) = o.get_mut("formats") {
                let taken = std::mem::take(items);
                *items = taken.into_iter().map(format_renders).collect();
            }
            Value::Object(o)
        }
        other => other,
    }
}

fn format_renders(format: Value) -> Value {
    let Value::Object(mut o) = format else {
        return format;
    };
    if o.get("renders").is_some_and(Value::is_array) {
        return Value::Object(o);
    }
    let (width, height, dims) = (o.remove("width"), o.remove("height"), o.remove("dimensions"));
    let dimensions = match (dims, &width, &height) {
        (Some(d), ..) => d,
        (None, None, None) => return Value::Object(o),
        // `width ?? 0`: a null side counts as 0 too.
        (None, w, h) => {
            let side = |x: &Option<Value>| x.clone().filter(|x| !x.is_null()).unwrap_or(json!(0));
            json!({ "width": side(w), "height": side(h) })
        }
    };
    o.insert("renders".into(), json!([{ "render_id": "primary", "role": "primary", "dimensions": dimensions }]));
    Value::Object(o)
}

/// JavaScript `typeof` of a JSON value.
fn js_typeof(v: &Value) -> &'static str {
    match v {
        Value::Null | Value::Object(_) | Value::Array(_) => "object",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_v2_channels_and_pricing_like_the_sdk() {
        let data = json!({"products": [{"channels": ["video", "display", "olv"], "pricing_options": [{"rate": 5, "price_guidance": {"floor": 1, "p50": 2}}, {"fixed_price": 3}]}]});
        let out = to_v3("get_products", data);
        assert_eq!(out["products"][0]["channels"], json!(["olv", "ctv", "display"]));
        assert_eq!(out["products"][0]["pricing_options"][0], json!({"fixed_price": 5, "floor_price": 1, "price_guidance": {"p50": 2}}));
        assert_eq!(out["products"][0]["pricing_options"][1], json!({"fixed_price": 3}));
        assert_eq!(to_v3("get_products", json!({"products": 3}))["errors"][0]["message"], "Expected products to be an array, got number");
        assert_eq!(to_v3("get_products", json!({"adcp_error": {}})), json!({"adcp_error": {}}));
    }

    #[test]
    fn media_buy_packages_and_formats() {
        let out =
            to_v3("create_media_buy", json!({"packages": [{"creative_ids": ["c1"], "products": null}, {"creative_assignments": null}]}));
        assert_eq!(out["packages"], json!([{"creative_assignments": [{"creative_id": "c1"}]}, {}]));
        let out = to_v3("list_creative_formats", json!([{"width": 300}]));
        assert_eq!(out["formats"][0]["renders"][0]["dimensions"], json!({"width": 300, "height": 0}));
        let untouched = json!({"formats": [{"renders": [], "width": 1}], "x": 1});
        assert_eq!(to_v3("list_creative_formats", untouched.clone()), untouched);
        assert_eq!(to_v3("sync_creatives", json!({"a": 1})), json!({"a": 1}));
    }
}
