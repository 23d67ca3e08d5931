//! The one `Linker` all tenants are linked against: what the host provides.

use crate::instance::RequestState;
use anyhow::Result;
use wasmtime::component::Linker;
use wasmtime::Engine;

/// WASI p2 (Rust std imports `wasi:cli/*` even in a proxy guest),
/// `wasi:http` with the outbound policy in the per-request hooks, and
/// `wasi:keyvalue` (both drafts) over the tenant's state, and
/// `hostel:lean/seal` (a MAC under the tenant's host-held key).
pub fn build(engine: &Engine) -> Result<Linker<RequestState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    crate::state::keyvalue::add_to_linker(&mut linker, RequestState::kv)?;
    crate::lean::add_seal_to_linker(&mut linker)?;
    Ok(linker)
}
