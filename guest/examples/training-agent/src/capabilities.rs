//! `get_adcp_capabilities`: the first call of every buyer.

use crate::envelope::{AdcpError, Outcome};
use crate::idempotency::REPLAY_TTL_SECS;
use crate::Call;
use serde_json::{json, Value};

pub fn get(request: &Value, call: &Call) -> Outcome {
    let role = call.role;
    let mut protocols = Vec::new();
    if role.sells() {
        protocols.push("media_buy");
    }
    if role.signals() {
        protocols.push("signals");
    }
    // Optional filter: only the requested protocols' blocks.
    if let Some(filter) = request.get("protocols") {
        let wanted: Vec<&str> = filter
            .as_array()
            .and_then(|a| a.iter().map(Value::as_str).collect::<Option<Vec<_>>>())
            .ok_or_else(|| AdcpError::invalid("protocols", "`protocols` must be an array of protocol names"))?;
        protocols.retain(|p| wanted.contains(p));
    }
    let mut body = json!({
        "adcp": {
            "major_versions": [3],
            "idempotency": { "supported": true, "replay_ttl_seconds": REPLAY_TTL_SECS },
        },
        "supported_protocols": if protocols.is_empty() { vec![if role.sells() { "media_buy" } else { "signals" }] } else { protocols.clone() },
        "account": {
            "require_operator_auth": false,
            "supported_billing": ["operator", "agent"],
            "sandbox": true,
        },
        "compliance_testing": {
            "scenarios": crate::controller::SCENARIOS,
        },
        "webhook_signing": { "supported": false },
        "request_signing": { "supported": false },
        "last_updated": "2026-11-01T00:00:00Z",
    });
    if protocols.contains(&"media_buy") {
        body["media_buy"] = crate::sales::capabilities();
    }
    if protocols.contains(&"signals") {
        body["signals"] = crate::signals::capabilities();
    }
    Ok(body)
}
