//! The AdCP training agent as a Hostel tenant: a seller (`sales`) and a
//! signals agent (`signals`) over MCP, every piece of business state
//! (accounts, products, media buys, creatives, activations, idempotency
//! keys) in the tenant's key-value store. Each request is a fresh instance,
//! so concurrent first requests cannot race on a shared server object.
//!
//! One component serves both roles; the tenant name the host passes in
//! `x-hostel-tenant` (or, under another host, the first path segment)
//! picks the tools: a name containing `signal` gets the signals agent, one
//! containing `sales`/`seller` the seller, anything else both.

mod capabilities;
mod controller;
mod envelope;
mod idempotency;
mod sales;
mod signals;
mod store;

use envelope::{finish, Outcome};
use hostel_sdk::{Ctx, HttpRequest, Prebuilt, Server};
use serde_json::Value;

/// Which protocols this request's tenant speaks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Sales,
    Signals,
    Both,
}

impl Role {
    fn of(request: &HttpRequest) -> Role {
        let tenant = request.header("x-hostel-tenant").or_else(|| request.path.trim_start_matches('/').split('/').next());
        match tenant {
            Some(t) if t.contains("signal") => Role::Signals,
            Some(t) if t.contains("sales") || t.contains("seller") => Role::Sales,
            _ => Role::Both,
        }
    }

    pub fn sells(self) -> bool {
        self != Role::Signals
    }

    pub fn signals(self) -> bool {
        self != Role::Sales
    }
}

/// What a handler knows besides its arguments.
pub struct Call {
    /// The tenant's role.
    pub role: Role,
    /// Idempotency scope: the buyer's test session when it names one
    /// (`X-Test-Session-ID`, sent by the AdCP test runner), so reruns of a
    /// script with fixed keys do not collide with earlier runs.
    pub scope: String,
}

pub type Handler = fn(&Value, &Call) -> Outcome;

pub fn add(server: Server, role: Role, name: &str, description: &str, handler: Handler) -> Server {
    server.tool(name, description, move |args: Value, ctx: &Ctx| {
        let scope =
            ctx.header("x-test-session-id").unwrap_or("").chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(64).collect();
        Ok(finish(&args, handler(&args, &Call { role, scope })))
    })
}

fn build(role: Role) -> Server {
    let mut s = Server::new("adcp-training-agent", env!("CARGO_PKG_VERSION"));
    s = add(s, role, "get_adcp_capabilities", "What this agent supports: AdCP versions, protocols, features", capabilities::get);
    s = add(s, role, "comply_test_controller", "Deterministic test hooks: force statuses, simulate delivery", controller::handle);
    if role.sells() {
        s = sales::register(s, role);
    }
    if role.signals() {
        s = add(s, role, "get_signals", "Discover audience signals matching a brief", signals::get_signals);
        s = add(s, role, "activate_signal", "Activate a signal on a destination platform", signals::activate_signal);
    }
    s
}

/// One server per role, each built at pre-initialization (deploy); without
/// it, a request builds only its own role's server.
static SERVERS: [Prebuilt<Server>; 3] = [const { Prebuilt::new() }; 3];

fn server_for(role: Role) -> &'static Server {
    SERVERS[role as usize].get_or_init(|| build(role))
}

fn server(request: &HttpRequest) -> &'static Server {
    server_for(Role::of(request))
}

fn prebuild_all() {
    for role in [Role::Sales, Role::Signals, Role::Both] {
        server_for(role);
    }
}

hostel_sdk::export!(server, init = prebuild_all);
