//! Pre-initialization (`hostel:lean/init` run at compile, memory
//! snapshotted) must change nothing a client can see: the same requests get
//! byte-identical answers with it on and off, every request still starts
//! from a fresh copy of the snapshot, and a component whose `init` fails is
//! served without one.

use crate::entry::ECHO_REQUESTS;
use crate::support::{Hostel, ECHO_COMPONENT, MISBEHAVE_COMPONENT, SPIN_INIT_COMPONENT, TRAINING_AGENT_COMPONENT};

const SALES_REQUESTS: &[&str] = &[
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"get_adcp_capabilities","arguments":{}}}"#,
    r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"list_creative_formats","arguments":{}}}"#,
    r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"get_products","arguments":{"brief":"sports video","buying_mode":"brief"}}}"#,
];

fn config(preinit: bool) -> String {
    format!(
        "[server]\npreinit = {preinit}\n\n\
         [[tenant]]\nname = \"echo\"\ncomponent = \"{ECHO_COMPONENT}\"\n\n\
         [[tenant]]\nname = \"sales\"\ncomponent = \"{TRAINING_AGENT_COMPONENT}\"\n\n\
         [[tenant]]\nname = \"bad\"\ncomponent = \"{MISBEHAVE_COMPONENT}\"\n"
    )
}

#[test]
fn preinitialized_components_answer_exactly_like_plain_ones() {
    let on = Hostel::start(&config(true));
    let off = Hostel::start(&config(false));
    assert_eq!((on.metric("hostel_preinitialized_total"), on.metric("hostel_preinit_failures_total")), (2, 1));
    assert_eq!((off.metric("hostel_preinitialized_total"), off.metric("hostel_preinit_failures_total")), (0, 0));
    assert!(on.stderr().contains("pre-initialization failed") && on.stderr().contains("trapped"), "{}", on.stderr());

    let extra = [("x-trace", "abc")];
    for (tenant, requests) in [("echo", ECHO_REQUESTS), ("sales", SALES_REQUESTS)] {
        for body in requests {
            let (a, b) = (on.rpc(tenant, body, &extra), off.rpc(tenant, body, &extra));
            assert_eq!((a.status, a.header("content-type")), (b.status, b.header("content-type")), "{tenant}: {body}");
            assert_eq!(a.text(), b.text(), "{tenant}: different answers for {body}");
        }
    }

    // Each request's instance starts from the snapshot, not from what the
    // previous request left behind.
    for _ in 0..3 {
        assert_eq!(on.call_tool("echo", "counter", serde_json::json!({})).unwrap()["count"], 1);
    }
    // The component whose init trapped is served as it is.
    let probe = on.call_tool("bad", "probe_host", serde_json::json!({})).unwrap();
    assert_eq!(probe["env_vars"], 0, "{probe}");
}

/// A config reload that lands while a tenant's first compile is still
/// running wins: the start-up load, finishing later, must not bring back
/// the tenant the reload removed. `spin-init` makes the first compile slow
/// (its `init` runs until the pre-initialization deadline).
#[test]
fn a_reload_during_a_slow_first_compile_is_not_undone() {
    let dir = tempfile::tempdir().unwrap();
    // 10 s of spinning: echo, loading beside it, is ready long before, even
    // with the rest of the suite loading the machine.
    let base = format!("[server]\npreinit_timeout_ms = 10000\n\n[[tenant]]\nname = \"echo\"\ncomponent = \"{ECHO_COMPONENT}\"\n");
    let h = Hostel::spawn(dir.path(), &format!("{base}\n[[tenant]]\nname = \"slow\"\ncomponent = \"{SPIN_INIT_COMPONENT}\"\n"));
    let until = |what: &str, f: &dyn Fn() -> bool| {
        let start = std::time::Instant::now();
        while !f() {
            assert!(start.elapsed() < std::time::Duration::from_secs(60), "never: {what}\n{}", h.stderr());
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    let status = |tenant: &str| h.request("GET", "/readyz", &[], b"").json()["tenants"][tenant]["status"].clone();
    until("echo is loaded", &|| status("echo") == "ready");
    assert_eq!(status("slow"), "compiling", "the test needs `slow` still compiling here");
    std::fs::write(dir.path().join("hostel.toml"), &base).unwrap();
    h.signal("HUP");
    until("the reload", &|| h.stderr().contains("config reloaded"));
    let load_ended =
        || h.stderr().lines().any(|l| l.contains("tenant=slow") && (l.contains("tenant loaded") || l.contains("start-up load discarded")));
    until("the start-up load of `slow` ends", &load_ended);
    assert_eq!(h.request("GET", "/readyz", &[], b"").status, 200);
    assert_eq!(status("slow"), serde_json::Value::Null, "removed by the reload, and it stays removed");
    assert_eq!(h.rpc("slow", r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, &[]).status, 404);
}
