//! Products and creative formats: a built-in catalog plus products and
//! pricing options seeded through the test controller (kept in state).

use crate::envelope::{opt_str, AdcpError, Outcome};
use crate::{store, Call};
use serde_json::{json, Map, Value};

/// The creative agent that defines this seller's formats.
pub const FORMAT_AGENT_URL: &str = "https://creative.adcontextprotocol.org";

/// (id, name, width, height, kind)
#[allow(dead_code)]
const FORMATS: &[(&str, &str, u32, u32, &str)] = &[
    ("display_300x250", "Medium Rectangle 300x250", 300, 250, "display"),
    ("display_728x90", "Leaderboard 728x90", 728, 90, "display"),
    ("display_320x50", "Mobile Banner 320x50", 320, 50, "display"),
    ("video_15s", "Video 15s", 1920, 1080, "video"),
    ("video_30s", "Video 30s", 1920, 1080, "video"),
];

/// Built-in products: (id, name, description, delivery, channel, formats, [(pricing id, CPM)], keywords).
type Builtin = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static [(&'static str, f64)],
    &'static [&'static str],
);

const PRODUCTS: &[Builtin] = &[
    (
        "premium_sports_video",
        "Premium Sports Video",
        "Pre-roll video across live sports and outdoor adventure programming",
        "guaranteed",
        "video",
        &["video_30s", "video_15s"],
        &[("cpm_guaranteed", 24.0)],
        &["video", "sports", "outdoor", "premium", "preroll", "pre-roll"],
    ),
    (
        "outdoor_lifestyle_display",
        "Outdoor Lifestyle Display",
        "Display placements on outdoor, travel and lifestyle publishers",
        "non_guaranteed",
        "display",
        &["display_300x250", "display_728x90"],
        &[("cpm_standard", 7.5)],
        &["display", "outdoor", "lifestyle", "travel", "banner"],
    ),
    (
        "mobile_run_of_network",
        "Mobile Run of Network",
        "Mobile banners across the whole network, optimised for reach",
        "non_guaranteed",
        "display",
        &["display_320x50", "display_300x250"],
        &[("cpm_standard", 3.5)],
        &["mobile", "reach", "display", "network"],
    ),
    (
        "test-product",
        "Sandbox Test Product",
        "Run-of-site display product for sandbox and integration testing; accepts any brief",
        "non_guaranteed",
        "display",
        &["display_300x250"],
        &[("default", 10.0), ("test-pricing", 10.0)],
        &["test", "sandbox"],
    ),
];

fn format_id(id: &str) -> Value {
    json!({ "agent_url": FORMAT_AGENT_URL, "id": id })
}

fn pricing(id: &str, cpm: f64) -> Value {
    json!({ "pricing_option_id": id, "pricing_model": "cpm", "currency": "USD", "fixed_price": cpm })
}

fn product_json(p: &Builtin) -> Value {
    let (id, name, description, delivery, channel, formats, prices, _) = *p;
    complete(json!({
        "product_id": id,
        "name": name,
        "description": description,
        "delivery_type": delivery,
        "channels": [channel],
        "format_ids": formats.iter().map(|f| format_id(f)).collect::<Vec<_>>(),
        "pricing_options": prices.iter().map(|(pid, cpm)| pricing(pid, *cpm)).collect::<Vec<_>>(),
    }))
}

/// Fills what every product must carry (publisher properties, reporting),
/// and gives bare format ids this seller's creative agent.
fn complete(mut product: Value) -> Value {
    let id = product["product_id"].as_str().unwrap_or("product").to_owned();
    let obj = product.as_object_mut().expect("products are objects");
    obj.entry("name").or_insert_with(|| json!(id.replace(['_', '-'], " ")));
    obj.entry("description").or_insert_with(|| json!(format!("Product {id}")));
    obj.entry("delivery_type").or_insert_with(|| json!("non_guaranteed"));
    obj.entry("publisher_properties")
        .or_insert_with(|| json!([{ "publisher_domain": "hostel-training.example", "selection_type": "all" }]));
    obj.entry("pricing_options").or_insert_with(|| json!([]));
    obj.entry("reporting_capabilities").or_insert_with(|| {
        json!({
            "available_reporting_frequencies": ["daily"],
            "expected_delay_minutes": 240,
            "timezone": "UTC",
            "supports_webhooks": false,
            "available_metrics": ["impressions", "spend", "clicks"],
            "date_range_support": "date_range",
        })
    });
    let formats = obj.entry("format_ids").or_insert_with(|| json!([format_id("display_300x250")]));
    if let Some(list) = formats.as_array_mut() {
        for f in list {
            if let Some(o) = f.as_object_mut() {
                o.entry("agent_url").or_insert_with(|| json!(FORMAT_AGENT_URL));
            }
        }
    }
    product
}

/// Every product: seeded ones (state) first, then the built-in catalog.
pub fn all_products() -> Result<Vec<Value>, AdcpError> {
    let mut seeded = store::all("products")?;
    let seeded_ids: Vec<String> = seeded.iter().filter_map(|p| p["product_id"].as_str().map(str::to_owned)).collect();
    seeded.extend(PRODUCTS.iter().filter(|p| !seeded_ids.iter().any(|s| s == p.0)).map(product_json));
    Ok(seeded)
}

