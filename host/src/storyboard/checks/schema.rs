//! The published AdCP JSON schemas (schemas-data/3.0) and the
//! `response_schema` check graded against them.
//!
//! The official runner grades `response_schema` with its Zod schemas and
//! only warns when the published JSON schema (AJV) disagrees; we grade with
//! the JSON schema itself. `$ref`s (`/schemas/3.0.6/core/ext.json`) resolve
//! inside the loaded directory; nothing is fetched.

use super::super::Check;
use anyhow::Context as _;
use jsonschema::{Draft, Registry, Validator};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// The origin schema `$id`s (`/schemas/3.0.6/...`) are relative to, as in validations.js `SCHEMA_URL_BASE`.
const BASE: &str = "https://adcontextprotocol.org";

/// JSON schemas loaded from a directory, keyed by their path in it
/// (`media-buy/create-media-buy-response.json`); validators are compiled on
/// first use and cached.
pub struct Schemas {
    docs: HashMap<String, Value>,
    /// Every document under its absolute `$id`, so any `$ref` resolves
    /// (also those reached only while validating, e.g. through `$defs`).
    registry: Registry,
    compiled: Mutex<HashMap<String, Arc<Validator>>>,
}

impl Schemas {
    /// Loads every `*.json` under `dir` (schemas-data/3.0), skipping `bundled/`
    /// (the same schemas with `$ref`s inlined).
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let mut docs = HashMap::new();
        load_dir(dir, dir, &mut docs)?;
        anyhow::ensure!(!docs.is_empty(), "no JSON schemas under {}", dir.display());
        let resources = docs.iter().map(|(path, doc)| (absolute_id(path, doc), draft_of(doc).create_resource(doc.clone())));
        let registry = Registry::try_from_resources(resources).map_err(|e| anyhow::anyhow!("schemas under {}: {e}", dir.display()))?;
        Ok(Schemas { docs, registry, compiled: Mutex::new(HashMap::new()) })
    }

    /// The schema path for a `response_schema_ref` (a leading `/` or a
    /// `/schemas/<version>/` prefix is dropped), or the task's response schema
    /// (`get_products` → `media-buy/get-products-response.json`) when there is no ref.
    pub fn response_schema_for(&self, task: &str, schema_ref: Option<&str>) -> Option<String> {
        if let Some(r) = schema_ref {
            return Some(relative(r).to_owned());
        }
        let file = format!("{}-response.json", task.replace('_', "-"));
        let mut hits = self.docs.keys().filter(|k| k.rsplit('/').next() == Some(file.as_str()));
        let first = hits.next()?;
        // Two directories with the same file name: ambiguous, so none.
        hits.next().is_none().then(|| first.clone())
    }

    /// Validates `instance` against the schema at `schema_path`: Ok(list of
    /// `where: what` failures, empty when valid), or Err when the schema
    /// cannot be found or compiled.
    pub fn validate(&self, schema_path: &str, instance: &Value) -> Result<Vec<String>, String> {
        let validator = self.validator(relative(schema_path))?;
        Ok(validator.iter_errors(instance).map(|e| format!("{}: {}", dotted(e.instance_path.as_str()), cut(&e.to_string()))).collect())
    }

    fn validator(&self, path: &str) -> Result<Arc<Validator>, String> {
        let mut cache = self.compiled.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(v) = cache.get(path) {
            return Ok(v.clone());
        }
        let doc = self.docs.get(path).ok_or_else(|| format!("no schema `{path}` in the schemas directory"))?;
        let validator = jsonschema::options()
            .with_draft(draft_of(doc))
            .with_base_uri(absolute_id(path, doc))
            .with_registry(self.registry.clone())
            .build(doc)
            .map_err(|e| format!("schema `{path}` does not compile: {e}"))?;
        let validator = Arc::new(validator);
        cache.insert(path.to_owned(), validator.clone());
        Ok(validator)
    }
}

