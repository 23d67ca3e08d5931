//! Per-tenant sealing keys: the host MACs data a guest hands to a client
//! (MCP 2026-07-28 `requestState` of an input-required result) so that a
//! client cannot forge or alter it before sending it back to a fresh
//! instance. The key never enters the guest; it only asks the host for
//! `mac(data)` through `hostel:lean/seal`.
//!
//! One random master secret lives in the state backend, so every replica
//! on the same Postgres (and a restarted SQLite host) derives the same
//! per-tenant keys; a tenant's key is `HMAC(master, tenant name)`, so two
//! tenants never accept each other's state.

use crate::state::StateStore;
use anyhow::{Context, Result};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The host-wide secret all tenant keys derive from.
#[derive(Clone)]
pub struct MasterSecret([u8; 32]);

/// One tenant's sealing key.
#[derive(Clone)]
pub struct SealKey([u8; 32]);

impl MasterSecret {
    /// Loads the secret from `state`, creating it on first use. Concurrent
    /// first starts agree: the insert is if-absent and everyone reads back.
    pub async fn load(state: &StateStore) -> Result<MasterSecret> {
        let mut fresh = [0u8; 32];
        getrandom::getrandom(&mut fresh).context("no OS randomness for the sealing secret")?;
        let stored = state.host_secret("seal-master", &fresh).await.context("failed to load the sealing secret")?;
        let bytes: [u8; 32] = stored.as_slice().try_into().context("stored sealing secret is not 32 bytes")?;
        Ok(MasterSecret(bytes))
    }

    /// A secret that lives only in this process (benchmarks, tests).
    pub fn ephemeral() -> MasterSecret {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).expect("OS randomness");
        MasterSecret(bytes)
    }

    /// The key for `tenant`.
    pub fn tenant_key(&self, tenant: &str) -> SealKey {
        SealKey(hmac(&self.0, tenant.as_bytes()))
    }
}

impl SealKey {
    /// HMAC-SHA256 of `data` under this key.
    pub fn mac(&self, data: &[u8]) -> [u8; 32] {
        hmac(&self.0, data)
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_persist_and_differ_per_tenant() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/s.db", dir.path().display());
        let a = MasterSecret::load(&StateStore::open(&url, 1).await.unwrap()).await.unwrap();
        let b = MasterSecret::load(&StateStore::open(&url, 1).await.unwrap()).await.unwrap();
        assert_eq!(a.tenant_key("t").mac(b"x"), b.tenant_key("t").mac(b"x"), "reopened store, same key");
        assert_ne!(a.tenant_key("t").mac(b"x"), a.tenant_key("u").mac(b"x"), "tenants differ");
        assert_ne!(a.tenant_key("t").mac(b"x"), a.tenant_key("t").mac(b"y"));
    }
}
