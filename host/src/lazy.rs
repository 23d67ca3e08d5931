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
