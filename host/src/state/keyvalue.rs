//! `wasi:keyvalue` for guests, in both drafts found in the wild:
//! 0.2.0-draft (wasmtime, wasmCloud) and 0.2.0-draft2 (Spin; adds
//! compare-and-swap). Both are thin shells over [`KvView`]'s operations,
//! which pin every bucket to the calling tenant and enforce its limits.

use super::{Page, StateStore};
use std::sync::Arc;
use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

/// Keys returned per `list-keys` call; the cursor fetches the next page.
const KEYS_PER_PAGE: u32 = 1000;
/// Most pairs or keys in one `set-many` / `delete-many`: each is one
/// transaction on the (single) writer, which other tenants wait for.
const MAX_BATCH: usize = 1000;
/// Bucket names longer than this are refused.
const MAX_BUCKET_BYTES: usize = 256;

/// Generated bindings for 0.2.0-draft.
#[allow(missing_docs)]
pub mod draft {
    wasmtime::component::bindgen!({
        path: "../wit/deps/keyvalue-draft",
        world: "wasi:keyvalue/imports",
        imports: { default: async | trappable },
        with: { "wasi:keyvalue/store.bucket": super::Bucket },
    });
}

/// Generated bindings for 0.2.0-draft2.
#[allow(missing_docs)]
pub mod draft2 {
    wasmtime::component::bindgen!({
        path: "../wit/deps/keyvalue-draft2",
        world: "wasi:keyvalue/imports",
        imports: { default: async | trappable },
        with: { "wasi:keyvalue/store.bucket": super::Bucket, "wasi:keyvalue/atomics.cas": super::Cas },
    });
}

/// What a request may do with state: its tenant's store and limits.
pub struct KvCtx {
    store: StateStore,
    tenant: Arc<str>,
    max_key_bytes: usize,
    max_value_bytes: usize,
    /// Most value bytes the host holds for this request at once: a
    /// `get-many` answer being gathered and open compare-and-swaps keep
    /// values host-side, where the guest's memory limit does not reach,
    /// so without this a guest could make the host hold gigabytes.
    max_held_bytes: usize,
    held: std::sync::atomic::AtomicUsize,
    /// Operations this request made (for metrics).
    ops: std::sync::atomic::AtomicU64,
}

impl KvCtx {
    /// Access to `tenant`'s data in `store`, with the tenant's size limits;
    /// `max_held_bytes` is the tenant's memory limit (a result bigger than
    /// that could never be copied into the guest anyway).
    pub fn new(store: StateStore, tenant: Arc<str>, max_key_bytes: usize, max_value_bytes: usize, max_held_bytes: usize) -> KvCtx {
        KvCtx { store, tenant, max_key_bytes, max_value_bytes, max_held_bytes, held: Default::default(), ops: Default::default() }
    }

    /// Counts `bytes` more held for this request, or refuses them.
    fn hold(&self, bytes: usize) -> KvResult<()> {
        use std::sync::atomic::Ordering::Relaxed;
        let before = self.held.fetch_add(bytes, Relaxed);
        if before.saturating_add(bytes) > self.max_held_bytes {
            self.held.fetch_sub(bytes, Relaxed);
            return Err(KvError::Other(format!(
                "this request would hold more than {} MiB of values host-side (the tenant's memory limit); \
                 ask for fewer keys at once or drop compare-and-swap handles",
                self.max_held_bytes >> 20
            )));
        }
        Ok(())
    }

