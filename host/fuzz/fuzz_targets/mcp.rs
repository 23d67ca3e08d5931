//! Any request a client can send to an SDK guest: the MCP layer never
//! panics, answers with a status from the protocol's set, and any body it
//! sends is JSON.
#![no_main]

use hostel_sdk::{Ctx, Deserialize, HttpRequest, JsonSchema, Server, ToolResult};
use libfuzzer_sys::fuzz_target;

#[derive(Deserialize, JsonSchema)]
struct Echo {
    text: String,
}

const METHODS: &[&str] = &["POST", "GET", "DELETE", "OPTIONS", "PUT"];
const ALLOWED: &[u16] = &[200, 202, 204, 400, 404, 405, 406, 415];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let server = Server::new("fuzz", "0").tool("echo", "Echo", |a: Echo, _: &Ctx| Ok(ToolResult::text(a.text)));
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    if selector & 0x10 != 0 {
        headers.push(("accept".to_owned(), "application/json, text/event-stream".to_owned()));
    }
    if selector & 0x20 != 0 {
        headers.push(("mcp-protocol-version".to_owned(), String::from_utf8_lossy(&body[..body.len().min(12)]).into_owned()));
    }
    let request = HttpRequest {
        method: METHODS[selector as usize % METHODS.len()].to_owned(),
        path: "/t/mcp".to_owned(),
        headers,
        body: body.to_vec(),
    };
    let response = server.handle(&request);
    assert!(ALLOWED.contains(&response.status), "status {}", response.status);
    if !response.body.is_empty() {
        serde_json::from_slice::<serde_json::Value>(&response.body).expect("response body is JSON");
    }
});
