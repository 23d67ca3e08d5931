//! `/metrics`: Prometheus text exposition through the `prometheus-client`
//! crate. Per tenant: requests by status, latency, instantiate and guest
//! time, traps by kind, memory high-water, key-value operations,
//! concurrency in use and rejected; per host: compile cache, compile time,
//! instances alive in the pool.

use crate::tenants::Registry;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
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

/// Every metric the host records, and the registry that renders them.
pub struct Metrics {
    registry: prometheus_client::registry::Registry,
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
        self.requests.get_or_create(&labels).inc();
        self.latency.get_or_create(&tenant(name)).observe(took.as_secs_f64());
    }

    /// Records what one guest invocation cost.
    pub fn observe(&self, name: &str, o: &Observation) {
        let labels = tenant(name);
        self.instantiate.get_or_create(&labels).observe(o.instantiate.as_secs_f64());
        self.guest.get_or_create(&labels).observe(o.guest.as_secs_f64());
        self.memory_peak.get_or_create(&labels).inner().fetch_max(o.memory_peak, std::sync::atomic::Ordering::Relaxed);
        if o.kv_ops > 0 {
            self.kv_ops.get_or_create(&labels).inc_by(o.kv_ops);
        }
    }

    /// Counts a failed guest invocation by kind.
    pub fn trap(&self, name: &str, kind: &str) {
        let mut labels = tenant(name);
        labels.push(("kind", kind.to_owned()));
        self.traps.get_or_create(&labels).inc();
    }

    /// Counts a request refused before the guest (`busy`, `auth`, …).
    pub fn reject(&self, name: &str, reason: &str) {
        let mut labels = tenant(name);
        labels.push(("reason", reason.to_owned()));
        self.rejected.get_or_create(&labels).inc();
    }

    /// Marks a request of `name` in flight until the guard drops.
    pub fn in_flight(&self, name: &str) -> InFlight {
        let gauge = self.in_flight.get_or_create(&tenant(name)).clone();
        gauge.inc();
        InFlight(gauge)
    }

    /// Prometheus text format (OpenMetrics flavour of the crate, which
    /// Prometheus and its client parsers read).
    pub fn render(&self) -> String {
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