    fn release(&self, bytes: usize) {
        self.held.fetch_sub(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// Key-value operations made through this context.
    pub fn operations(&self) -> u64 {
        self.ops.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl KvCtx {
    /// Logs a database failure for the operator and tells the guest.
    fn db_error(&self, op: &str, e: anyhow::Error) -> KvError {
        tracing::warn!(tenant = %self.tenant, op, error = %format!("{e:#}"), "state store error");
        KvError::Other(format!("state store unavailable during {op}"))
    }

    /// Reads what a compare-and-swap will compare against.
    async fn read_cas(&self, bucket: String, key: String) -> KvResult<Cas> {
        let read = self.store.get_versioned(&self.tenant, &bucket, &key).await.map_err(|e| self.db_error("cas", e))?;
        let (current, version) = read.map_or((None, None), |(v, ver)| (Some(v), Some(ver)));
        self.hold(current.as_ref().map_or(0, Vec::len))?;
        Ok(Cas { bucket, key, version, current })
    }
}

fn check_batch(len: usize) -> KvResult<()> {
    match len > MAX_BATCH {
        true => Err(KvError::Other(format!("a batch holds at most {MAX_BATCH} entries, got {len}; split it"))),
        false => Ok(()),
    }
}

/// An open bucket: only its name; the tenant comes from [`KvCtx`].
pub struct Bucket {
    name: String,
}

/// A compare-and-swap in progress: the value and version read by `new`.
pub struct Cas {
    bucket: String,
    key: String,
    version: Option<i64>,
    current: Option<Vec<u8>>,
}

/// The store's error, shared by both drafts (same three cases).
#[derive(Debug)]
pub enum KvError {
    /// Bucket name unusable.
    NoSuchStore,
    /// Never produced today; kept for parity with the WIT.
    AccessDenied,
    /// Anything else, with a message for the guest.
    Other(String),
}

type KvResult<T> = Result<T, KvError>;

/// The per-call view the generated traits are implemented on.
pub struct KvView<'a> {
    ctx: &'a KvCtx,
    table: &'a mut ResourceTable,
}

impl<'a> KvView<'a> {
    /// A view over one request's context and resource table.
    pub fn new(ctx: &'a KvCtx, table: &'a mut ResourceTable) -> Self {
        KvView { ctx, table }
    }
}

struct HasKv;

impl HasData for HasKv {
    type Data<'a> = KvView<'a>;
}

/// Adds both drafts to `linker`; `view` finds the request's context.
pub fn add_to_linker<T: Send + 'static>(linker: &mut Linker<T>, view: fn(&mut T) -> KvView<'_>) -> anyhow::Result<()> {
    draft::wasi::keyvalue::store::add_to_linker::<T, HasKv>(linker, view)?;
    draft::wasi::keyvalue::atomics::add_to_linker::<T, HasKv>(linker, view)?;
    draft::wasi::keyvalue::batch::add_to_linker::<T, HasKv>(linker, view)?;
    draft2::wasi::keyvalue::store::add_to_linker::<T, HasKv>(linker, view)?;
    draft2::wasi::keyvalue::atomics::add_to_linker::<T, HasKv>(linker, view)?;
    draft2::wasi::keyvalue::batch::add_to_linker::<T, HasKv>(linker, view)?;
    Ok(())
}

/// The operations both drafts share, checked against the tenant's limits.
impl KvView<'_> {
    fn open(&mut self, identifier: String) -> wasmtime::Result<KvResult<Resource<Bucket>>> {
        // Every name is a private namespace of this tenant; "" is "default".
        let name = if identifier.is_empty() { "default".to_owned() } else { identifier };
        if name.len() > MAX_BUCKET_BYTES || name.contains('\0') {
            return Ok(Err(KvError::NoSuchStore));
        }
        Ok(Ok(self.table.push(Bucket { name })?))
    }

    /// Every data operation names its bucket through here, so this is
    /// where they are counted.
    fn bucket(&self, bucket: &Resource<Bucket>) -> wasmtime::Result<String> {
        self.ctx.ops.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(self.table.get(bucket)?.name.clone())
    }

    fn check_key(&self, key: &str) -> KvResult<()> {
        if key.len() > self.ctx.max_key_bytes {
            return Err(KvError::Other(format!("key is {} bytes; this tenant's limit is {}", key.len(), self.ctx.max_key_bytes)));
        }
        if key.contains('\0') {
            return Err(KvError::Other("keys must not contain NUL characters".into()));
        }
        Ok(())
    }

    fn check_value(&self, value: &[u8]) -> KvResult<()> {
        match value.len() > self.ctx.max_value_bytes {
            true => Err(KvError::Other(format!("value is {} bytes; this tenant's limit is {}", value.len(), self.ctx.max_value_bytes))),
            false => Ok(()),
        }
    }

    fn db_error(&self, op: &str, e: anyhow::Error) -> KvError {
        self.ctx.db_error(op, e)
    }

    async fn get(&mut self, bucket: Resource<Bucket>, key: String) -> wasmtime::Result<KvResult<Option<Vec<u8>>>> {
        let bucket = self.bucket(&bucket)?;
        if let Err(e) = self.check_key(&key) {
            return Ok(Err(e));
        }
        Ok(self.ctx.store.get(&self.ctx.tenant, &bucket, &key).await.map_err(|e| self.db_error("get", e)))
    }

    async fn set_many(&mut self, bucket: Resource<Bucket>, pairs: Vec<(String, Vec<u8>)>) -> wasmtime::Result<KvResult<()>> {
        let bucket = self.bucket(&bucket)?;
        if let Err(e) = check_batch(pairs.len()) {
            return Ok(Err(e));
        }
        if let Some(Err(e)) = pairs.iter().map(|(k, v)| self.check_key(k).and_then(|()| self.check_value(v))).find(Result::is_err) {
            return Ok(Err(e));
        }
        Ok(self.ctx.store.set_many(&self.ctx.tenant, &bucket, &pairs).await.map_err(|e| self.db_error("set", e)))
    }

    async fn delete_many(&mut self, bucket: Resource<Bucket>, keys: Vec<String>) -> wasmtime::Result<KvResult<()>> {
        let bucket = self.bucket(&bucket)?;
        if let Err(e) = check_batch(keys.len()) {
            return Ok(Err(e));
        }
        if let Some(Err(e)) = keys.iter().map(|k| self.check_key(k)).find(Result::is_err) {
            return Ok(Err(e));
        }
        Ok(self.ctx.store.delete_many(&self.ctx.tenant, &bucket, &keys).await.map_err(|e| self.db_error("delete", e)))
    }

    async fn get_many(
        &mut self,
        bucket: Resource<Bucket>,
        keys: Vec<String>,
    ) -> wasmtime::Result<KvResult<Vec<Option<(String, Vec<u8>)>>>> {
        let name = self.bucket(&bucket)?;
        if let Some(Err(e)) = keys.iter().map(|k| self.check_key(k)).find(Result::is_err) {
            return Ok(Err(e));
        }
        let ctx = self.ctx;
        let (mut out, mut held) = (Vec::new(), 0);
        let gathered: KvResult<()> = async {
            for key in keys {
                let value = ctx.store.get(&ctx.tenant, &name, &key).await.map_err(|e| ctx.db_error("get-many", e))?;
                if let Some(v) = &value {
                    ctx.hold(v.len())?;
                    held += v.len();
                }
                out.push(value.map(|v| (key, v)));
            }
            Ok(())
        }
        .await;
        // Once returned, the values are the guest's (and its memory limit's).
        ctx.release(held);
        Ok(gathered.map(|()| out))
    }

    async fn list(&mut self, bucket: Resource<Bucket>, page: Page) -> wasmtime::Result<KvResult<Vec<String>>> {
        let bucket = self.bucket(&bucket)?;
        Ok(self.ctx.store.list_keys(&self.ctx.tenant, &bucket, page, KEYS_PER_PAGE).await.map_err(|e| self.db_error("list-keys", e)))
    }

    /// Adds `delta` to the decimal integer stored at `key` (absent = 0),
    /// atomically; `parse`/`add` give each draft its integer type.
    async fn increment<N: std::str::FromStr + ToString>(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        add: impl FnOnce(N) -> Option<N>,
        zero: N,
    ) -> wasmtime::Result<KvResult<N>> {
        let bucket = self.bucket(&bucket)?;
        if let Err(e) = self.check_key(&key) {
            return Ok(Err(e));
        }
        let outcome = self
            .ctx
            .store
            .update(&self.ctx.tenant, &bucket, &key, |current| {
                let current = match current {
                    None => zero,
                    Some(bytes) => std::str::from_utf8(bytes)
                        .ok()
                        .and_then(|s| s.parse::<N>().ok())
                        .ok_or_else(|| KvError::Other(format!("value at `{key}` is not a decimal integer; cannot increment it")))?,
                };
                let next = add(current).ok_or_else(|| KvError::Other(format!("incrementing `{key}` would overflow")))?;
                Ok(next.to_string().into_bytes())
            })
            .await;
        Ok(match outcome {
            Ok(Ok(bytes)) => Ok(String::from_utf8_lossy(&bytes).parse::<N>().ok().expect("we just wrote this number")),
            Ok(Err(e)) => Err(e),
            Err(e) => Err(self.db_error("increment", e)),
        })
    }

    /// Closes a compare-and-swap, releasing the value it held.
    fn cas_drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<Cas> {
        let cas = self.table.delete(cas)?;
        self.ctx.release(cas.current.as_ref().map_or(0, Vec::len));
        Ok(cas)
    }

    async fn cas_new(&mut self, bucket: Resource<Bucket>, key: String) -> wasmtime::Result<KvResult<Resource<Cas>>> {
        let bucket = self.bucket(&bucket)?;
        if let Err(e) = self.check_key(&key) {
            return Ok(Err(e));
        }
        match self.ctx.read_cas(bucket, key).await {
            Ok(cas) => Ok(Ok(self.table.push(cas)?)),
            Err(e) => Ok(Err(e)),
        }
    }

    /// `Ok(None)`: swapped. `Ok(Some(cas))`: someone wrote first; `cas`
    /// holds what they wrote, ready for a retry.
    async fn swap(&mut self, cas: Resource<Cas>, value: Vec<u8>) -> wasmtime::Result<KvResult<Option<Resource<Cas>>>> {
        let cas = self.cas_drop(cas)?;
        if let Err(e) = self.check_value(&value) {
            return Ok(Err(e));
        }
        match self.ctx.store.swap(&self.ctx.tenant, &cas.bucket, &cas.key, cas.version, &value).await {
            Ok(true) => Ok(Ok(None)),
            Ok(false) => match self.ctx.read_cas(cas.bucket, cas.key).await {
                Ok(fresh) => Ok(Ok(Some(self.table.push(fresh)?))),
                Err(e) => Ok(Err(e)),
            },
            Err(e) => Ok(Err(self.db_error("swap", e))),
        }
    }
}

/// The glue both drafts share (the generated traits differ only in their
/// module); each draft module adds its own `list-keys` and atomics.
macro_rules! shared_impls {
    ($($list_keys:tt)*) => {
        type Res<T> = wasmtime::Result<Result<T, store::Error>>;

        impl From<KvError> for store::Error {
            fn from(e: KvError) -> Self {
                match e {
                    KvError::NoSuchStore => store::Error::NoSuchStore,
                    KvError::AccessDenied => store::Error::AccessDenied,
                    KvError::Other(m) => store::Error::Other(m),
                }
            }
        }

        fn conv<T>(r: wasmtime::Result<Result<T, KvError>>) -> Res<T> {
            r.map(|r| r.map_err(Into::into))
        }

        impl store::Host for KvView<'_> {
            async fn open(&mut self, identifier: String) -> Res<Resource<Bucket>> {
                conv(KvView::open(self, identifier))
            }
        }

        impl store::HostBucket for KvView<'_> {
            async fn get(&mut self, bucket: Resource<Bucket>, key: String) -> Res<Option<Vec<u8>>> {
                conv(KvView::get(self, bucket, key).await)
            }

            async fn set(&mut self, bucket: Resource<Bucket>, key: String, value: Vec<u8>) -> Res<()> {
                conv(self.set_many(bucket, vec![(key, value)]).await)
            }

            async fn delete(&mut self, bucket: Resource<Bucket>, key: String) -> Res<()> {
                conv(self.delete_many(bucket, vec![key]).await)
            }

            async fn exists(&mut self, bucket: Resource<Bucket>, key: String) -> Res<bool> {
                conv(KvView::get(self, bucket, key).await.map(|r| r.map(|v| v.is_some())))
            }

            $($list_keys)*

            async fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
                self.table.delete(bucket)?;
                Ok(())
            }
        }

        impl batch::Host for KvView<'_> {
            async fn get_many(&mut self, bucket: Resource<Bucket>, keys: Vec<String>) -> Res<Vec<Option<(String, Vec<u8>)>>> {
                conv(KvView::get_many(self, bucket, keys).await)
            }

            async fn set_many(&mut self, bucket: Resource<Bucket>, pairs: Vec<(String, Vec<u8>)>) -> Res<()> {
                conv(KvView::set_many(self, bucket, pairs).await)
            }

            async fn delete_many(&mut self, bucket: Resource<Bucket>, keys: Vec<String>) -> Res<()> {
                conv(KvView::delete_many(self, bucket, keys).await)
            }
        }
    };
}

mod draft2_impl;
mod draft_impl;

#[cfg(test)]
mod tests;