fn load_dir(root: &Path, dir: &Path, docs: &mut HashMap<String, Value>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
        if path.is_dir() {
            if rel != "bundled" {
                load_dir(root, &path, docs)?;
            }
        } else if rel.ends_with(".json") {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let doc = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
            docs.insert(rel, doc);
        }
    }
    Ok(())
}

/// `/schemas/3.0.6/core/ext.json`, `https://…/schemas/3.0.6/core/ext.json` or `/core/ext.json` → `core/ext.json`.
fn relative(r: &str) -> &str {
    let r = r.split('#').next().unwrap_or_default();
    if let Some(at) = r.find("/schemas/") {
        let rest = &r[at + "/schemas/".len()..];
        return rest.split_once('/').map_or(rest, |(_version, path)| path);
    }
    r.trim_start_matches('/')
}

/// The draft a schema declares (`$schema`); AdCP schemas are draft-07, which is also the default.
fn draft_of(doc: &Value) -> Draft {
    let declared = doc["$schema"].as_str().unwrap_or_default();
    match declared.trim_end_matches('#').trim_end_matches('/') {
        "http://json-schema.org/draft-04/schema" => Draft::Draft4,
        "http://json-schema.org/draft-06/schema" => Draft::Draft6,
        "https://json-schema.org/draft/2019-09/schema" => Draft::Draft201909,
        "https://json-schema.org/draft/2020-12/schema" => Draft::Draft202012,
        _ => Draft::Draft7,
    }
}

/// A message cut to 300 characters: some quote the whole failing instance.
fn cut(message: &str) -> String {
    if message.chars().count() <= 300 {
        return message.to_owned();
    }
    format!("{}…", message.chars().take(299).collect::<String>())
}

/// `/packages/0/budget` → `packages.0.budget` (how the runner prints Zod issue paths).
fn dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".").replace("~1", "/").replace("~0", "~")
}

/// A document's absolute URI: its `$id` (`/schemas/3.0.6/core/ext.json`,
/// relative to the AdCP origin), else one made up from its path.
fn absolute_id(path: &str, doc: &Value) -> String {
    match doc["$id"].as_str() {
        Some(id) if id.contains("://") => id.to_owned(),
        Some(id) => format!("{BASE}{id}"),
        None => format!("{BASE}/schemas/local/{path}"),
    }
}

/// validations.js `validateResponseSchema`: `data` (with a top-level
/// `_message` dropped: the unwrapper adds it, schemas do not know it) against
/// the step's `response_schema_ref`, else the task's response schema.
pub(super) fn response_schema(v: &Value, task: &str, step: &Value, data: Option<&Value>, schemas: &Schemas) -> Check {
    let schema_ref = step["response_schema_ref"].as_str();
    let described = v["description"].as_str().map(str::to_owned);
    let Some(path) = schemas.response_schema_for(task, schema_ref) else {
        let description = described.unwrap_or_else(|| format!("Response matches the {task} response schema"));
        return fail(description, format!("No schema registered for task \"{task}\""));
    };
    let file = path.rsplit('/').next().unwrap_or(&path).to_owned();
    let description = described.unwrap_or_else(|| format!("Response matches {file} schema"));
    // validations.js: `taskResult.data ?? {}`.
    let mut instance = data.cloned().unwrap_or_else(|| Value::Object(Default::default()));
    if let Value::Object(o) = &mut instance {
        o.remove("_message");
    }
    match schemas.validate(&path, &instance) {
        Ok(errors) if errors.is_empty() => Check { check: "response_schema".into(), description, passed: true, error: None },
        // validations.js reports the first five issues, `; `-joined.
        Ok(errors) => fail(description, errors.into_iter().take(5).collect::<Vec<_>>().join("; ")),
        Err(e) => fail(description, e),
    }
}

