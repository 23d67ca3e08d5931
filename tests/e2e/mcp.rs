//! MCP through the host: the SDK's protocol answers, tenant isolation of
//! tools, headers the guest may and may not see.

use crate::support::{demo_config, Hostel};
use serde_json::json;

#[test]
fn tools_on_two_tenants() {
    let h = Hostel::start(&demo_config());
    let auth = [("authorization", "Bearer tok-words")];

    let init = h.rpc("echo", r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#, &[]);
    let v = init.json();
    assert_eq!(v["result"]["protocolVersion"], "2025-06-18");
    assert_eq!(v["result"]["serverInfo"]["name"], "echo");
    assert_eq!(h.rpc("echo", r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, &[]).status, 202);

    let tools = h.rpc("echo", r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#, &[]).json();
    let names: Vec<_> = tools["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["echo", "add", "whoami", "header_names", "header", "counter"]);
    assert_eq!(tools["result"]["tools"][1]["inputSchema"]["properties"]["a"]["type"], "integer");

    let words = h.rpc("words", r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#, &auth).json();
    assert_eq!(words["result"]["tools"][0]["name"], "reverse");

    let call = |tenant: &str, name: &str, args: serde_json::Value, extra: &[(&str, &str)]| {
        let body = json!({"jsonrpc":"2.0","id":"c","method":"tools/call","params":{"name":name,"arguments":args}});
        h.rpc(tenant, &body.to_string(), extra).json()
    };
    assert_eq!(call("echo", "echo", json!({"text":"héllo"}), &[])["result"]["content"][0]["text"], "héllo");
    assert_eq!(call("echo", "add", json!({"a":2,"b":40}), &[])["result"]["structuredContent"]["sum"], 42);
    assert_eq!(call("echo", "whoami", json!({}), &[])["result"]["content"][0]["text"], "/echo/mcp");
    assert_eq!(call("words", "reverse", json!({"text":"abc"}), &auth)["result"]["content"][0]["text"], "cba");
    // A tool failure is an isError result, not a protocol error.
    let r = call("words", "repeat", json!({"text":"a","times":0}), &auth);
    assert_eq!(r["result"]["isError"], true);
    // A tool of another tenant does not exist here.
    assert_eq!(call("echo", "reverse", json!({"text":"abc"}), &[])["error"]["code"], -32602);
    // Overflow inside the guest is a tool error too.
    assert_eq!(call("echo", "add", json!({"a":i64::MAX,"b":1}), &[])["result"]["isError"], true);
}

#[test]
fn jsonrpc_errors_from_the_sdk() {
    let h = Hostel::start(&demo_config());
    let code = |body: &str| {
        let r = h.rpc("echo", body, &[]);
        (r.status, r.json()["error"]["code"].as_i64().unwrap(), r.json()["id"].clone())
    };
    assert_eq!(code("{not json"), (400, -32700, json!(null)));
    assert_eq!(code(r#"{"jsonrpc":"2.0","id":5}"#), (400, -32600, json!(5)));
    assert_eq!(code(r#"{"jsonrpc":"2.0","id":6,"method":"no/such"}"#), (200, -32601, json!(6)));
    assert_eq!(
        code(r#"{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"add","arguments":{"a":"1"}}}"#),
        (200, -32602, json!("x"))
    );
    assert_eq!(code(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"arguments":{}}}"#), (200, -32602, json!(7)));
}

#[test]
fn guest_never_sees_credentials_or_host_headers() {
    let config = format!("[[tenant]]\nname = \"echo\"\ncomponent = \"{}\"\ntokens = [\"secret-token\"]\n", crate::support::ECHO_COMPONENT);
    let h = Hostel::start(&config);
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"header_names","arguments":{}}}"#;
    let r = h.rpc(
        "echo",
        body,
        &[("authorization", "Bearer secret-token"), ("x-hostel-tenant", "other"), ("x-custom", "kept"), ("proxy-authorization", "Basic x")],
    );
    let names = r.json()["result"]["structuredContent"]["names"].clone();
    let names: Vec<String> = serde_json::from_value(names).unwrap();
    assert!(names.contains(&"x-custom".to_string()), "{names:?}");
    assert!(names.contains(&"content-type".to_string()), "{names:?}");
    for hidden in ["authorization", "proxy-authorization", "connection"] {
        assert!(!names.contains(&hidden.to_string()), "guest saw `{hidden}`: {names:?}");
    }
    // `x-hostel-tenant` is the host's: a client cannot forge it.
    let body = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"header","arguments":{"name":"x-hostel-tenant"}}}"#;
    let r = h.rpc("echo", body, &[("authorization", "Bearer secret-token"), ("x-hostel-tenant", "other")]);
    assert_eq!(r.json()["result"]["structuredContent"]["value"], "echo", "{}", r.text());
}
