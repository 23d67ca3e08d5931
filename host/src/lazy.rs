//! Lazy tenants (`server.lazy_tenants = true`): a configured tenant is
//! only registered at start (name, tokens, hosts) and its component is
//! loaded by the first request that needs it. A host configured with a
//! thousand distinct components then starts at once and holds the code
//! of the ones actually used, not of all of them.
//!
//! Concurrent first requests share one load; the slot then becomes
//! `Ready` (or `Failed`, with the reason logged once) exactly as an eager
//! load would have left it. With `server.lazy_idle_secs`, a lazily loaded
//! tenant that has served no request for that long goes back to unloaded
//! (its compiled code is freed with its last user), and its next request
//! loads it again from the compile cache.

use crate::config::{Limits, TenantConfig};
use crate::tenants::{Registry, Slot, Tenant};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// What a lazy tenant is loaded from, kept by the loaded tenant too so it
/// can be unloaded and loaded again.
pub struct LazySource {
    /// The tenant as configured.
    pub config: TenantConfig,
    /// Its effective limits.
    pub limits: Limits,
}

/// A tenant registered but not loaded yet.
pub struct Pending {
    /// Where it loads from.
    pub source: Arc<LazySource>,
    loaded: tokio::sync::OnceCell<Result<Arc<Tenant>, String>>,
}

impl Pending {
    /// A tenant to load on first use.
    pub fn new(config: TenantConfig, limits: Limits) -> Arc<Pending> {
        Self::from_source(Arc::new(LazySource { config, limits }))
    }

    /// A tenant to load (again) on its next use.
    pub fn from_source(source: Arc<LazySource>) -> Arc<Pending> {
        Arc::new(Pending { source, loaded: tokio::sync::OnceCell::new() })
    }
}

/// Loads `pending` (once, however many requests ask at the same time) and
/// puts the result in its slot, unless a reload or deploy replaced the slot
/// meanwhile. At most `loads` permits' worth of tenants load at once: a
/// burst of first requests to many cold tenants must not start a compile
/// (and a pre-initialization) for each of them together. `Err` is the load
/// failure.
pub async fn activate(registry: &Arc<Registry>, loads: &Arc<Semaphore>, pending: &Arc<Pending>) -> Result<Arc<Tenant>, String> {
    if let Some(done) = pending.loaded.get() {
        return done.clone();
    }
    // A task of its own: a first request that goes away (client gone,
    // shutdown) does not cancel the load, so the next request waits for it
    // instead of starting it again.
    let (registry, loads, pending) = (registry.clone(), loads.clone(), pending.clone());
    tokio::spawn(async move { pending.load(&registry, &loads).await }).await.unwrap_or_else(|e| Err(format!("loading stopped: {e}")))
}

impl Pending {
    async fn load(self: &Arc<Self>, registry: &Arc<Registry>, loads: &Semaphore) -> Result<Arc<Tenant>, String> {
        let name = &self.source.config.name;
        let result = self
            .loaded
            .get_or_init(|| async {
                let _turn = loads.acquire().await;
                let (registry, source) = (registry.clone(), self.source.clone());
                let started = std::time::Instant::now();
                let loaded = match tokio::task::spawn_blocking(move || {
                    registry.load(&source.config, source.limits).map(|t| t.loaded_lazily(source.clone()))
                })
                .await
                {
                    Ok(Ok(tenant)) => Ok(Arc::new(tenant)),
                    Ok(Err(e)) => Err(format!("{e:#}")),
                    Err(e) => Err(format!("loading stopped: {e}")),
                };
                match &loaded {
                    Ok(_) => {
                        tracing::info!(tenant = %name, ms = started.elapsed().as_millis() as u64, "lazy tenant loaded on first request")
                    }
                    Err(error) => tracing::error!(tenant = %name, %error, "tenant failed to load"),
                }
                loaded
            })
            .await
            .clone();
        let settled = match &result {
            Ok(tenant) => Slot::Ready(tenant.clone()),
            Err(error) => Slot::Failed { tokens: self.source.config.tokens.clone(), error: error.clone() },
        };
        registry.settle(name, self, settled);
        result
    }
}

/// Unloads lazily loaded tenants idle for `idle` or longer, every
/// `idle / 4` (1 s to 30 s), until the task is dropped.
pub async fn evict_idle(registry: Arc<Registry>, idle: std::time::Duration) {
    let every = (idle / 4).clamp(std::time::Duration::from_secs(1), std::time::Duration::from_secs(30));
    loop {
        tokio::time::sleep(every).await;
        for name in registry.unload_idle(idle) {
            tracing::info!(tenant = %name, idle_secs = idle.as_secs(), "idle lazy tenant unloaded");
        }
    }
}

/// Seconds since the process started: when a tenant last served.
pub(crate) fn now_secs() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START.get_or_init(std::time::Instant::now).elapsed().as_secs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile_cache::CompileCache;
    use std::time::Duration;

    async fn registry(dir: &std::path::Path) -> (Arc<Registry>, crate::engine::EpochTicker) {
        let engine = crate::engine::build(8).unwrap();
        let ticker = crate::engine::EpochTicker::start(&engine);
        let cache = CompileCache::with_preinit(&engine, dir, None);
        let state = crate::state::StateStore::open("sqlite::memory:", 1).await.unwrap();
        (Arc::new(Registry::new(engine, cache, state, crate::seal::MasterSecret::ephemeral()).unwrap()), ticker)
    }

    fn echo(registry: &Registry) -> Arc<Pending> {
        let config =
            TenantConfig { name: "echo".into(), component: hostel_test_artifacts::ECHO_COMPONENT.into(), settings: Default::default() };
        let pending = Pending::new(config, Limits::default());
        registry.set_slot("echo", Slot::Lazy(pending.clone()));
        pending
    }

    /// Without a permit nothing loads; a request that gives up does not
    /// cancel the load it started, which still settles the slot, and the
    /// next request gets that load. (The timeouts only decide how far the
    /// first request gets; no outcome depends on how fast anything runs.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn loads_wait_for_a_permit_and_outlive_their_first_request() {
        let dir = tempfile::tempdir().unwrap();
        let (registry, _ticker) = registry(dir.path()).await;
        let pending = echo(&registry);
        let loads = Arc::new(Semaphore::new(0));
        let waiting = tokio::time::timeout(Duration::from_millis(200), activate(&registry, &loads, &pending)).await;
        assert!(waiting.is_err(), "loaded without a permit");
        assert_eq!(registry.cache().misses(), 0);

        loads.add_permits(1);
        // Gone well before the compile (hundreds of ms) is done.
        let _gone = tokio::time::timeout(Duration::from_millis(20), activate(&registry, &loads, &pending)).await;
        // Nobody asks again, and the load still finishes into the slot.
        let bound = std::time::Instant::now() + Duration::from_secs(60);
        while !matches!(registry.get("echo"), Some(Slot::Ready(_))) {
            assert!(std::time::Instant::now() < bound, "the load died with the request that started it");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let tenant = activate(&registry, &loads, &pending).await.unwrap();
        assert_eq!((registry.cache().misses(), registry.cache().hits()), (1, 0), "one load, whoever asked");
        assert!(matches!(registry.get("echo"), Some(Slot::Ready(t)) if Arc::ptr_eq(&t, &tenant)));
        assert_eq!(loads.available_permits(), 1, "the permit is back");
    }
}
