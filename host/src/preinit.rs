//! Pre-initialization at deploy (wasmtime-wizer): a component that exports
//! `hostel:lean/init` gets that function called once, and the linear
//! memories and globals it leaves behind become the component's initial
//! state. Every request's fresh instance then starts with the SDK's tool
//! registry (schemas, catalogs) already built instead of rebuilding it.
//!
//! Isolation is unchanged: each request still gets its own instance, all
//! of them starting from the same snapshot. Pre-initialization is an
//! optimization, never a reason to refuse a component: when it fails (init
//! traps, runs too long, uses an instruction wizer cannot snapshot) the
//! caller keeps the component as it was and logs why.

use anyhow::{bail, Context as _, Result};
use std::future::Future;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::outbound::OutboundPolicy;
use wasmtime::component::{Component, Instance, Linker, ResourceTable, WasmList};
use wasmtime::{Config, Engine, ResourceLimiter, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};
use wasmtime_wizer::{ComponentInstanceState, Wizer};

/// The interface a pre-initializable component exports (see `wit/lean`).
pub const INIT_INTERFACE: &str = "hostel:lean/init@0.1.0";

/// How wizer names the init function of [`INIT_INTERFACE`].
const INIT_FUNC: &str = "hostel:lean/init.init@0.1.0";

/// Bounds on the one init call, so a hostile component cannot stall or
/// exhaust a deploy.
#[derive(Debug, Clone, Copy)]
pub struct PreinitLimits {
    /// Wall-clock budget for instantiation, `init` and the snapshot.
    pub timeout: Duration,
    /// Most memory `init` may grow, its linear memories and tables (8
    /// bytes an element) together; every instance started from the
    /// snapshot begins with the memory `init` left.
    pub max_memory_bytes: usize,
}

impl Default for PreinitLimits {
    fn default() -> Self {
        PreinitLimits { timeout: Duration::from_secs(5), max_memory_bytes: 256 << 20 }
    }
}

