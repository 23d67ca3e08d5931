//! The MCP wire behaviour of [`Server::handle`], both eras, natively.

use crate::http::HttpRequest;
use crate::protocol::MAX_BATCH;
use crate::*;
use crate::{JsonSchema, ToolError};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize, JsonSchema)]
struct Args {
    /// Text.
    text: String,
}

fn server() -> Server {
    Server::new("t", "1")
        .tool("echo", "echo", |a: Args, _: &Ctx| Ok(ToolResult::text(a.text)))
        .tool("fail", "fail", |_: Args, _: &Ctx| Err(ToolError::new("nope")))
}

fn post(body: &str) -> (u16, Value) {
    post_with(&[], body)
}

fn post_with(headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let req = HttpRequest { method: "POST".into(), path: "/t/mcp".into(), headers, body: body.into() };
    let resp = server().handle(&req);
    let v = if resp.body.is_empty() { Value::Null } else { serde_json::from_slice(&resp.body).unwrap() };
    (resp.status, v)
}

#[test]
fn error_codes() {
    assert_eq!(post("{").1["error"]["code"], -32700);
    assert_eq!(post(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#).1["error"]["code"], -32600);
    assert_eq!(post(r#"{"jsonrpc":"2.0","id":1,"method":"nope"}"#).1["error"]["code"], -32601);
    let (s, v) = post(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":3}}}"#);
    assert_eq!((s, v["error"]["code"].clone(), v["id"].clone()), (200, json!(-32602), json!(7)));
    assert_eq!(post(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).0, 202);
}

#[test]
fn tools() {
    let (_, v) = post(r#"{"jsonrpc":"2.0","id":"a","method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}"#);
    assert_eq!(v["result"]["content"][0]["text"], "hi");
    let (_, v) = post(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"fail","arguments":{"text":"x"}}}"#);
    assert_eq!(v["result"]["isError"], true);
    let (_, v) = post(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
    assert_eq!(v["result"]["tools"][0]["inputSchema"]["properties"]["text"]["type"], "string");
    let (_, v) = post(r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"1999-01-01"}}"#);
    assert_eq!(v["result"]["protocolVersion"], LEGACY_PROTOCOL_VERSIONS[0]);
}

#[test]
fn transport_rules_of_the_legacy_revisions() {
    let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
    // Accept: JSON (alone or with SSE, or wildcards) is fine; else 406.
    for ok in ["application/json", "application/json, text/event-stream", "*/*", "text/event-stream;q=0.9, application/*"] {
        assert_eq!(post_with(&[("accept", ok)], ping).0, 200, "{ok}");
    }
    let (s, v) = post_with(&[("accept", "text/html")], ping);
    assert_eq!((s, v["error"]["code"].clone()), (406, json!(-32600)));
    // Content-Type must be JSON (parameters allowed); else 415.
    assert_eq!(post_with(&[("content-type", "application/json; charset=utf-8")], ping).0, 200);
    assert_eq!(post_with(&[("content-type", "text/plain")], ping).0, 415);
    // MCP-Protocol-Version: known revisions pass, others are 400.
    for v in LEGACY_PROTOCOL_VERSIONS {
        assert_eq!(post_with(&[("mcp-protocol-version", v)], ping).0, 200, "{v}");
    }
    let (s, v) = post_with(&[("mcp-protocol-version", "1999-01-01")], ping);
    assert_eq!(s, 400);
    assert!(v["error"]["message"].as_str().unwrap().contains("1999-01-01"), "{v}");
    // A session id sent by a client is tolerated (stateless server).
    assert_eq!(post_with(&[("mcp-session-id", "abc")], ping).0, 200);
}

#[test]
fn batches_only_in_2025_03_26_and_bounded() {
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":2,"method":"nope"},{"jsonrpc":"1.0","id":3,"method":"ping"}]"#;
    for headers in [&[][..], &[("mcp-protocol-version", "2025-03-26")][..]] {
        let (s, v) = post_with(headers, batch);
        assert_eq!(s, 200);
        let ids: Vec<_> = v.as_array().unwrap().iter().map(|r| (r["id"].clone(), r["error"]["code"].clone())).collect();
        assert_eq!(ids, [(json!(1), Value::Null), (json!(2), json!(-32601)), (json!(3), json!(-32600))]);
    }
    let (s, v) = post(r#"[{"jsonrpc":"2.0","method":"notifications/initialized"}]"#);
    assert_eq!((s, v), (202, Value::Null));
    for version in ["2025-06-18", "2025-11-25"] {
        let (s, v) = post_with(&[("mcp-protocol-version", version)], batch);
        assert_eq!((s, v["error"]["code"].clone()), (400, json!(-32600)), "{version}");
    }
    assert_eq!(post("[]").0, 400);
    let big = format!("[{}]", vec![r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#; MAX_BATCH + 1].join(","));
    assert_eq!(post(&big).0, 400);
}

/// A 2026-07-28 request: headers mirror the body, `_meta` complete.
fn modern(method: &str, params: Value, extra: &[(&str, &str)]) -> (u16, Value, HttpResponse) {
    modern_on(&stateless_server(), method, params, extra)
}

fn modern_on(server: &Server, method: &str, mut params: Value, extra: &[(&str, &str)]) -> (u16, Value, HttpResponse) {
    let meta = params.as_object_mut().unwrap().entry("_meta").or_insert_with(|| json!({}));
    let meta = meta.as_object_mut().unwrap();
    meta.entry("io.modelcontextprotocol/protocolVersion").or_insert(json!("2026-07-28"));
    meta.entry("io.modelcontextprotocol/clientCapabilities").or_insert(json!({ "elicitation": {} }));
    let name = params.get("name").or(params.get("uri")).and_then(Value::as_str).map(str::to_owned);
    let mut headers = vec![
        ("mcp-protocol-version".to_string(), "2026-07-28".to_string()),
        ("mcp-method".to_string(), method.to_string()),
        ("accept".to_string(), "application/json, text/event-stream".to_string()),
    ];
    if let Some(name) = name {
        headers.push(("mcp-name".into(), name));
    }
    for (k, v) in extra {
        headers.retain(|(h, _)| h != k);
        headers.push((k.to_string(), v.to_string()));
    }
    let body = json!({ "jsonrpc": "2.0", "id": 9, "method": method, "params": params });
    let req = HttpRequest { method: "POST".into(), path: "/t/mcp".into(), headers, body: body.to_string().into() };
    let resp = server.handle(&req);
    let v = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    (resp.status, v, resp)
}

fn stateless_server() -> Server {
    server()
        .tool("ask", "asks a name", |_: Args, ctx: &Ctx| match (ctx.input("who"), ctx.request_state()) {
            (Some(a), Some(s)) => {
                Ok(ToolResult::text(format!("{} {}", s["greet"].as_str().unwrap(), a["content"]["name"].as_str().unwrap())))
            }
            _ => Err(InputRequired::new().elicit("who", "Name?", json!({"type":"object"})).state(json!({"greet":"hi"})).into()),
        })
        .tool("sample", "needs sampling", |_: Args, _: &Ctx| Err(InputRequired::new().sample("s", "q", 10).into()))
        .tool("slow", "reports progress", |_: Args, ctx: &Ctx| {
            ctx.progress(1.0, Some(2.0), None);
            ctx.log(LogLevel::Info, "working");
            Ok(ToolResult::text("done"))
        })
        .resource("r://a", ResourceInfo::new("a", "A", "text/plain"), |_| Ok(vec![ResourceContents::text("r://a", "text/plain", "A")]))
        .page_size(1)
}

#[test]
fn stateless_envelope_is_checked_in_order() {
    let (s, v, _) = modern("server/discover", json!({}), &[]);
    assert_eq!((s, &v["result"]["supportedVersions"], &v["result"]["resultType"]), (200, &json!(["2026-07-28"]), &json!("complete")));
    assert_eq!(v["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "t");
    assert!(v["result"]["ttlMs"].is_u64() && v["result"]["cacheScope"] == "private", "{v}");
    // Missing _meta keys → -32602 (before any mismatch check), id echoed.
    let raw = |headers: &[(&str, &str)], body: Value| {
        let headers = headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let resp = server().handle(&HttpRequest { method: "POST".into(), path: "/".into(), headers, body: body.to_string().into() });
        (resp.status, serde_json::from_slice::<Value>(&resp.body).unwrap())
    };
    let hdr = [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "server/discover")];
    let (s, v) = raw(&hdr, json!({"jsonrpc":"2.0","id":101,"method":"server/discover","params":{}}));
    assert_eq!((s, &v["error"]["code"], &v["id"]), (400, &json!(-32602), &json!(101)));
    let meta =
        |version: &str| json!({"io.modelcontextprotocol/protocolVersion": version, "io.modelcontextprotocol/clientCapabilities": {}});
    let (s, v) = raw(&hdr, json!({"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta": meta("v9")}}));
    assert_eq!((s, &v["error"]["code"]), (400, &json!(-32020)));
    let hdr9 = [("mcp-protocol-version", "v9"), ("mcp-method", "server/discover")];
    let (s, v) = raw(&hdr9, json!({"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta": meta("v9")}}));
    assert_eq!((s, &v["error"]["code"], &v["error"]["data"]["requested"]), (400, &json!(-32022), &json!("v9")));
    // Headers must agree with the body.
    let (s, v, _) = modern("tools/list", json!({}), &[("mcp-method", "prompts/list")]);
    assert_eq!((s, &v["error"]["code"]), (400, &json!(-32020)));
    let (s, _, _) = modern("tools/call", json!({"name":"echo","arguments":{"text":"x"}}), &[("mcp-name", "fail")]);
    assert_eq!(s, 400);
    let (s, v, _) = modern("tools/call", json!({"name":"echo","arguments":{"text":"x"}}), &[("mcp-name", " =?base64?ZWNobw==?= ")]);
    assert_eq!((s, &v["result"]["content"][0]["text"]), (200, &json!("x")), "{v}");
    // Handshake-era methods are gone.
    for method in ["initialize", "ping", "logging/setLevel", "resources/subscribe", "nope"] {
        let (s, v, _) = modern(method, json!({}), &[]);
        assert_eq!((s, &v["error"]["code"]), (404, &json!(-32601)), "{method}");
    }
    // A header without the stateless body is a version this server lacks.
    let (s, v) = post_with(&[("mcp-protocol-version", "2030-01-01")], r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
    assert_eq!((s, &v["error"]["code"]), (400, &json!(-32022)));
}

#[test]
fn input_required_round_trip_with_sealed_state() {
    let (_, v, _) = modern("tools/call", json!({"name":"ask","arguments":{"text":""}}), &[]);
    let r = &v["result"];
    assert_eq!((&r["resultType"], &r["inputRequests"]["who"]["method"]), (&json!("input_required"), &json!("elicitation/create")));
    let state = r["requestState"].as_str().unwrap().to_owned();
    let answer = json!({"who": {"action":"accept","content":{"name":"Ada"}}});
    let retry = |state: &str, inputs: &Value| {
        modern("tools/call", json!({"name":"ask","arguments":{"text":""},"inputResponses":inputs,"requestState":state}), &[])
    };
    assert_eq!(retry(&state, &answer).1["result"]["content"][0]["text"], "hi Ada");
    let (_, v, _) = retry(&format!("{state}-TAMPERED"), &answer);
    assert_eq!(v["error"]["code"], -32602, "{v}");
    assert_eq!(retry(&state, &json!({"who": 5})).1["error"]["code"], -32602);
    // Input requests need the matching client capability (-32021, HTTP 400).
    let (s, v, _) = modern("tools/call", json!({"name":"sample","arguments":{"text":""}}), &[]);
    assert_eq!((s, &v["error"]["code"], &v["error"]["data"]["requiredCapabilities"]), (400, &json!(-32021), &json!({"sampling":{}})));
    // Before 2026-07-28 there is no way to ask: a clear error.
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ask","arguments":{"text":""}}}"#;
    let resp = stateless_server().handle(&HttpRequest { method: "POST".into(), path: "/".into(), headers: vec![], body: body.into() });
    let v: Value = serde_json::from_slice(&resp.body).unwrap();
    assert_eq!(v["error"]["code"], -32600, "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("2026-07-28"), "{v}");
}

#[test]
fn notifications_ride_an_sse_response() {
    let mut params =
        json!({"name":"slow","arguments":{"text":""},"_meta":{"progressToken":"p1","io.modelcontextprotocol/logLevel":"info"}});
    let (_, _, resp) = modern("tools/call", params.clone(), &[]);
    assert!(resp.headers.contains(&("content-type".into(), "text/event-stream".into())));
    let events: Vec<Value> = String::from_utf8(resp.body)
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(
        (&events[0]["params"]["progressToken"], &events[1]["method"], &events[2]["id"]),
        (&json!("p1"), &json!("notifications/message"), &json!(9))
    );
    // Without a log level (2026-07-28) no log; JSON-only clients get JSON.
    params["_meta"].as_object_mut().unwrap().remove("io.modelcontextprotocol/logLevel");
    let (_, v, resp) = modern("tools/call", params, &[("accept", "application/json")]);
    assert_eq!((resp.headers[0].1.as_str(), &v["result"]["content"][0]["text"]), ("application/json", &json!("done")));
}

#[test]
fn lists_page_and_resources_resolve() {
    let (_, v, _) = modern("tools/list", json!({}), &[]);
    assert_eq!(v["result"]["tools"].as_array().unwrap().len(), 1);
    let mut cursor = v["result"]["nextCursor"].as_str().unwrap().to_owned();
    let mut seen = 1;
    loop {
        let (_, v, _) = modern("tools/list", json!({"cursor": cursor}), &[]);
        seen += v["result"]["tools"].as_array().unwrap().len();
        match v["result"]["nextCursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, 5);
    assert_eq!(modern("tools/list", json!({"cursor": "bogus"}), &[]).1["error"]["code"], -32602);
    let (_, v, _) = modern("resources/read", json!({"uri":"r://a"}), &[]);
    assert_eq!((&v["result"]["contents"][0]["text"], &v["result"]["cacheScope"]), (&json!("A"), &json!("private")));
    let (_, v, _) = modern("resources/read", json!({"uri":"r://nope"}), &[]);
    assert_eq!((&v["error"]["code"], &v["error"]["data"]["uri"]), (&json!(-32602), &json!("r://nope")));
    let (_, v) = post(r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"r://nope"}}"#);
    assert_eq!(v["error"]["code"], -32002, "{v}");
}
