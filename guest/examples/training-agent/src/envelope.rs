//! The AdCP envelope around every tool: the request's `context` echoed
//! back, results as `structuredContent` plus the same JSON as text, and
//! errors as `isError` results carrying `adcp_error`.

use hostel_sdk::kv::KvError;
use hostel_sdk::ToolResult;
use serde_json::{json, Map, Value};

/// An AdCP error: a code from the protocol's error vocabulary, a message a
/// buyer can act on, and optionally the offending field and a recovery hint.
#[derive(Debug, Clone)]
pub struct AdcpError {
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub details: Option<Value>,
    /// Only `code` and `message` go on the wire (idempotency conflicts must
    /// not hint at the first request).
    pub bare: bool,
    /// A body other than the `adcp_error` envelope (the test controller's
    /// `{success: false, error, error_detail}`), sent as is.
    pub raw: Option<Value>,
}

impl AdcpError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        AdcpError { code, message: message.into(), field: None, details: None, bare: false, raw: None }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AdcpError::new("INVALID_REQUEST", message).with_field(field)
    }

    pub fn not_found(code: &'static str, field: &str, what: &str, id: &str) -> Self {
        AdcpError::new(code, format!("{what} `{id}` not found")).with_field(field)
    }

    pub fn with_field(mut self, field: &str) -> Self {
        self.field = Some(field.to_owned());
        self
    }

    pub fn bare(mut self) -> Self {
        self.bare = true;
        self
    }

    pub fn raw(body: Value) -> Self {
        let code = "CONTROLLER_ERROR";
        AdcpError { raw: Some(body), ..AdcpError::new(code, "") }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Whether a buyer can fix the request (correctable), retry it as is
    /// (transient), or should stop (terminal).
    fn recovery(&self) -> &'static str {
        match self.code {
            "SERVICE_UNAVAILABLE" | "RATE_LIMITED" | "CONFLICT" => "transient",
            "ACCOUNT_SUSPENDED" | "ACCOUNT_PAYMENT_REQUIRED" | "UNSUPPORTED_FEATURE" => "terminal",
            _ => "correctable",
        }
    }

    pub fn to_json(&self) -> Value {
        let mut e = Map::new();
        e.insert("code".into(), json!(self.code));
        e.insert("message".into(), json!(self.message));
        if self.bare {
            return Value::Object(e);
        }
        e.insert("recovery".into(), json!(self.recovery()));
        if let Some(f) = &self.field {
            e.insert("field".into(), json!(f));
        }
        if let Some(d) = &self.details {
            e.insert("details".into(), d.clone());
        }
        Value::Object(e)
    }
}

impl From<KvError> for AdcpError {
    fn from(e: KvError) -> Self {
        AdcpError::new("SERVICE_UNAVAILABLE", format!("state store: {e}"))
    }
}

/// A tool's outcome before the envelope.
pub type Outcome = Result<Value, AdcpError>;

/// Wraps `outcome` for the wire, echoing the request's `context`.
pub fn finish(request: &Value, outcome: Outcome) -> ToolResult {
    let context = request.get("context").filter(|c| c.is_object()).cloned();
    match outcome {
        Ok(mut body) => {
            if let (Some(ctx), Some(obj)) = (context, body.as_object_mut()) {
                obj.insert("context".into(), ctx);
            }
            ToolResult::json(body)
        }
        Err(e) => {
            let mut body = e.raw.clone().unwrap_or_else(|| json!({ "adcp_error": e.to_json() }));
            if let Some(ctx) = context {
                body["context"] = ctx;
            }
            let mut result = ToolResult::json(body);
            result.is_error = true;
            result
        }
    }
}

/// A required string field.
pub fn req_str<'a>(request: &'a Value, field: &str) -> Result<&'a str, AdcpError> {
    match request.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => Err(AdcpError::invalid(field, format!("`{field}` must not be empty"))),
        Some(other) => Err(AdcpError::invalid(field, format!("`{field}` must be a string, got {}", kind(other)))),
        None => Err(AdcpError::invalid(field, format!("`{field}` is required"))),
    }
}

/// An optional string field (wrong type is still an error).
pub fn opt_str<'a>(request: &'a Value, field: &str) -> Result<Option<&'a str>, AdcpError> {
    match request.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(AdcpError::invalid(field, format!("`{field}` must be a string, got {}", kind(other)))),
    }
}

/// JSON type name for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Seconds since the Unix epoch (wasi:clocks).
pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// RFC 3339 UTC timestamp for `secs` since the epoch.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant), proleptic Gregorian.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Seconds since the epoch of an RFC 3339 timestamp
/// (`2026-05-01T00:00:00Z`, fractions and `±hh:mm` offsets allowed).
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> { text.get(r)?.parse().ok() };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, m, d, hh, mm, ss) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) && &rest[3..4] == ":" => {
            let o = rest[1..3].parse::<i64>().ok()? * 3600 + rest[4..6].parse::<i64>().ok()? * 60;
            if rest.starts_with('-') {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip() {
        for secs in [0u64, 951_782_400, 1_798_761_599, 1_764_000_000] {
            assert_eq!(parse_rfc3339(&rfc3339(secs)), Some(secs as i64));
        }
        assert_eq!(parse_rfc3339("2026-05-01T02:00:00.123+02:00"), parse_rfc3339("2026-05-01T00:00:00Z"));
        assert_eq!(parse_rfc3339("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