/// True when the component exports [`INIT_INTERFACE`] at its top level.
pub fn exports_init(component: &[u8]) -> Result<bool> {
    use wasmparser::{Parser, Payload};
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(component) {
        match payload.context("not a valid component")? {
            Payload::Version { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentExportSection(exports) if depth == 1 => {
                for export in exports {
                    if export.context("not a valid component")?.name.name == INIT_INTERFACE {
                        return Ok(true);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(false)
}

/// Runs the component's `init` and returns the snapshotted component, or
/// `None` when it has no `init` to run. Blocking and CPU-heavy (it compiles
/// the component once more, unoptimized, to run `init`).
pub fn preinitialize(component: &[u8], limits: PreinitLimits) -> Result<Option<Vec<u8>>> {
    if !exports_init(component)? {
        return Ok(None);
    }
    let mut wizer = Wizer::new();
    // Keep the export: wit-bindgen guests alias it from the component
    // level, and stripping the core export leaves an invalid component
    // (wasmtime#13168).
    wizer.init_func(INIT_FUNC).keep_init_func(true);
    let (cx, instrumented) = wizer.instrument_component(component).map_err(anyhow::Error::from).context("cannot be pre-initialized")?;

    // An engine of its own: no pooling (one instance), unoptimized code
    // (it runs once), and its own epoch so the deadline is this call's.
    let mut config = Config::new();
    config.epoch_interruption(true).cranelift_opt_level(wasmtime::OptLevel::None).concurrency_support(false);
    let engine = Engine::new(&config)?;
    let compiled = Component::new(&engine, &instrumented).map_err(anyhow::Error::from).context("compiling the instrumented component")?;

    let mut linker: Linker<InitState> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    // The real wasi:http (its resources share types with wasi:io, so trap
    // stubs would not link), with every outbound request denied.
    wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker)?;
    stub_tenant_imports(&mut linker, &compiled, &engine)?;

    let mut store = Store::new(
        &engine,
        InitState {
            wasi: WasiCtx::builder().build(),
            http: WasiHttpCtx::new(),
            hooks: OutboundPolicy::new(Vec::new().into()),
            table: ResourceTable::new(),
            budget: InitBudget { left: limits.max_memory_bytes, exceeded: false },
        },
    );
    store.limiter(|s| &mut s.budget);
    let _ticker = crate::engine::EpochTicker::start(&engine);
    store.set_epoch_deadline(crate::engine::deadline_ticks(limits.timeout));

    // Says which limit stopped `init`, when one did.
    let over_budget = |store: &Store<InitState>, e: wasmtime::Error| {
        let deadline = matches!(e.downcast_ref::<wasmtime::Trap>(), Some(wasmtime::Trap::Interrupt));
        let e = anyhow::Error::from(e);
        match (deadline, store.data().budget.exceeded) {
            (true, _) => e.context(DeadlineExceeded(limits.timeout)),
            (false, true) => {
                e.context(format!("`init` needs more than {} MiB of memory and tables (preinit_memory_mib)", limits.max_memory_bytes >> 20))
            }
            (false, false) => e,
        }
    };
    let instance =
        linker.instantiate(&mut store, &compiled).map_err(|e| over_budget(&store, e)).context("instantiating for pre-initialization")?;
    let iface = compiled.get_export_index(None, INIT_INTERFACE).context("no init interface")?;
    let func = compiled.get_export_index(Some(&iface), "init").context("the init interface has no `init` function")?;
    instance
        .get_typed_func::<(), ()>(&mut store, &func)
        .map_err(anyhow::Error::from)
        .context("`init` is not `func()`")?
        .call(&mut store, ())
        .map_err(|e| over_budget(&store, e))
        .context("`init` trapped")?;
    // Resources are host-side and not snapshotted: a handle kept in guest
    // memory would dangle (or alias another resource) in every instance.
    anyhow::ensure!(
        store.data().table.is_empty(),
        "`init` left WASI resources open (e.g. printed or opened a file); they cannot survive the snapshot"
    );

    let mut state = Snapshotting { store: &mut store, instance, failed: None };
    let snapshot = now(wizer.snapshot_component(&cx, &mut state))?;
    if let Some(e) = state.failed {
        return Err(e.context("reading the instance's state"));
    }
    Ok(Some(snapshot.map_err(anyhow::Error::from).context("snapshotting the instance")?))
}

/// Interfaces the init linker really provides (WASI p2 and wasi:http).
const PROVIDED: &[&str] = &["wasi:io/", "wasi:clocks/", "wasi:random/", "wasi:cli/", "wasi:filesystem/", "wasi:sockets/", "wasi:http/"];

/// Key-value and seal only exist for a tenant, and there is none at
/// deploy: they are linked as functions that trap, so an `init` calling
/// them fails and the component is served as is. (Wasmtime's
/// `define_unknown_imports_as_traps` cannot be used: it re-creates WASI
/// instances the guest imports under a newer patch version, with resource
/// types that then clash with the real ones.)
fn stub_tenant_imports(linker: &mut Linker<InitState>, component: &Component, engine: &Engine) -> Result<()> {
    use wasmtime::component::types::ComponentItem;
    for (name, item) in component.component_type().imports(engine) {
        if PROVIDED.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            bail!("imports `{name}`, which is not an interface");
        };
        let mut stub = linker.instance(name)?;
        for (export, item) in instance.exports(engine) {
            match item.ty {
                ComponentItem::ComponentFunc(_) => {
                    let what = format!("`{name}#{export}` is not available during pre-initialization");
                    stub.func_new(export, move |_, _, _, _| Err(wasmtime::Error::msg(what.clone())))?;
                }
                ComponentItem::Resource(_) => stub.resource(export, wasmtime::component::ResourceType::host::<()>(), |_, _| Ok(()))?,
                _ => {}
            }
        }
    }
    Ok(())
}

/// `init` ran past its deadline. Unlike a trap, this may not happen again
/// (a busy machine at start-up), so the compile cache does not keep the
/// component's unsnapshotted artifact and a later load tries once more.
#[derive(Debug)]
pub struct DeadlineExceeded(pub Duration);

impl std::fmt::Display for DeadlineExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`init` ran past its {} ms deadline (preinit_timeout_ms)", self.0.as_millis())
    }
}

/// Store data while `init` runs: WASI with nothing granted (no env, args,
/// files or network), memory bounded.
struct InitState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: OutboundPolicy,
    table: ResourceTable,
    budget: InitBudget,
}

/// One budget for everything `init` can grow: all linear memories
/// together and tables at 8 bytes an element, so neither many memories
/// (each under a per-memory cap) nor a huge table gets past it.
struct InitBudget {
    left: usize,
    /// A growth was refused: the error `init` then hits is about this.
    exceeded: bool,
}

impl InitBudget {
    fn take(&mut self, bytes: usize) -> bool {
        match self.left.checked_sub(bytes) {
            Some(left) => {
                self.left = left;
                true
            }
            None => {
                self.exceeded = true;
                false
            }
        }
    }
}

impl ResourceLimiter for InitBudget {
    // A growth past the memory's or table's own maximum fails anyway
    // (wasmtime asks the limiter first): it must not use up the budget.
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(maximum.is_none_or(|m| desired <= m) && self.take(desired.saturating_sub(current)))
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(maximum.is_none_or(|m| desired <= m) && self.take(desired.saturating_sub(current).saturating_mul(8)))
    }

    fn instances(&self) -> usize {
        64
    }
}

