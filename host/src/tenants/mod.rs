//! The tenant registry: name → compiling | ready | failed, with host-name
//! routing. Ready tenants hold an `Arc<Tenant>` that requests clone, so a
//! later swap never disturbs requests already running on the old version.

use crate::compile_cache::{CompileCache, Outcome};
use crate::config::{Entry, Limits, TenantConfig};
use crate::instance::RequestState;
use crate::outbound::Origin;
use crate::state::StateStore;
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;
use tokio::sync::Semaphore;
use wasmtime::component::{Component, Linker};
use wasmtime::Engine;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

mod lifecycle;
mod slot;
pub use slot::{Slot, Source};

/// A tenant ready to serve: its pre-instantiated component and policy.
pub struct Tenant {
    /// Tenant name (shared with every request's key-value scope).
    pub name: Arc<str>,
    /// Linked once; each request instantiates a fresh copy.
    pub pre: ProxyPre<RequestState>,
    /// The lean entry point, when the component exports it and the tenant
    /// does not force `entry = "wasi-http"`.
    pub lean: Option<crate::lean::GuestPre<RequestState>>,
    /// Limits in force.
    pub limits: Limits,
    /// Accepted bearer tokens; empty = open.
    pub tokens: Vec<String>,
    /// Outbound HTTP allowlist.
    pub outbound: Arc<[Origin]>,
    /// Per-tenant concurrency cap.
    pub permits: Arc<Semaphore>,
    /// Where the tenant's `wasi:keyvalue` data lives.
    pub state: StateStore,
    /// Key the host MACs the tenant's sealed request state with.
    pub seal: crate::seal::SealKey,
    /// Keeps the shared compiled component alive while this tenant is.
    _linked: Arc<Linked>,
    /// Set when loaded on first use (`lazy_tenants`), so it can be unloaded
    /// when idle.
    lazy: Option<Arc<crate::lazy::LazySource>>,
    /// [`crate::lazy::now_secs`] of the last request routed to it.
    last_used: std::sync::atomic::AtomicU64,
}

/// A compiled and linked component, shared by every tenant running the
/// same bytes: a thousand tenants of one component hold one copy of its
/// code and one linked `InstancePre`.
pub struct Linked {
    pre: ProxyPre<RequestState>,
    lean: Option<crate::lean::GuestPre<RequestState>>,
    /// Linear memory an instance has before running any code (a
    /// pre-initialized component's snapshot included).
    initial_memory_bytes: u64,
}

/// All tenants, shared by every connection.
pub struct Registry {
    engine: Engine,
    linker: Linker<RequestState>,
    cache: CompileCache,
    state: StateStore,
    master: crate::seal::MasterSecret,
    slots: RwLock<HashMap<String, Slot>>,
    hosts: RwLock<HashMap<String, String>>,
    sources: RwLock<HashMap<String, Source>>,
    /// Linked components by SHA-256 of their bytes; the per-digest lock
    /// makes concurrent loads of the same bytes compile once.
    linked: std::sync::Mutex<HashMap<String, Arc<std::sync::Mutex<std::sync::Weak<Linked>>>>>,
}

impl Registry {
    /// An empty registry over `engine`, caching artifacts in `cache`,
    /// tenants keeping their state in `state` and deriving their sealing
    /// keys from `master`.
    pub fn new(engine: Engine, cache: CompileCache, state: StateStore, master: crate::seal::MasterSecret) -> Result<Self> {
        let linker = crate::linker::build(&engine)?;
        Ok(Registry {
            engine,
            linker,
            cache,
            state,
            master,
            slots: RwLock::default(),
            hosts: RwLock::default(),
            sources: RwLock::default(),
            linked: Default::default(),
        })
    }

    /// The state backend tenants keep their data (and API tenants their
    /// components) in.
    pub fn state(&self) -> &StateStore {
        &self.state
    }

    /// Where tenant `name` comes from, if it exists.
    pub fn source(&self, name: &str) -> Option<Source> {
        self.sources.read().expect("registry lock").get(name).cloned()
    }

    /// Makes `tenant` serve `name`, atomically: requests already running
    /// keep the `Arc` of the version they started on; every request
    /// routed after this sees the new one. Fails, changing nothing, when
    /// one of `hosts` already routes to another tenant.
    pub fn install(&self, name: &str, tenant: Tenant, hosts: &[String], source: Source) -> Result<()> {
        self.replace(&[name.to_owned()], vec![(name.to_owned(), Slot::Ready(Arc::new(tenant)), hosts.to_vec())], source)
    }

    /// Replaces every config-file tenant at once (config reload): `old`
    /// file tenants stop, `new` ones (ready, or lazy) serve, host routes
    /// move with them.
    pub fn replace_file_tenants(&self, old: &[String], new: Vec<(String, Slot, Vec<String>)>) -> Result<()> {
        self.replace(old, new, Source::File)
    }

