//! JavaScript value semantics the official runner (`@adcp/sdk` 6.11.0) relies on, so the ported
//! context/request code can read like the original: truthiness, `??`, `undefined` versus `null`,
//! `Number()`, `JSON.stringify` of numbers, and the `Date` arithmetic of the request enrichers.

use serde_json::{Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// Stand-in for JavaScript `undefined` inside a value under construction.
///
/// The runner's context can hold keys whose value is `undefined` (context.js extractors assign
/// e.g. `account_id: accounts[0].account_id` unconditionally), and `$context.<key>` then injects
/// `undefined`, which differs from both "absent" and `null`: a fixture member set to `undefined`
/// still overrides an enricher member in `{ ...enriched, ...fixture }` and is then dropped by
/// `JSON.stringify`. The marker keeps that distinction until [`strip_undefined`] runs.
pub(crate) const UNDEFINED: &str = "\u{0}js:undefined\u{0}";

/// The `undefined` marker as a value.
pub(crate) fn undefined() -> Value {
    Value::String(UNDEFINED.to_string())
}

/// Whether `v` is the `undefined` marker.
pub(crate) fn is_undefined(v: &Value) -> bool {
    matches!(v, Value::String(s) if s == UNDEFINED)
}

/// `v !== undefined`: present and not the marker.
pub(crate) fn defined(v: Option<&Value>) -> Option<&Value> {
    v.filter(|v| !is_undefined(v))
}

/// The left side of `v ?? fallback`: present, not `undefined`, not `null`.
pub(crate) fn non_nullish(v: Option<&Value>) -> Option<&Value> {
    defined(v).filter(|v| !v.is_null())
}

/// JavaScript truthiness (`if (v)`); absent and `undefined` are falsy.
pub(crate) fn truthy(v: Option<&Value>) -> bool {
    match defined(v) {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0 && !f.is_nan()),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(_)) | Some(Value::Object(_)) => true,
    }
}

/// [`truthy`] of a value that is present (`if (v)` on a JSON value).
pub(crate) fn truthy_value(v: &Value) -> bool {
    truthy(Some(v))
}

/// `obj?.[key]` for a plain member access (own members of objects only; anything else is undefined).
pub(crate) fn prop<'a>(v: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    defined(v.and_then(|v| v.as_object()).and_then(|o| o.get(key)))
}

/// `x?.[i]`: array element, or (as JavaScript does) the i-th character of a string.
pub(crate) fn index(v: Option<&Value>, i: usize) -> Option<Value> {
    match defined(v)? {
        Value::Array(a) => defined(a.get(i)).cloned(),
        Value::String(s) => s.encode_utf16().nth(i).map(|u| Value::String(String::from_utf16_lossy(&[u]))),
        _ => None,
    }
}

/// `x?.length` for arrays and strings (UTF-16 units, like JavaScript); None for anything else.
pub(crate) fn length(v: Option<&Value>) -> Option<usize> {
    match defined(v)? {
        Value::Array(a) => Some(a.len()),
        Value::String(s) => Some(s.encode_utf16().count()),
        _ => None,
    }
}

/// `{ ...v }` for a value that should be an object: objects are copied, anything else spreads to `{}`.
pub(crate) fn spread(v: Option<&Value>) -> Map<String, Value> {
    defined(v).and_then(|v| v.as_object()).cloned().unwrap_or_default()
}

/// What `JSON.stringify` makes of a JavaScript value: `undefined` object members are dropped,
/// `undefined` array items become `null` (a top-level `undefined` becomes `null`), and integral
/// numbers are written without a fraction. The latter matters for YAML fixtures: serde_yaml reads
/// `250.00` as the float `250.0`, which would go on the wire as `250.0`, where the official runner
/// (JavaScript has one number type) sends `250`.
pub(crate) fn strip_undefined(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().filter(|(_, v)| !is_undefined(v)).map(|(k, v)| (k, strip_undefined(v))).collect()),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_undefined).collect()),
        Value::Number(n) if n.is_f64() => n.as_f64().map_or(Value::Number(n), number),
        v if is_undefined(&v) => Value::Null,
        v => v,
    }
}

/// A JavaScript number as JSON: integral values print without a fraction (as `JSON.stringify` does),
/// non-finite values become `null`.
pub(crate) fn number(f: f64) -> Value {
    if !f.is_finite() {
        return Value::Null;
    }
    if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 {
        return Value::from(f as i64);
    }
    serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)
}

/// JavaScript `Number(v)`: absent/undefined → NaN, null → 0, booleans → 0/1, strings parsed after trimming.
pub(crate) fn to_number(v: Option<&Value>) -> f64 {
    match defined(v) {
        None | Some(Value::Array(_)) | Some(Value::Object(_)) => f64::NAN,
        Some(Value::Null) => 0.0,
        Some(Value::Bool(b)) => f64::from(u8::from(*b)),
        Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
        Some(Value::String(s)) if s.trim().is_empty() => 0.0,
        Some(Value::String(s)) => s.trim().parse::<f64>().unwrap_or(f64::NAN),
    }
}

