//! Command-line interface: raw clap flags here, validated settings in
//! [`crate::config`]. Every flag is also an environment variable `HOSTEL_*`.

use crate::config::Config;
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Multi-tenant WebAssembly host for MCP servers: every request runs in a
/// fresh instance of its tenant's precompiled component.
#[derive(Debug, Parser)]
#[command(name = "hostel", version, after_help = EXAMPLES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "Examples:
  hostel serve                                   serve the tenants in ./hostel.toml
  hostel serve --config prod.toml --listen 0.0.0.0:8080
  hostel compile target/guests/echo.wasm         AOT-compile into the cache `serve` reads
  HOSTEL_ADMIN_TOKEN=… hostel tenants deploy calc calc.wasm --settings calc.toml --server http://127.0.0.1:8080
  hostel storyboard run --tenant sales media_buy_seller --bundle node_modules/@adcp/sdk/compliance/cache/3.0.6
  curl -s localhost:8080/echo/mcp -H 'content-type: application/json' \\
       -H 'accept: application/json, text/event-stream' \\
       -d '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}'";

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the configured tenants over HTTP.
    Serve(ServeArgs),
    /// AOT-compile components ahead of deploy, into the compile cache.
    Compile(CompileArgs),
    /// Manage tenants of a running server through its admin API.
    Tenants(crate::admin::client::TenantsArgs),
    /// Test a component against AdCP storyboards, in-process.
    Storyboard(crate::storyboard::cli::StoryboardArgs),
}

/// `hostel serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Configuration file.
    #[arg(long, env = "HOSTEL_CONFIG", default_value = "hostel.toml")]
    pub config: PathBuf,
    /// Listen address; overrides `server.listen`.
    #[arg(long, env = "HOSTEL_LISTEN")]
    pub listen: Option<String>,
    /// State backend URL; overrides `server.state`.
    #[arg(long, env = "HOSTEL_STATE")]
    pub state: Option<String>,
    /// Compile cache directory; overrides `server.cache_dir`.
    #[arg(long, env = "HOSTEL_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "HOSTEL_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// Serve the admin API on this address (instead of the main listener);
    /// overrides `server.admin_listen`.
    #[arg(long, env = "HOSTEL_ADMIN_LISTEN")]
    pub admin_listen: Option<String>,
}

/// `hostel compile`.
#[derive(Debug, clap::Args)]
pub struct CompileArgs {
    /// Component files (`.wasm`, wasm32-wasip2 components).
    #[arg(required = true)]
    pub components: Vec<PathBuf>,
    /// Also write the artifact for a single component to this file.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Compile cache directory.
    #[arg(long, env = "HOSTEL_CACHE_DIR", default_value = ".hostel/cache")]
    pub cache_dir: PathBuf,
    /// Compile without pre-initialization, for servers run with
    /// `preinit = false` (their artifacts are kept apart).
    #[arg(long)]
    pub no_preinit: bool,
}

impl ServeArgs {
    /// The config file with command-line overrides applied.
    pub fn load_config(&self) -> Result<Config> {
        let mut config = Config::load(&self.config)?;
        if let Some(listen) = &self.listen {
            config.server.listen = listen.clone();
        }
        if let Some(state) = &self.state {
            config.server.state = state.clone();
        }
        if let Some(dir) = &self.cache_dir {
            config.server.cache_dir = dir.clone();
        }
        if let Some(addr) = &self.admin_listen {
            config.server.admin_listen = Some(addr.clone());
        }
        Ok(config)
    }
}

/// Runs `hostel compile`: fills the cache exactly as `serve` would.
pub fn compile(args: &CompileArgs) -> Result<()> {
    anyhow::ensure!(args.output.is_none() || args.components.len() == 1, "`--output` needs exactly one component");
    let engine = crate::engine::build(1)?;
    let preinit = (!args.no_preinit).then(crate::preinit::PreinitLimits::default);
    let cache = crate::compile_cache::CompileCache::with_preinit(&engine, &args.cache_dir, preinit);
    for path in &args.components {
        let bytes = std::fs::read(path).with_context(|| format!("failed to read `{}`", path.display()))?;
        let started = std::time::Instant::now();
        let (_component, outcome) =
            crate::tenants::compile(&engine, &cache, &bytes).with_context(|| format!("failed to compile `{}`", path.display()))?;
        let artifact = cache.artifact_path(&bytes);
        if !artifact.exists() {
            let why = "compiled but not cached (see the log: a first pre-initialization timeout, which the next run retries, \
                       or a cache directory that could not be written)";
            anyhow::ensure!(args.output.is_none(), "`{}`: {why}", path.display());
            println!("{}: {why}", path.display());
            continue;
        }
        println!("{}: {:?} in {} ms → {}", path.display(), outcome, started.elapsed().as_millis(), artifact.display());
        if let Some(out) = &args.output {
            std::fs::copy(&artifact, out).with_context(|| format!("failed to write `{}`", out.display()))?;
        }
    }
    Ok(())
}
