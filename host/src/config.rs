//! `hostel.toml`: parsed with unknown keys rejected, then validated into
//! settings the server can trust (names, tokens, hosts, limits).

use anyhow::{ensure, Context, Result};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Listener, state, cache and admin settings.
    #[serde(default)]
    pub server: ServerConfig,
    /// Default limits; each tenant may override any of them.
    #[serde(default)]
    pub limits: Limits,
    /// The tenants to serve.
    #[serde(default, rename = "tenant")]
    pub tenants: Vec<TenantConfig>,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: String,
    /// State backend URL (`sqlite://…` or `postgres://…`).
    pub state: String,
    /// Directory for AOT-compiled components.
    pub cache_dir: PathBuf,
    /// Pre-initialize components that export `hostel:lean/init` when they
    /// are compiled (see `preinit`): requests then start with the SDK's
    /// setup done.
    pub preinit: bool,
    /// Milliseconds a component's `init` may run at compile time.
    pub preinit_timeout_ms: u64,
    /// Most memory a component's `init` may grow, MiB: all its linear
    /// memories and tables (8 bytes an element) together.
    pub preinit_memory_mib: u64,
    /// Load each config-file tenant on its first request instead of at
    /// start: for hosts with many tenants, most of them idle. A broken
    /// component is then only reported when first used (run
    /// `hostel compile` in CI to catch it earlier).
    pub lazy_tenants: bool,
    /// With `lazy_tenants`: unload a tenant that served no request for this
    /// many seconds (its next request loads it again from the compile
    /// cache); 0 keeps loaded tenants loaded.
    pub lazy_idle_secs: u64,
    /// With `lazy_tenants`: most tenants loaded (compiled or read from the
    /// cache) at once; first requests to further cold tenants wait their
    /// turn. 0 = one per CPU core.
    pub lazy_load_concurrency: usize,
    /// Origins allowed to call MCP endpoints from browsers.
    pub allowed_origins: Vec<String>,
    /// Environment variable holding the admin token; admin API off when unset.
    pub admin_token_env: String,
    /// Instances the pooling allocator reserves room for (across tenants).
    pub pool_instances: u32,
    /// Requests served at once across all tenants; beyond → 429.
    pub max_concurrent: usize,
    /// Seconds in-flight requests get to finish on shutdown.
    pub shutdown_grace_secs: u64,
    /// Connections to the state database (readers, for SQLite; all, for
    /// Postgres, per `hostel` process).
    pub state_max_connections: u32,
    /// Seconds a client gets to send its request headers (slowloris).
    pub header_read_timeout_secs: u64,
    /// Seconds a client gets to send its request body; beyond → 408.
    pub body_read_timeout_secs: u64,
    /// Most request headers accepted; beyond → 431.
    pub max_headers: usize,
    /// Largest request head (request line + headers), bytes; beyond → 431.
    pub max_header_bytes: usize,
    /// Serve the admin API on this address instead of the main listener.
    pub admin_listen: Option<String>,
    /// Largest component upload the admin API accepts, bytes.
    pub admin_max_upload_bytes: usize,
    /// Seconds between checks of the state backend for tenants deployed
    /// (or removed) through another replica's admin API.
    pub tenant_sync_secs: u64,
    /// Reload the config file when it changes (polled every 2 s); SIGHUP
    /// always reloads.
    pub watch_config: bool,
    /// OTLP/HTTP traces endpoint (`http://collector:4318/v1/traces`);
    /// export is off when unset (needs the `otel` feature).
    pub otel_endpoint: Option<String>,
    /// `service.name` of exported spans.
    pub otel_service_name: String,
}

impl ServerConfig {
    /// `lazy_load_concurrency` with 0 resolved to the number of cores.
    pub fn lazy_loads(&self) -> usize {
        match self.lazy_load_concurrency {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        }
    }