    /// The one swap both of the above are: tenants `old` stop, `new` ones
    /// (name, tenant, hosts) serve from `source`, and host routes move with
    /// them, all under the registry's locks. All or nothing: a host that a
    /// tenant outside the swap owns fails it before anything changes.
    fn replace(&self, old: &[String], new: Vec<(String, Slot, Vec<String>)>, source: Source) -> Result<()> {
        let mut routes = self.hosts.write().expect("registry lock");
        let mut slots = self.slots.write().expect("registry lock");
        let mut sources = self.sources.write().expect("registry lock");
        let mut next: HashMap<String, String> =
            routes.iter().filter(|(_, owner)| !old.contains(owner)).map(|(h, o)| (h.clone(), o.clone())).collect();
        for (name, _, hosts) in &new {
            for h in hosts.iter().map(|h| h.to_ascii_lowercase()) {
                if let Some(owner) = next.get(&h).filter(|owner| *owner != name) {
                    anyhow::bail!("host `{h}` of tenant `{name}` already routes to tenant `{owner}`");
                }
                next.insert(h, name.clone());
            }
        }
        for name in old {
            slots.remove(name);
            sources.remove(name);
        }
        for (name, slot, _) in new {
            slots.insert(name.clone(), slot);
            sources.insert(name, source.clone());
        }
        *routes = next;
        Ok(())
    }

    /// The tenant other than `name` that one of `hosts` routes to, if any.
    pub fn host_clash(&self, name: &str, hosts: &[String]) -> Option<String> {
        let routes = self.hosts.read().expect("registry lock");
        hosts.iter().map(|h| h.to_ascii_lowercase()).find(|h| routes.get(h).is_some_and(|owner| owner != name))
    }

    /// Records where `name` comes from (an API tenant that failed to load).
    pub fn set_source(&self, name: &str, source: Source) {
        self.sources.write().expect("registry lock").insert(name.to_owned(), source);
    }

    /// Sets the slot of `name` (an API tenant being loaded or failing).
    pub fn set_slot(&self, name: &str, slot: Slot) {
        self.slots.write().expect("registry lock").insert(name.to_owned(), slot);
    }

    /// Stops serving `name` (requests in flight finish); its key-value data
    /// stays in the state backend. Returns whether it existed.
    pub fn remove(&self, name: &str) -> bool {
        self.hosts.write().expect("registry lock").retain(|_, owner| owner != name);
        self.sources.write().expect("registry lock").remove(name);
        self.slots.write().expect("registry lock").remove(name).is_some()
    }

    /// The compile cache (for metrics).
    pub fn cache(&self) -> &CompileCache {
        &self.cache
    }

    /// The tenant's slot, if it exists.
    pub fn get(&self, name: &str) -> Option<Slot> {
        self.slots.read().expect("registry lock").get(name).cloned()
    }

