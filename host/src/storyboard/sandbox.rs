//! The tenant a storyboard runs against: the real component, instantiated
//! fresh for every step exactly as `hostel serve` would, but with state in a
//! private in-memory database and outbound HTTP allowed only to the runner's
//! own webhook receiver. No socket is involved: requests go straight into
//! [`crate::instance::invoke`].

use super::outcome::Outcome;
use crate::outbound::Origin;
use crate::state::StateStore;
use crate::tenants::Tenant;
use anyhow::{Context as _, Result};
use bytes::Bytes;
use http::header;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What one MCP request produced, before the runner interprets it.
pub struct Exchange {
    /// HTTP status the server would have sent.
    pub status: u16,
    /// `Content-Type` of the answer (JSON or an SSE stream).
    pub content_type: Option<String>,
    /// The answer body.
    pub body: Bytes,
}

/// One storyboard's private copy of the tenant.
pub struct Sandbox {
    tenant: Arc<Tenant>,
    auth: Option<String>,
    next_id: AtomicU64,
}

impl Sandbox {
    /// A copy of `tenant` with fresh in-memory state; `allow` is the only
    /// outbound origin (the webhook receiver), `auth` the bearer token sent
    /// with every request (a tenant may read it, e.g. to scope accounts).
    pub async fn new(tenant: &Tenant, allow: Option<&str>, auth: Option<String>) -> Result<Sandbox> {
        // One in-memory database per sandbox: storyboards never see each
        // other's state, and nothing is left on disk afterwards.
        let state = StateStore::open("sqlite::memory:", 1).await.context("failed to create the storyboard's in-memory state")?;
        let outbound = allow.map(Origin::parse).transpose()?.into_iter().collect();
        let auth = auth.or_else(|| tenant.tokens.first().cloned());
        Ok(Sandbox { tenant: Arc::new(tenant.sandboxed(state, outbound)), auth, next_id: AtomicU64::new(1) })
    }

    /// Sends one JSON-RPC request to a fresh instance. A guest that traps,
    /// runs out of memory or time answers like `serve` would: the matching
    /// HTTP status and a JSON-RPC `-32603` error saying what happened.
    pub async fn request(&self, method: &str, params: Value) -> Exchange {
        self.request_accepting(method, params, "application/json, text/event-stream").await
    }

    async fn request_accepting(&self, method: &str, params: Value, accept: &'static str) -> Exchange {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = serde_json::to_vec(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))
            .expect("a JSON value serializes");
        let mut request = http::Request::post(format!("/{}/mcp", self.tenant.name))
            .header(header::HOST, "storyboard.localhost")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, accept)
            .header(header::CONTENT_LENGTH, body.len());
        if let Some(token) = &self.auth {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request.body(Bytes::from(body)).expect("a static request is well-formed");
        match crate::instance::invoke(&self.tenant, request).await {
            Ok(response) => {
                let status = response.status().as_u16();
                let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
                let body = http_body_util::BodyExt::collect(response.into_body()).await.map(|b| b.to_bytes()).unwrap_or_default();
                Exchange { status, content_type, body }
            }
            Err(e) => {
                let error = json!({ "jsonrpc": "2.0", "id": id, "error": { "code": -32603, "message": e.to_string() } });
                Exchange {
                    status: e.status().as_u16(),
                    content_type: Some("application/json".into()),
                    body: Bytes::from(error.to_string()),
                }
            }
        }
    }

    /// `tools/call`.
    pub async fn call_tool(&self, name: &str, arguments: &Value) -> Exchange {
        self.request("tools/call", json!({ "name": name, "arguments": arguments })).await
    }

    /// `tools/call` as the official runner's raw probe sends it (steps that
    /// override auth or omit the idempotency key bypass its SDK client):
    /// JSON only.
    pub async fn call_tool_raw(&self, name: &str, arguments: &Value) -> Exchange {
        self.request_accepting("tools/call", json!({ "name": name, "arguments": arguments }), "application/json").await
    }

    /// The names of the tools the tenant advertises (`tools/list`, every page).
    pub async fn tool_names(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let params = match &cursor {
                Some(c) => json!({ "cursor": c }),
                None => json!({}),
            };
            let answer = self.request("tools/list", params).await;
            // Read as every step's answer is read (JSON, SSE, batch, errors).
            let outcome = Outcome::from_http(answer.status, &answer.body, answer.content_type.as_deref());
            let Some(result) = outcome.rpc().and_then(|m| m.get("result")) else {
                let why = outcome.error_message().unwrap_or_else(|| "no JSON-RPC result".into());
                anyhow::bail!("tools/list failed (HTTP {}): {why}", answer.status);
            };
            for tool in result["tools"].as_array().map(Vec::as_slice).unwrap_or_default() {
                names.extend(tool["name"].as_str().map(str::to_owned));
            }
            match result.get("nextCursor").and_then(Value::as_str) {
                Some(next) if cursor.as_deref() != Some(next) => cursor = Some(next.to_owned()),
                _ => return Ok(names),
            }
        }
    }
}
