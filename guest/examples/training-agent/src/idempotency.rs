//! At-most-once execution of mutating calls keyed by `idempotency_key`.
//!
//! The first request with a key claims it in the key-value store
//! (insert-if-absent, so exactly one of any number of concurrent requests
//! wins), runs, and stores its response. A replay with the same payload
//! gets that response back; a replay with a different payload gets
//! IDEMPOTENCY_CONFLICT, which never includes the first payload. Replays
//! that arrive while the first is still running wait for its answer.

use crate::envelope::{AdcpError, Outcome};
use hostel_sdk::kv::Bucket;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// How long a stored response answers replays.
pub const REPLAY_TTL_SECS: u64 = 86_400;
/// How long a replay waits for the original request to finish.
const WAIT_FOR_ORIGINAL: Duration = Duration::from_secs(8);

#[derive(Serialize, Deserialize)]
struct Record {
    fingerprint: String,
    /// `start_time` / `end_time`, compared with a tolerance (see below).
    #[serde(default)]
    times: Vec<Option<i64>>,
    at: u64,
    /// `None` while the first request is still running.
    response: Option<Value>,
}

/// Fields that do not change what a request asks for: the key itself and
/// the caller's echo-back context. Flight times are compared separately.
const NOT_PAYLOAD: &[&str] = &["idempotency_key", "context", "adcp_major_version", "start_time", "end_time"];

/// Flight times within this many seconds count as the same request: buyers
/// that compute "now + 1 day" per attempt retry with slightly later times.
const TIME_TOLERANCE_SECS: i64 = 300;

fn times(request: &Value) -> Vec<Option<i64>> {
    ["start_time", "end_time"].iter().map(|f| request.get(*f).and_then(Value::as_str).and_then(crate::envelope::parse_rfc3339)).collect()
}

fn same_times(a: &[Option<i64>], b: &[Option<i64>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => (x - y).abs() <= TIME_TOLERANCE_SECS,
            (x, y) => x == y,
        })
}

/// A stable digest of everything the request asks for (keys sorted, so
/// JSON field order does not matter). FNV-1a 128: collisions are not a
/// security concern here, the key is already the caller's own.
fn fingerprint(request: &Value) -> String {
    let mut payload = request.clone();
    if let Some(obj) = payload.as_object_mut() {
        for k in NOT_PAYLOAD {
            obj.remove(*k);
        }
    }
    let canonical = serde_json::to_string(&payload).unwrap_or_default();
    let mut hash: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in canonical.bytes() {
        hash ^= u128::from(b);
        hash = hash.wrapping_mul(0x0000000001000000000000000000013B);
    }
    format!("{hash:032x}")
}

/// The validated `idempotency_key` of a mutating request.
pub fn key(request: &Value) -> Result<&str, AdcpError> {
    match request.get("idempotency_key") {
        None | Some(Value::Null) => Err(AdcpError::invalid("idempotency_key", "`idempotency_key` is required on mutating requests")),
        Some(Value::String(k)) if (16..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.:".contains(&b)) => {
            Ok(k)
        }
        Some(_) => {
            Err(AdcpError::invalid("idempotency_key", "`idempotency_key` must be 16-255 characters of letters, digits, `_`, `-`, `.`, `:`"))
        }
    }
}

/// Runs `execute` once per (`tool`, key); see the module docs.
pub fn once(call: &crate::Call, tool: &str, request: &Value, execute: impl FnOnce() -> Outcome) -> Outcome {
    let bucket = Bucket::open("idempotency")?;
    let key = key(request)?;
    let slot = format!("{}:{tool}:{key}", call.scope);
    let fingerprint = fingerprint(request);
    let now = crate::envelope::now_secs();
    let times = times(request);
    let claim = Record { fingerprint: fingerprint.clone(), times: times.clone(), at: now, response: None };
    if bucket.insert_new(&slot, &claim)? {
        let outcome = execute();
        match &outcome {
            Ok(response) => bucket.put(&slot, &Record { fingerprint, times, at: now, response: Some(response.clone()) })?,
            // A failed request changed nothing: release the key so a
            // corrected retry with the same key can run.
            Err(_) => bucket.delete(&slot)?,
        }
        return outcome;
    }
    let started = std::time::Instant::now();
    loop {
        let Some(record) = bucket.get::<Record>(&slot)? else {
            // The original failed and released the key: run as the first.
            return once(call, tool, request, execute);
        };
        if record.fingerprint != fingerprint || !same_times(&record.times, &times) {
            return Err(AdcpError::new(
                "IDEMPOTENCY_CONFLICT",
                "this idempotency_key was already used with a different request payload; use a new key for a new request",
            )
            .bare());
        }
        if now.saturating_sub(record.at) > REPLAY_TTL_SECS {
            return Err(AdcpError::new("IDEMPOTENCY_EXPIRED", "this idempotency_key is older than the replay window; use a new key")
                .with_field("idempotency_key"));
        }
        if let Some(mut response) = record.response {
            if let Some(obj) = response.as_object_mut() {
                obj.insert("replayed".into(), Value::Bool(true));
            }
            return Ok(response);
        }
        if started.elapsed() > WAIT_FOR_ORIGINAL {
            return Err(AdcpError::new("CONFLICT", "a request with this idempotency_key is still in progress; retry shortly"));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// For calls where the key is optional (syncs, which are idempotent by
/// nature): [`once`] when the buyer sent a key, a plain run otherwise.
pub fn once_if_keyed(call: &crate::Call, tool: &str, request: &Value, execute: impl FnOnce() -> Outcome) -> Outcome {
    match request.get("idempotency_key") {
        Some(_) => once(call, tool, request, execute),
        None => execute(),
    }
}
