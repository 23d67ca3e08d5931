//! Lazy tenants (`server.lazy_tenants`): nothing is compiled at start, the
//! first request loads its tenant (concurrent first requests share one
//! load), auth still applies before loading, and a broken component is
//! reported when first used.

use crate::support::{http, parallel, Hostel, ECHO_COMPONENT, WORDSMITH_COMPONENT};

const LIST: &str = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;

fn status(h: &Hostel, tenant: &str) -> String {
    let ready = h.request("GET", "/readyz", &[], b"");
    ready.json()["tenants"][tenant]["status"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn lazy_tenants_load_on_first_use() {
    let tmp = tempfile::tempdir().unwrap();
    let broken = tmp.path().join("broken.wasm");
    std::fs::write(&broken, b"not a component").unwrap();
    let config = format!(
        "[server]\nlazy_tenants = true\nlazy_load_concurrency = 1\n\n\
         [[tenant]]\nname = \"echo\"\ncomponent = \"{ECHO_COMPONENT}\"\n\n\
         [[tenant]]\nname = \"echo2\"\ncomponent = \"{ECHO_COMPONENT}\"\n\n\
         [[tenant]]\nname = \"echo3\"\ncomponent = \"{ECHO_COMPONENT}\"\n\n\
         [[tenant]]\nname = \"words\"\ncomponent = \"{WORDSMITH_COMPONENT}\"\ntokens = [\"tok-words\"]\n\n\
         [[tenant]]\nname = \"broken\"\ncomponent = \"{}\"\n",
        broken.display()
    );
    let h = Hostel::start_in(tmp.path(), &config);
    assert_eq!(h.metric("hostel_compile_cache_misses_total") + h.metric("hostel_compile_cache_hits_total"), 0, "nothing loads at start");
    assert_eq!((status(&h, "echo"), status(&h, "broken")), ("unloaded".into(), "unloaded".into()));
    let metrics = h.request("GET", "/metrics", &[], b"").text();
    assert!(metrics.contains("hostel_tenant_ready{tenant=\"echo\"} 1"), "unloaded lazy tenants serve: {metrics}");

    // Auth is checked before anything is loaded.
    assert_eq!(h.rpc("words", LIST, &[]).status, 401);
    assert_eq!(status(&h, "words"), "unloaded");

    assert_eq!(h.call_tool("echo", "add", serde_json::json!({"a": 2, "b": 3})).unwrap()["sum"], 5);
    assert_eq!(status(&h, "echo"), "ready");
    assert_eq!(h.metric("hostel_compile_cache_misses_total"), 1);

    // Nine first requests at once to three cold tenants, which take turns
    // loading (`lazy_load_concurrency = 1`): all answered, one compile
    // (the echo copies share echo's compiled code).
    let addr = h.addr;
    let codes = parallel(9, move |i| {
        let tenant = ["words", "echo2", "echo3"][i % 3];
        let mut headers = vec![("content-type", "application/json"), ("accept", "application/json, text/event-stream")];
        if tenant == "words" {
            headers.push(("authorization", "Bearer tok-words"));
        }
        http(addr, "POST", &format!("/{tenant}/mcp"), &headers, LIST.as_bytes()).unwrap().status
    });
    assert!(codes.iter().all(|&c| c == 200), "{codes:?}");
    assert_eq!(h.metric("hostel_compile_cache_misses_total"), 2);
    assert_eq!(h.stderr().matches("lazy tenant loaded").count(), 4, "one load per tenant");

    let bad = h.rpc("broken", LIST, &[]);
    assert_eq!(bad.status, 503, "{}", bad.text());
    assert!(bad.text().contains("failed to load"), "{}", bad.text());
    let ready = h.request("GET", "/readyz", &[], b"");
    assert_eq!(ready.status, 503);
    assert!(ready.json()["tenants"]["broken"]["error"].as_str().unwrap().contains("WebAssembly"), "{}", ready.text());
    assert_eq!(h.stderr().matches("tenant failed to load").count(), 1, "{}", h.stderr());
}

#[test]
fn idle_lazy_tenants_are_unloaded_and_come_back() {
    let config =
        format!("[server]\nlazy_tenants = true\nlazy_idle_secs = 1\n\n[[tenant]]\nname = \"echo\"\ncomponent = \"{ECHO_COMPONENT}\"\n");
    let h = Hostel::start(&config);
    assert_eq!(h.call_tool("echo", "add", serde_json::json!({"a": 1, "b": 1})).unwrap()["sum"], 2);
    assert_eq!(status(&h, "echo"), "ready");
    // Bounded wait for the evictor (it checks every second), not a timing
    // assertion: what matters is that it happens, then that nothing is lost.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while status(&h, "echo") != "unloaded" {
        assert!(std::time::Instant::now() < deadline, "never unloaded: {}", h.stderr());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(h.stderr().contains("idle lazy tenant unloaded"), "{}", h.stderr());
    assert_eq!(h.call_tool("echo", "add", serde_json::json!({"a": 2, "b": 2})).unwrap()["sum"], 4);
    assert_eq!(status(&h, "echo"), "ready");
    assert_eq!(
        (h.metric("hostel_compile_cache_misses_total"), h.metric("hostel_compile_cache_hits_total")),
        (1, 1),
        "loaded again from the compile cache"
    );
}
