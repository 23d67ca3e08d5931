//! Tenant state that outlives a request: a key-value table in SQLite
//! (embedded default) or PostgreSQL (shared by replicas), reached by guests
//! through `wasi:keyvalue` ([`keyvalue`]).
//!
//! Every row is keyed by (tenant, bucket, key). The tenant part comes from
//! the request's routing, never from the guest, so a guest cannot name
//! another tenant's data whatever bucket it opens. Every write stamps a
//! fresh random `version`, which compare-and-swap checks: unlike comparing
//! values, a delete-and-recreate between read and swap is still detected.

pub mod keyvalue;
mod tenants;
pub use tenants::StoredTenant;

use anyhow::{Context, Result};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Set on every SQLite connection. WAL: readers never block the writer.
/// synchronous=FULL: a write is on disk before the guest hears it
/// succeeded. busy_timeout: how long a write waits for the lock another
/// process holds before reporting an error.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;";

/// Which SQL dialect a store speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// Embedded, one file (or memory), one writer at a time.
    Sqlite,
    /// A server several `hostel` processes can share.
    Postgres,
}

/// A connection to the state database; cheap to clone.
#[derive(Clone)]
pub struct StateStore {
    inner: Arc<Inner>,
}

struct Inner {
    dialect: Dialect,
    /// Reads run here, concurrently.
    reader: AnyPool,
    /// Writes run here. For SQLite a single connection: writers queue in
    /// the pool (fair, async) instead of polling SQLite's busy lock.
    writer: AnyPool,
    /// The URL with any password masked, for messages.
    display: String,
}

/// Where to start a page of keys.
#[derive(Clone, Debug)]
pub enum Page {
    /// Skip this many keys (wasi:keyvalue 0.2.0-draft cursors).
    Offset(u64),
    /// Keys strictly after this one (0.2.0-draft2 cursors).
    After(Option<String>),
}

