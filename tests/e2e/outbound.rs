//! Outgoing HTTP from a guest reaches only the tenant's `outbound` origins
//! (scheme + host + port); anything else fails inside the guest with
//! `HttpRequestDenied`, on both entry points.

use crate::support::{Hostel, MISBEHAVE_COMPONENT};
use serde_json::json;
use std::io::{Read, Write};

/// A one-purpose upstream on 127.0.0.1: answers every request with `upstream`.
fn upstream() -> u16 {
    upstream_answering(b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\nconnection: close\r\n\r\nupstream")
}

/// An upstream that answers every request with `response`, then closes.
fn upstream_answering(response: &'static [u8]) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(response);
        }
    });
    port
}

#[test]
fn only_allowlisted_origins_are_reachable() {
    let allowed = upstream();
    let other = upstream();
    let config = format!(
        "[[tenant]]\nname = \"net\"\ncomponent = \"{MISBEHAVE_COMPONENT}\"\noutbound = [\"http://127.0.0.1:{allowed}\"]\n\n\
         [[tenant]]\nname = \"net-http\"\ncomponent = \"{MISBEHAVE_COMPONENT}\"\nentry = \"wasi-http\"\noutbound = [\"http://127.0.0.1:{allowed}\"]\n\n\
         [[tenant]]\nname = \"closed\"\ncomponent = \"{MISBEHAVE_COMPONENT}\"\n"
    );
    let h = Hostel::start(&config);
    let fetch = |tenant: &str, url: String| {
        let body = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fetch","arguments":{"url":url}}});
        let v = h.rpc(tenant, &body.to_string(), &[]).json();
        (v["result"]["isError"] == true, v["result"]["content"][0]["text"].as_str().unwrap_or_default().to_owned())
    };
    for tenant in ["net", "net-http"] {
        assert_eq!(fetch(tenant, format!("http://127.0.0.1:{allowed}/x")), (false, "upstream".to_owned()), "{tenant}");
        // Same host, another port; another host; another scheme: all denied.
        for url in [format!("http://127.0.0.1:{other}/"), "http://example.com/".to_owned(), format!("https://127.0.0.1:{allowed}/")] {
            assert_eq!(fetch(tenant, url.clone()), (true, "ErrorCode::HttpRequestDenied".to_owned()), "{tenant} {url}");
        }
    }
    // A body cut short is an error in the guest, not a partial success.
    let cut = upstream_answering(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\nconnection: close\r\n\r\nonly part");
    let config = format!("[[tenant]]\nname = \"cut\"\ncomponent = \"{MISBEHAVE_COMPONENT}\"\noutbound = [\"http://127.0.0.1:{cut}\"]\n");
    let h2 = Hostel::start(&config);
    let body = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fetch","arguments":{"url":format!("http://127.0.0.1:{cut}/")}}});
    let v = h2.rpc("cut", &body.to_string(), &[]).json();
    assert_eq!(v["result"]["isError"], true, "{v}");
    assert!(v["result"]["content"][0]["text"].as_str().unwrap_or_default().contains("reading the response body"), "{v}");
    // A tenant without `outbound` reaches nothing.
    assert_eq!(fetch("closed", format!("http://127.0.0.1:{allowed}/")), (true, "ErrorCode::HttpRequestDenied".to_owned()));
}
