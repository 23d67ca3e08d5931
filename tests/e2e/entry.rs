//! The lean export and wasi:http must be interchangeable: the same requests
//! through each give byte-identical MCP answers.

use crate::support::{Hostel, ECHO_COMPONENT};

/// MCP exchanges with the echo guest that cover results, tool errors,
/// protocol errors and malformed input.
pub const ECHO_REQUESTS: &[&str] = &[
    r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
    r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
    r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"héllo \u0000 wörld"}}}"#,
    r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}"#,
    r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"header_names","arguments":{}}}"#,
    r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"counter","arguments":{}}}"#,
    r#"{"jsonrpc":"2.0","id":7,"method":"nope"}"#,
    r#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"add","arguments":{"a":"x"}}}"#,
    r#"{not json"#,
    r#"[{"jsonrpc":"2.0","id":9,"method":"ping"}]"#,
    "",
];

#[test]
fn lean_and_wasi_http_answer_byte_for_byte_alike() {
    let config = format!(
        "[[tenant]]\nname = \"lean\"\ncomponent = \"{ECHO_COMPONENT}\"\n\n\
         [[tenant]]\nname = \"http\"\ncomponent = \"{ECHO_COMPONENT}\"\nentry = \"wasi-http\"\n"
    );
    let h = Hostel::start(&config);
    assert!(h.stderr().contains("tenant=lean entry=\"lean\""), "{}", h.stderr());
    assert!(h.stderr().contains("tenant=http entry=\"wasi-http\""), "{}", h.stderr());
    let extra = [("x-trace", "abc"), ("authorization", "Bearer dropped")];
    for body in ECHO_REQUESTS {
        let a = h.rpc("lean", body, &extra);
        let b = h.rpc("http", body, &extra);
        assert_eq!((a.status, a.header("content-type")), (b.status, b.header("content-type")), "{body}");
        assert_eq!(a.text(), b.text(), "different answers for {body}");
    }
}

/// SDK components built without the `hostel-seal` feature (echo) import
/// only WASI, so they run in any wasi:http host; the default build
/// (everything) also imports Hostel's `hostel:lean/seal`.
#[test]
fn sdk_components_import_seal_only_with_the_feature() {
    let engine = wasmtime::Engine::default();
    let imports = |path: &str| -> Vec<String> {
        let component = wasmtime::component::Component::from_file(&engine, path).unwrap();
        component.component_type().imports(&engine).map(|(name, _)| name.to_owned()).collect()
    };
    let echo = imports(crate::support::ECHO_COMPONENT);
    assert!(echo.iter().all(|i| i.starts_with("wasi:")), "{echo:?}");
    let everything = imports(crate::support::EVERYTHING_COMPONENT);
    assert!(everything.iter().any(|i| i.starts_with("hostel:lean/seal")), "{everything:?}");
}
