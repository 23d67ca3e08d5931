//! What operators see: `/metrics` parsed by the official Prometheus
//! client's strict OpenMetrics parser, per-request log lines, guest output
//! in the log, and request ids that continue a caller's W3C trace.

use crate::support::{Hostel, KEEPER_COMPONENT, MISBEHAVE_COMPONENT};
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

fn config() -> String {
    format!(
        "[[tenant]]\nname = \"keeper\"\ncomponent = \"{KEEPER_COMPONENT}\"\n\n\
         [[tenant]]\nname = \"bad\"\ncomponent = \"{MISBEHAVE_COMPONENT}\"\n[tenant.limits]\nmax_concurrent = 1\ntimeout_ms = 2000\n"
    )
}

fn call(h: &Hostel, tenant: &str, tool: &str, args: Value, extra: &[(&str, &str)]) -> crate::support::Resp {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": tool, "arguments": args } });
    h.rpc(tenant, &body.to_string(), extra)
}

fn parse_metrics(text: &str) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/python/parse_metrics.py");
    let mut child =
        Command::new("python3").arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the Prometheus parser rejected /metrics: {}\n{text}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The value of the sample `name` whose labels include all of `labels`.
fn sample(families: &Value, family: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    families[family]["samples"]
        .as_array()
        .unwrap_or_else(|| panic!("no family `{family}` in {families}"))
        .iter()
        .find(|s| s[0] == name && labels.iter().all(|(k, v)| s[1][*k] == *v))
        .and_then(|s| s[2].as_f64())
        .unwrap_or_else(|| panic!("no sample {name}{labels:?} in {}", families[family]))
}

#[test]
fn metrics_parse_and_count_per_tenant() {
    let h = Hostel::start(&config());
    for i in 0..3 {
        let r = call(&h, "keeper", "incr", json!({ "key": "n", "by": 1 }), &[]);
        assert_eq!(r.status, 200, "{i}: {}", r.text());
    }
    assert_eq!(call(&h, "bad", "panic", json!({}), &[]).status, 500);
    assert_eq!(call(&h, "bad", "spin", json!({}), &[]).status, 504);
    let text = h.request("GET", "/metrics", &[], b"").text();
    let m = parse_metrics(&text);
    assert_eq!(sample(&m, "hostel_requests", "hostel_requests_total", &[("tenant", "keeper"), ("status", "200")]), 3.0);
    assert_eq!(sample(&m, "hostel_request_duration_seconds", "hostel_request_duration_seconds_count", &[("tenant", "keeper")]), 3.0);
    assert_eq!(
        sample(&m, "hostel_instantiate_duration_seconds", "hostel_instantiate_duration_seconds_count", &[("tenant", "keeper")]),
        3.0
    );
    assert!(sample(&m, "hostel_guest_duration_seconds", "hostel_guest_duration_seconds_sum", &[("tenant", "keeper")]) > 0.0);
    assert!(sample(&m, "hostel_kv_operations", "hostel_kv_operations_total", &[("tenant", "keeper")]) >= 3.0);
    assert!(sample(&m, "hostel_memory_peak_bytes", "hostel_memory_peak_bytes", &[("tenant", "keeper")]) >= 65536.0);
    assert_eq!(sample(&m, "hostel_traps", "hostel_traps_total", &[("tenant", "bad"), ("kind", "trap")]), 1.0);
    assert_eq!(sample(&m, "hostel_traps", "hostel_traps_total", &[("tenant", "bad"), ("kind", "deadline")]), 1.0);
    assert_eq!(sample(&m, "hostel_requests_in_flight", "hostel_requests_in_flight", &[("tenant", "keeper")]), 0.0);
    assert_eq!(sample(&m, "hostel_tenant_ready", "hostel_tenant_ready", &[("tenant", "bad")]), 1.0);
    assert_eq!(sample(&m, "hostel_compile_cache_misses", "hostel_compile_cache_misses_total", &[]), 2.0);
    assert!(sample(&m, "hostel_compile_seconds", "hostel_compile_seconds_total", &[]) > 0.0);
    assert!(sample(&m, "hostel_instances_capacity", "hostel_instances_capacity", &[]) >= 1.0);
    // A rejected request is counted as such.
    let busy = {
        let h2 = std::sync::Arc::new(h);
        let slow = {
            let h2 = h2.clone();
            std::thread::spawn(move || call(&h2, "bad", "sleep", json!({ "ms": 1500 }), &[]).status)
        };
        std::thread::sleep(std::time::Duration::from_millis(300));
        let status = call(&h2, "bad", "sleep", json!({ "ms": 1 }), &[]).status;
        slow.join().unwrap();
        let m = parse_metrics(&h2.request("GET", "/metrics", &[], b"").text());
        (status, sample(&m, "hostel_requests_rejected", "hostel_requests_rejected_total", &[("tenant", "bad"), ("reason", "busy")]))
    };
    assert_eq!(busy, (429, 1.0));
}

