//! Shared by the benchmarks: one tenant loaded the way `hostel serve`
//! loads it, with its own engine (and epoch ticker, kept alive by the
//! caller).

use hostel::compile_cache::CompileCache;
use hostel::config::{Entry, Limits, TenantConfig, TenantSettings};
use hostel::state::StateStore;
use hostel::tenants::{Registry, Tenant};

/// Loads `component` as tenant `name`, its state in `state`, pre-initialized
/// (as `serve` does by default) or not.
pub fn load_tenant(component: &str, name: &str, entry: Entry, preinit: bool, state: StateStore) -> (Tenant, hostel::engine::EpochTicker) {
    let engine = hostel::engine::build(100).unwrap();
    let ticker = hostel::engine::EpochTicker::start(&engine);
    let dir = std::env::temp_dir().join("hostel-bench-cache");
    let cache = CompileCache::with_preinit(&engine, dir, preinit.then(Default::default));
    let registry = Registry::new(engine, cache, state, hostel::seal::MasterSecret::ephemeral()).unwrap();
    let settings = TenantSettings { entry, ..Default::default() };
    let config = TenantConfig { name: name.into(), component: component.into(), settings };
    (registry.load(&config, Limits::default()).unwrap(), ticker)
}