/// One product by id.
pub fn product(id: &str) -> Result<Option<Value>, AdcpError> {
    if let Some(p) = store::bucket("products")?.get::<Value>(id)? {
        return Ok(Some(p));
    }
    Ok(PRODUCTS.iter().find(|p| p.0 == id).map(product_json))
}

/// `seed_product`: stores `fixture` as product `id` (idempotent).
pub fn seed_product(id: &str, fixture: &Value) -> Result<(), AdcpError> {
    let mut product = match fixture {
        Value::Object(o) => Value::Object(o.clone()),
        _ => Value::Object(Map::new()),
    };
    product["product_id"] = json!(id);
    // Keep pricing options seeded earlier for the same product.
    if product.get("pricing_options").is_none() {
        if let Some(existing) = self::product(id)? {
            product["pricing_options"] = existing["pricing_options"].clone();
        }
    }
    store::bucket("products")?.put(id, &complete(product))?;
    Ok(())
}

/// `seed_pricing_option`: adds or replaces one pricing option of a product.
pub fn seed_pricing_option(product_id: &str, option_id: &str, fixture: &Value) -> Result<bool, AdcpError> {
    let Some(mut product) = product(product_id)? else { return Ok(false) };
    let mut option = match fixture {
        Value::Object(o) => Value::Object(o.clone()),
        _ => Value::Object(Map::new()),
    };
    option["pricing_option_id"] = json!(option_id);
    let o = option.as_object_mut().expect("object");
    o.entry("pricing_model").or_insert_with(|| json!("cpm"));
    o.entry("currency").or_insert_with(|| json!("USD"));
    let options = product["pricing_options"].as_array_mut().map(std::mem::take).unwrap_or_default();
    let mut options: Vec<Value> = options.into_iter().filter(|p| p["pricing_option_id"] != json!(option_id)).collect();
    options.push(option);
    product["pricing_options"] = Value::Array(options);
    store::bucket("products")?.put(product_id, &product)?;
    Ok(true)
}

/// The pricing option `id` of `product`; `default` names its first one.
pub fn pricing_option<'a>(product: &'a Value, id: &str) -> Option<&'a Value> {
    let options = product["pricing_options"].as_array()?;
    options.iter().find(|p| p["pricing_option_id"] == json!(id)).or_else(|| if id == "default" { options.first() } else { None })
}

fn words(text: &str) -> Vec<String> {
    text.to_ascii_lowercase().split(|c: char| !c.is_ascii_alphanumeric() && c != '-').filter(|w| w.len() > 2).map(str::to_owned).collect()
}

fn relevance(product: &Value, brief: &[String]) -> usize {
    let builtin_keywords = PRODUCTS.iter().find(|p| product["product_id"] == json!(p.0)).map_or(&[][..], |p| p.7);
    let text = format!("{} {} {}", product["name"], product["description"], product["channels"]).to_ascii_lowercase();
    brief.iter().filter(|w| builtin_keywords.contains(&w.as_str()) || text.contains(w.as_str())).count()
}

pub fn get_products(request: &Value, _: &Call) -> Outcome {
    super::check_version(request)?;
    let mode = opt_str(request, "buying_mode")?.unwrap_or("brief");
    if !matches!(mode, "brief" | "wholesale" | "refine") {
        return Err(AdcpError::invalid("buying_mode", format!("`buying_mode` must be brief, wholesale or refine, got `{mode}`")));
    }
    let brief = words(opt_str(request, "brief")?.unwrap_or(""));
    let mut products = all_products()?;
    // Most relevant first; ties keep catalog order (seeded, then built-in).
    products.sort_by_key(|p| std::cmp::Reverse(relevance(p, &brief)));
    let mut body = json!({ "products": products });
    if mode == "refine" {
        let asks = request.get("refine").and_then(Value::as_array).cloned().unwrap_or_default();
        let applied: Vec<Value> = asks
            .iter()
            .map(|a| {
                let mut r = json!({ "scope": a.get("scope").cloned().unwrap_or(json!("request")), "status": "applied" });
                if let Some(pid) = a.get("product_id") {
                    r["product_id"] = pid.clone();
                }
                r
            })
            .collect();
        if !applied.is_empty() {
            body["refinement_applied"] = Value::Array(applied);
        }
    }
    Ok(body)
}

fn format_json(id: &str) -> Value {
    let name = FORMATS.iter().find(|f| f.0 == id).map_or(id, |f| f.1);
    json!({ "format_id": format_id(id), "name": name })
}

pub fn list_creative_formats(request: &Value, _: &Call) -> Outcome {
    super::check_version(request)?;
    // Every format a product references, so product format refs resolve.
    let mut ids: Vec<String> = FORMATS.iter().map(|f| f.0.to_owned()).collect();
    for p in all_products()? {
        for f in p["format_ids"].as_array().into_iter().flatten() {
            if let Some(id) = f["id"].as_str().filter(|id| !ids.iter().any(|i| i == id)) {
                ids.push(id.to_owned());
            }
        }
    }
    let wanted: Option<Vec<String>> = request
        .get("format_ids")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|f| f.get("id").and_then(Value::as_str).or(f.as_str()).map(str::to_owned)).collect());
    let formats: Vec<Value> = ids.iter().filter(|id| wanted.as_ref().is_none_or(|w| w.contains(id))).map(|id| format_json(id)).collect();
    Ok(json!({ "formats": formats }))
}
