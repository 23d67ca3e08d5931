//! Any path: routing never panics, and whatever it calls a tenant is a
//! valid tenant name (so no traversal or encoding trick reaches a lookup).
#![no_main]

// The router is one dependency-free file of the host; including it keeps
// this target from building wasmtime under nightly.
#[path = "../../src/router.rs"]
#[allow(dead_code)]
mod router;

use libfuzzer_sys::fuzz_target;
use router::{route, validate_tenant_name, Route};

fuzz_target!(|data: &[u8]| {
    let path = String::from_utf8_lossy(data);
    if let Route::TenantPath(name) = route(&path) {
        assert!(validate_tenant_name(name).is_ok(), "routed to invalid tenant name {name:?}");
        assert!(!name.contains(['/', '.', '%']), "{name:?}");
    }
});
