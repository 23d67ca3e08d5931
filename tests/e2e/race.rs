//! The reason Hostel exists: concurrent first requests must not race.
//! A shared MCP server object failed ~1/3 of these with "Already connected
//! to a transport"; per-request instances must fail none.

use crate::support::{demo_config, http, Hostel};
use serde_json::json;
use std::sync::Arc;

fn tenants() -> String {
    // Four tenants over the two components, none of which has served yet.
    let mut c = demo_config();
    c.push_str(&format!(
        "\n[[tenant]]\nname = \"echo-b\"\ncomponent = \"{}\"\n\n[[tenant]]\nname = \"words-b\"\ncomponent = \"{}\"\n",
        crate::support::ECHO_COMPONENT,
        crate::support::WORDSMITH_COMPONENT
    ));
    c
}

/// Sends request `i` and checks its answer is the right JSON-RPC result.
fn one(addr: std::net::SocketAddr, i: usize) -> Result<(), String> {
    let (tenant, tool, args, expect) = match i % 4 {
        0 => ("echo", "echo", json!({"text": format!("m{i}")}), format!("m{i}")),
        1 => ("words", "reverse", json!({"text": format!("ab{i}")}), format!("{}ba", i.to_string().chars().rev().collect::<String>())),
        2 => ("echo-b", "add", json!({"a": i, "b": 1}), json!({"sum": i + 1}).to_string()),
        _ => ("words-b", "word_count", json!({"text": "a b c"}), json!({"words": 3}).to_string()),
    };
    let body = json!({"jsonrpc":"2.0","id":i,"method":"tools/call","params":{"name":tool,"arguments":args}}).to_string();
    let headers =
        [("content-type", "application/json"), ("accept", "application/json, text/event-stream"), ("authorization", "Bearer tok-words")];
    let r = http(addr, "POST", &format!("/{tenant}/mcp"), &headers, body.as_bytes()).map_err(|e| format!("request {i}: {e}"))?;
    let v: serde_json::Value =
        serde_json::from_slice(&r.body).map_err(|e| format!("request {i}: status {} body not JSON: {e}", r.status))?;
    if r.status != 200 || v["id"] != json!(i) || v["result"]["content"][0]["text"] != expect || v.get("error").is_some() {
        return Err(format!("request {i}: status {} answer {v}", r.status));
    }
    Ok(())
}

#[test]
fn seed_race_zero_errors() {
    let h = Hostel::start(&tenants());
    let addr = h.addr;

    // 256 simultaneous first requests, released together by a barrier.
    let barrier = Arc::new(std::sync::Barrier::new(256));
    let handles: Vec<_> = (0..256)
        .map(|i| {
            let b = barrier.clone();
            std::thread::spawn(move || {
                b.wait();
                one(addr, i)
            })
        })
        .collect();
    let errors: Vec<String> = handles.into_iter().filter_map(|t| t.join().unwrap().err()).collect();
    assert!(errors.is_empty(), "{} of 256 first requests failed: {:?}", errors.len(), &errors[..errors.len().min(5)]);

    // Then 2,000 more at 64-way concurrency, mixed across tenants.
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(256));
    let workers: Vec<_> = (0..64)
        .map(|_| {
            let next = next.clone();
            std::thread::spawn(move || {
                let mut errs = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= 2256 {
                        return errs;
                    }
                    if let Err(e) = one(addr, i) {
                        errs.push(e);
                    }
                }
            })
        })
        .collect();
    let errors: Vec<String> = workers.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert!(errors.is_empty(), "{} of 2000 requests failed: {:?}", errors.len(), &errors[..errors.len().min(5)]);
}

#[test]
fn guest_globals_never_survive_a_request() {
    let h = Hostel::start(&demo_config());
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"counter","arguments":{}}}"#;
    for _ in 0..50 {
        assert_eq!(h.rpc("echo", body, &[]).json()["result"]["structuredContent"]["count"], 1);
    }
    // Also under concurrency.
    let addr = h.addr;
    let threads: Vec<_> = (0..16)
        .map(|_| {
            std::thread::spawn(move || {
                (0..20)
                    .map(|_| {
                        let r = http(addr, "POST", "/echo/mcp", &[("content-type", "application/json")], body.as_bytes()).unwrap();
                        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["result"]["structuredContent"]["count"].clone()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in threads {
        assert!(t.join().unwrap().iter().all(|c| *c == json!(1)));
    }
}
