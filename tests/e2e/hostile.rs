//! Hostile tenants and hostile clients: poison requests mixed into load,
//! stalled bodies, slow and oversized request heads, a corpus of malformed
//! input plus property-based fuzzing over real HTTP, and `kill -9` during
//! a stream of acknowledged writes.

use crate::support::{
    call_tool, http, parallel, Hostel, PgDatabase, ECHO_COMPONENT, KEEPER_COMPONENT, MISBEHAVE_COMPONENT, STALL_COMPONENT,
    WORDSMITH_COMPONENT,
};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn call(tool: &str, args: serde_json::Value, id: usize) -> String {
    json!({"jsonrpc":"2.0","id":id,"method":"tools/call","params":{"name":tool,"arguments":args}}).to_string()
}

const POISON: &[&str] = &["spin", "panic", "oom", "recurse", "unreachable"];

/// 2,000 requests at 64-way concurrency, every 20th a poison request
/// (deadline, trap, OOM, stack overflow) to a tenant that also serves
/// healthy requests: every healthy request succeeds, every poison request
/// fails cleanly, and resident memory ends where a healthy run left it.
#[test]
fn poison_mixed_into_load_hurts_only_itself() {
    let config = format!(
        "[[tenant]]\nname = \"bad\"\ncomponent = \"{MISBEHAVE_COMPONENT}\"\n[tenant.limits]\ntimeout_ms = 1000\nmemory_mib = 16\n\n\
         [[tenant]]\nname = \"echo\"\ncomponent = \"{ECHO_COMPONENT}\"\n"
    );
    let h = Hostel::start(&config);
    let addr = h.addr;
    let healthy = move |i: usize| -> Result<(), String> {
        let (path, body, want) = if i % 2 == 0 {
            ("/echo/mcp", call("echo", json!({ "text": format!("r{i}") }), i), format!("r{i}"))
        } else {
            ("/bad/mcp", call("sleep", json!({ "ms": 0 }), i), "slept".to_owned())
        };
        let r = http(addr, "POST", path, &[], body.as_bytes()).map_err(|e| e.to_string())?;
        match r.status == 200 && r.json()["result"]["content"][0]["text"] == want.as_str() {
            true => Ok(()),
            false => Err(format!("{path} #{i}: {} {}", r.status, r.text())),
        }
    };
    let run = move |total: usize, poison_every: usize| -> (Vec<String>, Vec<u16>) {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let results = parallel(64, move |_| {
            let (mut errors, mut poison) = (Vec::new(), Vec::new());
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return (errors, poison);
                }
                if poison_every > 0 && i % poison_every == 0 {
                    let tool = POISON[(i / poison_every) % POISON.len()];
                    poison.push(http(addr, "POST", "/bad/mcp", &[], call(tool, json!({}), i).as_bytes()).map_or(0, |r| r.status));
                } else if let Err(e) = healthy(i) {
                    errors.push(e);
                }
            }
        });
        results.into_iter().fold((Vec::new(), Vec::new()), |(mut e, mut p), (e2, p2)| {
            e.extend(e2);
            p.extend(p2);
            (e, p)
        })
    };

    // Warm up at the same concurrency: pool slots, caches, allocator.
    let (errors, _) = run(1000, 0);
    assert!(errors.is_empty(), "{errors:?}");
    std::thread::sleep(Duration::from_millis(500));
    let baseline = h.rss_bytes();

    let (errors, poison) = run(2000, 20);
    assert!(errors.is_empty(), "{} healthy requests failed: {:?}", errors.len(), &errors[..errors.len().min(5)]);
    assert_eq!(poison.len(), 100);
    assert!(poison.iter().all(|s| *s == 500 || *s == 504), "{poison:?}");

    std::thread::sleep(Duration::from_millis(500));
    let after = h.rss_bytes();
    eprintln!("RSS after healthy warm-up {} MiB, after poison load {} MiB", baseline >> 20, after >> 20);
    assert!(after <= baseline + baseline / 4 + (32 << 20), "memory did not return to baseline: {baseline} → {after}");
    assert_eq!(h.request("GET", "/healthz", &[], b"").status, 200);
}

/// A guest that promises a body and never finishes it gets a 504 when the
/// deadline hits, never a truncated 200; other tenants are unaffected.
#[test]
fn stalled_response_body_is_504_not_truncated() {
    let config = format!(
        "[[tenant]]\nname = \"stall\"\ncomponent = \"{STALL_COMPONENT}\"\n[tenant.limits]\ntimeout_ms = 400\n\n\
         [[tenant]]\nname = \"echo\"\ncomponent = \"{ECHO_COMPONENT}\"\n"
    );
    let h = Hostel::start(&config);
    let r = h.rpc("stall", &call("anything", json!({}), 3), &[]);
    assert_eq!(r.status, 504, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], -32603);
    assert_eq!(r.json()["id"], 3);
    assert_eq!(h.rpc("echo", &call("echo", json!({"text": "fine"}), 1), &[]).json()["result"]["content"][0]["text"], "fine");
}

