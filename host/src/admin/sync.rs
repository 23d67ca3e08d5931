//! Keeps this process's API tenants in step with the state backend: at
//! startup it loads what was deployed before, and then it polls, so a
//! deploy or removal through any replica reaches every replica sharing
//! the database within `server.tenant_sync_secs`. Polling (one indexed
//! `SELECT name, version`) works the same on SQLite and Postgres.

use crate::config::TenantSettings;
use crate::server::AppState;
use crate::tenants::{Slot, Source};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Registers every stored API tenant as compiling, before the listener
/// serves: `/readyz` must not report ready while they are still unknown.
pub async fn register_stored(state: &AppState) -> anyhow::Result<()> {
    for (name, _) in state.registry.state().tenant_versions().await? {
        if state.registry.get(&name).is_none() {
            let tokens = match state.registry.state().get_tenant(&name).await? {
                Some(r) => TenantSettings::parse(&r.settings).map(|s| s.tokens).unwrap_or_default(),
                None => continue,
            };
            state.registry.set_slot(&name, Slot::Compiling { tokens });
        }
    }
    Ok(())
}

/// Syncs now, then every `every`, forever.
pub async fn sync_loop(state: Arc<AppState>, every: Duration) {
    loop {
        if let Err(e) = sync_once(&state).await {
            tracing::warn!(error = %format!("{e:#}"), "tenant sync with the state backend failed; will retry");
        }
        tokio::time::sleep(every).await;
    }
}

/// One pass: load new or changed API tenants, drop removed ones.
pub async fn sync_once(state: &AppState) -> anyhow::Result<()> {
    // Lock first: a deploy in progress must not be undone by a snapshot
    // taken before it committed.
    let _one_at_a_time = state.admin.lock.lock().await;
    let stored: HashMap<String, i64> = state.registry.state().tenant_versions().await?.into_iter().collect();
    for (name, _) in state.registry.list() {
        if matches!(state.registry.source(&name), Some(Source::Api { .. })) && !stored.contains_key(&name) {
            tracing::info!(tenant = %name, "tenant removed through another replica");
            state.registry.remove(&name);
        }
    }
    for (name, version) in stored {
        match state.registry.source(&name) {
            Some(Source::File) => continue, // the config file wins
            Some(Source::Api { version: v, .. }) if v == version => continue,
            _ => {}
        }
        let Some(record) = state.registry.state().get_tenant(&name).await? else { continue };
        let source = Source::Api { sha256: record.sha256.clone(), version };
        let settings = match TenantSettings::parse(&record.settings) {
            Ok(s) => s,
            Err(e) => {
                fail(state, &name, format!("stored settings unreadable: {e:#}"), Vec::new(), source);
                continue;
            }
        };
        if state.registry.get(&name).is_none() {
            state.registry.set_slot(&name, Slot::Compiling { tokens: settings.tokens.clone() });
        }
        let (hosts, tokens) = (settings.hosts.clone(), settings.tokens.clone());
        match super::deploy::build(&state.registry, &state.admin, &name, record.component, settings).await {
            Ok((tenant, ..)) => match state.registry.install(&name, tenant, &hosts, source.clone()) {
                Ok(()) => tracing::info!(tenant = %name, "tenant loaded from the state backend"),
                Err(e) => fail(state, &name, format!("{e:#}"), tokens, source),
            },
            Err(e) => fail(state, &name, format!("{e:#}"), tokens, source),
        }
    }
    Ok(())
}

/// A stored tenant that cannot be served here: keep serving the previous
/// version if there is one, else show the failure in `/readyz`. Its
/// version is remembered, so it is retried only once it changes.
fn fail(state: &AppState, name: &str, error: String, tokens: Vec<String>, source: Source) {
    tracing::error!(tenant = %name, %error, "stored tenant failed to load");
    if !matches!(state.registry.get(name), Some(Slot::Ready(_))) {
        // Its tokens still guard it: a failed tenant is no one's business
        // but its clients'.
        state.registry.set_slot(name, Slot::Failed { tokens, error });
    }
    state.registry.set_source(name, source);
}
