//! Tenant state that outlives a request: the host's `wasi:keyvalue`
//! (0.2.0-draft2) store, with typed helpers.
//!
//! Every request runs in a fresh instance, so anything kept in a global is
//! gone when the response is sent. Keep it here instead. Buckets are
//! private to the tenant: the host scopes every name, so two tenants (even
//! running the same component) never see each other's keys.
//!
//! ```no_run
//! # fn demo() -> Result<(), hostel_sdk::kv::KvError> {
//! use hostel_sdk::kv::Bucket;
//! let bucket = Bucket::open("default")?;
//! bucket.put("greeting", &"hello")?;
//! let visits = bucket.increment("visits", 1)?;
//! // Read-modify-write that is safe under concurrent requests:
//! let names: Vec<String> = bucket.update("names", |names: Option<Vec<String>>| {
//!     let mut names = names.unwrap_or_default();
//!     names.push(format!("visitor {visits}"));
//!     Ok::<_, hostel_sdk::kv::KvError>(names)
//! })?;
//! # Ok(()) }
//! ```

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt;

#[cfg(target_arch = "wasm32")]
mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/deps/keyvalue-draft2",
        world: "wasi:keyvalue/imports",
    });
}

#[cfg(target_arch = "wasm32")]
use bindings::wasi::keyvalue::{atomics, store};

/// How often [`Bucket::update`] tries when other requests keep writing the
/// same key first. Retries back off with random jitter, so even hundreds
/// of simultaneous writers of one key all get through; this only bounds a
/// livelock.
pub const MAX_UPDATE_ATTEMPTS: u32 = 100;

/// What can go wrong with state.
#[derive(Debug, Clone, PartialEq)]
pub enum KvError {
    /// The bucket name is not usable (empty after trimming, too long).
    NoSuchStore,
    /// The host refused access.
    AccessDenied,
    /// The host reported an error (limits, database trouble); its message.
    Other(String),
    /// A stored value did not deserialize as the requested type, or a
    /// value did not serialize.
    Serde(String),
    /// [`Bucket::update`] lost the race [`MAX_UPDATE_ATTEMPTS`] times.
    Contended(String),
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvError::NoSuchStore => f.write_str("no such key-value bucket"),
            KvError::AccessDenied => f.write_str("access to the key-value store denied"),
            KvError::Other(m) => write!(f, "key-value store: {m}"),
            KvError::Serde(m) => write!(f, "key-value value: {m}"),
            KvError::Contended(key) => write!(f, "key `{key}` kept changing; gave up after {MAX_UPDATE_ATTEMPTS} attempts"),
        }
    }
}

impl std::error::Error for KvError {}

#[cfg(target_arch = "wasm32")]
impl From<store::Error> for KvError {
    fn from(e: store::Error) -> Self {
        match e {
            store::Error::NoSuchStore => KvError::NoSuchStore,
            store::Error::AccessDenied => KvError::AccessDenied,
            store::Error::Other(m) => KvError::Other(m),
        }
    }
}

/// A bucket of this tenant's keys.
pub struct Bucket {
    #[cfg(target_arch = "wasm32")]
    inner: store::Bucket,
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, KvError> {
    serde_json::from_slice(bytes).map_err(|e| KvError::Serde(format!("`{key}`: {e}")))
}

fn encode<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<Vec<u8>, KvError> {
    serde_json::to_vec(value).map_err(|e| KvError::Serde(format!("`{key}`: {e}")))
}

impl Bucket {
    /// Opens a bucket by name (`""` is `"default"`).
    pub fn open(name: &str) -> Result<Bucket, KvError> {
        #[cfg(target_arch = "wasm32")]
        return Ok(Bucket { inner: store::open(name)? });
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = name;
            Err(KvError::Other("wasi:keyvalue is only available inside a Hostel guest (wasm32-wasip2)".into()))
        }
    }

