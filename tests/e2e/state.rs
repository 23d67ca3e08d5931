//! Tenant state (`wasi:keyvalue`) through real guests, on both backends:
//! SQLite (a file in the test's directory) and PostgreSQL (a fresh
//! database per test on the server named by `HOSTEL_TEST_POSTGRES`, which
//! `.ci/run` starts). Same tests, same expectations, both backends.

use crate::support::{call_tool, parallel, state_for, Backend, Hostel, PgDatabase, KEEPER_COMPONENT};
use serde_json::{json, Value};

/// Two tenants running the same component: only the host tells them apart.
fn config(state: &str) -> String {
    format!(
        r#"
[server]
state = "{state}"

[limits]
max_concurrent = 512
kv_max_key_bytes = 64
kv_max_value_bytes = 4096

[[tenant]]
name = "alpha"
component = "{KEEPER_COMPONENT}"

[[tenant]]
name = "beta"
component = "{KEEPER_COMPONENT}"
"#
    )
}

fn get(h: &Hostel, tenant: &str, key: &str) -> Value {
    h.call_tool(tenant, "get", json!({ "key": key })).unwrap()["value"].clone()
}

fn survives_instances_restarts_and_stays_in_its_tenant(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let (state, _db) = state_for(backend, tmp.path());
    let mut h = Hostel::start_in(tmp.path(), &config(&state));

    h.call_tool("alpha", "put", json!({ "key": "plan", "value": { "tier": "gold", "seats": 3 } })).unwrap();
    h.call_tool("alpha", "put", json!({ "bucket": "other", "key": "plan", "value": "other bucket" })).unwrap();
    // A later request is a fresh instance: the value came from the store.
    assert_eq!(get(&h, "alpha", "plan"), json!({ "tier": "gold", "seats": 3 }));
    // Same component, same bucket name, other tenant: nothing there.
    assert_eq!(get(&h, "beta", "plan"), Value::Null);
    assert_eq!(h.call_tool("beta", "keys", json!({})).unwrap()["keys"], json!([]));
    h.call_tool("beta", "put", json!({ "key": "plan", "value": "beta's own" })).unwrap();
    assert_eq!(get(&h, "alpha", "plan"), json!({ "tier": "gold", "seats": 3 }));
    assert_eq!(h.call_tool("alpha", "keys", json!({ "bucket": "other" })).unwrap()["keys"], json!(["plan"]));

    // Both drafts share one encoding for counters.
    assert_eq!(h.call_tool("alpha", "incr_draft", json!({ "key": "n", "by": 2 })).unwrap()["value"], 2);
    assert_eq!(h.call_tool("alpha", "incr", json!({ "key": "n", "by": 3 })).unwrap()["value"], 5);
    h.call_tool("alpha", "put", json!({ "key": "word", "value": "abc" })).unwrap();
    let err = h.call_tool("alpha", "incr", json!({ "key": "word" })).unwrap_err();
    assert!(err.contains("not a decimal integer"), "{err}");
    h.call_tool("alpha", "delete", json!({ "key": "word" })).unwrap();

    // Limits: refused with the reason, and nothing written.
    let err = h.call_tool("alpha", "fill", json!({ "key": "big", "size": 4097 })).unwrap_err();
    assert!(err.contains("value is 4097 bytes; this tenant's limit is 4096"), "{err}");
    assert_eq!(get(&h, "alpha", "big"), Value::Null);
    assert_eq!(h.call_tool("alpha", "fill", json!({ "key": "big", "size": 4096 })).unwrap()["stored"], 4096);
    let err = h.call_tool("alpha", "put", json!({ "key": "k".repeat(65), "value": 1 })).unwrap_err();
    assert!(err.contains("key is 65 bytes; this tenant's limit is 64"), "{err}");

    // A restart (even a kill -9) keeps every acknowledged write.
    h.kill();
    let h = Hostel::start_in(tmp.path(), &config(&state));
    assert_eq!(get(&h, "alpha", "plan"), json!({ "tier": "gold", "seats": 3 }));
    assert_eq!(get(&h, "beta", "plan"), json!("beta's own"));
    assert_eq!(h.call_tool("alpha", "incr", json!({ "key": "n", "by": 0 })).unwrap()["value"], 5);
    assert_eq!(h.call_tool("alpha", "keys", json!({})).unwrap()["keys"], json!(["big", "n", "plan"]));
}

