//! Every row of DESIGN.md's error table, asserted on status, headers and
//! the JSON-RPC body.

use crate::support::{demo_config, Hostel, ECHO_COMPONENT};
use serde_json::json;

fn assert_rpc_error(r: &crate::support::Resp, status: u16, code: i64, needle: &str) {
    assert_eq!(r.status, status, "body: {}", r.text());
    let v = r.json();
    assert_eq!(v["jsonrpc"], "2.0");
    assert_eq!(v["error"]["code"], code, "{v}");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(msg.contains(needle), "message {msg:?} lacks {needle:?}");
}

#[test]
fn error_table() {
    let h = Hostel::start(&demo_config());
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

    // Unknown tenant (valid name and invalid ones, incl. traversal attempts).
    assert_rpc_error(&h.rpc("nope", ping, &[]), 404, -32000, "unknown tenant `nope`");
    for bad in ["..", "%2e%2e", "Echo", "a%2Fb"] {
        assert_rpc_error(&h.rpc(bad, ping, &[]), 404, -32000, "unknown tenant");
    }
    assert_rpc_error(&h.request("GET", "/nothing/here", &[], b""), 404, -32000, "no route");

    // GET/DELETE → 405 with Allow: POST.
    for m in ["GET", "DELETE"] {
        let r = h.request(m, "/echo/mcp", &[], b"");
        assert_rpc_error(&r, 405, -32000, "POST");
        assert_eq!(r.header("allow"), Some("POST"));
    }

    // OPTIONS → 204 with CORS headers for an allowed origin.
    let r = h.request("OPTIONS", "/echo/mcp", &[("origin", "http://localhost:5173"), ("access-control-request-method", "POST")], b"");
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("http://localhost:5173"));
    assert!(r.header("access-control-allow-methods").unwrap().contains("POST"));
    assert!(r.header("access-control-allow-headers").unwrap().contains("mcp-protocol-version"));

    // Origin not allowed → 403 (for POST and preflight alike).
    assert_rpc_error(&h.rpc("echo", ping, &[("origin", "http://evil.example")]), 403, -32000, "not allowed");
    assert_eq!(h.request("OPTIONS", "/echo/mcp", &[("origin", "http://localhost.evil.example")], b"").status, 403);

    // Missing / wrong bearer → 401 + WWW-Authenticate.
    let r = h.rpc("words", ping, &[]);
    assert_rpc_error(&r, 401, -32000, "missing bearer token");
    assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
    let r = h.rpc("words", ping, &[("authorization", "Bearer tok-nope")]);
    assert_rpc_error(&r, 401, -32000, "invalid bearer token");
    assert!(r.header("www-authenticate").unwrap().contains("invalid_token"));
    // Either configured token works.
    for tok in ["Bearer tok-words", "Bearer tok-words-2"] {
        assert_eq!(h.rpc("words", ping, &[("authorization", tok)]).json()["result"], json!({}));
    }

    // Allowed origin on POST gets CORS headers on the answer.
    let r = h.rpc("echo", ping, &[("origin", "http://127.0.0.1:3000")]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("http://127.0.0.1:3000"));

    // Host-header routing.
    let r = h.request("POST", "/mcp", &[("host", "echo.test:8080"), ("content-type", "application/json")], ping.as_bytes());
    assert_eq!(r.json()["result"], json!({}));
    assert_rpc_error(&h.request("POST", "/mcp", &[("host", "other.test")], ping.as_bytes()), 404, -32000, "unknown tenant");

    assert_eq!(h.request("GET", "/healthz", &[], b"").json()["status"], "ok");
    let ready = h.request("GET", "/readyz", &[], b"").json();
    assert_eq!(ready["tenants"]["echo"]["status"], "ready");
}

#[test]
fn body_limit_is_413() {
    let config = format!("[limits]\nmax_body_bytes = 1024\n[[tenant]]\nname = \"echo\"\ncomponent = \"{ECHO_COMPONENT}\"\n");
    let h = Hostel::start(&config);
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{}"}}}}}}"#,
        "x".repeat(2000)
    );
    assert_rpc_error(&h.rpc("echo", &big, &[]), 413, -32000, "exceeds 1024 bytes");
    // Just under the limit is served.
    let ok = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"{}"}}}}}}"#,
        "x".repeat(900)
    );
    assert_eq!(h.rpc("echo", &ok, &[]).json()["result"]["content"][0]["text"].as_str().unwrap().len(), 900);
}

#[test]
fn compiling_tenant_is_503_with_retry_after() {
    // A fresh cache dir means a real compile (hundreds of ms); the listener
    // is up before it starts, so the first request lands while compiling.
    let dir = tempfile::tempdir().unwrap();
    let h = Hostel::spawn(dir.path(), &demo_config());
    let r = h.rpc("echo", r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, &[]);
    assert_rpc_error(&r, 503, -32000, "starting");
    assert_eq!(r.header("retry-after"), Some("2"));
    let ready = h.request("GET", "/readyz", &[], b"");
    assert_eq!(ready.status, 503);
    assert_eq!(ready.json()["ready"], false);
    h.wait_ready();
    assert_eq!(h.rpc("echo", r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, &[]).status, 200);
}

#[test]
fn broken_tenant_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("junk.wasm"), b"this is not wasm").unwrap();
    let config =
        format!("[[tenant]]\nname = \"junk\"\ncomponent = \"junk.wasm\"\n[[tenant]]\nname = \"echo\"\ncomponent = \"{ECHO_COMPONENT}\"\n");
    let h = Hostel::spawn(dir.path(), &config);
    // The good tenant serves; the broken one says so; readiness names it.
    let start = std::time::Instant::now();
    while h.rpc("echo", r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, &[]).status != 200 {
        assert!(start.elapsed().as_secs() < 120);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_rpc_error(&h.rpc("junk", r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, &[]), 503, -32000, "failed to load");
    let ready = h.request("GET", "/readyz", &[], b"");
    assert_eq!(ready.status, 503);
    assert!(ready.json()["tenants"]["junk"]["error"].as_str().unwrap().contains("not a WebAssembly file"));
}

#[test]
fn bad_config_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    for (config, needle) in [
        ("[server]\nlisten_on = 1\n", "unknown field `listen_on`"),
        ("[[tenant]]\nname = \"Bad_Name\"\ncomponent = \"x.wasm\"\n", "invalid tenant name `Bad_Name`"),
    ] {
        std::fs::write(dir.path().join("hostel.toml"), config).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hostel"))
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(dir.path().join("hostel.toml"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle) && err.contains("hostel.toml"), "{err}");
    }
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_hostel")).args(["serve", "--config", "/nonexistent/hostel.toml"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("failed to read config `/nonexistent/hostel.toml`"));
}
