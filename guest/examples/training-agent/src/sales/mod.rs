//! The seller: products, media buys, creatives, accounts, delivery.

pub mod accounts;
pub mod buys;
pub mod catalog;
pub mod creatives;
pub mod webhooks;

use crate::envelope::AdcpError;
use crate::{add, Role};
use hostel_sdk::Server;
use serde_json::{json, Value};

/// AdCP major versions this agent speaks.
pub const MAJOR_VERSIONS: &[u64] = &[3];

/// Refuses requests for a major version this agent does not speak; an
/// absent `adcp_major_version` means the newest.
pub fn check_version(request: &Value) -> Result<(), AdcpError> {
    match request.get("adcp_major_version") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Number(n)) if n.as_u64().is_some_and(|v| MAJOR_VERSIONS.contains(&v)) => Ok(()),
        Some(v) => Err(AdcpError::new(
            "VERSION_UNSUPPORTED",
            format!("AdCP major version {v} is not supported; this agent speaks {MAJOR_VERSIONS:?}"),
        )
        .with_field("adcp_major_version")
        .with_details(json!({ "supported_versions": MAJOR_VERSIONS }))),
    }
}

/// The `media_buy` block of `get_adcp_capabilities`.
pub fn capabilities() -> Value {
    json!({
        "supported_pricing_models": ["cpm"],
        "features": { "inline_creative_management": false, "property_list_filtering": false, "catalog_management": false },
    })
}

pub fn register(mut s: Server, role: Role) -> Server {
    s = add(
        s,
        role,
        "get_products",
        "Find advertising products for a brief (buying_mode brief, wholesale or refine)",
        catalog::get_products,
    );
    s = add(s, role, "list_creative_formats", "Creative formats this seller accepts", catalog::list_creative_formats);
    s = add(s, role, "create_media_buy", "Buy packages of products for a flight", buys::create_media_buy);
    s = add(s, role, "update_media_buy", "Pause, resume, cancel or change a media buy and its packages", buys::update_media_buy);
    s = add(s, role, "get_media_buys", "Media buys with their status and packages", buys::get_media_buys);
    s = add(s, role, "get_media_buy_delivery", "Delivery totals per media buy and package", buys::get_media_buy_delivery);
    s = add(s, role, "sync_creatives", "Upload or update creatives and assign them to packages", creatives::sync_creatives);
    s = add(s, role, "list_creatives", "Creatives in the library with their review status", creatives::list_creatives);
    s = add(s, role, "sync_accounts", "Register the brand/operator accounts a buyer acts for", accounts::sync_accounts);
    s = add(s, role, "list_accounts", "Accounts this buyer can use", accounts::list_accounts);
    s
}
