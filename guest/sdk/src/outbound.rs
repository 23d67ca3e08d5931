//! Outgoing HTTP from a guest (webhooks, API calls) over `wasi:http`.
//! The host only lets requests through to the tenant's `outbound`
//! allowlist; anything else fails with `HttpRequestDenied`.

/// A response: status and body.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// The whole body.
    pub body: Vec<u8>,
}

/// Largest response body [`send`] reads; [`send_limited`] takes another.
pub const MAX_RESPONSE_BYTES: usize = 16 << 20;

/// Sends one request and reads the whole response (at most
/// [`MAX_RESPONSE_BYTES`]). `timeout` bounds connecting, the wait for the
/// first byte and each wait between bytes; the host's per-request
/// deadline bounds everything.
pub fn send(method: &str, url: &str, headers: &[(&str, &str)], body: &[u8], timeout: std::time::Duration) -> Result<Response, String> {
    send_limited(method, url, headers, body, timeout, MAX_RESPONSE_BYTES)
}

/// [`send`] with a limit of `max_body_bytes` on the response body: a
/// bigger one is an `Err`, not a guest out of memory. A body cut short
/// (connection lost, upstream error) is an `Err` too, never a partial
/// `Ok`.
pub fn send_limited(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: std::time::Duration,
    max_body_bytes: usize,
) -> Result<Response, String> {
    #[cfg(target_arch = "wasm32")]
    {
        use wasip2::http::outgoing_handler;
        use wasip2::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme};
        let (scheme, rest) = url.split_once("://").ok_or_else(|| format!("`{url}` is not an absolute URL"))?;
        let scheme = match scheme {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            other => return Err(format!("unsupported scheme `{other}`")),
        };
        let (authority, path) = rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
        let fields = Fields::new();
        for (name, value) in headers {
            fields.append(name, value.as_bytes()).map_err(|e| format!("header `{name}`: {e:?}"))?;
        }
        let req = OutgoingRequest::new(fields);
        let method = match method {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            other => Method::Other(other.to_owned()),
        };
        req.set_method(&method).map_err(|()| "bad method")?;
        req.set_scheme(Some(&scheme)).map_err(|()| "bad scheme")?;
        req.set_authority(Some(authority)).map_err(|()| "bad authority")?;
        req.set_path_with_query(Some(path)).map_err(|()| "bad path")?;
        let options = RequestOptions::new();
        let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        let _ = options.set_connect_timeout(Some(nanos));
        let _ = options.set_first_byte_timeout(Some(nanos));
        let _ = options.set_between_bytes_timeout(Some(nanos));
        let out_body = req.body().map_err(|()| "no request body")?;
        let pending = outgoing_handler::handle(req, Some(options)).map_err(|e| format!("{e:?}"))?;
        {
            let stream = out_body.write().map_err(|()| "no request stream")?;
            for chunk in body.chunks(4096) {
                stream.blocking_write_and_flush(chunk).map_err(|e| format!("writing the body: {e:?}"))?;
            }
        }
        OutgoingBody::finish(out_body, None).map_err(|e| format!("{e:?}"))?;
        let response = loop {
            match pending.get() {
                Some(r) => break r,
                None => pending.subscribe().block(),
            }
        };
        let response = response.map_err(|()| "response taken twice")?.map_err(|e| format!("{e:?}"))?;
        let status = response.status();
        let incoming = response.consume().map_err(|()| "no response body")?;
        let stream = incoming.stream().map_err(|()| "no response stream")?;
        let body = crate::wasi_http::read_to_end(&stream, max_body_bytes, "the response body")?;
        Ok(Response { status, body })
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = (method, url, headers, body, timeout, max_body_bytes);
        Err("outgoing HTTP is only available inside a Hostel guest (wasm32-wasip2)".into())
    }
}
