//! Request counters and the Prometheus text exposition of `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Counters shared by all connections.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
}

impl Metrics {
    /// Counts one answered MCP request.
    pub fn record(&self, tenant: &str, status: u16) {
        let mut map = self.requests.lock().expect("metrics lock");
        match map.get_mut(&(tenant.to_owned(), status)) {
            Some(n) => *n += 1,
            None => {
                map.insert((tenant.to_owned(), status), 1);
            }
        }
    }

    /// Prometheus text format (version 0.0.4).
    pub fn render(&self, registry: &crate::tenants::Registry) -> String {
        let mut out = String::new();
        out.push_str("# HELP hostel_requests_total MCP requests answered, by tenant and HTTP status.\n");
        out.push_str("# TYPE hostel_requests_total counter\n");
        for ((tenant, status), n) in self.requests.lock().expect("metrics lock").iter() {
            let _ = writeln!(out, "hostel_requests_total{{tenant=\"{tenant}\",status=\"{status}\"}} {n}");
        }
        let cache = registry.cache();
        out.push_str("# HELP hostel_compile_cache_hits_total Components loaded from the AOT cache.\n");
        out.push_str("# TYPE hostel_compile_cache_hits_total counter\n");
        let _ = writeln!(out, "hostel_compile_cache_hits_total {}", cache.hits());
        out.push_str("# HELP hostel_compile_cache_misses_total Components compiled (cache miss or rejected artifact).\n");
        out.push_str("# TYPE hostel_compile_cache_misses_total counter\n");
        let _ = writeln!(out, "hostel_compile_cache_misses_total {}", cache.misses());
        out.push_str("# HELP hostel_tenant_ready Whether each tenant is ready (1) or not (0).\n");
        out.push_str("# TYPE hostel_tenant_ready gauge\n");
        for (name, slot) in registry.list() {
            let _ = writeln!(out, "hostel_tenant_ready{{tenant=\"{name}\"}} {}", u8::from(slot.status() == "ready"));
        }
        out
    }
}