impl WasiView for InitState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for InitState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.hooks }
    }
}

/// Wizer reads state through accessor exports it added to the component;
/// the calls are synchronous here, so every future it builds is ready at
/// once. A failed call is kept in `failed` (the trait has no error path)
/// and reported after the snapshot.
struct Snapshotting<'a> {
    store: &'a mut Store<InitState>,
    instance: Instance,
    failed: Option<anyhow::Error>,
}

impl Snapshotting<'_> {
    fn call<R: wasmtime::component::ComponentType + wasmtime::component::Lift + 'static, V: Default>(
        &mut self,
        instance: &str,
        func: &str,
        read: impl FnOnce(&Store<InitState>, R) -> V,
    ) -> V {
        let result = (|| -> Result<V> {
            let (_, iface) = self.instance.get_export(&mut *self.store, None, instance).context("accessor interface missing")?;
            let (_, export) = self.instance.get_export(&mut *self.store, Some(&iface), func).context("accessor missing")?;
            let typed = self.instance.get_typed_func::<(), (R,)>(&mut *self.store, export)?;
            let (value,) = typed.call(&mut *self.store, ())?;
            Ok(read(self.store, value))
        })();
        result.unwrap_or_else(|e| {
            self.failed.get_or_insert(e.context(format!("{instance}#{func}")));
            V::default()
        })
    }
}

impl ComponentInstanceState for Snapshotting<'_> {
    async fn call_func_ret_list_u8(&mut self, instance: &str, func: &str, contents: impl FnOnce(&[u8]) + Send) {
        let mut contents = Some(contents);
        self.call(instance, func, |store, list: WasmList<u8>| {
            if let Some(f) = contents.take() {
                f(list.as_le_slice(store))
            }
        });
        // On failure wizer still expects the callback to see some bytes.
        if let Some(f) = contents.take() {
            f(&[])
        }
    }

    async fn call_func_ret_s32(&mut self, instance: &str, func: &str) -> i32 {
        self.call(instance, func, |_, v| v)
    }

    async fn call_func_ret_s64(&mut self, instance: &str, func: &str) -> i64 {
        self.call(instance, func, |_, v| v)
    }

    async fn call_func_ret_f32(&mut self, instance: &str, func: &str) -> u32 {
        self.call(instance, func, |_, v: f32| v.to_bits())
    }

    async fn call_func_ret_f64(&mut self, instance: &str, func: &str) -> u64 {
        self.call(instance, func, |_, v: f64| v.to_bits())
    }
}

