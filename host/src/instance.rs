//! One request, one instance: a fresh `Store` with the tenant's limits, the
//! guest's `wasi:http` handler called inline in the connection's task, and
//! the response collected before the Store is dropped, so any trap, even
//! mid-body, becomes a clean error instead of a truncated answer.

use crate::engine::deadline_ticks;
use crate::outbound::OutboundPolicy;
use crate::tenants::Tenant;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::time::Duration;
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Store, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

/// Everything a guest can reach during one request. Dropped with the Store.
pub struct RequestState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    limiter: MemoryLimiter,
    hooks: OutboundPolicy,
    kv: crate::state::keyvalue::KvCtx,
    seal: crate::seal::SealKey,
}

impl RequestState {
    /// The guest's view of its tenant's key-value store.
    pub fn kv(&mut self) -> crate::state::keyvalue::KvView<'_> {
        crate::state::keyvalue::KvView::new(&self.kv, &mut self.table)
    }

    /// The tenant's sealing key (used by `hostel:lean/seal`).
    pub fn seal(&self) -> &crate::seal::SealKey {
        &self.seal
    }
}

static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Stores (hence instances) alive right now: the pool's occupancy.
pub fn live_instances() -> usize {
    LIVE.load(std::sync::atomic::Ordering::Relaxed)
}

