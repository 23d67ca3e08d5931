//! The lean entry point: guests built with the SDK also export
//! `hostel:lean/handler.handle(request) -> response` (see `wit/lean`).
//! One call with the request already read replaces wasi:http's resources,
//! streams and body tasks, so the host prefers it when a component has it.

use bytes::Bytes;
use http_body_util::Full;

/// Generated bindings; the WIT in `wit/lean` documents them.
#[allow(missing_docs)]
mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit/lean",
        world: "hostel:lean/guest",
        imports: { default: async },
        exports: { default: async },
    });
}

pub use bindings::exports::hostel::lean::handler::{Request as LeanRequest, Response as LeanResponse};
pub use bindings::GuestPre;

/// Bindings of the `hostel:lean/sealing` world (the host side of `seal`).
#[allow(missing_docs)]
mod seal_bindings {
    wasmtime::component::bindgen!({
        path: "../wit/lean",
        world: "hostel:lean/sealing",
        imports: { default: async },
    });
}

impl seal_bindings::hostel::lean::seal::Host for crate::instance::RequestState {
    async fn mac(&mut self, data: Vec<u8>) -> Vec<u8> {
        self.seal().mac(&data).to_vec()
    }
}

/// Provides `hostel:lean/seal` (the tenant's MAC, key held by the host).
pub fn add_seal_to_linker(linker: &mut wasmtime::component::Linker<crate::instance::RequestState>) -> anyhow::Result<()> {
    seal_bindings::hostel::lean::seal::add_to_linker::<_, wasmtime::component::HasSelf<_>>(linker, |s| s)?;
    Ok(())
}

/// The request as the guest sees it: the same headers `wasi:http` would
/// show (forbidden ones removed), so both entry points answer alike.
pub fn to_lean(request: http::Request<Bytes>) -> LeanRequest {
    let (mut parts, body) = request.into_parts();
    // Remove forbidden headers the way wasi:http's `FieldMap` does (collect,
    // then remove in key order): removal reorders a HeaderMap, and the guest
    // must see the same order on both paths.
    let forbidden: Vec<_> = parts.headers.keys().filter(|n| wasmtime_wasi_http::DEFAULT_FORBIDDEN_HEADERS.contains(n)).cloned().collect();
    for name in forbidden {
        parts.headers.remove(&name);
    }
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    let path = parts.uri.path_and_query().map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
    LeanRequest { method: parts.method.as_str().to_owned(), path, headers, body: body.to_vec() }
}

/// The guest's answer as an HTTP response, held to the rules wasi:http
/// holds a guest's response to: no connection-level headers, and a
/// `content-length` only when it is the body's real length. Hyper writes
/// these headers as given, so a wrong length or a `transfer-encoding`
/// would let a guest frame a second, forged response on a kept-alive
/// connection. `Err` says what was wrong.
pub fn from_lean(response: LeanResponse) -> Result<http::Response<Full<Bytes>>, String> {
    let mut builder = http::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| format!("invalid response header name `{name}`"))?;
        if wasmtime_wasi_http::DEFAULT_FORBIDDEN_HEADERS.contains(&name) {
            return Err(format!("response header `{name}` is not the guest's to set"));
        }
        if name == http::header::CONTENT_LENGTH {
            if value.trim().parse::<usize>().ok() != Some(response.body.len()) {
                return Err(format!("response `content-length: {value}` but the body has {} bytes", response.body.len()));
            }
            // Written in its plain form: hyper sends the value as given.
            builder = builder.header(name, response.body.len());
            continue;
        }
        builder = builder.header(name, value.as_str());
    }
    builder.body(Full::new(Bytes::from(response.body))).map_err(|e| format!("invalid response: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(headers: &[(&str, &str)], body: &str) -> LeanResponse {
        LeanResponse {
            status: 200,
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_guest_cannot_frame_the_connection() {
        let ok = from_lean(response(&[("content-type", "application/json"), ("content-length", "2")], "{}")).unwrap();
        assert_eq!(ok.headers()["content-length"], "2");
        let padded = from_lean(response(&[("content-length", "+02")], "{}")).unwrap();
        assert_eq!(padded.headers()["content-length"], "2", "a valid but odd spelling is normalized");
        let smuggle = "{}HTTP/1.1 200 OK\r\ncontent-length: 19\r\n\r\n{\"forged\":\"answer\"}";
        let err = from_lean(response(&[("content-length", "2")], smuggle)).unwrap_err();
        assert!(err.contains("content-length"), "{err}");
        for header in ["transfer-encoding", "connection", "upgrade", "keep-alive", "host"] {
            let err = from_lean(response(&[(header, "x")], "{}")).unwrap_err();
            assert!(err.contains(header), "{err}");
        }
        assert!(from_lean(response(&[("bad name", "x")], "{}")).is_err());
        assert!(from_lean(response(&[("x-ok", "bad\nvalue")], "{}")).is_err());
    }
}
