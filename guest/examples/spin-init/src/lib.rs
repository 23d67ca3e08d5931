//! Test tenant whose pre-initialization never finishes: `init` spins, so
//! the host's deadline for it must cut it off and the component be served
//! without a snapshot.

use hostel_sdk::{Ctx, Deserialize, JsonSchema, Server, ToolResult};

#[derive(Deserialize, JsonSchema)]
struct NoArgs {}

fn server() -> Server {
    Server::new("spin-init", env!("CARGO_PKG_VERSION")).tool("ping", "Answer pong", |_: NoArgs, _: &Ctx| Ok(ToolResult::text("pong")))
}

fn spin() {
    let mut n = 0u64;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

hostel_sdk::export!(server, init = spin);