/// Drives a future whose awaits are all synchronous underneath.
fn now<F: Future>(future: F) -> Result<F::Output> {
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => Ok(v),
        Poll::Pending => bail!("the snapshot waited on something; nothing here should"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hostel_test_artifacts::{BARE_COMPONENT, ECHO_COMPONENT, MISBEHAVE_COMPONENT};

    fn read(path: &str) -> Vec<u8> {
        std::fs::read(path).unwrap()
    }

    #[test]
    fn only_components_exporting_init_are_preinitialized() {
        assert!(exports_init(&read(ECHO_COMPONENT)).unwrap(), "SDK guests export {INIT_INTERFACE}");
        assert!(!exports_init(&read(BARE_COMPONENT)).unwrap(), "a plain wasi:http guest does not");
        assert!(preinitialize(&read(BARE_COMPONENT), PreinitLimits::default()).unwrap().is_none());
        assert!(exports_init(b"not wasm").is_err());
    }

    #[test]
    fn snapshot_is_a_valid_component_with_the_same_interface() {
        let raw = read(ECHO_COMPONENT);
        let snapshot = preinitialize(&raw, PreinitLimits::default()).unwrap().expect("echo exports init");
        assert_ne!(snapshot, raw, "init's heap must be in the snapshot");
        let engine = Engine::default();
        let (before, after) = (Component::new(&engine, &raw).unwrap(), Component::new(&engine, &snapshot).unwrap());
        let names = |c: &Component| {
            let ty = c.component_type();
            let mut imports: Vec<String> = ty.imports(&engine).map(|(n, _)| n.to_owned()).collect();
            let mut exports: Vec<String> = ty.exports(&engine).map(|(n, _)| n.to_owned()).collect();
            imports.sort();
            exports.sort();
            (imports, exports)
        };
        assert_eq!(names(&before), names(&after), "pre-initialization must not change what the component imports or exports");
    }

    #[test]
    fn a_trapping_init_is_an_error_not_a_panic() {
        let err = preinitialize(&read(MISBEHAVE_COMPONENT), PreinitLimits::default()).unwrap_err();
        assert!(format!("{err:#}").contains("trapped"), "{err:#}");
    }

    #[test]
    fn init_is_bounded_in_time() {
        let limits = PreinitLimits { timeout: Duration::from_millis(50), ..Default::default() };
        let err = preinitialize(&read(hostel_test_artifacts::SPIN_INIT_COMPONENT), limits).unwrap_err();
        assert!(err.downcast_ref::<DeadlineExceeded>().is_some(), "an init that never returns must be cut off: {err:#}");
        assert!(format!("{err:#}").contains("preinit_timeout_ms"), "{err:#}");
        let err = preinitialize(&read(MISBEHAVE_COMPONENT), PreinitLimits::default()).unwrap_err();
        assert!(err.downcast_ref::<DeadlineExceeded>().is_none(), "a trap is not a deadline: {err:#}");
    }

    #[test]
    fn init_is_bounded_in_memory() {
        let limits = PreinitLimits { max_memory_bytes: 64 << 10, ..Default::default() };
        let err = preinitialize(&read(ECHO_COMPONENT), limits).expect_err("echo needs more than 64 KiB; init must fail, not grow");
        assert!(format!("{err:#}").contains("preinit_memory_mib"), "the error names the limit: {err:#}");
        // The budget is for all of init's growth together, not per memory.
        let mut budget = InitBudget { left: 100, exceeded: false };
        assert!(budget.memory_growing(0, 60, None).unwrap());
        assert!(!budget.memory_growing(0, 60, None).unwrap(), "a second memory shares the budget");
        assert!(!budget.table_growing(0, 6, None).unwrap(), "tables too, at 8 bytes an element");
        assert!(budget.table_growing(0, 5, None).unwrap());
        assert!(budget.exceeded);
        let mut budget = InitBudget { left: 100, exceeded: false };
        assert!(!budget.memory_growing(0, 90, Some(50)).unwrap(), "past the memory's own maximum");
        assert!(budget.memory_growing(0, 90, None).unwrap(), "which used none of the budget");
    }
}
