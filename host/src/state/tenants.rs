//! Tenants deployed through the admin API, kept in the state backend so a
//! restarted host, or every replica on the same Postgres, serves them too.

use super::{fresh_version, StateStore};
use anyhow::Result;
use sqlx::Row;

/// One deployed tenant as stored: the component and its settings (JSON).
#[derive(Debug, Clone)]
pub struct StoredTenant {
    /// Tenant name.
    pub name: String,
    /// Component bytes.
    pub component: Vec<u8>,
    /// Settings (tokens, hosts, outbound, limits, entry) as JSON.
    pub settings: String,
    /// Hex SHA-256 of the component.
    pub sha256: String,
    /// Changes on every write; replicas compare it to notice updates.
    pub version: i64,
}

impl StateStore {
    /// Inserts or replaces tenant `name`; returns the new version.
    pub async fn put_tenant(&self, name: &str, component: &[u8], settings: &str, sha256: &str) -> Result<i64> {
        let version = fresh_version();
        sqlx::query(
            "INSERT INTO hostel_tenants (name, component, settings, sha256, version) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO UPDATE SET component = excluded.component, settings = excluded.settings, \
             sha256 = excluded.sha256, version = excluded.version",
        )
        .bind(name)
        .bind(component)
        .bind(settings)
        .bind(sha256)
        .bind(version)
        .execute(&self.inner.writer)
        .await?;
        Ok(version)
    }

    /// Removes tenant `name`; returns whether it existed.
    pub async fn delete_tenant(&self, name: &str) -> Result<bool> {
        let n = sqlx::query("DELETE FROM hostel_tenants WHERE name = $1").bind(name).execute(&self.inner.writer).await?.rows_affected();
        Ok(n > 0)
    }

    /// `(name, version)` of every stored tenant: cheap enough to poll.
    pub async fn tenant_versions(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT name, version FROM hostel_tenants ORDER BY name").fetch_all(&self.inner.reader).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// The whole record of tenant `name`.
    pub async fn get_tenant(&self, name: &str) -> Result<Option<StoredTenant>> {
        let row = sqlx::query("SELECT name, component, settings, sha256, version FROM hostel_tenants WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.inner.reader)
            .await?;
        row.map(|r| {
            Ok(StoredTenant {
                name: r.try_get(0)?,
                component: r.try_get(1)?,
                settings: r.try_get(2)?,
                sha256: r.try_get(3)?,
                version: r.try_get(4)?,
            })
        })
        .transpose()
    }
}