#[test]
fn request_ids_logs_and_guest_output() {
    let h = Hostel::start(&config());
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let r = call(&h, "keeper", "incr", json!({ "key": "n", "by": 1 }), &[("traceparent", parent)]);
    assert_eq!(r.header("x-request-id"), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    let tp = r.header("traceparent").unwrap().to_owned();
    assert!(tp.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && !tp.contains("00f067aa0ba902b7"), "{tp}");
    let fresh = call(&h, "keeper", "incr", json!({ "key": "n", "by": 1 }), &[("traceparent", "garbage")]);
    let id = fresh.header("x-request-id").unwrap().to_owned();
    assert!(id.len() == 32 && id != "4bf92f3577b34da6a3ce929d0e0e4736", "{id}");
    // The guest's stderr (a panic message) lands in the log with the request id.
    let p = call(&h, "bad", "panic", json!({}), &[]);
    let pid = p.header("x-request-id").unwrap().to_owned();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let log = h.stderr();
    let line = log
        .lines()
        .find(|l| l.contains("request_id=4bf92f3577b34da6a3ce929d0e0e4736") && l.contains("hostel::request"))
        .unwrap_or_else(|| panic!("no request line:\n{log}"));
    for field in ["tenant=\"keeper\"", "mcp_method=\"tools/call\"", "tool=\"incr\"", "status=200", "duration_us=", "instance_us="] {
        assert!(line.contains(field), "`{field}` missing in {line}");
    }
    assert!(
        log.lines().any(|l| l.contains("hostel::guest") && l.contains(&pid) && l.contains("panicked")),
        "guest output not logged:\n{log}"
    );
}

/// A minimal OTLP/HTTP collector: answers 200 and hands over each body.
fn collector() -> (String, std::sync::mpsc::Receiver<Vec<u8>>) {
    use std::io::{BufRead, BufReader, Read};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/traces", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut len = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            if reader.read_exact(&mut body).is_ok() {
                let _ = reader.get_mut().write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}");
                let _ = tx.send(body);
            }
        }
    });
    (url, rx)
}

#[test]
fn spans_export_over_otlp() {
    let (url, bodies) = collector();
    let h = Hostel::start(&format!("[server]\notel_endpoint = \"{url}\"\notel_service_name = \"hostel-test\"\n{}", config()));
    let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let r = call(&h, "keeper", "incr", json!({ "key": "n", "by": 1 }), &[("traceparent", parent)]);
    let span_id = r.header("traceparent").unwrap().split('-').nth(2).unwrap().to_owned();
    let body = bodies.recv_timeout(std::time::Duration::from_secs(10)).expect("no OTLP export within 10 s");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/python/check_otlp.py");
    let mut child =
        Command::new("python3").arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(&body).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "not a valid ExportTraceServiceRequest: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&body)
    );
    let spans: Value = serde_json::from_slice(&out.stdout).unwrap();
    let span = &spans[0];
    assert_eq!(span["service"], "hostel-test");
    assert_eq!(
        (span["trace_id"].as_str(), span["parent_span_id"].as_str()),
        (Some("4bf92f3577b34da6a3ce929d0e0e4736"), Some("00f067aa0ba902b7"))
    );
    assert_eq!(span["span_id"], span_id.as_str(), "the span the response's traceparent names");
    assert_eq!((span["name"].as_str(), span["kind"].as_i64()), (Some("tools/call incr"), Some(2)));
    assert_eq!(
        (span["attributes"]["hostel.tenant"].as_str(), span["attributes"]["http.response.status_code"].as_i64()),
        (Some("keeper"), Some(200))
    );
    assert!(span["duration_ns"].as_u64().unwrap() > 0);
}

/// `--log-format json`: one JSON object per line, the request line carrying
/// its fields.
#[test]
fn json_logs_carry_the_request_fields() {
    let h = Hostel::start_with(&config(), &["--log-format", "json"]);
    let r = call(&h, "keeper", "incr", json!({ "key": "n", "by": 1 }), &[]);
    let id = r.header("x-request-id").unwrap().to_owned();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let log = h.stderr();
    let lines: Vec<Value> = log.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    let line = lines
        .iter()
        .find(|l| l["target"] == "hostel::request" && l["fields"]["request_id"] == id.as_str())
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(
        (line["fields"]["tenant"].as_str(), line["fields"]["tool"].as_str(), line["fields"]["status"].as_u64()),
        (Some("keeper"), Some("incr"), Some(200))
    );
}