impl Drop for RequestState {
    fn drop(&mut self) {
        LIVE.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl RequestState {
    /// What this request's instance cost so far.
    fn observe(&self, o: &mut crate::metrics::Observation) {
        o.memory_peak = self.limiter.peak as u64;
        o.kv_ops = self.kv.operations();
    }
}

impl WasiView for RequestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for RequestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

/// Caps linear memory and tables, and remembers whether the cap was hit so
/// the resulting trap can be reported as out-of-memory.
struct MemoryLimiter {
    max_memory: usize,
    hit: bool,
    /// Largest size granted, for the memory high-water metric.
    peak: usize,
}

/// Table elements one instance may grow to; Rust guests use a few hundred.
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        let ok = desired <= self.max_memory;
        self.hit |= !ok;
        if ok {
            self.peak = self.peak.max(desired);
        }
        Ok(ok)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// Why a guest did not produce a response.
#[derive(Debug, thiserror::Error)]
pub enum GuestError {
    /// The epoch deadline or the host timer fired.
    #[error("request exceeded the tenant's {0} ms deadline")]
    Deadline(u64),
    /// Linear memory hit the tenant's limit.
    #[error("guest ran out of memory (limit {0} MiB)")]
    OutOfMemory(u64),
    /// Any other trap.
    #[error("guest trapped: {0}")]
    Trap(String),
    /// The guest returned without setting a response.
    #[error("guest returned without sending a response")]
    NoResponse,
    /// The response body exceeded the limit.
    #[error("guest response exceeded {0} bytes")]
    ResponseTooLarge(usize),
    /// The guest answered with a wasi:http error code.
    #[error("guest reported an error: {0}")]
    Reported(String),
}

impl GuestError {
    /// A short label for metrics: `deadline`, `oom`, `trap`, …
    pub fn kind(&self) -> &'static str {
        match self {
            GuestError::Deadline(_) => "deadline",
            GuestError::OutOfMemory(_) => "oom",
            GuestError::Trap(_) => "trap",
            GuestError::NoResponse => "no_response",
            GuestError::ResponseTooLarge(_) => "response_too_large",
            GuestError::Reported(_) => "reported",
        }
    }

    /// HTTP status for this failure: 504 for deadlines, 500 otherwise.
    pub fn status(&self) -> http::StatusCode {
        match self {
            GuestError::Deadline(_) => http::StatusCode::GATEWAY_TIMEOUT,
            _ => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Instantiates `tenant` in a fresh Store and drops both: the fixed cost
/// every request pays before the guest does any work (for benchmarks).
pub async fn instantiate_only(tenant: &Tenant) {
    let mut store = new_store(tenant);
    tenant.pre.instantiate_async(&mut store).await.expect("instantiate");
}

/// A Store with the tenant's limits and deadline armed.
#[doc(hidden)]
pub fn new_store(tenant: &Tenant) -> Store<RequestState> {
    new_store_with_output(tenant, Default::default())
}

/// [`new_store`] with the guest's stdout/stderr going into `output`.
pub fn new_store_with_output(tenant: &Tenant, output: crate::guest_log::Capture) -> Store<RequestState> {
    let limits = tenant.limits;
    LIVE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut store = Store::new(
        tenant.pre.engine(),
        RequestState {
            wasi: WasiCtx::builder().stdout(output.clone()).stderr(output.clone()).build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter { max_memory: (limits.memory_mib as usize) << 20, hit: false, peak: 0 },
            hooks: OutboundPolicy::new(tenant.outbound.clone()),
            kv: crate::state::keyvalue::KvCtx::new(
                tenant.state.clone(),
                tenant.name.clone(),
                limits.kv_max_key_bytes,
                limits.kv_max_value_bytes,
                (limits.memory_mib as usize) << 20,
            ),
            seal: tenant.seal.clone(),
        },
    );
    store.limiter(|s| &mut s.limiter);
    store.set_epoch_deadline(deadline_ticks(Duration::from_millis(limits.timeout_ms)));
    store.epoch_deadline_trap();
    store
}

/// Runs `request` on a fresh instance of `tenant` and returns the complete
/// response, through the lean export when the tenant has it, else through
/// wasi:http. One deadline covers both: the epoch stops a guest spinning on
/// the CPU, this host timer one blocked in a host call.
/// `request` must carry an absolute path; `Host` names the authority.
pub async fn invoke(tenant: &Tenant, request: http::Request<Bytes>) -> Result<http::Response<Full<Bytes>>, GuestError> {
    invoke_observed(tenant, request, &mut Default::default()).await
}

/// [`invoke`], also reporting what the invocation cost into `o`.
pub async fn invoke_observed(
    tenant: &Tenant,
    request: http::Request<Bytes>,
    o: &mut crate::metrics::Observation,
) -> Result<http::Response<Full<Bytes>>, GuestError> {
    let run = async {
        match &tenant.lean {
            Some(lean) => invoke_lean(tenant, lean, request, o).await,
            None => invoke_wasi_http(tenant, request.map(Full::new), o).await,
        }
    };
    let timeout_ms = tenant.limits.timeout_ms;
    tokio::time::timeout(Duration::from_millis(timeout_ms), run).await.unwrap_or(Err(GuestError::Deadline(timeout_ms)))
}

async fn invoke_lean(
    tenant: &Tenant,
    lean: &crate::lean::GuestPre<RequestState>,
    request: http::Request<Bytes>,
    o: &mut crate::metrics::Observation,
) -> Result<http::Response<Full<Bytes>>, GuestError> {
    let started = std::time::Instant::now();
    let mut store = new_store_with_output(tenant, o.output.clone());
    let request = crate::lean::to_lean(request);
    let called = async {
        let guest = lean.instantiate_async(&mut store).await?;
        o.instantiate = started.elapsed();
        guest.hostel_lean_handler().call_handle(&mut store, &request).await
    }
    .await;
    o.guest = started.elapsed().saturating_sub(o.instantiate);
    store.data().observe(o);
    let response = called.map_err(|e| classify(e, &tenant.limits, store.data().limiter.hit))?;
    let max = tenant.limits.max_response_bytes;
    if response.body.len() > max {
        return Err(GuestError::ResponseTooLarge(max));
    }
    crate::lean::from_lean(response).map_err(GuestError::Reported)
}

async fn invoke_wasi_http(
    tenant: &Tenant,
    request: http::Request<Full<Bytes>>,
    o: &mut crate::metrics::Observation,
) -> Result<http::Response<Full<Bytes>>, GuestError> {
    let limits = tenant.limits;
    let started = std::time::Instant::now();
    let mut store = new_store_with_output(tenant, o.output.clone());

    let (sender, receiver) = tokio::sync::oneshot::channel();
    let setup = |e: wasmtime::Error| GuestError::Trap(format!("failed to set up the request: {e:#}"));
    let req = store.data_mut().http().new_incoming_request(Scheme::Http, request).map_err(setup)?;
    let out = store.data_mut().http().new_response_outparam(sender).map_err(setup)?;

    // Own block so the pinned futures (and their borrow of `store`) end
    // before the Store is inspected below.
    let (called, collected) = {
        let collect = async {
            let response = receiver.await.map_err(|_| GuestError::NoResponse)?.map_err(|code| GuestError::Reported(format!("{code:?}")))?;
            let (parts, body) = response.into_parts();
            let body = http_body_util::Limited::new(body, limits.max_response_bytes)
                .collect()
                .await
                .map_err(|e| match e.downcast::<http_body_util::LengthLimitError>() {
                    Ok(_) => GuestError::ResponseTooLarge(limits.max_response_bytes),
                    Err(e) => GuestError::Trap(format!("response body failed: {e}")),
                })?
                .to_bytes();
            Ok::<_, GuestError>(http::Response::from_parts(parts, Full::new(body)))
        };
        let instantiated = &mut o.instantiate;
        let call = async {
            let proxy = tenant.pre.instantiate_async(&mut store).await?;
            *instantiated = started.elapsed();
            proxy.wasi_http_incoming_handler().call_handle(&mut store, req, out).await
        };
        tokio::pin!(collect, call);
        let mut collected = None;
        let called = loop {
            tokio::select! {
                r = &mut call => break r,
                c = &mut collect, if collected.is_none() => match c {
                    Ok(resp) => collected = Some(resp),
                    // Too large or broken: stop the guest now.
                    Err(e) => return Err(e),
                },
            }
        };
        // The guest has returned; what it wrote is buffered, so finish
        // collecting (a guest that never set a response dropped its
        // outparam on return, which settles this too).
        let collected = match (&called, collected) {
            (_, Some(resp)) => Some(resp),
            (Ok(()), None) => Some(collect.await?),
            (Err(_), None) => None,
        };
        (called, collected)
    };
    o.guest = started.elapsed().saturating_sub(o.instantiate);
    store.data().observe(o);
    match (called, collected) {
        (Ok(()), Some(resp)) => Ok(resp),
        // The client has the whole answer; a trap after it (e.g. on a
        // late flush) is the guest's problem, not the client's.
        (Err(e), Some(resp)) => {
            tracing::warn!(tenant = %tenant.name, error = %format!("{e:#}"), "guest trapped after completing its response");
            Ok(resp)
        }
        (Err(e), None) => Err(classify(e, &limits, store.data().limiter.hit)),
        (Ok(()), None) => Err(GuestError::NoResponse),
    }
}

/// Names the failure for the client in one line; the full error, with the
/// guest's wasm backtrace, goes to the log only.
fn classify(e: wasmtime::Error, limits: &crate::config::Limits, memory_hit: bool) -> GuestError {
    tracing::debug!(error = %format!("{e:?}"), "guest call failed");
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => GuestError::Deadline(limits.timeout_ms),
        Some(_) if memory_hit => GuestError::OutOfMemory(limits.memory_mib),
        Some(trap) => GuestError::Trap(trap.to_string()),
        None => GuestError::Trap(e.to_string()),
    }
}
