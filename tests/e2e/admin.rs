//! Live tenant management: the admin API and its CLI front (`hostel
//! tenants …`), atomic swaps under load, persistence across restarts and
//! replicas, and bad operator input that must leave running tenants alone.

use crate::support::{parallel, Hostel, PgDatabase, ADMIN_TOKEN, ECHO_COMPONENT, UNLINKABLE_COMPONENT};
use serde_json::{json, Value};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn config(extra_server: &str) -> String {
    format!(
        "[server]\nadmin_token_env = \"HOSTEL_TEST_ADMIN_TOKEN\"\n{extra_server}\n\n[[tenant]]\nname = \"echo\"\ncomponent = \"{ECHO_COMPONENT}\"\n"
    )
}

/// Runs `hostel tenants <args>` against `server`; (success, stdout + stderr).
fn cli(server: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hostel"))
        .args(["tenants", "--server", server])
        .args(args)
        .env("HOSTEL_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .expect("run hostel tenants");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn deploy(h: &Hostel, name: &str, component: &str, settings: &str) -> (bool, String) {
    let file = h.dir.join(format!("{name}-settings.toml"));
    std::fs::write(&file, settings).unwrap();
    cli(&format!("http://{}", h.addr), &["deploy", name, component, "--settings", file.to_str().unwrap()])
}

fn admin(h: &Hostel, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Value) {
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let mut all = vec![("authorization", auth.as_str())];
    all.extend_from_slice(headers);
    let r = h.request(method, path, &all, body);
    (r.status, serde_json::from_slice(&r.body).unwrap_or(Value::Null))
}

/// Calls tool `echo` on `tenant`: `Ok(text)` on success, else `Err(why)`.
fn call(addr: std::net::SocketAddr, tenant: &str, token: Option<&str>) -> Result<String, String> {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": "echo", "arguments": { "text": "hi" } } });
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json"), ("accept", "application/json")];
    if let Some(b) = &bearer {
        headers.push(("authorization", b));
    }
    let r =
        crate::support::http(addr, "POST", &format!("/{tenant}/mcp"), &headers, body.to_string().as_bytes()).map_err(|e| e.to_string())?;
    match r.json()["result"]["content"][0]["text"].as_str() {
        Some(text) if r.status == 200 => Ok(text.to_owned()),
        _ => Err(format!("HTTP {}: {}", r.status, r.text())),
    }
}

fn echo(h: &Hostel, tenant: &str, token: Option<&str>) -> Result<String, String> {
    call(h.addr, tenant, token)
}

#[test]
fn admin_api_deploys_rotates_removes_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = Hostel::start_in(dir.path(), &config(""));
    let server = format!("http://{}", h.addr);
    assert_eq!(h.request("GET", "/admin/tenants", &[], b"").status, 401);
    assert_eq!(h.request("GET", "/admin/tenants", &[("authorization", "Bearer nope")], b"").status, 401);

    let (ok, out) = deploy(&h, "calc", ECHO_COMPONENT, "tokens = [\"t1\"]\n[limits]\nmemory_mib = 32\n");
    assert!(ok, "{out}");
    assert_eq!(echo(&h, "calc", Some("t1")).unwrap(), "hi");
    assert!(echo(&h, "calc", None).is_err(), "tokens apply");
    let (ok, out) = cli(&server, &["list"]);
    assert!(ok && out.contains("\"calc\"") && out.contains("\"api\""), "{out}");

    // Bad operator input: clear errors, running tenants untouched.
    let bad = |name: &str, component: &str, settings: &str, want: &str| {
        let (ok, out) = deploy(&h, name, component, settings);
        assert!(!ok && out.contains(want), "{name}: expected `{want}` in:\n{out}");
    };
    let junk = h.dir.join("junk.wasm");
    std::fs::write(&junk, b"definitely not wasm").unwrap();
    bad("calc", junk.to_str().unwrap(), "", "not a WebAssembly file");
    let core = h.dir.join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    bad("calc", core.to_str().unwrap(), "", "core WebAssembly module");
    bad("calc", ECHO_COMPONENT, "tokens = 5", "settings");
    bad("calc", ECHO_COMPONENT, "colour = \"red\"", "unknown field");
    bad("echo", ECHO_COMPONENT, "", "config file");
    bad("Calc", ECHO_COMPONENT, "", "invalid tenant name");
    bad("admin", ECHO_COMPONENT, "", "reserved for the admin API");
    bad("calc", UNLINKABLE_COMPONENT, "", "imports something Hostel does not provide");
    let (ok, out) = deploy(&h, "other", ECHO_COMPONENT, "hosts = [\"x.test\"]\n");
    assert!(ok, "{out}");
    bad("clash", ECHO_COMPONENT, "hosts = [\"x.test\"]\n", "already routes");
    assert_eq!(echo(&h, "calc", Some("t1")).unwrap(), "hi", "calc still serves");
    assert_eq!(echo(&h, "echo", None).unwrap(), "hi");
    let (status, v) = admin(&h, "PUT", "/admin/tenants/calc", &[("content-type", "application/wasm")], b"\0asm");
    assert_eq!(status, 400, "{v}");
    let bearer = format!("Bearer {ADMIN_TOKEN}");
    for (method, path, allow) in [
        ("DELETE", "/admin/tenants", "GET"),
        ("POST", "/admin/tenants/calc", "GET, PUT, DELETE"),
        ("GET", "/admin/tenants/calc/tokens", "PUT"),
    ] {
        let r = h.request(method, path, &[("authorization", &bearer)], b"");
        assert_eq!((r.status, r.header("allow")), (405, Some(allow)), "{method} {path}");
    }

    // Rotate tokens: the old one stops working, the new one works.
    let (ok, out) = cli(&server, &["tokens", "calc", "t2", "t3"]);
    assert!(ok, "{out}");
    assert!(echo(&h, "calc", Some("t1")).is_err());
    assert!(echo(&h, "calc", Some("t3")).is_ok());

    // Deployed tenants persist in the state backend.
    h.terminate();
    let h = Hostel::start_in(dir.path(), &config(""));
    let server = format!("http://{}", h.addr);
    assert_eq!(echo(&h, "calc", Some("t2")).unwrap(), "hi", "after restart");
    assert!(echo(&h, "calc", Some("t1")).is_err(), "a rejected request is counted too");
    let calc_series = || h.request("GET", "/metrics", &[], b"").text().lines().filter(|l| l.contains("tenant=\"calc\"")).count();
    assert!(calc_series() > 5, "calc has series before its removal");
    let (ok, out) = cli(&server, &["remove", "calc"]);
    assert!(ok, "{out}");
    assert!(echo(&h, "calc", Some("t2")).is_err());
    assert_eq!(calc_series(), 0, "a removed tenant's series are dropped");
    assert_eq!(echo(&h, "echo", None).unwrap(), "hi");
    assert!(h.request("GET", "/metrics", &[], b"").text().contains("hostel_requests_total{tenant=\"echo\",status=\"200\"}"));
    let (ok, out) = cli(&server, &["remove", "calc"]);
    assert!(!ok && out.contains("404"), "{out}");
    let (ok, out) = cli(&server, &["remove", "echo"]);
    assert!(!ok && out.contains("409"), "{out}");
}

