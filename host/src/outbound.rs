//! Outgoing HTTP from guests: allowed only to the tenant's `outbound`
//! origins (scheme + host + port); everything else is refused with
//! `HTTP-request-denied`, which the guest sees as an error value.

use anyhow::{bail, Context, Result};
use std::future::Future;
use std::sync::Arc;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// One allowlisted origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    /// `None`: any port (`http://127.0.0.1:*`), for receivers on ephemeral
    /// ports such as a test runner's webhook listener.
    port: Option<u16>,
}

impl Origin {
    /// Parses `scheme://host[:port]` (http or https; no path); `:*`
    /// allows every port of that host.
    pub fn parse(text: &str) -> Result<Origin> {
        if let Some(base) = text.strip_suffix(":*") {
            let origin = Origin::parse(base)?;
            anyhow::ensure!(!base.rsplit_once(':').is_some_and(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())), "`{text}`: two ports");
            return Ok(Origin { port: None, ..origin });
        }
        let uri: http::Uri = text.parse().with_context(|| format!("`{text}` is not a URL"))?;
        let scheme = uri.scheme_str().with_context(|| format!("`{text}` has no scheme"))?.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            other => bail!("`{text}`: scheme `{other}` is not http or https"),
        };
        let host = uri.host().with_context(|| format!("`{text}` has no host"))?.to_ascii_lowercase();
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            bail!("`{text}`: an origin has no path or query");
        }
        Ok(Origin { scheme, host, port: Some(uri.port_u16().unwrap_or(default_port)) })
    }

    fn matches(&self, uri: &http::Uri) -> bool {
        let scheme = uri.scheme_str().unwrap_or("").to_ascii_lowercase();
        let default_port = if scheme == "https" { 443 } else { 80 };
        scheme == self.scheme
            && uri.host().is_some_and(|h| h.eq_ignore_ascii_case(&self.host))
            && self.port.is_none_or(|p| uri.port_u16().unwrap_or(default_port) == p)
    }
}

/// The `wasi:http` hooks of one request: the tenant's allowlist.
pub struct OutboundPolicy {
    allowed: Arc<[Origin]>,
}

impl OutboundPolicy {
    /// A policy allowing exactly `allowed`.
    pub fn new(allowed: Arc<[Origin]>) -> Self {
        OutboundPolicy { allowed }
    }
}

type SendFuture =
    Box<dyn Future<Output = Result<(http::Response<WasiBody>, Box<dyn Future<Output = Result<(), HttpError>> + Send>), HttpError>> + Send>;

impl WasiHttpHooks for OutboundPolicy {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> SendFuture {
        if !self.allowed.iter().any(|o| o.matches(request.uri())) {
            tracing::info!(uri = %request.uri(), "outbound HTTP denied: not in the tenant's `outbound` allowlist");
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        Box::new(async move {
            use http_body_util::BodyExt;
            let (res, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((res.map(BodyExt::boxed_unsync), Box::new(io) as Box<dyn Future<Output = _> + Send>))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_matching() {
        let o = Origin::parse("https://API.example.com").unwrap();
        assert!(o.matches(&"https://api.example.com/x?y".parse().unwrap()));
        assert!(o.matches(&"https://api.example.com:443/".parse().unwrap()));
        assert!(!o.matches(&"http://api.example.com/".parse().unwrap()));
        assert!(!o.matches(&"https://api.example.com:8443/".parse().unwrap()));
        assert!(!o.matches(&"https://evil.com/".parse().unwrap()));
        assert!(Origin::parse("https://a.com/path").is_err());
        assert!(Origin::parse("ftp://a.com").is_err());
        let any_port = Origin::parse("http://127.0.0.1:*").unwrap();
        assert!(any_port.matches(&"http://127.0.0.1:39211/hook".parse().unwrap()));
        assert!(any_port.matches(&"http://127.0.0.1/hook".parse().unwrap()));
        assert!(!any_port.matches(&"https://127.0.0.1:39211/".parse().unwrap()));
        assert!(!any_port.matches(&"http://127.0.0.2:39211/".parse().unwrap()));
        assert!(Origin::parse("http://a.com:80:*").is_err());
    }
}
