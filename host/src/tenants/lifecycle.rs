//! Tenants over time: loaded at start (eagerly, or lazily on first use),
//! settled into their slots unless something newer got there first, and
//! unloaded again when idle.

use super::{Registry, Slot, Source};
use crate::config::Config;
use std::sync::Arc;

impl Registry {
    /// Turns lazily loaded tenants that have been idle for `idle` and have
    /// no request in flight back into `Lazy` slots; returns their names.
    pub fn unload_idle(&self, idle: std::time::Duration) -> Vec<String> {
        let now = crate::lazy::now_secs();
        let mut slots = self.slots.write().expect("registry lock");
        let (mut unloaded, mut evicted) = (Vec::new(), Vec::new());
        for (name, slot) in slots.iter_mut() {
            let Slot::Ready(t) = slot else { continue };
            let Some(source) = &t.lazy else { continue };
            let idle_for = now.saturating_sub(t.last_used.load(std::sync::atomic::Ordering::Relaxed));
            // The slot's own reference is the only one: nothing in flight.
            if idle_for >= idle.as_secs() && Arc::strong_count(t) == 1 {
                let pending = Slot::Lazy(crate::lazy::Pending::from_source(source.clone()));
                evicted.push(std::mem::replace(slot, pending));
                unloaded.push(name.clone());
            }
        }
        // Freeing compiled code unmaps memory: not under the lock every
        // request takes.
        drop(slots);
        drop(evicted);
        unloaded
    }

    /// Puts the outcome of loading lazy tenant `name` in its slot, if the
    /// slot still holds `pending` (a reload or deploy may have replaced it).
    pub fn settle(&self, name: &str, pending: &Arc<crate::lazy::Pending>, slot: Slot) {
        let mut slots = self.slots.write().expect("registry lock");
        if matches!(slots.get(name), Some(Slot::Lazy(p)) if Arc::ptr_eq(p, pending)) {
            slots.insert(name.to_owned(), slot);
        }
    }

    /// Puts the outcome of `name`'s start-up load in its slot if the slot
    /// still waits for it: a config reload, removal or API deploy that
    /// landed during a slow first compile is newer and must not be undone.
    /// Returns whether it did.
    fn settle_startup(&self, name: &str, slot: Slot) -> bool {
        let mut slots = self.slots.write().expect("registry lock");
        let sources = self.sources.read().expect("registry lock");
        let waiting = matches!(slots.get(name), Some(Slot::Compiling { .. })) && sources.get(name) == Some(&Source::File);
        if waiting {
            slots.insert(name.to_owned(), slot);
        }
        waiting
    }

    /// Registers every tenant of `config` as compiling and loads them in
    /// the background (in parallel), so the listener is up at once and
    /// early requests get 503 + Retry-After instead of a refused connection.
    /// With `server.lazy_tenants` they are only registered, and each is
    /// loaded by its first request.
    pub fn load_all(self: &Arc<Self>, config: &Config) {
        for t in &config.tenants {
            let slot = match config.server.lazy_tenants {
                true => Slot::Lazy(crate::lazy::Pending::new(t.clone(), config.limits_for(t))),
                false => Slot::Compiling { tokens: t.tokens.clone() },
            };
            self.slots.write().expect("registry lock").insert(t.name.clone(), slot);
            self.sources.write().expect("registry lock").insert(t.name.clone(), Source::File);
            let mut hosts = self.hosts.write().expect("registry lock");
            for h in &t.hosts {
                hosts.insert(h.to_ascii_lowercase(), t.name.clone());
            }
        }
        if config.server.lazy_tenants {
            return;
        }
        for t in &config.tenants {
            let (registry, tenant, limits) = (self.clone(), t.clone(), config.limits_for(t));
            tokio::task::spawn_blocking(move || {
                let started = std::time::Instant::now();
                let (slot, failed) = match registry.load(&tenant, limits) {
                    Ok(ready) => (Slot::Ready(Arc::new(ready)), None),
                    Err(e) => {
                        let error = format!("{e:#}");
                        (Slot::Failed { tokens: tenant.tokens.clone(), error: error.clone() }, Some(error))
                    }
                };
                let ms = started.elapsed().as_millis() as u64;
                match (registry.settle_startup(&tenant.name, slot), failed) {
                    (false, _) => {
                        tracing::info!(tenant = %tenant.name, ms, "start-up load discarded: the tenant was reloaded or removed meanwhile")
                    }
                    (true, None) => tracing::info!(tenant = %tenant.name, ms, "tenant loaded"),
                    (true, Some(error)) => tracing::error!(tenant = %tenant.name, %error, "tenant failed to load"),
                }
            });
        }
    }
}