/// 64 clients call a tenant nonstop while it is redeployed 20 times: not
/// one request fails.
#[test]
fn swap_under_load_fails_no_request() {
    let h = Arc::new(Hostel::start(&config("")));
    let (ok, out) = deploy(&h, "live", ECHO_COMPONENT, "");
    assert!(ok, "{out}");
    let stop = Arc::new(AtomicBool::new(false));
    let (calls, failures) = (Arc::new(AtomicUsize::new(0)), Arc::new(Mutex::new(Vec::new())));
    let load = {
        let (h, stop, calls, failures) = (h.clone(), stop.clone(), calls.clone(), failures.clone());
        std::thread::spawn(move || {
            parallel(64, move |_| {
                while !stop.load(Ordering::Relaxed) {
                    let r = call(h.addr, "live", None);
                    match r {
                        Ok(text) if text == "hi" => {
                            calls.fetch_add(1, Ordering::Relaxed);
                        }
                        other => failures.lock().unwrap().push(format!("{other:?}")),
                    }
                }
            })
        })
    };
    let started = Instant::now();
    for i in 0..20 {
        // Each deploy builds and swaps in a new version; alternating entry
        // points makes consecutive versions really differ.
        let settings = if i % 2 == 0 { "entry = \"wasi-http\"\n" } else { "entry = \"auto\"\n" };
        let (ok, out) = deploy(&h, "live", ECHO_COMPONENT, settings);
        assert!(ok, "swap {i}: {out}");
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    let failures = failures.lock().unwrap();
    assert!(failures.is_empty(), "{} failed requests during 20 swaps, e.g. {:?}", failures.len(), &failures[..failures.len().min(3)]);
    assert!(calls.load(Ordering::Relaxed) > 500, "load too light: {} calls in {:?}", calls.load(Ordering::Relaxed), started.elapsed());
}

/// With a separate admin listener the main one does not serve /admin.
#[test]
fn admin_api_on_its_own_listener() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let h = Hostel::start(&config(&format!("admin_listen = \"127.0.0.1:{port}\"")));
    let auth = format!("Bearer {ADMIN_TOKEN}");
    assert_eq!(h.request("GET", "/admin/tenants", &[("authorization", &auth)], b"").status, 404);
    let admin_addr = format!("127.0.0.1:{port}").parse().unwrap();
    let r = crate::support::http(admin_addr, "GET", "/admin/tenants", &[("authorization", &auth)], b"").unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(crate::support::http(admin_addr, "POST", "/echo/mcp", &[], b"{}").unwrap().status, 404);
}

