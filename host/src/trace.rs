//! Request ids: a W3C `traceparent` from the client is continued (its
//! trace id becomes the request id), otherwise a fresh trace starts. The
//! id is logged with everything the request causes and returned in
//! `x-request-id`; the guest sees a `traceparent` naming the host's span
//! as parent, so its own outgoing calls can join the trace.

use http::{HeaderMap, HeaderValue};

/// The trace a request belongs to and the host's span in it.
pub struct Trace {
    /// 32 hex digits: the trace id, used as the request id.
    pub id: String,
    /// 16 hex digits: the host's span for this request.
    pub span: String,
    /// The caller's span, when it sent a valid `traceparent`.
    pub parent: Option<String>,
    sampled: bool,
}

impl Trace {
    /// Continues the caller's trace when `traceparent` is valid, else
    /// starts one.
    pub fn from_headers(headers: &HeaderMap) -> Trace {
        let span = random_hex(8);
        match headers.get("traceparent").and_then(|v| v.to_str().ok()).and_then(parse) {
            Some((id, parent, sampled)) => Trace { id, span, parent: Some(parent), sampled },
            None => Trace { id: random_hex(16), span, parent: None, sampled: false },
        }
    }

    /// `00-<trace>-<span>-<flags>` for this host's span.
    pub fn traceparent(&self) -> HeaderValue {
        let flags = if self.sampled { "01" } else { "00" };
        HeaderValue::from_str(&format!("00-{}-{}-{flags}", self.id, self.span)).expect("hex is a valid header value")
    }

    /// The request id header value.
    pub fn request_id(&self) -> HeaderValue {
        HeaderValue::from_str(&self.id).expect("hex is a valid header value")
    }
}

/// `(trace id, parent span id, sampled)` of a valid version-00 `traceparent`.
fn parse(value: &str) -> Option<(String, String, bool)> {
    let parts: Vec<&str> = value.trim().split('-').collect();
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    match parts.as_slice() {
        [version, trace, parent, flags]
            if hex(version, 2)
                && *version != "ff"
                && hex(trace, 32)
                && hex(parent, 16)
                && hex(flags, 2)
                && trace.bytes().any(|b| b != b'0')
                && parent.bytes().any(|b| b != b'0') =>
        {
            let sampled = u8::from_str_radix(flags, 16).is_ok_and(|f| f & 1 == 1);
            Some((trace.to_string(), parent.to_string(), sampled))
        }
        _ => None,
    }
}

/// `bytes` random bytes as lowercase hex, never all zeros (an invalid id).
/// Ids need to be unique, not unpredictable, so they come from a per-thread
/// SplitMix64 stream seeded once from the OS: no syscall per request.
fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    loop {
        for chunk in buf.chunks_mut(8) {
            let word = next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
        if buf.iter().any(|b| *b != 0) {
            return hex::encode(buf);
        }
    }
}

thread_local! {
    static STATE: std::cell::Cell<u64> = std::cell::Cell::new({
        let mut seed = [0u8; 8];
        getrandom::getrandom(&mut seed).expect("OS randomness");
        u64::from_le_bytes(seed)
    });
}

/// SplitMix64 (Steele, Lea, Flood 2014): a full-period 64-bit sequence with
/// well-mixed output, one add and three multiply-xorshifts per value.
fn next_u64() -> u64 {
    STATE.with(|s| {
        let x = s.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        s.set(x);
        let z = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_ids_are_distinct_and_well_formed() {
        let ids: std::collections::HashSet<String> = (0..10_000).map(|_| Trace::from_headers(&HeaderMap::new()).id).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())));
    }

    #[test]
    fn continues_valid_traces_only() {
        let mut h = HeaderMap::new();
        h.insert("traceparent", HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        let t = Trace::from_headers(&h);
        assert_eq!(t.id, "4bf92f3577b34da6a3ce929d0e0e4736");
        let tp = t.traceparent();
        assert!(tp.to_str().unwrap().starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && tp.to_str().unwrap().ends_with("-01"));
        for bad in
            ["00-00000000000000000000000000000000-00f067aa0ba902b7-01", "xx", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"]
        {
            h.insert("traceparent", HeaderValue::from_str(bad).unwrap());
            assert_ne!(Trace::from_headers(&h).id, "4bf92f3577b34da6a3ce929d0e0e4736", "{bad}");
        }
    }
}
