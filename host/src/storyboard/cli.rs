//! The `hostel storyboard run` command: flags, loading the tenant once,
//! running storyboards (`--jobs` at a time), printing, exit code.

use super::bundle;
use super::checks::Schemas;
use super::flow::{self, Env};
use super::report::{self, StepResult, StoryboardResult};
use crate::config::{Config, Limits, TenantSettings};
use anyhow::{Context as _, Result};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// `hostel storyboard …`.
#[derive(Debug, clap::Args)]
pub struct StoryboardArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: StoryboardCommand,
}

/// Storyboard subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum StoryboardCommand {
    /// Run storyboards against a component in-process (exit 0 all passed, 1 any failure, 2 unusable input).
    Run(RunArgs),
}

/// `hostel storyboard run`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["component", "tenant"])))]
pub struct RunArgs {
    /// Component to test (a wasm32-wasip2 component file).
    #[arg(long)]
    pub component: Option<PathBuf>,
    /// Tenant name the component runs as with `--component` (a component
    /// may serve a different role per name, as the training agent does).
    #[arg(long, default_value = "storyboard", requires = "component")]
    pub name: String,
    /// Test this tenant of the config file instead (its component, name and limits).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Config file for `--tenant`.
    #[arg(long, env = "HOSTEL_CONFIG", default_value = "hostel.toml")]
    pub config: PathBuf,
    /// Storyboard YAML files, directories of them, or ids in the bundle.
    #[arg(required = true)]
    pub storyboards: Vec<String>,
    /// Compliance bundle to look ids up in (`@adcp/sdk`'s `compliance/cache/<version>`;
    /// default: the one under `./node_modules/@adcp/sdk` or `./tests/adcp/node_modules/@adcp/sdk`).
    #[arg(long, env = "HOSTEL_ADCP_BUNDLE")]
    pub bundle: Option<PathBuf>,
    /// AdCP JSON schemas (default: next to the bundle, as `@adcp/sdk` lays them out).
    #[arg(long, env = "HOSTEL_ADCP_SCHEMAS")]
    pub schemas: Option<PathBuf>,
    /// Report format.
    #[arg(long, default_value = "text", value_parser = ["text", "json", "junit"])]
    pub format: String,
    /// Write the report here instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Storyboards run in parallel, each with its own state.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,
    /// Bearer token sent with every request (default: the tenant's first token).
    #[arg(long, env = "HOSTEL_STORYBOARD_AUTH")]
    pub auth: Option<String>,
    /// Compile cache directory.
    #[arg(long, env = "HOSTEL_CACHE_DIR", default_value = ".hostel/cache")]
    pub cache_dir: PathBuf,
}

/// Exit status: every storyboard passed.
pub const EXIT_PASSED: u8 = 0;
/// Exit status: some step failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit status: some input could not be used (bad YAML, unknown id, unreadable component).
pub const EXIT_UNUSABLE: u8 = 2;

/// Runs the command; returns the exit status. Errors are unusable input.
pub fn run(args: &RunArgs) -> Result<u8> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run_async(args))
}