fn raw(addr: std::net::SocketAddr, bytes: &[u8], wait: Duration) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(bytes).unwrap();
    std::thread::sleep(wait);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn slow_and_oversized_request_heads_are_refused() {
    let config = format!(
        "[server]\nheader_read_timeout_secs = 1\nbody_read_timeout_secs = 1\nmax_headers = 20\nmax_header_bytes = 16384\n\n\
         [[tenant]]\nname = \"echo\"\ncomponent = \"{ECHO_COMPONENT}\"\n"
    );
    let h = Hostel::start(&config);
    let ping = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;

    let many: Vec<(String, String)> = (0..30).map(|i| (format!("x-h{i}"), "v".into())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(h.request("POST", "/echo/mcp", &many, ping).status, 431);
    // An oversized head: the server answers 431 as soon as its buffer is
    // full and closes, while the client may still be writing; then the
    // client sees a broken pipe or a reset instead of the answer (as any
    // client would). Either way the request is refused and the server lives.
    let big = "v".repeat(20_000);
    match http(h.addr, "POST", "/echo/mcp", &[("x-big", big.as_str())], ping) {
        Ok(r) => assert_eq!(r.status, 431, "{}", r.text()),
        Err(e) => assert!(matches!(e.kind(), std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset), "{e}"),
    }
    assert_eq!(h.request("POST", "/echo/mcp", &[], ping).status, 200);

    // Slowloris: headers never finished → the connection is closed.
    let started = std::time::Instant::now();
    let answer = raw(h.addr, b"POST /echo/mcp HTTP/1.1\r\nhost: x\r\n", Duration::ZERO);
    assert!(started.elapsed() < Duration::from_secs(5), "slow head held for {:?}", started.elapsed());
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");

    // A trickled body → 408 with a JSON-RPC error, permit released.
    let answer = raw(h.addr, b"POST /echo/mcp HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{\"json", Duration::ZERO);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request body not received within 1 s"), "{answer}");
    assert_eq!(h.request("POST", "/echo/mcp", &[], ping).status, 200);
}

/// Malformed input of every kind gets a 4xx (and a JSON-RPC error where a
/// body is expected); nothing reaches another tenant, nothing panics.
#[test]
fn malformed_input_corpus_gets_4xx_and_nothing_breaks() {
    let config = format!(
        "[[tenant]]\nname = \"echo\"\ncomponent = \"{ECHO_COMPONENT}\"\n\n\
         [[tenant]]\nname = \"plain\"\ncomponent = \"{ECHO_COMPONENT}\"\nentry = \"wasi-http\"\n\n\
         [[tenant]]\nname = \"words\"\ncomponent = \"{WORDSMITH_COMPONENT}\"\ntokens = [\"tok-words\"]\n"
    );
    let h = Hostel::start(&config);
    let ping = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#.to_vec();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let batch = format!("[{}]", vec![r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#; 5000].join(","));
    let huge_string = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{}"}}"#, "m".repeat(1 << 20));
    // (path, headers, body, HTTP status, JSON-RPC error code)
    let cases: Vec<(&str, Vec<(&str, &str)>, Vec<u8>, u16, i64)> = vec![
        ("/echo/mcp", vec![], b"{not json".to_vec(), 400, -32700),
        ("/echo/mcp", vec![], deep.into_bytes(), 400, -32700),
        ("/echo/mcp", vec![], batch.into_bytes(), 400, -32600),
        ("/echo/mcp", vec![], vec![0xff, 0xfe, b'{', 0x80], 400, -32700),
        (
            "/echo/mcp",
            vec![],
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":7}}}"#.to_vec(),
            200,
            -32602,
        ),
        ("/echo/mcp", vec![], huge_string.into_bytes(), 200, -32601),
        ("/echo/mcp", vec![("content-type", "text/plain")], b"hello".to_vec(), 415, -32600),
        ("/echo/mcp", vec![("accept", "text/html")], b"{}".to_vec(), 406, -32600),
        // -32022: the code MCP 2026-07-28 gives an unsupported protocol version.
        ("/echo/mcp", vec![("mcp-protocol-version", "1999-01-01")], b"{}".to_vec(), 400, -32022),
        ("/words/mcp", vec![("authorization", "Bearer tok-nope"), ("authorization", "Bearer tok-words")], b"{}".to_vec(), 401, -32000),
        ("/words/mcp", vec![("authorization", "Basic dG9rLXdvcmRzOg==")], b"{}".to_vec(), 401, -32000),
        ("/echo/../words/mcp", vec![], b"{}".to_vec(), 404, -32000),
        ("/%2e%2e/words/mcp", vec![], b"{}".to_vec(), 404, -32000),
        ("/WORDS/mcp", vec![], b"{}".to_vec(), 404, -32000),
        ("/w%C3%B6rds/mcp", vec![], b"{}".to_vec(), 404, -32000),
        ("/words%2Fmcp", vec![], b"{}".to_vec(), 404, -32000),
        // Not visible ASCII: a client error on either entry point (wasi:http
        // cannot even carry such a Host), and an Origin that is present.
        ("/plain/mcp", vec![("host", "a\u{ff}")], ping.clone(), 400, -32000),
        ("/echo/mcp", vec![("host", "a\u{ff}")], ping.clone(), 400, -32000),
        ("/echo/mcp", vec![("origin", "http://localhost\u{ff}")], ping.clone(), 403, -32000),
    ];
    for (path, headers, body, want, code) in cases {
        let r = h.request("POST", path, &headers, &body);
        let shown = String::from_utf8_lossy(&body[..body.len().min(60)]).into_owned();
        assert_eq!((r.status, r.json()["error"]["code"].as_i64()), (want, Some(code)), "{path} {shown}: {}", r.text());
        assert!(r.json()["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{path} {shown}: {}", r.text());
    }
    assert_eq!(h.request("GET", "/healthz", &[], b"").status, 200);
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    /// Statuses a hostile request may get; 5xx means a bug.
    const ALLOWED: &[u16] = &[200, 202, 204, 400, 401, 403, 404, 405, 406, 413, 415, 429, 431];

    /// One server for every case, owned by the test so it is stopped when
    /// the test ends (a `static` is never dropped, which left the child
    /// process running after the test binary exited).
    #[test]
    fn arbitrary_paths_headers_and_bodies_get_4xx_not_5xx() {
        let h = Hostel::start(&format!(
            "[[tenant]]\nname = \"echo\"\ncomponent = \"{ECHO_COMPONENT}\"\n\n\
             [[tenant]]\nname = \"words\"\ncomponent = \"{WORDSMITH_COMPONENT}\"\ntokens = [\"tok-words\"]\n"
        ));
        let strategy = (
            prop::sample::select(vec![
                "echo",
                "words",
                "..",
                "%2e%2e",
                "ECHO",
                "é",
                "echo%00",
                "",
                "a/b",
                "echo/..",
                "x".repeat(80).leak(),
            ]),
            prop::sample::select(vec!["/mcp", "/mcp/", "", "/MCP", "/mcp?x=1"]),
            prop::sample::select(vec!["POST", "GET", "PUT", "DELETE", "OPTIONS", "PATCH"]),
            prop::option::of(("[a-z][a-z0-9-]{0,20}", "[ -~]{0,64}")),
            prop::collection::vec(any::<u8>(), 0..512),
            prop::option::of(prop::sample::select(vec![
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}}"#,
                r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#,
                r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
                r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
                r#"[]"#,
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope"}}"#,
            ])),
        );
        let mut runner = TestRunner::new(Config { cases: 200, failure_persistence: None, ..Config::default() });
        let outcome = runner.run(&strategy, |(segment, tail, method, header, body, json_body)| {
            let path = format!("/{segment}{tail}");
            let body = json_body.map_or(body, |j| j.as_bytes().to_vec());
            let headers: Vec<(&str, &str)> = header.as_ref().map(|(k, v)| vec![(k.as_str(), v.as_str())]).unwrap_or_default();
            if let Ok(r) = http(h.addr, method, &path, &headers, &body) {
                prop_assert!(ALLOWED.contains(&r.status), "{method} {path} {headers:?} → {} {}", r.status, r.text());
            }
            prop_assert_eq!(h.request("GET", "/healthz", &[], b"").status, 200);
            Ok(())
        });
        outcome.unwrap_or_else(|e| panic!("{e}"));
    }
}