    /// The pre-initialization limits, `None` when it is off.
    pub fn preinit_limits(&self) -> Option<crate::preinit::PreinitLimits> {
        self.preinit.then(|| crate::preinit::PreinitLimits {
            timeout: std::time::Duration::from_millis(self.preinit_timeout_ms.max(1)),
            max_memory_bytes: usize::try_from(self.preinit_memory_mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX),
        })
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        let preinit = crate::preinit::PreinitLimits::default();
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            state: "sqlite://.hostel/state.db".into(),
            cache_dir: ".hostel/cache".into(),
            preinit: true,
            preinit_timeout_ms: preinit.timeout.as_millis() as u64,
            preinit_memory_mib: (preinit.max_memory_bytes >> 20) as u64,
            lazy_tenants: false,
            lazy_idle_secs: 900,
            lazy_load_concurrency: 0,
            allowed_origins: vec!["http://localhost".into(), "http://127.0.0.1".into()],
            admin_token_env: "HOSTEL_ADMIN_TOKEN".into(),
            pool_instances: 1000,
            max_concurrent: 1024,
            shutdown_grace_secs: 10,
            state_max_connections: 16,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 30,
            max_headers: 100,
            max_header_bytes: 64 * 1024,
            admin_listen: None,
            admin_max_upload_bytes: 64 << 20,
            tenant_sync_secs: 2,
            watch_config: false,
            otel_endpoint: None,
            otel_service_name: "hostel".into(),
        }
    }
}

/// Per-request resource limits.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Linear memory per instance, MiB.
    pub memory_mib: u64,
    /// Wall-clock deadline per request (epoch interruption), ms.
    pub timeout_ms: u64,
    /// Largest accepted request body, bytes.
    pub max_body_bytes: usize,
    /// Requests of one tenant in flight at once; beyond → 429.
    pub max_concurrent: usize,
    /// Largest response a guest may send, bytes; beyond → 500 (the host
    /// buffers responses, so this bounds host memory per request).
    pub max_response_bytes: usize,
    /// Longest key a guest may use in `wasi:keyvalue`, bytes.
    pub kv_max_key_bytes: usize,
    /// Largest value a guest may store in `wasi:keyvalue`, bytes.
    pub kv_max_value_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mib: 64,
            timeout_ms: 10_000,
            max_body_bytes: 4 * 1024 * 1024,
            max_concurrent: 64,
            max_response_bytes: 16 << 20,
            kv_max_key_bytes: 1024,
            kv_max_value_bytes: 1 << 20,
        }
    }
}

/// Per-tenant overrides of [`Limits`]; unset fields use the server default.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct LimitOverrides {
    /// See [`Limits::memory_mib`].
    pub memory_mib: Option<u64>,
    /// See [`Limits::timeout_ms`].
    pub timeout_ms: Option<u64>,
    /// See [`Limits::max_body_bytes`].
    pub max_body_bytes: Option<usize>,
    /// See [`Limits::max_concurrent`].
    pub max_concurrent: Option<usize>,
    /// See [`Limits::max_response_bytes`].
    pub max_response_bytes: Option<usize>,
    /// See [`Limits::kv_max_key_bytes`].
    pub kv_max_key_bytes: Option<usize>,
    /// See [`Limits::kv_max_value_bytes`].
    pub kv_max_value_bytes: Option<usize>,
}

impl LimitOverrides {
    /// `defaults` with these overrides applied.
    pub fn apply(&self, defaults: Limits) -> Limits {
        Limits {
            memory_mib: self.memory_mib.unwrap_or(defaults.memory_mib),
            timeout_ms: self.timeout_ms.unwrap_or(defaults.timeout_ms),
            max_body_bytes: self.max_body_bytes.unwrap_or(defaults.max_body_bytes),
            max_concurrent: self.max_concurrent.unwrap_or(defaults.max_concurrent),
            max_response_bytes: self.max_response_bytes.unwrap_or(defaults.max_response_bytes),
            kv_max_key_bytes: self.kv_max_key_bytes.unwrap_or(defaults.kv_max_key_bytes),
            kv_max_value_bytes: self.kv_max_value_bytes.unwrap_or(defaults.kv_max_value_bytes),
        }
    }
}

/// One `[[tenant]]`: a name, a component file and its [`TenantSettings`]
/// (read through `Deref`, so `t.tokens` works).
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "toml::Table")]
pub struct TenantConfig {
    /// `[a-z0-9-]{1,63}`, used in the URL path.
    pub name: String,
    /// Component file; relative paths are relative to the config file.
    pub component: PathBuf,
    /// Everything else about the tenant.
    pub settings: TenantSettings,
}

