//! In-process costs of the request path, without HTTP or a load generator:
//! instantiate + drop of a fresh instance, and a whole MCP `tools/call echo`
//! through a fresh instance. `cargo bench -p hostel --bench instance`.

mod common;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use hostel::config::Entry;
use hostel::tenants::Tenant;

const ECHO_CALL: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}"#;

fn echo_request() -> http::Request<Bytes> {
    http::Request::post("/echo/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(Bytes::from_static(ECHO_CALL.as_bytes()))
        .unwrap()
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // Throwaway in-memory state: these benches touch none.
    let state = rt.block_on(hostel::state::StateStore::open("sqlite::memory:", 1)).unwrap();
    let load_tenant =
        |component: &str, entry: Entry| -> (Tenant, hostel::engine::EpochTicker) { common::load_tenant(component, entry, state.clone()) };
    let (tenant, _ticker) = rt.block_on(async { load_tenant(hostel_test_artifacts::ECHO_COMPONENT, Entry::WasiHttp) });
    let (lean, _ticker1) = rt.block_on(async { load_tenant(hostel_test_artifacts::ECHO_COMPONENT, Entry::Auto) });
    assert!(lean.lean.is_some(), "the echo guest exports the lean handler");
    let (bare, _ticker2) = rt.block_on(async { load_tenant(hostel_test_artifacts::BARE_COMPONENT, Entry::Auto) });

    c.bench_function("store_new_and_drop", |b| b.iter(|| hostel::instance::new_store(&tenant)));
    c.bench_function("wasi_ctx_build", |b| b.iter(|| wasmtime_wasi::WasiCtx::builder().inherit_stderr().build()));
    c.bench_function("instantiate_and_drop", |b| {
        b.to_async(&rt).iter(|| hostel::instance::instantiate_only(&tenant));
    });
    c.bench_function("bare_wasi_http_fresh_instance", |b| {
        b.to_async(&rt).iter(|| async {
            let resp = hostel::instance::invoke(&bare, echo_request()).await.unwrap();
            assert_eq!(resp.status(), 200);
        });
    });
    c.bench_function("tools_call_echo_fresh_instance", |b| {
        b.to_async(&rt).iter(|| async {
            let resp = hostel::instance::invoke(&tenant, echo_request()).await.unwrap();
            assert_eq!(resp.status(), 200);
        });
    });
    c.bench_function("tools_call_echo_lean", |b| {
        b.to_async(&rt).iter(|| async {
            let resp = hostel::instance::invoke(&lean, echo_request()).await.unwrap();
            assert_eq!(resp.status(), 200);
        });
    });
}

criterion_group!(group, benches);
criterion_main!(group);
