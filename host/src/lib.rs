//! Hostel: a multi-tenant WebAssembly host for MCP servers.
//!
//! Every HTTP request gets a fresh instance of its tenant's precompiled
//! component, so guest memory and MCP protocol state can't leak or race
//! between requests or tenants. The `hostel` binary is a thin front
//! ([`cli`]) over these modules, one concept each.
#![deny(missing_docs)]

pub mod access;
pub mod admin;
pub mod cli;
pub mod compile_cache;
pub mod config;
pub mod engine;
pub mod errors;
pub mod gateway;
pub mod guest_log;
pub mod http_client;
pub mod instance;
pub mod lazy;
pub mod lean;
pub mod linker;
pub mod metrics;
#[cfg(feature = "otel")]
pub mod otel;
pub mod outbound;
pub mod preinit;
pub mod reload;
pub mod router;
pub mod seal;
pub mod server;
pub mod state;
pub mod storyboard;
pub mod tenants;
pub mod trace;