impl std::ops::Deref for TenantConfig {
    type Target = TenantSettings;
    fn deref(&self) -> &TenantSettings {
        &self.settings
    }
}

/// `name` and `component` from the table, the rest (unknown keys
/// rejected) as settings: one definition of the settings for the config
/// file and the admin API.
impl TryFrom<toml::Table> for TenantConfig {
    type Error = String;
    fn try_from(mut table: toml::Table) -> Result<Self, String> {
        let mut take = |key: &str| match table.remove(key) {
            Some(toml::Value::String(s)) => Ok(s),
            Some(_) => Err(format!("`{key}` must be a string")),
            None => Err(format!("missing field `{key}`")),
        };
        let name = take("name")?;
        let component = take("component")?.into();
        let settings = TenantSettings::deserialize(toml::Value::Table(table)).map_err(|e| format!("tenant `{name}`: {}", e.message()))?;
        Ok(TenantConfig { name, component, settings })
    }
}

/// What the admin API deploys with a component: a `[[tenant]]` without
/// `name` and `component` (TOML or JSON).
#[derive(Debug, Clone, Deserialize, serde::Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// See [`TenantConfig::tokens`].
    #[serde(default)]
    pub tokens: Vec<String>,
    /// See [`TenantConfig::hosts`].
    #[serde(default)]
    pub hosts: Vec<String>,
    /// See [`TenantConfig::outbound`].
    #[serde(default)]
    pub outbound: Vec<String>,
    /// See [`TenantConfig::limits`].
    #[serde(default)]
    pub limits: LimitOverrides,
    /// See [`TenantConfig::entry`].
    #[serde(default)]
    pub entry: Entry,
}

impl TenantSettings {
    /// Parses settings sent as JSON or TOML (tried in that order); an
    /// empty text means all defaults.
    pub fn parse(text: &str) -> Result<TenantSettings> {
        if text.trim().is_empty() {
            return Ok(TenantSettings::default());
        }
        if text.trim_start().starts_with('{') {
            return serde_json::from_str(text).context("settings are not valid JSON tenant settings");
        }
        toml::from_str(text).context("settings are not valid TOML tenant settings")
    }

    /// The tenant these settings describe, under `name` (no component file:
    /// the bytes come from the upload).
    pub fn into_config(self, name: &str) -> TenantConfig {
        TenantConfig { name: name.into(), component: PathBuf::from(format!("<uploaded:{name}>")), settings: self }
    }
}

/// Which guest export the host calls.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, Default, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Entry {
    /// The lean `hostel:lean/handler` when the component exports it (SDK
    /// guests do), else `wasi:http/incoming-handler`.
    #[default]
    Auto,
    /// Always `wasi:http/incoming-handler`.
    WasiHttp,
}

