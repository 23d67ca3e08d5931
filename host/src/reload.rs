//! Config reload (SIGHUP, or polling the file with `server.watch_config`):
//! the same validate-then-swap rule as the admin API. The new file is
//! parsed and every file tenant built before anything changes; one bad
//! tenant rejects the whole edit with a logged reason and the old config
//! keeps serving. Server settings (listener, state, cache) need a restart.

use crate::config::Config;
use crate::server::AppState;
use crate::tenants::{Slot, Source};
use anyhow::{Context, Result};
use std::path::Path;

/// Applies the tenants of the config file at `path`.
pub async fn reload(state: &AppState, path: &Path) -> Result<()> {
    let new = Config::load(path).context("config reload rejected")?;
    let _one_at_a_time = state.admin.lock.lock().await;
    let old_names: Vec<String> =
        state.registry.list().into_iter().map(|(n, _)| n).filter(|n| state.registry.source(n) == Some(Source::File)).collect();
    let registry = state.registry.clone();
    let config = new.clone();
    let lazy = state.lazy_tenants;
    // Build everything first (cache hits make unchanged tenants cheap);
    // lazy tenants are only checked to be readable, and load when used.
    let built = tokio::task::spawn_blocking(move || {
        config
            .tenants
            .iter()
            .map(|t| {
                let limits = config.limits_for(t);
                let slot = match lazy {
                    true => std::fs::metadata(&t.component)
                        .map(|_| Slot::Lazy(crate::lazy::Pending::new(t.clone(), limits)))
                        .with_context(|| format!("cannot read component `{}`", t.component.display())),
                    false => registry.load(t, limits).map(|tenant| Slot::Ready(std::sync::Arc::new(tenant))),
                };
                slot.with_context(|| format!("config reload rejected: tenant `{}`", t.name))
            })
            .collect::<Result<Vec<_>>>()
    })
    .await??;
    let swaps = new.tenants.iter().zip(built).map(|(t, tenant)| (t.name.clone(), tenant, t.hosts.clone())).collect();
    state.registry.replace_file_tenants(&old_names, swaps).context("config reload rejected")?;
    for name in old_names.iter().filter(|n| !new.tenants.iter().any(|t| &t.name == *n)) {
        tracing::info!(tenant = %name, "tenant removed from the config file");
    }
    tracing::info!(tenants = new.tenants.len(), "config reloaded");
    Ok(())
}

/// Runs [`reload`] on every SIGHUP, and when `poll` is set also whenever
/// the file's modification time changes; failures are logged, never fatal.
pub async fn watch(state: std::sync::Arc<AppState>, path: std::path::PathBuf, poll: Option<std::time::Duration>) {
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let mut seen = mtime(&path);
    #[cfg(unix)]
    let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "no SIGHUP handler; config reload by signal is off");
            return;
        }
    };
    loop {
        let tick = async {
            match poll {
                Some(every) => tokio::time::sleep(every).await,
                None => std::future::pending().await,
            }
        };
        #[cfg(unix)]
        let by_signal = tokio::select! {
            _ = hup.recv() => true,
            () = tick => false,
        };
        #[cfg(not(unix))]
        let by_signal = {
            tick.await;
            false
        };
        let now = mtime(&path);
        if !by_signal && now == seen {
            continue;
        }
        seen = now;
        if let Err(e) = reload(&state, &path).await {
            tracing::error!(error = %format!("{e:#}"), "config reload rejected; the previous config keeps serving");
        }
    }
}
