//! AOT compile cache: `<cache_dir>/<sha256(component)>-<engine hash>.cwasm`.
//!
//! What is cached is the component as served: pre-initialized (see
//! [`crate::preinit`]) when it exports `hostel:lean/init` and
//! pre-initialization is on, which the engine hash includes.
//!
//! Artifacts are native code that wasmtime loads without validation, so a
//! file is used only when the sha256 recorded beside it at write time still
//! matches; anything else (torn write, bit rot, another engine's file) is
//! recompiled and rewritten, never trusted.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::component::Component;
use wasmtime::Engine;

use crate::preinit::PreinitLimits;

/// How a component was obtained, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Loaded a verified artifact.
    Hit,
    /// No artifact: compiled and stored one.
    Miss,
    /// An artifact existed but failed verification: recompiled.
    Rebuilt,
}

/// The on-disk cache for one engine.
pub struct CompileCache {
    dir: PathBuf,
    engine_key: String,
    hits: AtomicU64,
    misses: AtomicU64,
    compile_nanos: AtomicU64,
    preinit: Option<PreinitLimits>,
    preinitialized: AtomicU64,
    preinit_failures: AtomicU64,
}

impl CompileCache {
    /// A cache in `dir` (created on first write), pre-initializing with
    /// default limits.
    pub fn new(engine: &Engine, dir: impl Into<PathBuf>) -> Self {
        Self::with_preinit(engine, dir, Some(PreinitLimits::default()))
    }

    /// A cache that pre-initializes components within `preinit`, or never
    /// (`None`); the two keep separate artifacts.
    pub fn with_preinit(engine: &Engine, dir: impl Into<PathBuf>, preinit: Option<PreinitLimits>) -> Self {
        CompileCache {
            dir: dir.into(),
            engine_key: engine_key(engine, preinit.is_some()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            compile_nanos: AtomicU64::new(0),
            preinit,
            preinitialized: AtomicU64::new(0),
            preinit_failures: AtomicU64::new(0),
        }
    }

    /// Where the artifact for `component_bytes` lives.
    pub fn artifact_path(&self, component_bytes: &[u8]) -> PathBuf {
        let digest = hex::encode(Sha256::digest(component_bytes));
        self.dir.join(format!("{digest}-{}.cwasm", self.engine_key))
    }

    /// Loads the component from the cache or compiles (and caches) it.
    /// Blocking and CPU-heavy: call from a blocking thread.
    pub fn load(&self, engine: &Engine, component_bytes: &[u8]) -> Result<(Component, Outcome)> {
        let path = self.artifact_path(component_bytes);
        let mut outcome = Outcome::Miss;
        match read_verified(&path) {
            Ok(Some(artifact)) => {
                // SAFETY: the bytes are an artifact this cache wrote, checked
                // against the digest recorded when it was written.
                match unsafe { Component::deserialize(engine, &artifact) } {
                    Ok(component) => {
                        self.hits.fetch_add(1, Ordering::Relaxed);
                        return Ok((component, Outcome::Hit));
                    }
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "cached artifact rejected by the engine; recompiling");
                        outcome = Outcome::Rebuilt;
                    }
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %format!("{e:#}"), "corrupt cached artifact; recompiling");
                outcome = Outcome::Rebuilt;
            }
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let (served, timed_out) = self.preinitialize(component_bytes);
        let artifact = engine
            .precompile_component(served.as_deref().unwrap_or(component_bytes))
            .map_err(anyhow::Error::from)
            .context("failed to compile component")?;
        self.compile_nanos.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        // SAFETY: produced by this engine just now.
        let component = unsafe { Component::deserialize(engine, &artifact) }?;
        if !cache_now(&path, timed_out) {
            tracing::info!(path = %path.display(), "artifact not cached: pre-initialization ran out of time, the next load tries once more");
        } else if let Err(e) = write_atomic(&path, &artifact) {
            // Serving still works; only the next start pays the compile again.
            tracing::warn!(path = %path.display(), error = %format!("{e:#}"), "could not write compile cache");
        }
        Ok((component, outcome))
    }

    /// The pre-initialized component, or `None` to serve it as it is (no
    /// `init` export, pre-initialization off, or it failed: logged, since
    /// the component still works, only slower); and whether it failed by
    /// running out of time.
    fn preinitialize(&self, component_bytes: &[u8]) -> (Option<Vec<u8>>, bool) {
        let Some(limits) = self.preinit else { return (None, false) };
        let started = std::time::Instant::now();
        match crate::preinit::preinitialize(component_bytes, limits) {
            Ok(Some(snapshot)) => {
                self.preinitialized.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    ms = started.elapsed().as_millis() as u64,
                    bytes = snapshot.len(),
                    original_bytes = component_bytes.len(),
                    "component pre-initialized"
                );
                (Some(snapshot), false)
            }
            Ok(None) => (None, false),
            Err(e) => {
                self.preinit_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %format!("{e:#}"), "pre-initialization failed; serving the component without it");
                (None, e.downcast_ref::<crate::preinit::DeadlineExceeded>().is_some())
            }
        }
    }

    /// Components pre-initialized since start.
    pub fn preinitialized(&self) -> u64 {
        self.preinitialized.load(Ordering::Relaxed)
    }

    /// Components whose pre-initialization failed since start (served
    /// without it).
    pub fn preinit_failures(&self) -> u64 {
        self.preinit_failures.load(Ordering::Relaxed)
    }

    /// Artifacts loaded from disk since start.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Components compiled since start.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Seconds spent compiling since start.
    pub fn compile_seconds(&self) -> f64 {
        self.compile_nanos.load(Ordering::Relaxed) as f64 / 1e9
    }
}