async fn run_async(args: &RunArgs) -> Result<u8> {
    let default_bundle = args.bundle.clone().or_else(installed_bundle);
    let (storyboards, unusable) = bundle::resolve(&args.storyboards, default_bundle.as_deref());
    // Said at once on stderr, whatever the format: the report (which also
    // lists them) may be going to a file nobody reads on failure.
    for e in &unusable {
        eprintln!("error: {e:#}");
    }
    let bundle_root = storyboards
        .first()
        .and_then(|s| bundle::Bundle::root_of(&s.path))
        .or_else(|| default_bundle.clone())
        .context("no storyboard to run")?;
    let schemas_dir = bundle::schemas_dir(args.schemas.as_deref(), &bundle_root)
        .with_context(|| format!("no AdCP JSON schemas found for bundle `{}`: pass --schemas", bundle_root.display()))?;
    let schemas = Schemas::load(&schemas_dir)?;
    let tenant = load_tenant(args).await?;
    let env = Arc::new(Env { tenant: Arc::new(tenant), schemas: Arc::new(schemas), auth: args.auth.clone() });

    let progress = Progress::new();
    let mut results: Vec<Option<StoryboardResult>> = vec![None; storyboards.len()];
    let permits = Arc::new(tokio::sync::Semaphore::new(args.jobs as usize));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, sb) in storyboards.into_iter().enumerate() {
        let (env, permits, progress) = (env.clone(), permits.clone(), progress.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire().await.expect("semaphore open");
            let result = flow::run(&env, &sb, &|id: &str, s: &StepResult| progress.step(id, s)).await;
            progress.storyboard(&result);
            (i, result)
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (i, result) = done.context("a storyboard task panicked")?;
        results[i] = Some(result);
    }
    progress.clear();
    let mut results: Vec<StoryboardResult> = results.into_iter().flatten().collect();
    results.extend(unusable.iter().map(|e| StoryboardResult::unusable("", "", format!("{e:#}"))));

    let text = match args.format.as_str() {
        "json" => report::json(&results),
        "junit" => report::junit(&results),
        _ => report::text(&results),
    };
    match &args.output {
        Some(path) => std::fs::write(path, text).with_context(|| format!("cannot write `{}`", path.display()))?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(if !unusable.is_empty() || results.iter().any(|r| r.error.is_some() && r.phases.is_empty()) {
        EXIT_UNUSABLE
    } else if results.iter().all(|r| r.overall_passed) {
        EXIT_PASSED
    } else {
        EXIT_FAILED
    })
}

/// The bundle of an `@adcp/sdk` installed here (`npm i @adcp/sdk`), or of
/// the one this repository's tests pin: the version it declares in `ADCP_VERSION`.
fn installed_bundle() -> Option<PathBuf> {
    ["node_modules/@adcp/sdk", "tests/adcp/node_modules/@adcp/sdk"].iter().find_map(|sdk| {
        let sdk = std::path::Path::new(sdk);
        let version = std::fs::read_to_string(sdk.join("ADCP_VERSION")).ok()?;
        let dir = sdk.join("compliance/cache").join(version.trim());
        dir.is_dir().then_some(dir)
    })
}

/// The tenant under test, compiled through the cache `serve` uses.
async fn load_tenant(args: &RunArgs) -> Result<crate::tenants::Tenant> {
    let (tenant, limits, preinit) = match (&args.component, &args.tenant) {
        (Some(component), _) => {
            crate::router::validate_tenant_name(&args.name)?;
            let mut t = TenantSettings::default().into_config(&args.name);
            t.component = component.clone();
            (t, Limits::default(), Some(crate::preinit::PreinitLimits::default()))
        }
        (None, Some(name)) => {
            let config = Config::load(&args.config)?;
            let t = config.tenants.iter().find(|t| &t.name == name).cloned().with_context(|| {
                let names: Vec<&str> = config.tenants.iter().map(|t| t.name.as_str()).collect();
                format!("no tenant `{name}` in `{}`; it has: {}", args.config.display(), names.join(", "))
            })?;
            let limits = config.limits_for(&t);
            (t, limits, config.server.preinit_limits())
        }
        (None, None) => anyhow::bail!("pass --component or --tenant"),
    };
    let engine = crate::engine::build(64)?;
    // The ticker lives as long as the process: per-step deadlines need it.
    std::mem::forget(crate::engine::EpochTicker::start(&engine));
    let cache = crate::compile_cache::CompileCache::with_preinit(&engine, &args.cache_dir, preinit);
    let state = crate::state::StateStore::open("sqlite::memory:", 1).await?;
    let registry = crate::tenants::Registry::new(engine, cache, state, crate::seal::MasterSecret::ephemeral())?;
    tokio::task::spawn_blocking(move || registry.load(&tenant, limits)).await?
}

/// Step-by-step progress on stderr: one line per step, or a status line
/// rewritten in place when stderr is a terminal.
#[derive(Clone)]
struct Progress {
    tty: bool,
    done: Arc<Mutex<usize>>,
}

impl Progress {
    fn new() -> Progress {
        Progress { tty: std::io::stderr().is_terminal(), done: Arc::default() }
    }

    fn step(&self, storyboard: &str, s: &StepResult) {
        let mut done = self.done.lock().expect("progress lock");
        *done += 1;
        let mut err = std::io::stderr().lock();
        if self.tty && s.passed {
            let _ = write!(err, "\r\x1b[2K[{}] {storyboard} › {} › {}", *done, s.phase_id, s.title);
        } else {
            let _ = writeln!(err, "{}{}", if self.tty { "\r\x1b[2K" } else { "" }, report::step_line(storyboard, s));
        }
    }

    fn storyboard(&self, r: &StoryboardResult) {
        let verdict = if r.overall_passed { "passed" } else { "FAILED" };
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "{}{} {verdict}: {} passed, {} failed, {} skipped",
            if self.tty { "\r\x1b[2K" } else { "" },
            r.storyboard_id,
            r.passed_count,
            r.failed_count,
            r.skipped_count
        );
    }

    fn clear(&self) {
        if self.tty {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}
