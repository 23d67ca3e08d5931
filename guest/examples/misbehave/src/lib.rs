//! Test tenant for fault isolation: each tool fails in a different way the
//! host must contain (deadline, trap, out-of-memory, stack overflow, huge
//! response, slow request, outbound HTTP the tenant is not allowed to make),
//! and its pre-initialization traps.

use hostel_sdk::{Ctx, Deserialize, JsonSchema, Server, ToolResult};

#[derive(Deserialize, JsonSchema)]
struct NoArgs {}

#[derive(Deserialize, JsonSchema)]
struct SleepArgs {
    /// Milliseconds to sleep (blocks in the host, not on the CPU).
    ms: u64,
}

#[derive(Deserialize, JsonSchema)]
struct HugeArgs {
    /// Bytes of text to answer with.
    bytes: usize,
}

/// Recurses until the wasm stack is exhausted; `black_box` keeps the
/// frames (and the recursion) from being optimised away.
#[inline(never)]
fn deeper(n: u64) -> u64 {
    let frame = std::hint::black_box([n; 16]);
    deeper(n + 1).wrapping_add(frame[n as usize % 16])
}

#[derive(Deserialize, JsonSchema)]
struct FetchArgs {
    /// Absolute http(s) URL to GET.
    url: String,
}

/// GETs `url` with wasi:http's outgoing handler; the error is the host's
/// `error-code` (e.g. `HttpRequestDenied`) so tests can see the policy.
fn server() -> Server {
    Server::new("misbehave", env!("CARGO_PKG_VERSION"))
        .tool("spin", "Loop forever on the CPU", |_: NoArgs, _: &Ctx| {
            let mut x: u64 = 0;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        })
        .tool("panic", "Panic (traps the instance)", |_: NoArgs, _: &Ctx| -> Result<ToolResult, hostel_sdk::ToolError> {
            panic!("misbehave: deliberate panic")
        })
        .tool("oom", "Allocate until memory runs out", |_: NoArgs, _: &Ctx| {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        })
        .tool("recurse", "Recurse without bound (stack overflow)", |_: NoArgs, _: &Ctx| Ok(ToolResult::text(deeper(0).to_string())))
        .tool("unreachable", "Execute `unreachable` (trap)", |_: NoArgs, _: &Ctx| -> Result<ToolResult, hostel_sdk::ToolError> {
            std::process::abort()
        })
        .tool("huge", "Answer with `bytes` bytes of text", |a: HugeArgs, _: &Ctx| Ok(ToolResult::text("x".repeat(a.bytes))))
        .tool("probe_host", "What of the host can this guest see: environment, filesystem", |_: NoArgs, _: &Ctx| {
            Ok(ToolResult::json(serde_json::json!({
                "env_vars": std::env::vars_os().count(),
                "root_listable": std::fs::read_dir("/").is_ok(),
                "etc_passwd_readable": std::fs::read("/etc/passwd").is_ok(),
            })))
        })
        .tool("fetch", "GET a URL through the host's outbound policy", |a: FetchArgs, _: &Ctx| {
            hostel_sdk::outbound::send("GET", &a.url, &[], b"", std::time::Duration::from_secs(5))
                .map(|r| ToolResult::text(String::from_utf8_lossy(&r.body)))
                .map_err(hostel_sdk::ToolError::new)
        })
        .tool("sleep", "Sleep, then answer", |a: SleepArgs, _: &Ctx| {
            std::thread::sleep(std::time::Duration::from_millis(a.ms));
            Ok(ToolResult::text("slept"))
        })
}

/// Pre-initialization must never be a reason a component is refused: this
/// one traps in `init`, and the host serves it without a snapshot.
fn refuse_preinit() {
    panic!("misbehave refuses pre-initialization");
}

hostel_sdk::export!(server, init = refuse_preinit);
