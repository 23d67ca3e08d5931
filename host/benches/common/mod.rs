//! Shared by the benchmarks: one tenant loaded the way `hostel serve`
//! loads it, with its own engine (and epoch ticker, kept alive by the
//! caller).

use hostel::compile_cache::CompileCache;
use hostel::config::{Entry, Limits, TenantConfig, TenantSettings};
use hostel::state::StateStore;
use hostel::tenants::{Registry, Tenant};

/// Loads `component` as tenant `bench`, its state in `state`.
pub fn load_tenant(component: &str, entry: Entry, state: StateStore) -> (Tenant, hostel::engine::EpochTicker) {
    let engine = hostel::engine::build(100).unwrap();
    let ticker = hostel::engine::EpochTicker::start(&engine);
    let cache = CompileCache::new(&engine, std::env::temp_dir().join("hostel-bench-cache"));
    let registry = Registry::new(engine, cache, state, hostel::seal::MasterSecret::ephemeral()).unwrap();
    let settings = TenantSettings { entry, ..Default::default() };
    let config = TenantConfig { name: "bench".into(), component: component.into(), settings };
    (registry.load(&config, Limits::default()).unwrap(), ticker)
}
