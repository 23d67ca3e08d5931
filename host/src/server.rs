//! The listener: accepts connections, routes requests, shuts down
//! gracefully. Guests run inline in each connection's task (no hop to
//! another thread per request, see WASMTIME48.md).

use crate::compile_cache::CompileCache;
use crate::config::Config;
use crate::errors::{json_response, HostError};
use crate::metrics::Metrics;
use crate::router::{route, Route};
use crate::tenants::Registry;
use anyhow::{Context, Result};
use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Shared by every connection.
pub struct AppState {
    /// Tenants.
    pub registry: Arc<Registry>,
    /// Origins allowed on MCP endpoints.
    pub allowed_origins: Vec<String>,
    /// Global concurrency cap.
    pub permits: Arc<Semaphore>,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// How long a client may take to send a request body.
    pub body_read_timeout: Duration,
    /// Admin API settings.
    pub admin: crate::admin::AdminState,
    /// True when the admin API has a listener of its own (then the main
    /// listener does not serve it).
    pub admin_separate: bool,
    /// `server.lazy_tenants` as started (a reload keeps it).
    pub lazy_tenants: bool,
    /// Lazy tenant loads allowed at once (`lazy_load_concurrency`).
    pub lazy_loads: Arc<Semaphore>,
    /// Span export, when `server.otel_endpoint` is set.
    #[cfg(feature = "otel")]
    pub otel: Option<crate::otel::Exporter>,
}

/// Which listener a connection came in on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Listener {
    Main,
    Admin,
}

/// Per-connection protections against slow or oversized request heads.
struct HttpLimits {
    header_read_timeout: Duration,
    max_headers: usize,
    max_header_bytes: usize,
}

/// A bound, not yet running server.
pub struct Server {
    config_path: Option<std::path::PathBuf>,
    watch_config: bool,
    listener: TcpListener,
    admin_listener: Option<TcpListener>,
    sync_every: Duration,
    /// Unload lazily loaded tenants idle this long (`lazy_idle_secs`).
    lazy_idle: Option<Duration>,
    state: Arc<AppState>,
    http: HttpLimits,
    grace: Duration,
    _ticker: crate::engine::EpochTicker,
}

