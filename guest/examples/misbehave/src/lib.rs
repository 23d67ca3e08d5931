//! Test tenant for fault isolation: each tool fails in a different way the
//! host must contain (deadline, trap, out-of-memory, slow request, outbound
//! HTTP the tenant is not allowed to make).

use hostel_sdk::{Ctx, Deserialize, JsonSchema, Server, ToolResult};

#[derive(Deserialize, JsonSchema)]
struct NoArgs {}

#[derive(Deserialize, JsonSchema)]
struct SleepArgs {
    /// Milliseconds to sleep (blocks in the host, not on the CPU).
    ms: u64,
}

#[derive(Deserialize, JsonSchema)]
struct FetchArgs {
    /// Absolute http(s) URL to GET.
    url: String,
}

/// GETs `url` with wasi:http's outgoing handler; the error is the host's
/// `error-code` (e.g. `HttpRequestDenied`) so tests can see the policy.
fn fetch(url: &str) -> Result<String, String> {
    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{Fields, OutgoingBody, OutgoingRequest, Scheme};
    let (scheme, rest) = url.split_once("://").ok_or("not an absolute URL")?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let req = OutgoingRequest::new(Fields::new());
    let scheme = if scheme == "https" { Scheme::Https } else { Scheme::Http };
    req.set_scheme(Some(&scheme)).map_err(|()| "bad scheme")?;
    req.set_authority(Some(authority)).map_err(|()| "bad authority")?;
    req.set_path_with_query(Some(path)).map_err(|()| "bad path")?;
    let body = req.body().map_err(|()| "no request body")?;
    let pending = outgoing_handler::handle(req, None).map_err(|e| format!("{e:?}"))?;
    OutgoingBody::finish(body, None).map_err(|e| format!("{e:?}"))?;
    let response = loop {
        match pending.get() {
            Some(r) => break r,
            None => pending.subscribe().block(),
        }
    };
    let response = response.map_err(|()| "response taken twice")?.map_err(|e| format!("{e:?}"))?;
    let incoming = response.consume().map_err(|()| "no response body")?;
    let stream = incoming.stream().map_err(|()| "no response stream")?;
    let mut bytes = Vec::new();
    while let Ok(chunk) = stream.blocking_read(16 * 1024) {
        bytes.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

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
        .tool("fetch", "GET a URL through the host's outbound policy", |a: FetchArgs, _: &Ctx| {
            fetch(&a.url).map(ToolResult::text).map_err(hostel_sdk::ToolError::new)
        })
        .tool("sleep", "Sleep, then answer", |a: SleepArgs, _: &Ctx| {
            std::thread::sleep(std::time::Duration::from_millis(a.ms));
            Ok(ToolResult::text("slept"))
        })
}

hostel_sdk::export!(server);
