//! Deploy = validate → compile off the request path → persist → swap.
//! Any failure before the swap leaves the running tenants untouched.

use super::AdminState;
use crate::config::{validate_tenant, TenantSettings};
use crate::errors::HostError;
use crate::server::AppState;
use crate::tenants::{Registry, Source};
use http::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Refuses changes to tenants the config file owns.
fn api_owned(registry: &Registry, name: &str) -> Result<(), HostError> {
    crate::router::validate_tenant_name(name).map_err(|e| HostError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
    if registry.source(name) == Some(Source::File) {
        return Err(HostError::new(
            StatusCode::CONFLICT,
            format!("tenant `{name}` is defined in the config file, which takes precedence; change it there"),
        ));
    }
    Ok(())
}

/// Validates, compiles and links `component` as tenant `name` with
/// `settings`, on a blocking thread (the listener keeps serving). The
/// result is ready to persist and swap in.
pub async fn build(
    registry: &Arc<Registry>,
    admin: &AdminState,
    name: &str,
    component: Vec<u8>,
    settings: TenantSettings,
) -> anyhow::Result<(crate::tenants::Tenant, TenantSettings, Vec<u8>)> {
    let config = settings.clone().into_config(name);
    validate_tenant(&config, admin.defaults)?;
    let limits = config.limits.apply(admin.defaults);
    let registry = registry.clone();
    tokio::task::spawn_blocking(move || {
        let tenant = registry.build(&config, &component, limits)?;
        Ok((tenant, settings, component))
    })
    .await?
}

/// `PUT /admin/tenants/<name>`.
pub async fn deploy(state: &AppState, name: &str, component: Vec<u8>, settings: TenantSettings) -> Result<Value, HostError> {
    let _one_at_a_time = state.admin.lock.lock().await;
    deploy_locked(state, name, component, settings).await
}

/// [`deploy`] for a caller already holding the admin lock.
async fn deploy_locked(state: &AppState, name: &str, component: Vec<u8>, settings: TenantSettings) -> Result<Value, HostError> {
    api_owned(&state.registry, name)?;
    if let Some(host) = state.registry.host_clash(name, &settings.hosts) {
        return Err(HostError::new(StatusCode::CONFLICT, format!("host `{host}` already routes to another tenant")));
    }
    let (tenant, settings, component) = build(&state.registry, &state.admin, name, component, settings)
        .await
        .map_err(|e| HostError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("tenant `{name}` rejected: {e:#}")))?;
    let sha256 = hex::encode(Sha256::digest(&component));
    let settings_json = serde_json::to_string(&settings).expect("settings serialize");
    let version = state.registry.state().put_tenant(name, &component, &settings_json, &sha256).await.map_err(|e| {
        tracing::error!(tenant = %name, error = %format!("{e:#}"), "failed to persist a deploy");
        HostError::new(StatusCode::SERVICE_UNAVAILABLE, "the state backend is unavailable; nothing was changed")
    })?;
    let existed = state.registry.get(name).is_some();
    state
        .registry
        .install(name, tenant, &settings.hosts, Source::Api { sha256: sha256.clone(), version })
        .map_err(|e| HostError::new(StatusCode::CONFLICT, e.to_string()))?;
    tracing::info!(tenant = %name, %sha256, replaced = existed, "tenant deployed");
    Ok(json!({ "name": name, "status": "ready", "sha256": sha256, "replaced": existed }))
}

/// `PUT /admin/tenants/<name>/tokens`: same component, new tokens.
pub async fn rotate_tokens(state: &AppState, name: &str, tokens: Vec<String>) -> Result<Value, HostError> {
    // One lock over read-modify-write: a deploy in between is not undone.
    let _one_at_a_time = state.admin.lock.lock().await;
    api_owned(&state.registry, name)?;
    let stored = state.registry.state().get_tenant(name).await.map_err(unavailable)?.ok_or_else(|| HostError::unknown_tenant(name))?;
    let mut settings =
        TenantSettings::parse(&stored.settings).map_err(|e| HostError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")))?;
    settings.tokens = tokens;
    deploy_locked(state, name, stored.component, settings).await
}

/// `DELETE /admin/tenants/<name>`. The tenant's key-value data is kept.
pub async fn remove(state: &AppState, name: &str) -> Result<(), HostError> {
    let _one_at_a_time = state.admin.lock.lock().await;
    api_owned(&state.registry, name)?;
    let stored = state.registry.state().delete_tenant(name).await.map_err(unavailable)?;
    let served = state.registry.remove(name);
    if !stored && !served {
        return Err(HostError::unknown_tenant(name));
    }
    tracing::info!(tenant = %name, "tenant removed");
    Ok(())
}

fn unavailable(e: anyhow::Error) -> HostError {
    tracing::error!(error = %format!("{e:#}"), "state backend error in the admin API");
    HostError::new(StatusCode::SERVICE_UNAVAILABLE, "the state backend is unavailable; nothing was changed")
}