/// `kill -9` while writers stream acknowledged writes: after a restart,
/// every write that was acknowledged is there.
fn kill_9_loses_no_acknowledged_write(state: &str, dir: &std::path::Path) {
    let config = format!(
        "[server]\nstate = \"{state}\"\n\n[limits]\nmax_concurrent = 256\n\n[[tenant]]\nname = \"k\"\ncomponent = \"{KEEPER_COMPONENT}\"\n"
    );
    let mut h = Hostel::start_in(dir, &config);
    let addr = h.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let (stop, acked) = (stop.clone(), acked.clone());
            std::thread::spawn(move || {
                for n in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let key = format!("w{w}-{n}");
                    // Any failure (the server is gone) ends this writer.
                    let body = call("put", json!({ "key": key, "value": n }), n);
                    match http(addr, "POST", "/k/mcp", &[], body.as_bytes()) {
                        Ok(r) if r.status == 200 && r.json()["result"]["isError"].is_null() => acked.lock().unwrap().push((key, n)),
                        _ => return,
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    h.kill();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 50, "only {} writes before the kill", acked.len());
    let h = Hostel::start_in(dir, &config);
    for (key, n) in &acked {
        assert_eq!(call_tool(h.addr, "k", "get", json!({ "key": key })).unwrap()["value"], json!(n), "acknowledged write {key} lost");
    }
    eprintln!("{} acknowledged writes, all present after kill -9", acked.len());
}

#[test]
fn sqlite_kill_9_loses_no_acknowledged_write() {
    let tmp = tempfile::tempdir().unwrap();
    kill_9_loses_no_acknowledged_write(&format!("sqlite://{}/state.db", tmp.path().display()), tmp.path());
}

#[test]
fn postgres_kill_9_loses_no_acknowledged_write() {
    let db = PgDatabase::create();
    let tmp = tempfile::tempdir().unwrap();
    kill_9_loses_no_acknowledged_write(&db.url, tmp.path());
}
