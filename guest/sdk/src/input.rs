//! MCP 2026-07-28 input-required results: instead of calling back into the
//! client mid-request (impossible for a per-request instance), a handler
//! returns what it needs (elicitation, sampling, roots) plus its own state;
//! the client retries the same request with the answers and the state.
//!
//! The state travels through the client, so it is sealed: serialized with
//! the handler's name and a timestamp, then MACed by the host under the
//! tenant's key (`hostel:lean/seal`). A tampered, replayed-elsewhere or
//! stale state is refused before the handler runs.

use crate::jsonrpc::{RpcError, INVALID_PARAMS};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde_json::{json, Map, Value};

/// How long a sealed request state stays valid.
pub const STATE_TTL_SECS: u64 = 3600;

/// A handler's answer "I need input from the client first" (2026-07-28).
/// Return it as an error: `return Err(InputRequired::new().elicit(…).into())`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InputRequired {
    pub(crate) requests: Map<String, Value>,
    pub(crate) state: Option<Value>,
}

impl InputRequired {
    /// Nothing requested yet.
    pub fn new() -> Self {
        InputRequired::default()
    }

    /// Asks the user (`elicitation/create`, form mode) for data matching
    /// `schema` (a flat JSON object schema); the answer arrives as
    /// `ctx.input(key)`: `{action: accept|decline|cancel, content}`.
    pub fn elicit(self, key: &str, message: &str, schema: Value) -> Self {
        self.request(key, "elicitation/create", json!({ "message": message, "requestedSchema": schema }))
    }

    /// Asks the client's model for a completion of one user message
    /// (`sampling/createMessage`).
    pub fn sample(self, key: &str, prompt: &str, max_tokens: u32) -> Self {
        let messages = json!([{ "role": "user", "content": { "type": "text", "text": prompt } }]);
        self.request(key, "sampling/createMessage", json!({ "messages": messages, "maxTokens": max_tokens }))
    }

    /// Asks for the client's roots (`roots/list`).
    pub fn list_roots(self, key: &str) -> Self {
        self.request(key, "roots/list", json!({}))
    }

    /// Any input request, by method and params.
    pub fn request(mut self, key: &str, method: &str, params: Value) -> Self {
        self.requests.insert(key.into(), json!({ "method": method, "params": params }));
        self
    }

    /// State to get back (sealed) on the retry, as `ctx.request_state()`.
    pub fn state(mut self, state: impl serde::Serialize) -> Self {
        self.state = Some(serde_json::to_value(state).unwrap_or(Value::Null));
        self
    }

    /// The capability each request needs from the client.
    pub(crate) fn required_capabilities(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.requests.values().filter_map(|r| match r["method"].as_str() {
            Some("elicitation/create") => Some("elicitation"),
            Some("sampling/createMessage") => Some("sampling"),
            Some("roots/list") => Some("roots"),
            _ => None,
        })
    }

    /// The `InputRequiredResult`, with the state sealed for `scope`.
    pub(crate) fn to_result(&self, scope: &str) -> Result<Value, RpcError> {
        let mut result = json!({ "resultType": "input_required" });
        if !self.requests.is_empty() {
            result["inputRequests"] = Value::Object(self.requests.clone());
        }
        if let Some(state) = &self.state {
            let sealed = seal(scope, state, now()).ok_or_else(|| RpcError::new(crate::jsonrpc::INTERNAL_ERROR, NO_SEAL))?;
            result["requestState"] = json!(sealed);
        }
        Ok(result)
    }
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `base64url(payload) "." base64url(mac(scope NUL payload))`, payload =
/// `{"s": state, "t": issued-at}`.
pub(crate) fn seal(scope: &str, state: &Value, issued: u64) -> Option<String> {
    let payload = serde_json::to_vec(&json!({ "s": state, "t": issued })).expect("a Value serializes");
    let tag = mac(&signed_bytes(scope, &payload))?;
    Some(format!("{}.{}", B64.encode(&payload), B64.encode(tag)))
}

/// Verifies and opens a sealed state for `scope`.
pub(crate) fn open(scope: &str, sealed: &str) -> Result<Value, RpcError> {
    let refuse = |why: &str| RpcError::new(INVALID_PARAMS, format!("requestState integrity check failed: {why}"));
    let (payload, tag) = sealed.split_once('.').ok_or_else(|| refuse("not a sealed state"))?;
    let payload = B64.decode(payload).map_err(|_| refuse("not a sealed state"))?;
    let tag = B64.decode(tag).map_err(|_| refuse("not a sealed state"))?;
    let expected = mac(&signed_bytes(scope, &payload)).ok_or_else(|| RpcError::new(INVALID_PARAMS, NO_SEAL))?;
    if !constant_time_eq(&expected, &tag) {
        return Err(refuse("it was altered, or issued for another tool or tenant"));
    }
    let mut value: Value = serde_json::from_slice(&payload).map_err(|_| refuse("unreadable"))?;
    let issued = value["t"].as_u64().unwrap_or(0);
    if now().saturating_sub(issued) > STATE_TTL_SECS {
        return Err(refuse("it expired; start the request again without requestState"));
    }
    Ok(value["s"].take())
}

fn signed_bytes(scope: &str, payload: &[u8]) -> Vec<u8> {
    [scope.as_bytes(), b"\0", payload].concat()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The tenant's MAC, computed by the host: the key never enters the guest.
#[cfg(all(target_arch = "wasm32", feature = "hostel-seal"))]
fn mac(data: &[u8]) -> Option<Vec<u8>> {
    Some(crate::seal_import::hostel::lean::seal::mac(data))
}

/// Built without `hostel-seal`: no key to seal with.
#[cfg(all(target_arch = "wasm32", not(feature = "hostel-seal")))]
fn mac(_: &[u8]) -> Option<Vec<u8>> {
    None
}

const NO_SEAL: &str = "this component was built without the SDK's `hostel-seal` feature, so it cannot seal or verify requestState";

/// Natively (unit tests, fuzzing) a per-process random key stands in for
/// the host's.
#[cfg(not(target_arch = "wasm32"))]
fn mac(data: &[u8]) -> Option<Vec<u8>> {
    use hmac::{Hmac, Mac};
    use std::hash::{BuildHasher, RandomState};
    static KEY: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let key = KEY.get_or_init(|| (0..4u64).flat_map(|i| RandomState::new().hash_one(i).to_le_bytes()).collect());
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).expect("any key length");
    mac.update(data);
    Some(mac.finalize().into_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_state_round_trips_and_refuses_tampering() {
        let state = json!({ "step": 2, "name": "Alice" });
        let sealed = seal("tools/call:t", &state, now()).unwrap();
        assert_eq!(open("tools/call:t", &sealed).unwrap(), state);
        assert!(open("tools/call:other", &sealed).is_err(), "bound to its tool");
        assert!(open("tools/call:t", &format!("{sealed}-TAMPERED")).is_err());
        let (payload, tag) = sealed.split_once('.').unwrap();
        let forged = B64.encode(br#"{"s":{"step":9},"t":0}"#);
        assert!(open("tools/call:t", &format!("{forged}.{tag}")).is_err());
        assert!(open("tools/call:t", payload).is_err());
        let old = seal("tools/call:t", &state, now() - STATE_TTL_SECS - 5).unwrap();
        assert!(open("tools/call:t", &old).unwrap_err().message.contains("expired"));
    }
}
