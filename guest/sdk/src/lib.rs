//! Hostel guest SDK: write an MCP server as a set of typed Rust tools.
//!
//! A tenant author declares tools; the SDK owns the wire: MCP Streamable HTTP
//! (JSON or per-request SSE responses, no server sessions) over
//! `wasi:http/incoming-handler`. With the default `hostel-seal` feature a
//! component imports `hostel:lean/seal` (the host's per-tenant MAC for
//! input-required state) and so needs Hostel; without it, it runs in any
//! wasi:http host.
//! Every HTTP request is served by a fresh instance, so nothing a request
//! does outlives its response. A `fn() -> Server` factory runs once per
//! instance image: Hostel pre-initializes the component at deploy (the
//! `hostel:lean/init` export), so requests start with the server built.
//!
//! ```no_run
//! use hostel_sdk::{Ctx, JsonSchema, Deserialize, Server, ToolResult};
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct EchoArgs {
//!     /// Text to send back.
//!     text: String,
//! }
//!
//! fn server() -> Server {
//!     Server::new("echo", "0.1.0")
//!         .tool("echo", "Echo the text back", |args: EchoArgs, _ctx: &Ctx| {
//!             Ok(ToolResult::text(args.text))
//!         })
//! }
//!
//! hostel_sdk::export!(server);
//! ```
#![deny(missing_docs)]

mod content;
mod ctx;
mod http;
mod input;
pub mod jsonrpc;
pub mod kv;
mod methods;
pub mod outbound;
mod prebuilt;
mod prompt;
mod protocol;
#[cfg(test)]
mod protocol_tests;
mod resource;
mod server;
mod tool;
#[cfg(target_arch = "wasm32")]
mod wasi_http;

/// Bindings for the lean `hostel:lean/handler` and `hostel:lean/init`
/// exports (see `wit/lean`).
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod lean {
    wit_bindgen::generate!({
        path: "../../wit/lean",
        world: "hostel:lean/guest-preinit",
        pub_export_macro: true,
        export_macro_name: "__export_lean",
    });
}

pub use content::{base64, Content, ResourceBody, ResourceContents};
pub use ctx::{Ctx, LogLevel};
/// Bindings for the `hostel:lean/seal` import (feature `hostel-seal`).
#[cfg(all(target_arch = "wasm32", feature = "hostel-seal"))]
mod seal_import {
    wit_bindgen::generate!({
        path: "../../wit/lean",
        world: "hostel:lean/sealing",
    });
}

pub use http::{HttpRequest, HttpResponse};
pub use input::{InputRequired, STATE_TTL_SECS};
pub use prebuilt::Prebuilt;
pub use prompt::{PromptMessage, PromptResult, Role};
pub use resource::{ResourceInfo, TemplateVars};
pub use schemars::JsonSchema;
pub use serde::{Deserialize, Serialize};
pub use server::{
    CacheHints, Completer, MakeServer, Server, LEGACY_PROTOCOL_VERSIONS, STATELESS_PROTOCOL_VERSIONS, SUPPORTED_PROTOCOL_VERSIONS,
};
pub use tool::{ToolError, ToolResult};

/// Items the [`export!`] macro expands to; not a stable API.
#[doc(hidden)]
pub mod __private {
    #[cfg(target_arch = "wasm32")]
    pub use crate::lean;
    #[cfg(target_arch = "wasm32")]
    pub use crate::wasi_http::{serve, serve_lean};
    #[cfg(target_arch = "wasm32")]
    pub use wasip2;
}

/// Exports a [`Server`] factory as this component's `wasi:http/incoming-handler`
/// and as the lean `hostel:lean/handler` (whole request in, whole response
/// out), which Hostel prefers because it needs far fewer host calls. Both
/// run the same [`Server::handle`], so they answer byte for byte alike.
///
/// It also exports `hostel:lean/init`, which Hostel calls once at deploy
/// before snapshotting the instance (pre-initialization):
/// - a `fn() -> Server` factory is run there, so requests find the server
///   already built (without pre-initialization it runs once per instance,
///   i.e. per request);
/// - `fn(&HttpRequest) -> Server` (tools picked by path or header, see
///   [`MakeServer`]) runs per request;
/// - `fn(&HttpRequest) -> &'static Server` picks among servers the tenant
///   keeps in [`Prebuilt`] statics; name the function that fills them with
///   `export!(server, init = fill)` so it runs at pre-initialization.
///
/// Factories and `init` must not do I/O: what they compute is frozen into
/// every later instance.
#[macro_export]
macro_rules! export {
    ($make:path) => {
        $crate::export!($make, init = || ());
    };
    ($make:path, init = $init:expr) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct HostelGuest;
            static PREBUILT: $crate::Prebuilt<$crate::Server> = $crate::Prebuilt::new();
            impl $crate::__private::wasip2::exports::http::incoming_handler::Guest for HostelGuest {
                fn handle(
                    request: $crate::__private::wasip2::http::types::IncomingRequest,
                    response_out: $crate::__private::wasip2::http::types::ResponseOutparam,
                ) {
                    $crate::__private::serve(&$make, &PREBUILT, request, response_out)
                }
            }
            $crate::__private::wasip2::http::proxy::export!(
                HostelGuest with_types_in $crate::__private::wasip2
            );
            impl $crate::__private::lean::exports::hostel::lean::handler::Guest for HostelGuest {
                fn handle(
                    request: $crate::__private::lean::exports::hostel::lean::handler::Request,
                ) -> $crate::__private::lean::exports::hostel::lean::handler::Response {
                    $crate::__private::serve_lean(&$make, &PREBUILT, request)
                }
            }
            impl $crate::__private::lean::exports::hostel::lean::init::Guest for HostelGuest {
                fn init() {
                    $crate::MakeServer::prebuild(&$make, &PREBUILT);
                    let _ = ($init)();
                }
            }
    $crate::__private::lean::__export_lean!(HostelGuest with_types_in $crate::__private::lean);
        };
    };
}
