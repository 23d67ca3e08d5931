//! Lazy tenants (`server.lazy_tenants = true`): a configured tenant is
//! only registered at start (name, tokens, hosts) and its component is
//! loaded by the first request that needs it. A host configured with a
//! thousand distinct components then starts at once and holds the code
//! of the ones actually used, not of all of them.
//!
//! Concurrent first requests share one load; the slot then becomes
//! `Ready` (or `Failed`, with the reason logged once) exactly as an eager
//! load would have left it.

use crate::config::{Limits, TenantConfig};
use crate::tenants::{Registry, Slot, Tenant};
use std::sync::Arc;

/// A tenant registered but not loaded yet.
pub struct Pending {
    /// The tenant as configured.
    pub config: TenantConfig,
    /// Its effective limits.
    pub limits: Limits,
    loaded: tokio::sync::OnceCell<Result<Arc<Tenant>, String>>,
}

impl Pending {
    /// A tenant to load on first use.
    pub fn new(config: TenantConfig, limits: Limits) -> Arc<Pending> {
        Arc::new(Pending { config, limits, loaded: tokio::sync::OnceCell::new() })
    }
}

/// Loads `pending` (once, however many requests ask at the same time) and
/// puts the result in its slot, unless a reload or deploy replaced the slot
/// meanwhile. `Err` is the load failure.
pub async fn activate(registry: &Arc<Registry>, pending: &Arc<Pending>) -> Result<Arc<Tenant>, String> {
    let name = &pending.config.name;
    let result = pending
        .loaded
        .get_or_init(|| async {
            let (registry, config, limits) = (registry.clone(), pending.config.clone(), pending.limits);
            let started = std::time::Instant::now();
            let loaded = match tokio::task::spawn_blocking(move || registry.load(&config, limits)).await {
                Ok(Ok(tenant)) => Ok(Arc::new(tenant)),
                Ok(Err(e)) => Err(format!("{e:#}")),
                Err(e) => Err(format!("loading stopped: {e}")),
            };
            match &loaded {
                Ok(_) => tracing::info!(tenant = %name, ms = started.elapsed().as_millis() as u64, "lazy tenant loaded on first request"),
                Err(error) => tracing::error!(tenant = %name, %error, "tenant failed to load"),
            }
            loaded
        })
        .await
        .clone();
    let settled = match &result {
        Ok(tenant) => Slot::Ready(tenant.clone()),
        Err(error) => Slot::Failed { tokens: pending.config.tokens.clone(), error: error.clone() },
    };
    registry.settle(name, pending, settled);
    result
}
