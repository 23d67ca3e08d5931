//! A tenant's place in the registry: its lifecycle state and who owns it.

use super::Tenant;
use std::sync::Arc;

/// Where a tenant is in its lifecycle.
#[derive(Clone)]
pub enum Slot {
    /// Being compiled (or loaded from the cache).
    Compiling {
        /// Tokens are known before the component is, so auth still applies.
        tokens: Vec<String>,
    },
    /// Serving.
    Ready(Arc<Tenant>),
    /// Registered, loaded by its first request (`server.lazy_tenants`).
    Lazy(Arc<crate::lazy::Pending>),
    /// Could not be loaded; the message says why.
    Failed {
        /// Tokens, so a failed tenant still authenticates before saying so.
        tokens: Vec<String>,
        /// What went wrong.
        error: String,
    },
}

impl Slot {
    /// Bearer tokens of the tenant in any state.
    pub fn tokens(&self) -> &[String] {
        match self {
            Slot::Compiling { tokens } | Slot::Failed { tokens, .. } => tokens,
            Slot::Ready(t) => &t.tokens,
            Slot::Lazy(p) => &p.source.config.tokens,
        }
    }

    /// Whether requests get answered: loaded, or lazy (loaded by the first).
    pub fn serves(&self) -> bool {
        matches!(self, Slot::Ready(_) | Slot::Lazy(_))
    }

    /// `compiling`, `ready`, `unloaded` (lazy, not used yet) or `failed`.
    pub fn status(&self) -> &'static str {
        match self {
            Slot::Compiling { .. } => "compiling",
            Slot::Lazy(_) => "unloaded",
            Slot::Ready(_) => "ready",
            Slot::Failed { .. } => "failed",
        }
    }
}

/// Where a tenant comes from, which decides who may change it: the config
/// file owns its tenants (the admin API cannot replace or remove them);
/// the admin API owns the ones it deployed, which persist in the state
/// backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `[[tenant]]` in the config file.
    File,
    /// Deployed through the admin API.
    Api {
        /// Hex SHA-256 of the component.
        sha256: String,
        /// Version of the stored record (changes on every deploy).
        version: i64,
    },
}
