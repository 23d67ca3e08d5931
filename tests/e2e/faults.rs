//! Guest faults are the offending request's problem only: a clear JSON-RPC
//! error with the request id, and the tenant (and others) keep serving.

use crate::support::{Hostel, ECHO_COMPONENT, MISBEHAVE_COMPONENT};
use serde_json::json;

fn config() -> String {
    format!(
        "[[tenant]]\nname = \"bad\"\ncomponent = \"{MISBEHAVE_COMPONENT}\"\n[tenant.limits]\ntimeout_ms = 300\nmemory_mib = 16\nmax_concurrent = 2\nmax_response_bytes = 1048576\n\n\
         [[tenant]]\nname = \"bad-http\"\ncomponent = \"{MISBEHAVE_COMPONENT}\"\nentry = \"wasi-http\"\n[tenant.limits]\ntimeout_ms = 300\nmemory_mib = 16\nmax_concurrent = 2\nmax_response_bytes = 1048576\n\n\
         [[tenant]]\nname = \"echo\"\ncomponent = \"{ECHO_COMPONENT}\"\n"
    )
}

/// A tenant with room for slow requests: two at a time, 10 s deadline.
fn slow_config() -> String {
    format!("[[tenant]]\nname = \"slow\"\ncomponent = \"{MISBEHAVE_COMPONENT}\"\n[tenant.limits]\nmax_concurrent = 2\n")
}

fn call(tool: &str, args: serde_json::Value, id: u64) -> String {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":tool,"arguments":args}}).to_string()
}

fn assert_guest_error(r: &crate::support::Resp, status: u16, id: u64, needle: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    let v = r.json();
    assert_eq!(v["error"]["code"], -32603, "{v}");
    assert_eq!(v["id"], id, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains(needle), "{v}");
}

#[test]
fn traps_deadlines_and_oom_are_contained() {
    let h = Hostel::start(&config());
    let echo = call("echo", json!({"text": "still here"}), 9);

    // Both entry points: the lean export (`bad`) and wasi:http (`bad-http`).
    for bad in ["bad", "bad-http"] {
        assert_guest_error(&h.rpc(bad, &call("spin", json!({}), 1), &[]), 504, 1, "300 ms deadline");
        assert_guest_error(&h.rpc(bad, &call("panic", json!({}), 2), &[]), 500, 2, "guest trapped");
        assert_guest_error(&h.rpc(bad, &call("oom", json!({}), 3), &[]), 500, 3, "out of memory (limit 16 MiB)");
        assert_guest_error(&h.rpc(bad, &call("recurse", json!({}), 6), &[]), 500, 6, "guest trapped");
        assert_guest_error(&h.rpc(bad, &call("unreachable", json!({}), 7), &[]), 500, 7, "guest trapped");
        assert_guest_error(&h.rpc(bad, &call("huge", json!({"bytes": 1_500_000}), 8), &[]), 500, 8, "response exceeded 1048576 bytes");
        // No host filesystem, no host environment.
        let probe = h.rpc(bad, &call("probe_host", json!({}), 9), &[]).json();
        assert_eq!(
            probe["result"]["structuredContent"],
            json!({ "env_vars": 0, "root_listable": false, "etc_passwd_readable": false }),
            "{probe}"
        );
        // Blocked in the host (not on the CPU): the host timer still ends it.
        assert_guest_error(&h.rpc(bad, &call("sleep", json!({"ms": 5000}), 4), &[]), 504, 4, "deadline");

        // Same tenant and other tenants are unaffected.
        assert_eq!(h.rpc(bad, &call("sleep", json!({"ms": 1}), 5), &[]).json()["result"]["content"][0]["text"], "slept");
        assert_eq!(h.rpc("echo", &echo, &[]).json()["result"]["content"][0]["text"], "still here");
    }
}

#[test]
fn concurrent_faults_do_not_touch_healthy_requests() {
    let h = Hostel::start(&config());
    let addr = h.addr;
    let spinners: Vec<_> = (0..2)
        .map(|i| {
            std::thread::spawn(move || {
                crate::support::http(addr, "POST", "/bad/mcp", &[], call("spin", json!({}), i).as_bytes()).unwrap().status
            })
        })
        .collect();
    for i in 0..20 {
        let r = h.rpc("echo", &call("echo", json!({"text": format!("t{i}")}), i), &[]);
        assert_eq!(r.json()["result"]["content"][0]["text"], format!("t{i}"));
    }
    for s in spinners {
        let status = s.join().unwrap();
        // 504 for a spinner that ran, 429 if both raced the limit of 2 with
        // an earlier one; never a success and never a crash.
        assert!(status == 504 || status == 429, "{status}");
    }
}

#[test]
fn over_tenant_concurrency_is_429() {
    let h = Hostel::start(&slow_config());
    let addr = h.addr;
    // Two slow requests fill `max_concurrent = 2`.
    let slow: Vec<_> = (0..2)
        .map(|i| {
            std::thread::spawn(move || {
                crate::support::http(addr, "POST", "/slow/mcp", &[], call("sleep", json!({"ms": 1500}), i).as_bytes()).unwrap()
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let r = h.rpc("slow", &call("sleep", json!({"ms": 1}), 7), &[]);
    assert_eq!(r.status, 429, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(r.json()["error"]["code"], -32000);
    for t in slow {
        assert_eq!(t.join().unwrap().status, 200);
    }
    // Capacity is back.
    assert_eq!(h.rpc("slow", &call("sleep", json!({"ms": 1}), 8), &[]).status, 200);
}

#[test]
fn sigterm_finishes_in_flight_requests_then_exits_zero() {
    let mut h = Hostel::start(&slow_config());
    let addr = h.addr;
    let slow = std::thread::spawn(move || {
        crate::support::http(addr, "POST", "/slow/mcp", &[], call("sleep", json!({"ms": 1000}), 1).as_bytes()).unwrap()
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let status = h.terminate();
    assert_eq!(slow.join().unwrap().status, 200, "in-flight request was cut off");
    assert_eq!(status.code(), Some(0), "{}", h.stderr());
    assert!(std::net::TcpStream::connect(addr).is_err(), "still accepting after shutdown");
}

#[test]
fn oversized_response_is_500_on_both_entry_points() {
    let config = format!(
        "[[tenant]]\nname = \"small\"\ncomponent = \"{ECHO_COMPONENT}\"\n[tenant.limits]\nmax_response_bytes = 200\n\n\
         [[tenant]]\nname = \"small-http\"\ncomponent = \"{ECHO_COMPONENT}\"\nentry = \"wasi-http\"\n[tenant.limits]\nmax_response_bytes = 200\n"
    );
    let h = Hostel::start(&config);
    for tenant in ["small", "small-http"] {
        // A short answer fits; the tool list (well over 200 bytes) does not.
        assert_eq!(h.rpc(tenant, &call("echo", json!({"text": "ok"}), 1), &[]).status, 200);
        let r = h.rpc(tenant, r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#, &[]);
        assert_guest_error(&r, 500, 2, "response exceeded 200 bytes");
    }
}