fn concurrent_updates_are_exact(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let (state, _db) = state_for(backend, tmp.path());
    let h = Hostel::start_in(tmp.path(), &config(&state));
    let addr = h.addr;

    // Hundreds of simultaneous requests, each its own instance, on one key.
    let seen: Vec<i64> =
        parallel(300, move |_| call_tool(addr, "alpha", "incr", json!({ "key": "hits" })).unwrap()["value"].as_i64().unwrap());
    assert_eq!(h.call_tool("alpha", "incr", json!({ "key": "hits", "by": 0 })).unwrap()["value"], 300);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, (1..=300).collect::<Vec<_>>(), "every increment saw a distinct count");

    // Compare-and-swap retry loops from 200 instances lose nothing.
    let seen: Vec<u64> =
        parallel(200, move |_| call_tool(addr, "alpha", "cas_incr", json!({ "key": "cas" })).unwrap()["value"].as_u64().unwrap());
    assert_eq!(get(&h, "alpha", "cas"), json!(200));
    assert_eq!(seen.iter().max(), Some(&200));

    // Exactly one of 64 simultaneous claims on a key wins.
    let claims: Vec<bool> = parallel(64, move |i| {
        call_tool(addr, "alpha", "claim", json!({ "key": "owner", "value": i })).unwrap()["claimed"].as_bool().unwrap()
    });
    assert_eq!(claims.iter().filter(|c| **c).count(), 1, "{claims:?}");
    let winner = claims.iter().position(|c| *c).unwrap();
    assert_eq!(get(&h, "alpha", "owner"), json!(winner));
    assert_eq!(get(&h, "beta", "hits"), Value::Null);
}

#[test]
fn sqlite_state_survives_instances_restarts_and_stays_in_its_tenant() {
    survives_instances_restarts_and_stays_in_its_tenant(Backend::Sqlite);
}

#[test]
fn postgres_state_survives_instances_restarts_and_stays_in_its_tenant() {
    survives_instances_restarts_and_stays_in_its_tenant(Backend::Postgres);
}

#[test]
fn sqlite_concurrent_updates_are_exact() {
    concurrent_updates_are_exact(Backend::Sqlite);
}

#[test]
fn postgres_concurrent_updates_are_exact() {
    concurrent_updates_are_exact(Backend::Postgres);
}

/// Two `hostel serve` processes (replicas) over one database: what one
/// writes the other reads, and increments through both stay exact.
#[test]
fn postgres_replicas_share_state() {
    let db = PgDatabase::create();
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Hostel::start_in(a_dir.path(), &config(&db.url));
    let b = Hostel::start_in(b_dir.path(), &config(&db.url));
    a.call_tool("alpha", "put", json!({ "key": "written-by", "value": "a" })).unwrap();
    assert_eq!(get(&b, "alpha", "written-by"), json!("a"));
    assert_eq!(get(&b, "beta", "written-by"), Value::Null);

    let addrs = [a.addr, b.addr];
    parallel(200, move |i| call_tool(addrs[i % 2], "alpha", "incr", json!({ "key": "n" })).unwrap());
    parallel(100, move |i| call_tool(addrs[i % 2], "alpha", "cas_incr", json!({ "key": "c" })).unwrap());
    assert_eq!(get(&a, "alpha", "c"), json!(100));
    assert_eq!(b.call_tool("alpha", "incr", json!({ "key": "n", "by": 0 })).unwrap()["value"], 200);
}

#[test]
fn unusable_state_url_stops_startup_with_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("hostel.toml"), config("redis://u:hunter2@localhost/0")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hostel"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(tmp.path().join("hostel.toml"))
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("unsupported state URL `redis://u:***@localhost/0`"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
}