    /// The tenant a `Host` header routes to (port ignored, case-insensitive).
    pub fn tenant_for_host(&self, host: &str) -> Option<String> {
        let host = host.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(h, _)| h);
        self.hosts.read().expect("registry lock").get(&host.to_ascii_lowercase()).cloned()
    }

    /// Every tenant with its status, sorted by name.
    pub fn list(&self) -> Vec<(String, Slot)> {
        let mut all: Vec<_> = self.slots.read().expect("registry lock").iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// True when every tenant is ready (or lazy: ready to be loaded).
    pub fn all_ready(&self) -> bool {
        self.slots.read().expect("registry lock").values().all(Slot::serves)
    }

    /// Reads, compiles (or loads from cache) and links one tenant. Blocking.
    pub fn load(&self, t: &TenantConfig, limits: Limits) -> Result<Tenant> {
        let bytes = std::fs::read(&t.component).with_context(|| format!("failed to read component `{}`", t.component.display()))?;
        self.build(t, &bytes, limits).with_context(|| format!("`{}` is not a usable component", t.component.display()))
    }

    /// Validates, compiles (or loads from cache) and links `bytes` as
    /// tenant `t`: it must be a component, import only what the host
    /// provides, and export `wasi:http/incoming-handler`. Blocking.
    pub fn build(&self, t: &TenantConfig, bytes: &[u8], limits: Limits) -> Result<Tenant> {
        let started = Instant::now();
        let (linked, outcome) = self.linked(bytes)?;
        // Otherwise every request would fail at instantiation.
        anyhow::ensure!(
            linked.initial_memory_bytes <= limits.memory_mib << 20,
            "the component starts with {} MiB of linear memory, more than the tenant's `memory_mib` = {}",
            linked.initial_memory_bytes.div_ceil(1 << 20),
            limits.memory_mib
        );
        let pre = linked.pre.clone();
        let lean = match t.entry {
            Entry::Auto => linked.lean.clone(),
            Entry::WasiHttp => None,
        };
        let outbound: Vec<Origin> = t.outbound.iter().map(|o| Origin::parse(o)).collect::<Result<_>>()?;
        tracing::info!(
            tenant = %t.name,
            entry = if lean.is_some() { "lean" } else { "wasi-http" },
            cache = match outcome {
                Some(Outcome::Hit) => "hit",
                Some(Outcome::Miss) => "miss",
                Some(Outcome::Rebuilt) => "rebuilt",
                None => "shared",
            },
            ms = started.elapsed().as_millis() as u64,
            "tenant ready"
        );
        Ok(Tenant {
            name: t.name.as_str().into(),
            pre,
            lean,
            limits,
            tokens: t.tokens.clone(),
            outbound: outbound.into(),
            permits: Arc::new(Semaphore::new(limits.max_concurrent)),
            state: self.state.clone(),
            seal: self.master.tenant_key(&t.name),
            _linked: linked,
            lazy: None,
            last_used: crate::lazy::now_secs().into(),
        })
    }

    /// The linked component for `bytes`: shared with other tenants running
    /// the same bytes (outcome `None`), else compiled through the cache.
    fn linked(&self, bytes: &[u8]) -> Result<(Arc<Linked>, Option<Outcome>)> {
        use sha2::{Digest, Sha256};
        let digest = hex::encode(Sha256::digest(bytes));
        let slot = {
            let mut all = self.linked.lock().expect("linked lock");
            // Forget digests no tenant runs any more (never wait on a slot
            // another thread is compiling into: that one is in use).
            all.retain(|_, slot| Arc::strong_count(slot) > 1 || slot.try_lock().map_or(true, |w| w.strong_count() > 0));
            all.entry(digest).or_default().clone()
        };
        let mut slot = slot.lock().expect("linked slot lock");
        if let Some(linked) = slot.upgrade() {
            return Ok((linked, None));
        }
        let (component, outcome) = self.compile(bytes)?;
        let pre = self.link(&component)?;
        let lean = crate::lean::GuestPre::new(pre.instance_pre().clone()).ok();
        let initial_memory_bytes =
            component.resources_required().and_then(|r| r.max_initial_memory_size).unwrap_or(0).saturating_mul(64 << 10);
        let linked = Arc::new(Linked { pre, lean, initial_memory_bytes });
        *slot = Arc::downgrade(&linked);
        Ok((linked, Some(outcome)))
    }

    /// Compiles `bytes` through the cache (see [`compile`]).
    pub fn compile(&self, bytes: &[u8]) -> Result<(Component, Outcome)> {
        compile(&self.engine, &self.cache, bytes)
    }

    fn link(&self, component: &Component) -> Result<ProxyPre<RequestState>> {
        let pre = self
            .linker
            .instantiate_pre(component)
            .map_err(anyhow::Error::from)
            .context("component imports something Hostel does not provide")?;
        ProxyPre::new(pre).map_err(anyhow::Error::from).context("component does not export `wasi:http/incoming-handler`")
    }
}

/// Compiles `bytes` through `cache`. Rejects core modules and non-wasm
/// input with a message saying what was found.
pub fn compile(engine: &Engine, cache: &CompileCache, bytes: &[u8]) -> Result<(Component, Outcome)> {
    anyhow::ensure!(bytes.starts_with(b"\0asm"), "not a WebAssembly file (missing `\\0asm` header)");
    anyhow::ensure!(
        is_component_binary(bytes),
        "a core WebAssembly module, not a component: build for `wasm32-wasip2` (or wrap it with `wasm-tools component new`)"
    );
    cache.load(engine, bytes)
}

/// The 8-byte preamble: magic, then version 0x0d 0x00 + layer 0x01 0x00 for
/// components versus version 1 layer 0 for core modules.
fn is_component_binary(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[6..8] == [0x01, 0x00]
}

impl Tenant {
    /// This tenant's linked component with its own state and outbound
    /// policy: a storyboard run gets throwaway state and may reach only the
    /// runner's webhook receiver, while instantiation stays as cheap as in
    /// `serve` because the compiled component is shared, not rebuilt.
    pub fn sandboxed(&self, state: StateStore, outbound: Vec<Origin>) -> Tenant {
        Tenant {
            name: self.name.clone(),
            pre: self.pre.clone(),
            lean: self.lean.clone(),
            limits: self.limits,
            tokens: self.tokens.clone(),
            outbound: outbound.into(),
            permits: Arc::new(Semaphore::new(self.limits.max_concurrent)),
            state,
            seal: self.seal.clone(),
            _linked: self._linked.clone(),
            lazy: None,
            last_used: crate::lazy::now_secs().into(),
        }
    }

    /// Marks this tenant as loaded from `source` on first use.
    pub fn loaded_lazily(mut self, source: Arc<crate::lazy::LazySource>) -> Tenant {
        self.lazy = Some(source);
        self
    }

    /// Records that a request was routed to this tenant (only lazily
    /// loaded ones are ever unloaded, so only they pay for the clock read).
    pub fn touch(&self) {
        if self.lazy.is_some() {
            let now = crate::lazy::now_secs();
            // Written once a second at most: no cache-line ping-pong
            // between cores serving the same tenant.
            if self.last_used.load(std::sync::atomic::Ordering::Relaxed) != now {
                self.last_used.store(now, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }
}
