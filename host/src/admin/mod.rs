//! The admin API (`/admin/tenants…`, admin bearer token): list tenants,
//! deploy a component with its settings (validated, compiled off the
//! request path, then swapped in atomically), rotate tokens, remove.
//! Enabled only when an admin token is configured.

pub mod client;
mod deploy;
mod sync;
mod upload;

pub use sync::{register_stored, sync_loop};

use crate::access::{check_bearer, Auth};
use crate::errors::{json_response, HostError};
use crate::server::AppState;
use crate::tenants::{Slot, Source};
use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::{json, Value};

/// Answers one admin request; `rest` is the path after `/admin`.
pub async fn serve(state: &AppState, req: Request<Incoming>, rest: &str) -> Response<Full<Bytes>> {
    match handle(state, req, rest).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

async fn handle(state: &AppState, req: Request<Incoming>, rest: &str) -> Result<Response<Full<Bytes>>, HostError> {
    let Some(token) = &state.admin.token else {
        return Err(HostError::new(StatusCode::NOT_FOUND, "the admin API is disabled: set the admin token (server.admin_token_env)"));
    };
    match check_bearer(req.headers(), std::slice::from_ref(token)) {
        Auth::Allowed => {}
        Auth::Missing => {
            return Err(HostError::new(StatusCode::UNAUTHORIZED, "missing admin bearer token")
                .header(header::WWW_AUTHENTICATE, "Bearer realm=\"hostel-admin\""))
        }
        Auth::Invalid => {
            return Err(HostError::new(StatusCode::UNAUTHORIZED, "invalid admin bearer token")
                .header(header::WWW_AUTHENTICATE, "Bearer realm=\"hostel-admin\", error=\"invalid_token\""))
        }
    }
    let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    let method = req.method().clone();
    match (method, segments.as_slice()) {
        (Method::GET, ["tenants"]) => Ok(json_response(StatusCode::OK, &json!({ "tenants": list(state) }))),
        (Method::GET, ["tenants", name]) => {
            let entry = list(state).into_iter().find(|t| t["name"] == *name).ok_or_else(|| HostError::unknown_tenant(name))?;
            Ok(json_response(StatusCode::OK, &entry))
        }
        (Method::PUT, ["tenants", name]) => {
            let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            let body = read_body(state, req).await?;
            let (component, settings) = upload::parse(&content_type, body).await?;
            let outcome = deploy::deploy(state, name, component, settings).await?;
            Ok(json_response(StatusCode::OK, &outcome))
        }
        (Method::PUT, ["tenants", name, "tokens"]) => {
            let body = read_body(state, req).await?;
            let tokens: Vec<String> = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| serde_json::from_value(v["tokens"].clone()).ok())
                .ok_or_else(|| HostError::new(StatusCode::BAD_REQUEST, "body must be JSON {\"tokens\": [\"…\", …]}"))?;
            Ok(json_response(StatusCode::OK, &deploy::rotate_tokens(state, name, tokens).await?))
        }
        (Method::DELETE, ["tenants", name]) => {
            deploy::remove(state, name).await?;
            Ok(json_response(StatusCode::OK, &json!({ "removed": name })))
        }
        (_, route @ (["tenants"] | ["tenants", _] | ["tenants", _, "tokens"])) => {
            let allow = match route.len() {
                1 => "GET",
                2 => "GET, PUT, DELETE",
                _ => "PUT",
            };
            Err(HostError::new(StatusCode::METHOD_NOT_ALLOWED, format!("method not allowed here; use {allow}"))
                .header(header::ALLOW, allow))
        }
        _ => Err(HostError::new(StatusCode::NOT_FOUND, format!("no admin route `{rest}`; see /admin/tenants"))),
    }
}

/// Every tenant with its status, source and (for API tenants) component hash.
fn list(state: &AppState) -> Vec<Value> {
    state
        .registry
        .list()
        .into_iter()
        .map(|(name, slot)| {
            let mut v = json!({ "name": name, "status": slot.status() });
            if let Slot::Failed { error, .. } = &slot {
                v["error"] = json!(error);
            }
            match state.registry.source(&name) {
                Some(Source::Api { sha256, .. }) => {
                    v["source"] = json!("api");
                    v["sha256"] = json!(sha256);
                }
                _ => v["source"] = json!("config"),
            }
            v
        })
        .collect()
}

async fn read_body(state: &AppState, req: Request<Incoming>) -> Result<Bytes, HostError> {
    let limit = state.admin.max_upload_bytes;
    match Limited::new(req.into_body(), limit).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(HostError::new(StatusCode::PAYLOAD_TOO_LARGE, format!("upload exceeds {limit} bytes (server.admin_max_upload_bytes)")))
        }
        Err(e) => Err(HostError::new(StatusCode::BAD_REQUEST, format!("failed to read the request body: {e}"))),
    }
}

/// Admin settings shared by every connection.
pub struct AdminState {
    /// The admin bearer token; `None` disables the API.
    pub token: Option<String>,
    /// Largest accepted upload.
    pub max_upload_bytes: usize,
    /// Limits an API tenant starts from before its own overrides.
    pub defaults: crate::config::Limits,
    /// One deploy/remove/sync at a time, so the state backend and the
    /// registry always end up agreeing.
    pub lock: tokio::sync::Mutex<()>,
}
