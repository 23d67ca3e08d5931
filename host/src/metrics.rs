//! `/metrics`: Prometheus text exposition through the `prometheus-client`
//! crate. Per tenant: requests by status, latency, instantiate and guest
//! time, traps by kind, memory high-water, key-value operations,
//! concurrency in use and rejected; per host: compile cache, compile time,
//! instances alive in the pool.

use crate::tenants::Registry;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Label set: `tenant` plus optional others, e.g. `status`.
type Labels = Vec<(&'static str, String)>;

fn tenant(name: &str) -> Labels {
    vec![("tenant", name.to_owned())]
}

/// Seconds, 50 µs … ~26 s.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 20))
}

/// The per-tenant families, to name a series in [`Metrics::series`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Which {
    Requests,
    Latency,
    Instantiate,
    Guest,
    Traps,
    MemoryPeak,
    KvOps,
    InFlight,
    Rejected,
}

/// Every metric the host records, and the registry that renders them.
pub struct Metrics {
    registry: prometheus_client::registry::Registry,
    tenants: Arc<Registry>,
    /// Series created per tenant. A tenant that is removed (admin API,
    /// config reload, another replica) has its series dropped at the next
    /// scrape, so tenant churn does not grow `/metrics` or memory forever.
    /// Touched only when a series is first created, never on the hot path.
    created: Mutex<HashMap<String, HashSet<(Which, Labels)>>>,
    requests: Family<Labels, Counter>,
    latency: Family<Labels, Histogram, fn() -> Histogram>,
    instantiate: Family<Labels, Histogram, fn() -> Histogram>,
    guest: Family<Labels, Histogram, fn() -> Histogram>,
    traps: Family<Labels, Counter>,
    memory_peak: Family<Labels, Gauge<u64, AtomicU64>>,
    kv_ops: Family<Labels, Counter>,
    in_flight: Family<Labels, Gauge>,
    rejected: Family<Labels, Counter>,
}

/// What one guest invocation cost, measured by `instance::invoke`.
#[derive(Default, Clone)]
pub struct Observation {
    /// Time to create the Store and instantiate.
    pub instantiate: Duration,
    /// Time from instantiation to the complete response (guest work plus
    /// the host calls it made).
    pub guest: Duration,
    /// Largest linear memory the instance grew to, bytes.
    pub memory_peak: u64,
    /// `wasi:keyvalue` operations the guest made.
    pub kv_ops: u64,
    /// What the guest wrote to stdout/stderr.
    pub output: crate::guest_log::Capture,
}

