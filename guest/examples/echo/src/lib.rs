//! Demo/test tenant: echo, arithmetic, and probes of per-request isolation.

use hostel_sdk::{Ctx, Deserialize, JsonSchema, Server, ToolResult};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    /// Text to send back unchanged.
    text: String,
}

#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    /// First addend.
    a: i64,
    /// Second addend.
    b: i64,
}

#[derive(Deserialize, JsonSchema)]
struct NoArgs {}

#[derive(Deserialize, JsonSchema)]
struct HeaderArgs {
    /// Header name (case-insensitive).
    name: String,
}

/// Lives in the instance's linear memory: with a fresh instance per request
/// it must read 1 every time. Anything else means an instance was reused.
static CALLS: AtomicU64 = AtomicU64::new(0);

fn server() -> Server {
    Server::new("echo", env!("CARGO_PKG_VERSION"))
        .tool("echo", "Echo the text back unchanged", |a: EchoArgs, _: &Ctx| Ok(ToolResult::text(a.text)))
        .tool("add", "Add two integers", |a: AddArgs, _: &Ctx| {
            let sum = a.a.checked_add(a.b).ok_or("integer overflow")?;
            Ok(ToolResult::json(serde_json::json!({ "sum": sum })))
        })
        .tool("whoami", "The request path this tenant was invoked on", |_: NoArgs, ctx: &Ctx| Ok(ToolResult::text(ctx.path())))
        .tool("header_names", "Names of the request headers this guest received", |_: NoArgs, ctx: &Ctx| {
            Ok(ToolResult::json(serde_json::json!({ "names": ctx.header_names() })))
        })
        .tool("header", "Value of one request header as this guest received it (null if absent)", |a: HeaderArgs, ctx: &Ctx| {
            Ok(ToolResult::json(serde_json::json!({ "value": ctx.header(&a.name) })))
        })
        .tool("counter", "Increment a counter kept in a guest global and return it", |_: NoArgs, _: &Ctx| {
            Ok(ToolResult::json(serde_json::json!({ "count": CALLS.fetch_add(1, Ordering::SeqCst) + 1 })))
        })
}

hostel_sdk::export!(server);