impl StateStore {
    /// Opens (creating if needed) the store at `url`: `sqlite://PATH`,
    /// `sqlite::memory:` or `postgres://…`. `max_connections` caps the pool.
    pub async fn open(url: &str, max_connections: u32) -> Result<StateStore> {
        sqlx::any::install_default_drivers();
        let display = mask_password(url);
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Dialect::Postgres
        } else {
            anyhow::bail!("unsupported state URL `{display}`: use sqlite://PATH, sqlite::memory: or postgres://USER@HOST/DB")
        };
        let (reader, writer) = match dialect {
            Dialect::Sqlite => open_sqlite(url, max_connections).await,
            Dialect::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(max_connections.max(1))
                    .acquire_timeout(Duration::from_secs(10))
                    .connect(url)
                    .await
                    .map_err(anyhow::Error::from);
                pool.map(|p| (p.clone(), p))
            }
        }
        .with_context(|| format!("failed to open state store `{display}`"))?;
        let store = StateStore { inner: Arc::new(Inner { dialect, reader, writer, display }) };
        store.migrate().await.with_context(|| format!("failed to prepare state store `{}`", store.inner.display))?;
        Ok(store)
    }

    /// The dialect in use.
    pub fn dialect(&self) -> Dialect {
        self.inner.dialect
    }

    /// The URL, password masked.
    pub fn display(&self) -> &str {
        &self.inner.display
    }

    async fn migrate(&self) -> Result<()> {
        let mut tx = self.inner.writer.begin().await?;
        let ddl = match self.inner.dialect {
            Dialect::Sqlite => {
                "CREATE TABLE IF NOT EXISTS hostel_kv (tenant TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL, \
                 value BLOB NOT NULL, version BIGINT NOT NULL, PRIMARY KEY (tenant, bucket, key))"
            }
            Dialect::Postgres => {
                // Two replicas starting together would race on the catalog.
                sqlx::query("SELECT pg_advisory_xact_lock(7243010315)").execute(&mut *tx).await?;
                // "C" collation: keys page in byte order, as in SQLite.
                "CREATE TABLE IF NOT EXISTS hostel_kv (tenant TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT COLLATE \"C\" NOT NULL, \
                 value BYTEA NOT NULL, version BIGINT NOT NULL, PRIMARY KEY (tenant, bucket, key))"
            }
        };
        sqlx::query(ddl).execute(&mut *tx).await?;
        let blob = if self.inner.dialect == Dialect::Postgres { "BYTEA" } else { "BLOB" };
        sqlx::query(&format!(
            "CREATE TABLE IF NOT EXISTS hostel_tenants (name TEXT PRIMARY KEY, component {blob} NOT NULL, \
             settings TEXT NOT NULL, sha256 TEXT NOT NULL, version BIGINT NOT NULL)"
        ))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A host secret named `name`, stored once under the empty tenant (no
    /// tenant can be named "", so no guest can read it): `candidate` is
    /// written if absent and whatever is stored is returned, so replicas
    /// starting together agree on one value.
    pub async fn host_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>> {
        sqlx::query(
            "INSERT INTO hostel_kv (tenant, bucket, key, value, version) VALUES ('', 'hostel', $1, $2, 1) \
             ON CONFLICT (tenant, bucket, key) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .execute(&self.inner.writer)
        .await?;
        self.get("", "hostel", name).await?.context("host secret vanished after insert")
    }

    /// The value of `key`, if set.
    pub async fn get(&self, tenant: &str, bucket: &str, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.get_versioned(tenant, bucket, key).await?.map(|(value, _)| value))
    }

    /// The value of `key` with its write version, if set.
    pub async fn get_versioned(&self, tenant: &str, bucket: &str, key: &str) -> Result<Option<(Vec<u8>, i64)>> {
        let row = sqlx::query("SELECT value, version FROM hostel_kv WHERE tenant = $1 AND bucket = $2 AND key = $3")
            .bind(tenant)
            .bind(bucket)
            .bind(key)
            .fetch_optional(&self.inner.reader)
            .await?;
        row.map(|r: AnyRow| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// Sets `key` to `value`; durable when this returns.
    pub async fn set(&self, tenant: &str, bucket: &str, key: &str, value: &[u8]) -> Result<()> {
        self.set_many(tenant, bucket, &[(key.to_owned(), value.to_vec())]).await
    }

    /// Sets every pair in one transaction: all or none.
    pub async fn set_many(&self, tenant: &str, bucket: &str, pairs: &[(String, Vec<u8>)]) -> Result<()> {
        let mut tx = self.inner.writer.begin().await?;
        for (key, value) in pairs {
            sqlx::query(
                "INSERT INTO hostel_kv (tenant, bucket, key, value, version) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (tenant, bucket, key) DO UPDATE SET value = excluded.value, version = excluded.version",
            )
            .bind(tenant)
            .bind(bucket)
            .bind(key.as_str())
            .bind(value.as_slice())
            .bind(fresh_version())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes every key in one transaction; absent keys are not an error.
    pub async fn delete_many(&self, tenant: &str, bucket: &str, keys: &[String]) -> Result<()> {
        let mut tx = self.inner.writer.begin().await?;
        for key in keys {
            sqlx::query("DELETE FROM hostel_kv WHERE tenant = $1 AND bucket = $2 AND key = $3")
                .bind(tenant)
                .bind(bucket)
                .bind(key.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Up to `limit` keys of the bucket in byte order, from `page`.
    pub async fn list_keys(&self, tenant: &str, bucket: &str, page: Page, limit: u32) -> Result<Vec<String>> {
        let sql = match &page {
            Page::Offset(_) => "SELECT key FROM hostel_kv WHERE tenant = $1 AND bucket = $2 ORDER BY key LIMIT $3 OFFSET $4",
            Page::After(None) => "SELECT key FROM hostel_kv WHERE tenant = $1 AND bucket = $2 ORDER BY key LIMIT $3",
            Page::After(Some(_)) => "SELECT key FROM hostel_kv WHERE tenant = $1 AND bucket = $2 AND key > $4 ORDER BY key LIMIT $3",
        };
        let query = sqlx::query(sql).bind(tenant).bind(bucket).bind(i64::from(limit));
        let query = match &page {
            Page::Offset(offset) => query.bind(i64::try_from(*offset).unwrap_or(i64::MAX)),
            Page::After(Some(after)) => query.bind(after.as_str()),
            Page::After(None) => query,
        };
        let rows = query.fetch_all(&self.inner.reader).await?;
        rows.iter().map(|r| Ok(r.try_get::<String, _>(0)?)).collect()
    }

    /// Atomically replaces the value of `key` with `update(current)`, all
    /// in one transaction that holds the row (Postgres) or the database
    /// (SQLite) until commit, so concurrent updates from any number of
    /// instances or replicas serialize. An `Err` from `update` writes
    /// nothing and is returned as is.
    pub async fn update<E>(
        &self,
        tenant: &str,
        bucket: &str,
        key: &str,
        update: impl FnOnce(Option<&[u8]>) -> std::result::Result<Vec<u8>, E>,
    ) -> Result<std::result::Result<Vec<u8>, E>> {
        let mut tx = match self.inner.dialect {
            Dialect::Sqlite => self.inner.writer.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.inner.writer.begin().await?,
        };
        // Claim the key: either we insert a placeholder (and hold it until
        // commit; concurrent inserters wait on us), or it exists and we
        // lock it below. On Postgres a delete committed between the two
        // statements leaves nothing to lock: claim again.
        let mut attempts = 0;
        let current: Option<Vec<u8>> = loop {
            let inserted = sqlx::query(
                "INSERT INTO hostel_kv (tenant, bucket, key, value, version) VALUES ($1, $2, $3, $4, 0) \
                 ON CONFLICT (tenant, bucket, key) DO NOTHING",
            )
            .bind(tenant)
            .bind(bucket)
            .bind(key)
            .bind(&[][..])
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if inserted {
                break None;
            }
            let lock = if self.inner.dialect == Dialect::Postgres { " FOR UPDATE" } else { "" };
            let sql = format!("SELECT value FROM hostel_kv WHERE tenant = $1 AND bucket = $2 AND key = $3{lock}");
            match sqlx::query(&sql).bind(tenant).bind(bucket).bind(key).fetch_optional(&mut *tx).await? {
                Some(row) => break Some(row.try_get(0)?),
                None if attempts < 10 => attempts += 1,
                None => anyhow::bail!("`{key}` was deleted under the update 10 times in a row"),
            }
        };
        let new = match update(current.as_deref()) {
            Ok(new) => new,
            Err(e) => return Ok(Err(e)), // dropping `tx` rolls back
        };
        sqlx::query("UPDATE hostel_kv SET value = $1, version = $2 WHERE tenant = $3 AND bucket = $4 AND key = $5")
            .bind(new.as_slice())
            .bind(fresh_version())
            .bind(tenant)
            .bind(bucket)
            .bind(key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Ok(new))
    }

    /// Compare-and-swap: writes `value` only if `key` still has the
    /// version read earlier (`None`: only if it is still absent).
    /// Returns whether the write happened.
    pub async fn swap(&self, tenant: &str, bucket: &str, key: &str, expected: Option<i64>, value: &[u8]) -> Result<bool> {
        let query = match expected {
            Some(version) => {
                sqlx::query("UPDATE hostel_kv SET value = $4, version = $5 WHERE tenant = $1 AND bucket = $2 AND key = $3 AND version = $6")
                    .bind(tenant)
                    .bind(bucket)
                    .bind(key)
                    .bind(value)
                    .bind(fresh_version())
                    .bind(version)
            }
            None => sqlx::query(
                "INSERT INTO hostel_kv (tenant, bucket, key, value, version) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (tenant, bucket, key) DO NOTHING",
            )
            .bind(tenant)
            .bind(bucket)
            .bind(key)
            .bind(value)
            .bind(fresh_version()),
        };
        Ok(query.execute(&self.inner.writer).await?.rows_affected() == 1)
    }
}

async fn open_sqlite(url: &str, max_connections: u32) -> Result<(AnyPool, AnyPool)> {
    let memory = url.contains(":memory:") || url.contains("mode=memory");
    let url = if memory {
        url.to_owned()
    } else {
        let path = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
        let path = path.split('?').next().unwrap_or(path);
        if let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("failed to create `{}`", dir.display()))?;
        }
        if url.contains('?') {
            url.to_owned()
        } else {
            format!("{url}?mode=rwc")
        }
    };
    let options = |max: u32| {
        AnyPoolOptions::new().max_connections(max).acquire_timeout(Duration::from_secs(30)).after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::Executor::execute(conn, SQLITE_PRAGMAS).await?;
                Ok(())
            })
        })
    };
    // An in-memory database lives exactly as long as its connection: the
    // pool must never retire it (sqlx's default recycles connections after
    // 30 min, or 10 min idle, which would empty the store silently).
    let writer = match memory {
        true => options(1).min_connections(1).max_lifetime(None).idle_timeout(None),
        false => options(1),
    }
    .connect(&url)
    .await?;
    // An in-memory database exists once per connection: share the writer.
    let reader = if memory { writer.clone() } else { options(max_connections.max(1)).connect(&url).await? };
    Ok((reader, writer))
}

/// A fresh write version: a keyed hash of a process-wide counter, so
/// versions are unique within a process and, being 64 random-looking bits,
/// across the replicas sharing a database.
pub(crate) fn fresh_version() -> i64 {
    static KEYS: OnceLock<RandomState> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // Version 0 marks a placeholder row inside `update`'s transaction.
    ((KEYS.get_or_init(RandomState::new).hash_one(n) >> 1) as i64).max(1)
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`, and
/// a `password=` query parameter masked too. The userinfo is taken to end
/// at the last `@`, since a password may hold `@`, `/` or `?`: masking too
/// much of a log line is harmless, too little is not.
fn mask_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let rest = match rest.rfind('@').and_then(|at| Some((rest[..at].split_once(':')?.0, &rest[at..]))) {
        Some((user, host)) => format!("{user}:***{host}"),
        None => rest.to_owned(),
    };
    let rest = match rest.split_once('?') {
        Some((head, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => p.to_owned(),
                })
                .collect();
            format!("{head}?{}", query.join("&"))
        }
        None => rest,
    };
    format!("{scheme}://{rest}")
}

#[cfg(test)]
mod tests;