impl Metrics {
    /// Metrics for a host whose tenants live in `tenants`.
    pub fn new(tenants: Arc<Registry>, pool_capacity: u32) -> Metrics {
        let mut registry = prometheus_client::registry::Registry::default();
        let m = Metrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_buckets),
            instantiate: Family::new_with_constructor(latency_buckets),
            guest: Family::new_with_constructor(latency_buckets),
            traps: Family::default(),
            memory_peak: Family::default(),
            kv_ops: Family::default(),
            in_flight: Family::default(),
            rejected: Family::default(),
            registry: prometheus_client::registry::Registry::default(),
            tenants: tenants.clone(),
            created: Mutex::default(),
        };
        registry.register("hostel_requests", "MCP requests answered, by tenant and HTTP status", m.requests.clone());
        registry.register("hostel_request_duration_seconds", "Time to answer an MCP request, by tenant", m.latency.clone());
        registry.register("hostel_instantiate_duration_seconds", "Store creation plus instantiation, by tenant", m.instantiate.clone());
        registry.register("hostel_guest_duration_seconds", "Wall time inside the guest (incl. its host calls), by tenant", m.guest.clone());
        registry.register("hostel_traps", "Guest failures by tenant and kind (trap, oom, deadline, …)", m.traps.clone());
        registry.register("hostel_memory_peak_bytes", "Largest linear memory one instance of the tenant reached", m.memory_peak.clone());
        registry.register("hostel_kv_operations", "wasi:keyvalue operations, by tenant", m.kv_ops.clone());
        registry.register("hostel_requests_in_flight", "Requests being served now, by tenant", m.in_flight.clone());
        registry.register(
            "hostel_requests_rejected",
            "Requests refused before reaching the guest, by tenant and reason",
            m.rejected.clone(),
        );
        registry.register_collector(Box::new(HostCollector { tenants, pool_capacity }));
        Metrics { registry, ..m }
    }

    /// Counts one answered MCP request of `name`.
    pub fn record(&self, name: &str, status: u16, took: Duration) {
        let mut labels = tenant(name);
        labels.push(("status", status.to_string()));
        self.series(&self.requests, Which::Requests, labels, |c| c.inc());
        self.series(&self.latency, Which::Latency, tenant(name), |h| h.observe(took.as_secs_f64()));
    }

    /// Records what one guest invocation cost.
    pub fn observe(&self, name: &str, o: &Observation) {
        self.series(&self.instantiate, Which::Instantiate, tenant(name), |h| h.observe(o.instantiate.as_secs_f64()));
        self.series(&self.guest, Which::Guest, tenant(name), |h| h.observe(o.guest.as_secs_f64()));
        self.series(&self.memory_peak, Which::MemoryPeak, tenant(name), |g| {
            g.inner().fetch_max(o.memory_peak, std::sync::atomic::Ordering::Relaxed)
        });
        if o.kv_ops > 0 {
            self.series(&self.kv_ops, Which::KvOps, tenant(name), |c| c.inc_by(o.kv_ops));
        }
    }

    /// Counts a failed guest invocation by kind.
    pub fn trap(&self, name: &str, kind: &str) {
        let mut labels = tenant(name);
        labels.push(("kind", kind.to_owned()));
        self.series(&self.traps, Which::Traps, labels, |c| c.inc());
    }

    /// Counts a request refused before the guest (`busy`, `auth`, …).
    pub fn reject(&self, name: &str, reason: &str) {
        let mut labels = tenant(name);
        labels.push(("reason", reason.to_owned()));
        self.series(&self.rejected, Which::Rejected, labels, |c| c.inc());
    }

    /// Marks a request of `name` in flight until the guard drops.
    pub fn in_flight(&self, name: &str) -> InFlight {
        let gauge = self.series(&self.in_flight, Which::InFlight, tenant(name), Gauge::clone);
        gauge.inc();
        InFlight(gauge)
    }

    /// Applies `update` to the series of `family` for `labels` (whose
    /// first label is the tenant), created and indexed on first use.
    fn series<M, C: MetricConstructor<M>, R>(
        &self,
        family: &Family<Labels, M, C>,
        which: Which,
        labels: Labels,
        update: impl FnOnce(&M) -> R,
    ) -> R {
        if let Some(series) = family.get(&labels) {
            return update(&series);
        }
        // Indexed and created under one lock, so `sweep` cannot drop the
        // index entry between the two and leave the series orphaned.
        let mut created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        let result = update(&family.get_or_create(&labels));
        created.entry(labels[0].1.clone()).or_default().insert((which, labels));
        result
    }

    /// Drops every series of tenants no longer configured.
    fn sweep(&self) {
        let live: HashSet<String> = self.tenants.list().into_iter().map(|(name, _)| name).collect();
        let mut created = self.created.lock().unwrap_or_else(|e| e.into_inner());
        created.retain(|name, series| {
            if live.contains(name) {
                return true;
            }
            for (which, labels) in series.drain() {
                match which {
                    Which::Requests => self.requests.remove(&labels),
                    Which::Latency => self.latency.remove(&labels),
                    Which::Instantiate => self.instantiate.remove(&labels),
                    Which::Guest => self.guest.remove(&labels),
                    Which::Traps => self.traps.remove(&labels),
                    Which::MemoryPeak => self.memory_peak.remove(&labels),
                    Which::KvOps => self.kv_ops.remove(&labels),
                    Which::InFlight => self.in_flight.remove(&labels),
                    Which::Rejected => self.rejected.remove(&labels),
                };
            }
            false
        });
    }

    /// Prometheus text format (OpenMetrics flavour of the crate, which
    /// Prometheus and its client parsers read).
    pub fn render(&self) -> String {
        self.sweep();
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// Decrements the in-flight gauge on drop.
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Values read at scrape time from the tenant registry, compile cache and
/// instance pool.
struct HostCollector {
    tenants: Arc<Registry>,
    pool_capacity: u32,
}

impl std::fmt::Debug for HostCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HostCollector")
    }
}

impl Collector for HostCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let cache = self.tenants.cache();
        let counter = |encoder: &mut DescriptorEncoder, name, help, v: u64| {
            let c = ConstCounter::new(v);
            c.encode(encoder.encode_descriptor(name, help, None, c.metric_type())?)
        };
        counter(&mut encoder, "hostel_compile_cache_hits", "Components loaded from the AOT cache", cache.hits())?;
        counter(&mut encoder, "hostel_compile_cache_misses", "Components compiled (cache miss or rejected artifact)", cache.misses())?;
        counter(
            &mut encoder,
            "hostel_preinitialized",
            "Components pre-initialized at compile (hostel:lean/init run and snapshotted)",
            cache.preinitialized(),
        )?;
        counter(
            &mut encoder,
            "hostel_preinit_failures",
            "Components whose pre-initialization failed (served without it)",
            cache.preinit_failures(),
        )?;
        let gauge = |encoder: &mut DescriptorEncoder, name, help, v: f64| {
            let g = ConstGauge::new(v);
            g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)
        };
        let seconds = ConstCounter::new(cache.compile_seconds());
        seconds.encode(encoder.encode_descriptor(
            "hostel_compile_seconds",
            "Seconds spent compiling components",
            None,
            seconds.metric_type(),
        )?)?;
        gauge(&mut encoder, "hostel_instances_live", "Instances alive now (pool occupancy)", crate::instance::live_instances() as f64)?;
        gauge(&mut encoder, "hostel_instances_capacity", "Instances the pooling allocator has room for", f64::from(self.pool_capacity))?;
        let ready = ConstGauge::new(0i64);
        let mut family = encoder.encode_descriptor(
            "hostel_tenant_ready",
            "Whether each tenant serves requests (1: loaded, or lazy and loaded on use) or not (0)",
            None,
            ready.metric_type(),
        )?;
        for (name, slot) in self.tenants.list() {
            let g = ConstGauge::new(i64::from(slot.serves()));
            g.encode(family.encode_family(&tenant(&name))?)?;
        }
        Ok(())
    }
}