/// Whether the artifact at `path` is cached now (true) or left for the
/// next load (false). A pre-initialization that ran out of time may only
/// have met a busy machine, so the first time its plain artifact is not
/// cached and a marker remembers that; a second deadline in a row is the
/// component's own doing, and then the plain artifact is cached rather
/// than paying the deadline and a compile on every load.
fn cache_now(path: &Path, timed_out: bool) -> bool {
    let marker = path.with_extension("deadline");
    match (timed_out, marker.exists()) {
        (true, false) => {
            if let Err(e) = std::fs::write(&marker, b"") {
                tracing::warn!(path = %marker.display(), error = %e, "could not write compile cache marker; caching now");
                return true;
            }
            false
        }
        (_, true) => {
            let _ = std::fs::remove_file(&marker);
            true
        }
        (false, false) => true,
    }
}

/// A short, stable fingerprint of everything that makes artifacts
/// incompatible: wasmtime's own compatibility hash, Hostel's version (which
/// pins wasmtime-wizer) and whether components are pre-initialized.
fn engine_key(engine: &Engine, preinit: bool) -> String {
    // DefaultHasher::new() uses fixed keys, so the value is stable across
    // runs of the same binary; a different toolchain at worst misses.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    env!("CARGO_PKG_VERSION").hash(&mut h);
    preinit.hash(&mut h);
    format!("{:016x}", h.finish())
}

fn digest_path(artifact: &Path) -> PathBuf {
    artifact.with_extension("cwasm.sha256")
}

/// `Ok(None)` when there is no artifact; `Err` when there is one that does
/// not match its recorded digest.
fn read_verified(path: &Path) -> Result<Option<Vec<u8>>> {
    let artifact = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("failed to read `{}`", path.display())),
    };
    let recorded = std::fs::read_to_string(digest_path(path)).context("digest file missing")?;
    let actual = hex::encode(Sha256::digest(&artifact));
    anyhow::ensure!(recorded.trim() == actual, "digest mismatch (recorded {}, actual {actual})", recorded.trim());
    Ok(Some(artifact))
}

/// Writes artifact then digest, each via temp file + rename, so a crash
/// leaves either no digest or a digest of a complete file.
fn write_atomic(path: &Path, artifact: &[u8]) -> Result<()> {
    let dir = path.parent().context("artifact path has no parent")?;
    std::fs::create_dir_all(dir).with_context(|| format!("failed to create `{}`", dir.display()))?;
    let _ = std::fs::remove_file(digest_path(path));
    write_file(path, artifact)?;
    write_file(&digest_path(path), hex::encode(Sha256::digest(artifact)).as_bytes())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    // Unique per writer: two tenants may share a component and compile it
    // at the same time.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tmp = path.with_extension(format!("tmp{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
    std::fs::write(&tmp, bytes).with_context(|| format!("failed to write `{}`", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("failed to rename to `{}`", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hostel_test_artifacts::{MISBEHAVE_COMPONENT, SPIN_INIT_COMPONENT};
    use std::time::Duration;

    /// A trapping `init` fails the same way every time, so the plain
    /// artifact is kept; a deadline may have been a busy machine, so the
    /// next load pre-initializes once more before the plain one is kept.
    #[test]
    fn a_deadline_is_retried_once_a_trap_never() {
        let engine = crate::engine::build(4).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let trap = std::fs::read(MISBEHAVE_COMPONENT).unwrap();
        let cache = CompileCache::with_preinit(&engine, dir.path(), Some(PreinitLimits::default()));
        cache.load(&engine, &trap).unwrap();
        assert!(cache.artifact_path(&trap).exists(), "a trap is cached at once");

        let spin = std::fs::read(SPIN_INIT_COMPONENT).unwrap();
        let limits = PreinitLimits { timeout: Duration::from_millis(50), ..Default::default() };
        let cache = CompileCache::with_preinit(&engine, dir.path(), Some(limits));
        cache.load(&engine, &spin).unwrap();
        assert!(!cache.artifact_path(&spin).exists(), "the first deadline is not cached");
        cache.load(&engine, &spin).unwrap();
        assert!(cache.artifact_path(&spin).exists(), "the second one is");
        cache.load(&engine, &spin).unwrap();
        assert_eq!((cache.preinit_failures(), cache.misses(), cache.hits()), (2, 2, 1));
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
        assert!(!left.iter().any(|f| f.ends_with(".deadline")), "no marker left: {left:?}");
    }
}