/// `Math.round`: halves round towards +infinity.
pub(crate) fn math_round(f: f64) -> f64 {
    (f + 0.5).floor()
}

/// `Date.now()` in milliseconds since the epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// `new Date(ms).toISOString()`: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub(crate) fn iso_from_ms(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, milli) = (rem / 3_600_000, rem / 60_000 % 60, rem / 1000 % 60, rem % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// `Date.parse` for the ISO-8601 forms storyboards use (`YYYY[-MM[-DD]]`, optional
/// `THH:mm[:ss[.fff]]`, optional `Z`/`±HH:mm`). A date-time without offset is read as UTC (JavaScript
/// reads it as local time; the runner host runs in UTC). Other formats give None, like `NaN`.
pub(crate) fn parse_iso_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter().all(u8::is_ascii_digit).then(|| part.iter().fold(0i64, |a, c| a * 10 + i64::from(c - b'0')))
    };
    let year = num(0, 4)?;
    let (mut month, mut day, mut pos) = (1, 1, 4);
    if b.get(pos) == Some(&b'-') {
        month = num(pos + 1, 2)?;
        pos += 3;
        if b.get(pos) == Some(&b'-') {
            day = num(pos + 1, 2)?;
            pos += 3;
        }
    }
    if !(1..=12).contains(&month) || !(1..=days_in_month(year, month)).contains(&day) {
        return None;
    }
    let mut ms = days_from_civil(year, month, day) * 86_400_000;
    if pos == b.len() {
        return Some(ms);
    }
    if b[pos] != b'T' {
        return None;
    }
    let (h, mi) = (num(pos + 1, 2)?, num(pos + 4, 2)?);
    if b.get(pos + 3) != Some(&b':') || h > 24 || mi > 59 {
        return None;
    }
    ms += h * 3_600_000 + mi * 60_000;
    pos += 6;
    if b.get(pos) == Some(&b':') {
        let sec = num(pos + 1, 2).filter(|s| *s < 60)?;
        ms += sec * 1000;
        pos += 3;
        if b.get(pos) == Some(&b'.') {
            let digits = b[pos + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
            let frac = std::str::from_utf8(b.get(pos + 1..pos + 1 + digits.min(3))?).ok()?;
            ms += format!("{frac:0<3}").parse::<i64>().ok()?;
            pos += 1 + digits;
            if digits == 0 {
                return None;
            }
        }
    }
    match b.get(pos) {
        None => Some(ms),
        Some(b'Z') if pos + 1 == b.len() => Some(ms),
        Some(sign @ (b'+' | b'-')) if pos + 6 == b.len() && b[pos + 3] == b':' => {
            let off = num(pos + 1, 2)? * 3_600_000 + num(pos + 4, 2)? * 60_000;
            Some(if *sign == b'+' { ms - off } else { ms + off })
        }
        _ => None,
    }
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn iso_round_trip_matches_to_iso_string() {
        assert_eq!(iso_from_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_from_ms(1_796_120_373_640), "2026-12-01T10:19:33.640Z");
        assert_eq!(parse_iso_ms("2026-12-01T10:19:33.640Z"), Some(1_796_120_373_640));
        assert_eq!(parse_iso_ms("2026-05-01T00:00:00Z"), parse_iso_ms("2026-05-01"));
        assert_eq!(parse_iso_ms("2026-05-01T02:00:00+02:00"), parse_iso_ms("2026-05-01T00:00:00Z"));
        assert_eq!(parse_iso_ms("2024-02-29T00:00:00Z").map(iso_from_ms).as_deref(), Some("2024-02-29T00:00:00.000Z"));
        assert_eq!(parse_iso_ms("May 1, 2026"), None);
        assert_eq!(parse_iso_ms("2026-02-30"), None);
    }

    #[test]
    fn numbers_and_truthiness_follow_javascript() {
        assert_eq!(number(15.0), json!(15));
        assert_eq!(number(7.5), json!(7.5));
        assert_eq!(number(f64::NAN), Value::Null);
        assert!(to_number(Some(&json!("5"))) == 5.0 && to_number(None).is_nan());
        assert!(!truthy(Some(&json!(""))) && truthy(Some(&json!([]))) && !truthy(Some(&undefined())));
        assert_eq!(math_round(2.5), 3.0);
    }

    #[test]
    fn strip_undefined_drops_members_and_nulls_items() {
        let v = json!({"a": UNDEFINED, "b": [UNDEFINED, 1], "c": {"d": UNDEFINED}, "n": 250.0, "f": 2.5});
        assert_eq!(strip_undefined(v), json!({"b": [null, 1], "c": {}, "n": 250, "f": 2.5}));
    }
}
