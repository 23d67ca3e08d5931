//! Who may call a tenant: bearer tokens per tenant, and the `Origin`
//! allowlist (DNS-rebinding protection the MCP spec asks servers for).

use http::HeaderMap;

/// Result of checking a request's bearer token.
#[derive(Debug, PartialEq, Eq)]
pub enum Auth {
    /// Open tenant or a valid token.
    Allowed,
    /// No `Authorization: Bearer` header.
    Missing,
    /// A token that is not one of the tenant's.
    Invalid,
}

/// Checks `Authorization: Bearer <token>` against `tokens` (empty = open).
pub fn check_bearer(headers: &HeaderMap, tokens: &[String]) -> Auth {
    if tokens.is_empty() {
        return Auth::Allowed;
    }
    let Some(value) = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Auth::Missing;
    };
    let Some((scheme, token)) = value.split_once(' ') else { return Auth::Invalid };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Auth::Invalid;
    }
    let token = token.trim();
    // Compare against every token without early exit, so timing does not
    // reveal which one (or how much of one) matched.
    let found = tokens.iter().fold(false, |acc, t| acc | constant_time_eq(t.as_bytes(), token.as_bytes()));
    if found {
        Auth::Allowed
    } else {
        Auth::Invalid
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `origin` is allowed. An allowed entry without a port admits any
/// port on that scheme and host (`http://localhost` covers dev servers on
/// `http://localhost:5173`); an entry with a port admits only that port.
pub fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    let origin = origin.to_ascii_lowercase();
    allowed.iter().any(|a| {
        let a = a.trim_end_matches('/').to_ascii_lowercase();
        origin == a
            || origin
                .strip_prefix(&a)
                .is_some_and(|rest| rest.len() > 1 && rest.starts_with(':') && rest[1..].bytes().all(|b| b.is_ascii_digit()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let allowed = vec!["http://localhost".to_string(), "https://app.example.com:8443".to_string()];
        assert!(origin_allowed("http://localhost", &allowed));
        assert!(origin_allowed("http://localhost:5173", &allowed));
        assert!(!origin_allowed("http://localhost.evil.com", &allowed));
        assert!(!origin_allowed("http://localhost:", &allowed));
        assert!(origin_allowed("https://app.example.com:8443", &allowed));
        assert!(!origin_allowed("https://app.example.com", &allowed));
    }

    #[test]
    fn bearer() {
        let tokens = vec!["abc".to_string()];
        let mut h = HeaderMap::new();
        assert_eq!(check_bearer(&h, &tokens), Auth::Missing);
        h.insert("authorization", "Bearer abd".parse().unwrap());
        assert_eq!(check_bearer(&h, &tokens), Auth::Invalid);
        h.insert("authorization", "bearer abc".parse().unwrap());
        assert_eq!(check_bearer(&h, &tokens), Auth::Allowed);
        assert_eq!(check_bearer(&HeaderMap::new(), &[]), Auth::Allowed);
    }
}
