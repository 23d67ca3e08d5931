//! MCP through the host: the SDK's protocol answers, tenant isolation of
//! tools, headers the guest may and may not see.

use crate::support::{demo_config, Hostel, EVERYTHING_COMPONENT};
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

/// A 2026-07-28 `tools/call` of `tool` with its headers and `_meta`.
fn stateless_call(h: &Hostel, tenant: &str, tool: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut params = json!({ "name": tool, "arguments": {}, "_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": { "elicitation": {} } } });
    params.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params }).to_string();
    let headers = [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call"), ("mcp-name", tool)];
    h.rpc(tenant, &body, &headers).json()
}

/// Sealed request state is checked by a fresh instance with the host's
/// per-tenant key: accepted by the tenant that issued it (also after a
/// restart), refused when altered or replayed to another tenant running
/// the very same component.
#[test]
fn sealed_request_state_is_per_tenant_and_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[[tenant]]\nname = \"a\"\ncomponent = \"{EVERYTHING_COMPONENT}\"\n\n[[tenant]]\nname = \"b\"\ncomponent = \"{EVERYTHING_COMPONENT}\"\n"
    );
    let tool = "test_input_required_result_request_state";
    let mut h = Hostel::start_in(dir.path(), &config);
    let first = stateless_call(&h, "a", tool, json!({}));
    assert_eq!(first["result"]["resultType"], "input_required", "{first}");
    let state = first["result"]["requestState"].as_str().unwrap().to_owned();
    let answer = json!({ "confirm": { "action": "accept", "content": { "ok": true } } });
    let retry =
        |h: &Hostel, tenant: &str, state: &str| stateless_call(h, tenant, tool, json!({ "inputResponses": answer, "requestState": state }));
    assert_eq!(retry(&h, "a", &state)["result"]["content"][0]["text"], "state-ok");
    let other = retry(&h, "b", &state);
    assert_eq!(other["error"]["code"], -32602, "tenant b must refuse a's state: {other}");
    let mut forged = state.clone();
    forged.insert(3, if forged.as_bytes()[3] == b'A' { 'B' } else { 'A' });
    assert_eq!(retry(&h, "a", &forged)["error"]["code"], -32602);
    h.terminate();
    let h = Hostel::start_in(dir.path(), &config);
    assert_eq!(retry(&h, "a", &state)["result"]["content"][0]["text"], "state-ok", "the key outlives a restart");
}

/// Bad 2026-07-28 input through the host: each gets the revision's code.
#[test]
fn stateless_revision_errors_through_the_host() {
    let h = Hostel::start(&format!("[[tenant]]\nname = \"e\"\ncomponent = \"{EVERYTHING_COMPONENT}\"\n"));
    let meta = json!({ "io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {} });
    let send = |method: &str, params: serde_json::Value, headers: &[(&str, &str)]| {
        let r = h.rpc("e", &json!({ "jsonrpc": "2.0", "id": 7, "method": method, "params": params }).to_string(), headers);
        (r.status, r.json()["error"]["code"].clone(), r.json()["id"].clone())
    };
    let v = [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/list")];
    assert_eq!(send("tools/list", json!({}), &v), (400, json!(-32602), json!(7)));
    assert_eq!(send("tools/list", json!({ "_meta": meta }), &[v[0], ("mcp-method", "tools/call")]), (400, json!(-32020), json!(7)));
    let call = [v[0], ("mcp-method", "tools/call"), ("mcp-name", "test_simple_text")];
    assert_eq!(send("tools/call", json!({ "name": "test_simple_txt", "_meta": meta }), &call), (400, json!(-32020), json!(7)));
    assert_eq!(send("tools/call", json!({ "name": "test_simple_text", "arguments": 3, "_meta": meta }), &call).1, json!(-32602));
    assert_eq!(send("ping", json!({ "_meta": meta }), &[v[0], ("mcp-method", "ping")]), (404, json!(-32601), json!(7)));
    let caps = [v[0], ("mcp-method", "tools/call"), ("mcp-name", "test_missing_capability")];
    assert_eq!(send("tools/call", json!({ "name": "test_missing_capability", "_meta": meta }), &caps), (400, json!(-32021), json!(7)));
    let r = h.rpc("e", "[]", &[v[0]]);
    assert_eq!((r.status, r.json()["error"]["code"].clone()), (400, json!(-32600)));
    let r =
        h.request("POST", "/e/mcp", &[("content-type", "application/json"), v[0]], b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\xff\"}");
    assert_eq!((r.status, r.json()["error"]["code"].clone()), (400, json!(-32700)));
}