/// Replicas on one Postgres database follow each other's deploys and removals.
#[test]
fn replicas_follow_deploys_through_postgres() {
    let db = PgDatabase::create();
    let cfg = format!("{}\n", config(&format!("state = \"{}\"\ntenant_sync_secs = 1", db.url)));
    let a = Hostel::start(&cfg);
    let b = Hostel::start(&cfg);
    let (ok, out) = deploy(&a, "shared", ECHO_COMPONENT, "tokens = [\"s\"]");
    assert!(ok, "{out}");
    let until = |what: &str, f: &dyn Fn() -> bool| {
        let start = Instant::now();
        while !f() {
            assert!(start.elapsed() < Duration::from_secs(20), "replica b never saw: {what}\n{}", b.stderr());
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    until("the deploy", &|| echo(&b, "shared", Some("s")).is_ok());
    let (ok, out) = cli(&format!("http://{}", a.addr), &["remove", "shared"]);
    assert!(ok, "{out}");
    until("the removal", &|| echo(&b, "shared", Some("s")).is_err());
}

/// SIGHUP reloads the config file with the same validate-then-swap rule:
/// a good edit adds and removes tenants live; a bad one is rejected with
/// a logged reason while the previous config keeps serving.
#[test]
fn sighup_reloads_the_config_and_rejects_bad_edits() {
    let dir = tempfile::tempdir().unwrap();
    let h = Hostel::start_in(dir.path(), &config(""));
    let file = dir.path().join("hostel.toml");
    let reload = |text: &str| {
        std::fs::write(&file, text).unwrap();
        h.signal("HUP");
    };
    let until = |what: &str, f: &dyn Fn() -> bool| {
        let start = Instant::now();
        while !f() {
            assert!(start.elapsed() < Duration::from_secs(20), "never: {what}\n{}", h.stderr());
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let good = format!(
        "{}\n[[tenant]]\nname = \"added\"\ncomponent = \"{ECHO_COMPONENT}\"\ntokens = [\"a1\"]\n",
        config("").replace("name = \"echo\"", "name = \"renamed\"")
    );
    reload(&good);
    until("the new tenant serves", &|| echo(&h, "added", Some("a1")).is_ok());
    until("the removed tenant is gone", &|| echo(&h, "echo", None).is_err());
    assert!(echo(&h, "renamed", None).is_ok());
    // A host moving from one file tenant to another (new owner listed
    // first) is one atomic swap, not a clash.
    let with_host = |owner: &str| {
        format!(
            "{}\n[[tenant]]\nname = \"added\"\ncomponent = \"{ECHO_COMPONENT}\"\ntokens = [\"a1\"]\n{}\n[[tenant]]\nname = \"renamed\"\ncomponent = \"{ECHO_COMPONENT}\"\n{}",
            config("").split("[[tenant]]").next().unwrap(),
            if owner == "added" { "hosts = [\"moving.test\"]" } else { "" },
            if owner == "renamed" { "hosts = [\"moving.test\"]" } else { "" },
        )
    };
    let host_owner = || {
        let r = h.request(
            "POST",
            "/mcp",
            &[("host", "moving.test"), ("content-type", "application/json")],
            br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
        );
        r.status
    };
    reload(&with_host("renamed"));
    until("the host routes to renamed", &|| host_owner() == 200);
    reload(&with_host("added"));
    until("the host moved to added (which wants a token)", &|| host_owner() == 401);
    let rejected = |needle: &str| h.stderr().matches("config reload rejected").count() >= 1 && h.stderr().contains(needle);
    reload("[[tenant]]\nname = \"x\"\ncomponent = ");
    until("the broken TOML is rejected", &|| rejected("invalid config"));
    reload(&format!("{good}\n[[tenant]]\nname = \"ghost\"\ncomponent = \"/nonexistent/ghost.wasm\"\n"));
    until("the missing component is rejected", &|| rejected("ghost"));
    assert!(echo(&h, "added", Some("a1")).is_ok(), "the previous config keeps serving");
    assert!(echo(&h, "renamed", None).is_ok());
    assert!(echo(&h, "ghost", None).is_err());
}

/// A too-short admin token disables the API rather than protecting it weakly.
#[test]
fn short_admin_token_disables_the_admin_api() {
    let h = Hostel::start(&format!(
        "[server]\nadmin_token_env = \"HOSTEL_TEST_SHORT_TOKEN\"\n\n[[tenant]]\nname = \"echo\"\ncomponent = \"{ECHO_COMPONENT}\"\n"
    ));
    // The harness sets HOSTEL_TEST_SHORT_TOKEN to "short".
    let r = h.request("GET", "/admin/tenants", &[("authorization", "Bearer short")], b"");
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(h.stderr().contains("admin token too short"), "{}", h.stderr());
}