impl Server {
    /// Builds the engine, binds the listener and starts loading tenants.
    pub async fn bind(config: &Config) -> Result<Server> {
        let engine = crate::engine::build(config.server.pool_instances)?;
        let ticker = crate::engine::EpochTicker::start(&engine);
        let cache = CompileCache::with_preinit(&engine, &config.server.cache_dir, config.server.preinit_limits());
        let state = crate::state::StateStore::open(&config.server.state, config.server.state_max_connections).await?;
        tracing::info!(state = %state.display(), "state store open");
        let master = crate::seal::MasterSecret::load(&state).await?;
        let registry = Arc::new(Registry::new(engine, cache, state, master)?);
        let listener =
            TcpListener::bind(&config.server.listen).await.with_context(|| format!("failed to listen on `{}`", config.server.listen))?;
        let admin_listener = match &config.server.admin_listen {
            Some(addr) => Some(TcpListener::bind(addr).await.with_context(|| format!("failed to listen on admin address `{addr}`"))?),
            None => None,
        };
        registry.load_all(config);
        let env = &config.server.admin_token_env;
        let token = std::env::var(env).ok().filter(|t| !t.trim().is_empty()).and_then(|t| admin_token(t, env));
        if token.is_none() && admin_listener.is_some() {
            tracing::warn!(env = %config.server.admin_token_env, "admin listener configured but no admin token set: the admin API is disabled");
        }
        let metrics = Metrics::new(registry.clone(), config.server.pool_instances);
        let state = Arc::new(AppState {
            registry,
            allowed_origins: config.server.allowed_origins.clone(),
            permits: Arc::new(Semaphore::new(config.server.max_concurrent)),
            metrics,
            body_read_timeout: Duration::from_secs(config.server.body_read_timeout_secs),
            admin: crate::admin::AdminState {
                token,
                max_upload_bytes: config.server.admin_max_upload_bytes,
                defaults: config.limits,
                lock: tokio::sync::Mutex::new(()),
            },
            admin_separate: admin_listener.is_some(),
            lazy_tenants: config.server.lazy_tenants,
            lazy_loads: Arc::new(Semaphore::new(config.server.lazy_loads())),
            #[cfg(feature = "otel")]
            otel: match &config.server.otel_endpoint {
                Some(endpoint) => Some(crate::otel::Exporter::start(endpoint, &config.server.otel_service_name)?),
                None => None,
            },
        });
        let http = HttpLimits {
            header_read_timeout: Duration::from_secs(config.server.header_read_timeout_secs),
            max_headers: config.server.max_headers,
            max_header_bytes: config.server.max_header_bytes,
        };
        crate::admin::register_stored(&state).await.context("failed to read tenants stored in the state backend")?;
        Ok(Server {
            config_path: None,
            watch_config: config.server.watch_config,
            listener,
            admin_listener,
            sync_every: Duration::from_secs(config.server.tenant_sync_secs),
            lazy_idle: (config.server.lazy_tenants && config.server.lazy_idle_secs > 0)
                .then(|| Duration::from_secs(config.server.lazy_idle_secs)),
            state,
            http,
            grace: Duration::from_secs(config.server.shutdown_grace_secs),
            _ticker: ticker,
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Reloads tenants from `path` on SIGHUP (and on change with
    /// `server.watch_config`).
    pub fn reload_from(&mut self, path: std::path::PathBuf) {
        self.config_path = Some(path);
    }

    /// The admin listener's address, when it has its own.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_listener.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish
    /// for up to the grace period.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) -> Result<()> {
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        // API tenants: load what earlier deploys stored, then follow changes
        // other replicas make.
        let sync = tokio::spawn(crate::admin::sync_loop(self.state.clone(), self.sync_every));
        let evict = self.lazy_idle.map(|idle| tokio::spawn(crate::lazy::evict_idle(self.state.registry.clone(), idle)));
        let watch = self.config_path.clone().map(|path| {
            let poll = self.watch_config.then_some(Duration::from_secs(2));
            tokio::spawn(crate::reload::watch(self.state.clone(), path, poll))
        });
        tokio::pin!(shutdown);
        let admin_accept = || async {
            match &self.admin_listener {
                Some(l) => l.accept().await,
                None => std::future::pending().await,
            }
        };
        loop {
            let (accepted, listener) = tokio::select! {
                accepted = self.listener.accept() => (accepted, Listener::Main),
                accepted = admin_accept() => (accepted, Listener::Admin),
                () = &mut shutdown => break,
            };
            let (stream, _peer) = match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let state = self.state.clone();
            let service = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(&state, req, listener).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                // Slow clients (slowloris) get this long to send headers.
                .header_read_timeout(self.http.header_read_timeout)
                .max_headers(self.http.max_headers)
                .max_buf_size(self.http.max_header_bytes)
                .serve_connection(TokioIo::new(stream), service);
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            });
        }
        sync.abort();
        if let Some(e) = evict {
            e.abort();
        }
        if let Some(w) = watch {
            w.abort();
        }
        tracing::info!("shutting down: waiting for in-flight requests");
        tokio::select! {
            () = graceful.shutdown() => tracing::info!("all connections closed"),
            () = tokio::time::sleep(self.grace) => tracing::warn!("grace period over; dropping remaining connections"),
        }
        Ok(())
    }
}

/// Routes one request.
async fn handle(state: &AppState, req: Request<Incoming>, listener: Listener) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let route = route(&path);
    if listener == Listener::Admin && !matches!(route, Route::Admin(_) | Route::Health) {
        return HostError::new(StatusCode::NOT_FOUND, format!("the admin listener serves /admin/… only, not `{path}`")).into_response();
    }
    match route {
        Route::Admin(rest) if listener == Listener::Admin || !state.admin_separate => crate::admin::serve(state, req, rest).await,
        Route::Admin(_) => HostError::new(StatusCode::NOT_FOUND, "the admin API is served on its own listener").into_response(),
        Route::Health => json_response(StatusCode::OK, &json!({ "status": "ok" })),
        Route::Ready => readiness(state),
        Route::Metrics => {
            let mut resp = Response::new(Full::new(Bytes::from(state.metrics.render())));
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"));
            resp
        }
        Route::TenantPath(name) => crate::gateway::serve_mcp(state, name, req).await,
        Route::HostRouted => {
            let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
            match state.registry.tenant_for_host(host) {
                Some(name) => crate::gateway::serve_mcp(state, &name, req).await,
                None => HostError::new(StatusCode::NOT_FOUND, format!("unknown tenant: no tenant serves host `{host}`")).into_response(),
            }
        }
        Route::BadTenant(name) => HostError::unknown_tenant(name).into_response(),
        Route::NotFound => {
            HostError::new(StatusCode::NOT_FOUND, format!("no route for `{path}`; MCP endpoints are POST /<tenant>/mcp")).into_response()
        }
    }
}

fn readiness(state: &AppState) -> Response<Full<Bytes>> {
    let tenants: serde_json::Map<String, serde_json::Value> = state
        .registry
        .list()
        .into_iter()
        .map(|(name, slot)| {
            let mut v = json!({ "status": slot.status() });
            if let crate::tenants::Slot::Failed { error, .. } = &slot {
                v["error"] = json!(error);
            }
            (name, v)
        })
        .collect();
    let ready = state.registry.all_ready();
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    json_response(status, &json!({ "ready": ready, "tenants": tenants }))
}

/// Shortest admin token accepted.
const MIN_ADMIN_TOKEN: usize = 16;

/// The admin token, trimmed (a Secret with a trailing newline still
/// works); too short or a placeholder disables the admin API with a warning.
fn admin_token(raw: String, env: &str) -> Option<String> {
    let token = raw.trim().to_owned();
    if token.len() < MIN_ADMIN_TOKEN || token.eq_ignore_ascii_case("change-me") {
        tracing::warn!(%env, "admin token too short (needs {MIN_ADMIN_TOKEN}+ characters) or a placeholder: the admin API is disabled");
        return None;
    }
    Some(token)
}