fn fail(description: String, error: String) -> Check {
    Check { check: "response_schema".into(), description, passed: false, error: Some(error) }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::OnceLock;

    /// The SDK's schemas (installed by `npm ci --prefix tests/adcp`, as CI does).
    pub(crate) fn schemas() -> &'static Schemas {
        static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
        SCHEMAS.get_or_init(|| {
            let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/adcp/node_modules/@adcp/sdk/dist/lib/schemas-data/3.0");
            Schemas::load(Path::new(dir)).expect("AdCP schemas (run `npm ci --prefix tests/adcp`)")
        })
    }

    // Answers captured from the training agent (structuredContent), graded by the official runner as passing.
    const CAPABILITIES: &str = r#"{"account":{"require_operator_auth":false,"sandbox":true,"supported_billing":["operator","agent"]},"adcp":{"idempotency":{"replay_ttl_seconds":86400,"supported":true},"major_versions":[3]},"compliance_testing":{"scenarios":["force_creative_status","force_account_status","force_media_buy_status","simulate_delivery","simulate_budget_spend"]},"context":{"correlation_id":"media_buy_seller--get_capabilities"},"last_updated":"2026-11-01T00:00:00Z","media_buy":{"features":{"catalog_management":false,"inline_creative_management":false,"property_list_filtering":false},"supported_pricing_models":["cpm"]},"request_signing":{"supported":false},"supported_protocols":["media_buy"],"webhook_signing":{"supported":false}}"#;
    pub(crate) const PRODUCTS: &str = r#"{"context":{"correlation_id":"media_buy_seller--get_products_brief"},"products":[{"channels":["video"],"delivery_type":"guaranteed","description":"Pre-roll video across live sports and outdoor adventure programming","format_ids":[{"agent_url":"https://creative.adcontextprotocol.org","id":"video_30s"},{"agent_url":"https://creative.adcontextprotocol.org","id":"video_15s"}],"name":"Premium Sports Video","pricing_options":[{"currency":"USD","fixed_price":24.0,"pricing_model":"cpm","pricing_option_id":"cpm_guaranteed"}],"product_id":"premium_sports_video","publisher_properties":[{"publisher_domain":"hostel-training.example","selection_type":"all"}],"reporting_capabilities":{"available_metrics":["impressions","spend","clicks"],"available_reporting_frequencies":["daily"],"date_range_support":"date_range","expected_delay_minutes":240,"supports_webhooks":false,"timezone":"UTC"}}]}"#;
    const CREATE: &str = r#"{"confirmed_at":"2026-11-30T10:19:11Z","context":{"correlation_id":"media_buy_seller--create_media_buy"},"idempotency_key":"bb6c5548-0062-4571-871d-8ebbe04ced67","media_buy_id":"mb_000023","packages":[{"bid_price":7.5,"budget":25000.0,"creative_assignments":[{"creative_id":"video_30s_trail_pro"}],"currency":"USD","package_id":"pkg_000029","paused":false,"pricing_option_id":"cpm_guaranteed","product_id":"sports_preroll_q2"}],"status":"pending_creatives","valid_actions":["pause","cancel","update_budget"]}"#;
    const SUBMITTED: &str = r#"{"context":{"correlation_id":"create_media_buy_async--create_media_buy_submitted"},"message":"Awaiting IO signature","status":"submitted","task_id":"task_async_signed_io_q2"}"#;
    const FORMATS: &str = r#"{"context":{"correlation_id":"media_buy_seller--list_formats"},"formats":[{"format_id":{"agent_url":"https://creative.adcontextprotocol.org","id":"display_300x250"},"name":"Medium Rectangle 300x250"},{"format_id":{"agent_url":"https://creative.adcontextprotocol.org","id":"video_30s"},"name":"Video 30s"}]}"#;
    const ACTIVATE: &str = r#"{"context":{"correlation_id":"signals_baseline--activate_on_agent"},"deployments":[{"activation_key":{"key":"adcp_segment","type":"key_value","value":"seg_ev_intenders"},"agent_url":"https://wonderstruck.salesagents.example","deployed_at":"2026-11-30T10:19:13Z","is_live":true,"type":"agent"}]}"#;

    fn errors(path: &str, doc: &str) -> Vec<String> {
        schemas().validate(path, &serde_json::from_str(doc).unwrap()).unwrap()
    }

    #[test]
    fn training_agent_answers_pass() {
        assert_eq!(errors("protocol/get-adcp-capabilities-response.json", CAPABILITIES), Vec::<String>::new());
        assert_eq!(errors("media-buy/create-media-buy-response.json", CREATE), Vec::<String>::new());
        assert_eq!(errors("media-buy/create-media-buy-response.json", SUBMITTED), Vec::<String>::new());
        assert_eq!(errors("creative/list-creative-formats-response.json", FORMATS), Vec::<String>::new());
        assert_eq!(errors("signals/activate-signal-response.json", ACTIVATE), Vec::<String>::new());
        // As sent (v2 channel `video`) the products fail; the SDK client's
        // v3 normalization, which the runner grades, makes them pass.
        assert!(!errors("media-buy/get-products-response.json", PRODUCTS).is_empty());
        let normalized = PRODUCTS.replace(r#""channels":["video"]"#, r#""channels":["olv","ctv"]"#);
        assert_eq!(errors("media-buy/get-products-response.json", &normalized), Vec::<String>::new());
    }

    #[test]
    fn missing_required_fields_and_error_bodies_fail() {
        let mut caps: Value = serde_json::from_str(CAPABILITIES).unwrap();
        caps.as_object_mut().unwrap().remove("adcp");
        let errs = schemas().validate("protocol/get-adcp-capabilities-response.json", &caps).unwrap();
        assert!(errs.iter().any(|e| e.contains("\"adcp\" is a required property")), "{errs:?}");
        // An isError body is no create_media_buy response (the official runner fails it too).
        assert!(!errors("media-buy/create-media-buy-response.json", r#"{"adcp_error":{"code":"X","message":"m"},"context":{}}"#).is_empty());
        // Submitted arm must not carry media_buy_id.
        assert!(!errors(
            "media-buy/create-media-buy-response.json",
            &SUBMITTED.replace("\"status\"", "\"media_buy_id\":\"mb\",\"status\"")
        )
        .is_empty());
        assert!(schemas().validate("nope/missing.json", &json!({})).unwrap_err().contains("no schema `nope/missing.json`"));
    }

    #[test]
    fn finds_the_schema_for_a_step() {
        let s = schemas();
        assert_eq!(
            s.response_schema_for("x", Some("/schemas/3.0.6/media-buy/get-products-response.json")).as_deref(),
            Some("media-buy/get-products-response.json")
        );
        assert_eq!(s.response_schema_for("get_signals", None).as_deref(), Some("signals/get-signals-response.json"));
        assert_eq!(s.response_schema_for("get_adcp_capabilities", None).as_deref(), Some("protocol/get-adcp-capabilities-response.json"));
        assert_eq!(s.response_schema_for("no_such_task", None), None);
        assert_eq!(relative("https://adcontextprotocol.org/schemas/3.0.6/core/ext.json#/x"), "core/ext.json");
    }

    #[test]
    fn response_schema_check_reads_like_the_runner() {
        let step = json!({"response_schema_ref": "protocol/get-adcp-capabilities-response.json"});
        let data: Value = serde_json::from_str(CAPABILITIES).unwrap();
        let c = response_schema(&json!({"check": "response_schema"}), "get_adcp_capabilities", &step, Some(&data), schemas());
        assert_eq!((c.passed, c.description.as_str()), (true, "Response matches get-adcp-capabilities-response.json schema"));
        let c = response_schema(&json!({"description": "d"}), "get_adcp_capabilities", &step, None, schemas());
        assert!(!c.passed && c.error.unwrap().contains("required property"));
        let c = response_schema(&json!({}), "comply_test_controller", &json!({}), Some(&data), schemas());
        assert_eq!(c.error.as_deref(), Some("No schema registered for task \"comply_test_controller\""));
    }
}