    /// The raw bytes at `key`.
    pub fn get_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        #[cfg(target_arch = "wasm32")]
        return Ok(self.inner.get(key)?);
        #[cfg(not(target_arch = "wasm32"))]
        unreachable_off_wasm(key)
    }

    /// Stores raw bytes at `key`; durable once this returns.
    pub fn set_bytes(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        #[cfg(target_arch = "wasm32")]
        return Ok(self.inner.set(key, value)?);
        #[cfg(not(target_arch = "wasm32"))]
        unreachable_off_wasm((key, value))
    }

    /// The value at `key`, deserialized from JSON.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, KvError> {
        self.get_bytes(key)?.map(|b| decode(key, &b)).transpose()
    }

    /// Stores `value` as JSON at `key`.
    pub fn put<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<(), KvError> {
        self.set_bytes(key, &encode(key, value)?)
    }

    /// Removes `key` (absent is fine).
    pub fn delete(&self, key: &str) -> Result<(), KvError> {
        #[cfg(target_arch = "wasm32")]
        return Ok(self.inner.delete(key)?);
        #[cfg(not(target_arch = "wasm32"))]
        unreachable_off_wasm(key)
    }

    /// Whether `key` is set.
    pub fn exists(&self, key: &str) -> Result<bool, KvError> {
        #[cfg(target_arch = "wasm32")]
        return Ok(self.inner.exists(key)?);
        #[cfg(not(target_arch = "wasm32"))]
        unreachable_off_wasm(key)
    }

    /// Every key in the bucket, in byte order (follows the host's pages).
    pub fn keys(&self) -> Result<Vec<String>, KvError> {
        self.keys_with_prefix("")
    }

    /// Keys starting with `prefix`, in byte order.
    pub fn keys_with_prefix(&self, prefix: &str) -> Result<Vec<String>, KvError> {
        #[cfg(target_arch = "wasm32")]
        {
            let mut all = Vec::new();
            let mut cursor = None;
            loop {
                let page = self.inner.list_keys(cursor.as_deref())?;
                all.extend(page.keys.into_iter().filter(|k| k.starts_with(prefix)));
                match page.cursor {
                    Some(next) => cursor = Some(next),
                    None => return Ok(all),
                }
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        unreachable_off_wasm(prefix)
    }

    /// Atomically adds `delta` to the integer at `key` (absent = 0) and
    /// returns the result. Exact under any number of concurrent requests.
    pub fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        #[cfg(target_arch = "wasm32")]
        return Ok(atomics::increment(&self.inner, key, delta)?);
        #[cfg(not(target_arch = "wasm32"))]
        unreachable_off_wasm((key, delta))
    }

    /// Stores `value` at `key` only if `key` is absent; `false` when some
    /// value was already there (it is left unchanged). The building block
    /// for idempotency keys and unique claims.
    pub fn insert_new<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Result<bool, KvError> {
        let bytes = encode(key, value)?;
        #[cfg(target_arch = "wasm32")]
        {
            let cas = atomics::Cas::new(&self.inner, key)?;
            if cas.current()?.is_some() {
                return Ok(false);
            }
            match atomics::swap(cas, &bytes) {
                Ok(()) => Ok(true),
                Err(atomics::CasError::CasFailed(_)) => Ok(false),
                Err(atomics::CasError::StoreError(e)) => Err(e.into()),
            }
        }
        #[cfg(not(target_arch = "wasm32"))]
        unreachable_off_wasm(bytes)
    }

    /// Read-modify-write with compare-and-swap: `f` gets the current value
    /// (`None` if absent) and returns the new one. If another request wrote
    /// the key in between, `f` runs again on what it wrote, so no update is
    /// lost. An `Err` from `f` stops and writes nothing.
    pub fn update<T, E, F>(&self, key: &str, mut f: F) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        E: From<KvError>,
        F: FnMut(Option<T>) -> Result<T, E>,
    {
        #[cfg(target_arch = "wasm32")]
        {
            let mut cas = atomics::Cas::new(&self.inner, key).map_err(KvError::from)?;
            for attempt in 0..MAX_UPDATE_ATTEMPTS {
                let current = cas.current().map_err(KvError::from)?.map(|b| decode(key, &b)).transpose()?;
                let next = f(current)?;
                match atomics::swap(cas, &encode(key, &next)?) {
                    Ok(()) => return Ok(next),
                    Err(atomics::CasError::CasFailed(fresh)) => {
                        cas = fresh;
                        backoff(attempt);
                    }
                    Err(atomics::CasError::StoreError(e)) => return Err(KvError::from(e).into()),
                }
            }
            Err(KvError::Contended(key.to_owned()).into())
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            let _ = &mut f;
            Err(unreachable_off_wasm::<()>(key).unwrap_err().into())
        }
    }
}

/// Sleeps a random time up to 1 ms · 2^attempt (capped at 200 ms), so
/// requests that collided on a key spread out instead of colliding again.
/// A 50 ms cap let 200 writers of one key on a loaded 2-core machine keep
/// colliding until some gave up: the window must be wide enough for all of
/// them to take turns.
#[cfg(target_arch = "wasm32")]
fn backoff(attempt: u32) {
    let cap_us = (1000u64 << attempt.min(8)).min(200_000);
    let pause = wasip2::random::random::get_random_u64() % cap_us;
    std::thread::sleep(std::time::Duration::from_micros(pause));
}

#[cfg(not(target_arch = "wasm32"))]
fn unreachable_off_wasm<T>(_: impl Sized) -> Result<T, KvError> {
    Err(KvError::Other("wasi:keyvalue is only available inside a Hostel guest (wasm32-wasip2)".into()))
}
