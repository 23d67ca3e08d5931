//! In-process costs of the request path, without HTTP or a load generator:
//! instantiate + drop of a fresh instance, a whole MCP `tools/call echo`
//! through a fresh instance, and what pre-initialization saves per request
//! (echo, and the AdCP training agent whose setup registers ~30 tools).
//! `cargo bench -p hostel --bench instance`.

mod common;

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use hostel::config::Entry;
use hostel::tenants::Tenant;

const ECHO_CALL: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}"#;

const CAPABILITIES_CALL: &str =
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_adcp_capabilities","arguments":{}}}"#;
const TOOLS_LIST: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;

fn echo_request() -> http::Request<Bytes> {
    mcp_request("/echo/mcp", ECHO_CALL)
}

fn mcp_request(path: &str, body: &'static str) -> http::Request<Bytes> {
    http::Request::post(path)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(Bytes::from_static(body.as_bytes()))
        .unwrap()
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // Throwaway in-memory state: these benches touch none.
    let state = rt.block_on(hostel::state::StateStore::open("sqlite::memory:", 1)).unwrap();
    let load = |component: &str, name: &str, entry: Entry, preinit: bool| -> (Tenant, hostel::engine::EpochTicker) {
        rt.block_on(async { common::load_tenant(component, name, entry, preinit, state.clone()) })
    };
    let (tenant, _ticker) = load(hostel_test_artifacts::ECHO_COMPONENT, "echo", Entry::WasiHttp, true);
    let (lean, _ticker1) = load(hostel_test_artifacts::ECHO_COMPONENT, "echo", Entry::Auto, true);
    assert!(lean.lean.is_some(), "the echo guest exports the lean handler");
    let (bare, _ticker2) = load(hostel_test_artifacts::BARE_COMPONENT, "bare", Entry::Auto, true);
    let (lean_plain, _ticker3) = load(hostel_test_artifacts::ECHO_COMPONENT, "echo", Entry::Auto, false);
    let (sales, _ticker4) = load(hostel_test_artifacts::TRAINING_AGENT_COMPONENT, "sales", Entry::Auto, true);
    let (sales_plain, _ticker5) = load(hostel_test_artifacts::TRAINING_AGENT_COMPONENT, "sales", Entry::Auto, false);

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
    // Pre-initialized (the default) against built per request.
    let cases: [(&str, &Tenant, &str, &'static str); 6] = [
        ("tools_call_echo_lean", &lean, "/echo/mcp", ECHO_CALL),
        ("tools_call_echo_lean_no_preinit", &lean_plain, "/echo/mcp", ECHO_CALL),
        ("training_agent_capabilities", &sales, "/sales/mcp", CAPABILITIES_CALL),
        ("training_agent_capabilities_no_preinit", &sales_plain, "/sales/mcp", CAPABILITIES_CALL),
        ("training_agent_tools_list", &sales, "/sales/mcp", TOOLS_LIST),
        ("training_agent_tools_list_no_preinit", &sales_plain, "/sales/mcp", TOOLS_LIST),
    ];
    for (name, tenant, path, body) in cases {
        c.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                let resp = hostel::instance::invoke(tenant, mcp_request(path, body)).await.unwrap();
                assert_eq!(resp.status(), 200);
            });
        });
    }
}

criterion_group!(group, benches);
criterion_main!(group);
