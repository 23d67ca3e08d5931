//! What state costs: the key-value store on its own (SQLite file, durable
//! writes; PostgreSQL when `HOSTEL_BENCH_POSTGRES` names a database), and a
//! whole MCP `tools/call` through a fresh instance that reads or increments
//! a key, next to one that touches no state.
//! `cargo bench -p hostel --bench state`.

mod common;

use bytes::Bytes;
use common::load_tenant;
use criterion::{criterion_group, criterion_main, Criterion};
use hostel::config::Entry;
use hostel::state::StateStore;

fn call(tool: &str, args: &str) -> http::Request<Bytes> {
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}","arguments":{args}}}}}"#);
    http::Request::post("/bench/mcp")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Bytes::from(body))
        .unwrap()
}

fn store_ops(c: &mut Criterion, rt: &tokio::runtime::Runtime, name: &str, store: &StateStore) {
    rt.block_on(store.set("bench", "b", "k", b"{\"plan\":\"gold\"}")).unwrap();
    c.bench_function(&format!("{name}_get"), |b| b.to_async(rt).iter(|| async { store.get("bench", "b", "k").await.unwrap() }));
    c.bench_function(&format!("{name}_set_durable"), |b| {
        b.to_async(rt).iter(|| async { store.set("bench", "b", "k", b"{\"plan\":\"gold\"}").await.unwrap() })
    });
    c.bench_function(&format!("{name}_increment"), |b| {
        b.to_async(rt).iter(|| async {
            store
                .update("bench", "b", "n", |cur| {
                    Ok::<_, ()>(cur.map_or(1, |c| String::from_utf8_lossy(c).parse::<u64>().unwrap_or(0) + 1).to_string().into_bytes())
                })
                .await
                .unwrap()
        })
    });
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = rt.block_on(StateStore::open(&format!("sqlite://{}/bench.db", dir.path().display()), 4)).unwrap();
    store_ops(c, &rt, "sqlite", &sqlite);
    if let Ok(url) = std::env::var("HOSTEL_BENCH_POSTGRES") {
        let pg = rt.block_on(StateStore::open(&url, 8)).unwrap();
        store_ops(c, &rt, "postgres", &pg);
    }

    let (keeper, _t1) =
        rt.block_on(async { load_tenant(hostel_test_artifacts::KEEPER_COMPONENT, "bench", Entry::Auto, true, sqlite.clone()) });
    let (echo, _t2) = rt.block_on(async { load_tenant(hostel_test_artifacts::ECHO_COMPONENT, "bench", Entry::Auto, true, sqlite.clone()) });
    rt.block_on(hostel::instance::invoke(&keeper, call("put", r#"{"key":"plan","value":{"tier":"gold"}}"#))).unwrap();
    for (name, tenant, tool, args) in [
        ("request_no_state", &echo, "echo", r#"{"text":"hello"}"#),
        ("request_kv_get", &keeper, "get", r#"{"key":"plan"}"#),
        ("request_kv_increment", &keeper, "incr", r#"{"key":"hits"}"#),
    ] {
        c.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                let resp = hostel::instance::invoke(tenant, call(tool, args)).await.unwrap();
                assert_eq!(resp.status(), 200);
            })
        });
    }
}

criterion_group!(group, benches);
criterion_main!(group);
