//! The one `Engine` every tenant shares: pooling allocator, epoch
//! interruption for deadlines, and the knobs measured in WASMTIME48.md.

use anyhow::Result;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// How often the epoch advances; deadlines are rounded up to this.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Largest linear memory any tenant may be configured with (`memory_mib`
/// is validated against this); per-tenant limits are enforced per Store.
const MAX_MEMORY_BYTES: usize = 4096 << 20;

/// Creates the shared engine. Tries the pooling allocator sized for
/// `pool_instances` concurrent instances and falls back to on-demand
/// allocation (slower, see WASMTIME48.md) when the address space can't be
/// reserved, saying so in the log.
pub fn build(pool_instances: u32) -> Result<Engine> {
    let mut config = base_config();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling(pool_instances)));
    match Engine::new(&config) {
        Ok(engine) => Ok(engine),
        Err(e) => {
            tracing::warn!(error = %e, pool_instances, "pooling allocator unavailable; using on-demand allocation");
            Ok(Engine::new(&base_config())?)
        }
    }
}

fn base_config() -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    // Component-model concurrency costs ~9 µs per request and no guest
    // uses it yet.
    config.concurrency_support(false);
    config
}

fn pooling(instances: u32) -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::default();
    // A Rust wasip2 component has one memory and a handful of core
    // instances (main module plus adapter shims); leave headroom.
    pool.total_component_instances(instances)
        .total_core_instances(instances.saturating_mul(8))
        .total_memories(instances.saturating_mul(2))
        .total_tables(instances.saturating_mul(4))
        .total_stacks(instances)
        .max_core_instances_per_component(16)
        .max_memories_per_component(4)
        .max_tables_per_component(8)
        .max_memory_size(MAX_MEMORY_BYTES)
        // 4 MiB kept resident measured best on this machine (WASMTIME48.md).
        .linear_memory_keep_resident(4 << 20)
        .table_keep_resident(64 << 10)
        // Resets only dirtied pages on reuse where the kernel supports it.
        .pagemap_scan(Enabled::Auto);
    pool
}

/// A background thread advancing the engine's epoch every [`EPOCH_TICK`];
/// stops when dropped.
pub struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    /// Starts ticking `engine`.
    pub fn start(engine: &Engine) -> EpochTicker {
        let stop = Arc::new(AtomicBool::new(false));
        let (engine, flag) = (engine.weak(), stop.clone());
        std::thread::Builder::new()
            .name("hostel-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match engine.upgrade() {
                        Some(e) => e.increment_epoch(),
                        None => break,
                    }
                }
            })
            .expect("spawning the epoch thread");
        EpochTicker { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Epoch ticks for a `timeout`, at least one.
pub fn deadline_ticks(timeout: Duration) -> u64 {
    (timeout.as_millis() as u64).div_ceil(EPOCH_TICK.as_millis() as u64).max(1)
}
