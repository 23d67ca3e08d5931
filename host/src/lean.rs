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

/// The guest's answer as an HTTP response; `None` when a header it set is
/// not valid HTTP.
pub fn from_lean(response: LeanResponse) -> Option<http::Response<Full<Bytes>>> {
    let mut builder = http::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    builder.body(Full::new(Bytes::from(response.body))).ok()
}