impl Config {
    /// Reads and validates `path`; relative component paths are resolved
    /// against the file's directory so the server can start from anywhere.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("failed to read config `{}`", path.display()))?;
        let mut config = Config::parse(&text).with_context(|| format!("invalid config `{}`", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for t in &mut config.tenants {
            if t.component.is_relative() {
                t.component = base.join(&t.component);
            }
        }
        if config.server.cache_dir.is_relative() {
            config.server.cache_dir = base.join(&config.server.cache_dir);
        }
        Ok(config)
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> Result<Config> {
        let config: Config = toml::from_str(text)?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<()> {
        validate_limits("[limits]", &self.limits)?;
        ensure!(self.server.pool_instances > 0, "`server.pool_instances` must be at least 1");
        ensure!(self.server.max_concurrent > 0, "`server.max_concurrent` must be at least 1");
        ensure!(self.server.state_max_connections > 0, "`server.state_max_connections` must be at least 1");
        ensure!(self.server.header_read_timeout_secs > 0, "`server.header_read_timeout_secs` must be at least 1");
        ensure!(self.server.body_read_timeout_secs > 0, "`server.body_read_timeout_secs` must be at least 1");
        ensure!(self.server.max_headers > 0, "`server.max_headers` must be at least 1");
        // hyper needs room for at least one full read buffer.
        ensure!(self.server.max_header_bytes >= 8192, "`server.max_header_bytes` must be at least 8192");
        ensure!(self.server.tenant_sync_secs > 0, "`server.tenant_sync_secs` must be at least 1");
        ensure!(self.server.admin_max_upload_bytes > 0, "`server.admin_max_upload_bytes` must be positive");
        let mut names = HashSet::new();
        let mut hosts = HashSet::new();
        for t in &self.tenants {
            ensure!(names.insert(&t.name), "tenant `{}` is defined twice", t.name);
            validate_tenant(t, self.limits)?;
            for host in &t.hosts {
                let host = host.to_ascii_lowercase();
                ensure!(hosts.insert(host.clone()), "host `{host}` is routed to two tenants");
            }
        }
        Ok(())
    }

    /// Limits in force for `tenant`.
    pub fn limits_for(&self, tenant: &TenantConfig) -> Limits {
        tenant.limits.apply(self.limits)
    }
}

/// Checks one tenant on its own (name, limits, tokens, hosts, outbound);
/// clashes with other tenants are the caller's to check.
pub fn validate_tenant(t: &TenantConfig, defaults: Limits) -> Result<()> {
    crate::router::validate_tenant_name(&t.name)?;
    validate_limits(&format!("tenant `{}` limits", t.name), &t.limits.apply(defaults))?;
    for token in &t.tokens {
        ensure!(
            !token.is_empty() && token.bytes().all(|b| b.is_ascii_graphic()),
            "tenant `{}`: tokens must be non-empty printable ASCII without spaces",
            t.name
        );
    }
    for host in &t.hosts {
        ensure!(!host.is_empty(), "tenant `{}`: empty host name", t.name);
    }
    for origin in &t.outbound {
        crate::outbound::Origin::parse(origin).with_context(|| format!("tenant `{}`: bad `outbound` entry", t.name))?;
    }
    Ok(())
}

fn validate_limits(what: &str, l: &Limits) -> Result<()> {
    ensure!((1..=4096).contains(&l.memory_mib), "{what}: `memory_mib` must be 1..=4096, got {}", l.memory_mib);
    ensure!(l.timeout_ms > 0, "{what}: `timeout_ms` must be positive");
    ensure!(l.max_body_bytes > 0, "{what}: `max_body_bytes` must be positive");
    ensure!(l.max_concurrent > 0, "{what}: `max_concurrent` must be positive");
    ensure!(l.max_response_bytes > 0, "{what}: `max_response_bytes` must be positive");
    ensure!(l.kv_max_key_bytes > 0, "{what}: `kv_max_key_bytes` must be positive");
    ensure!(l.kv_max_value_bytes > 0, "{what}: `kv_max_value_bytes` must be positive");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c =
            Config::parse("[limits]\ntimeout_ms = 5\n[[tenant]]\nname = \"a\"\ncomponent = \"a.wasm\"\n[tenant.limits]\nmemory_mib = 8\n")
                .unwrap();
        let l = c.limits_for(&c.tenants[0]);
        assert_eq!((l.memory_mib, l.timeout_ms, l.max_concurrent), (8, 5, 64));
    }

    #[test]
    fn rejects_bad_input() {
        for (text, needle) in [
            ("[server]\nlisten_addr = 1", "unknown field `listen_addr`"),
            ("[[tenant]]\nname = \"Bad\"\ncomponent = \"x\"", "invalid tenant name `Bad`"),
            ("[[tenant]]\nname = \"a\"\ncomponent = \"x\"\n[[tenant]]\nname = \"a\"\ncomponent = \"y\"", "defined twice"),
            ("[limits]\nmemory_mib = 0", "memory_mib"),
            ("[[tenant]]\nname = \"a\"\ncomponent = \"x\"\noutbound = [\"ftp://x\"]", "bad `outbound`"),
        ] {
            let err = format!("{:#}", Config::parse(text).unwrap_err());
            assert!(err.contains(needle), "`{text}` gave `{err}`");
        }
    }
}
