//! Demo/test tenant for state: every tool reads or writes the tenant's
//! key-value store, so tests can prove that state outlives the (fresh,
//! per-request) instance, is scoped to the tenant, and stays exact under
//! concurrent requests. `incr_draft` goes through `wasi:keyvalue`
//! 0.2.0-draft directly, proving the host serves both drafts.

use hostel_sdk::kv::{Bucket, KvError};
use hostel_sdk::{Ctx, Deserialize, JsonSchema, Server, ToolResult};
use serde_json::{json, Value};

mod draft {
    wit_bindgen::generate!({
        path: "../../../wit/deps/keyvalue-draft",
        world: "wasi:keyvalue/imports",
    });
}

#[derive(Deserialize, JsonSchema)]
struct Key {
    /// Bucket name; "default" when omitted.
    #[serde(default)]
    bucket: String,
    /// Key within the bucket.
    key: String,
}

#[derive(Deserialize, JsonSchema)]
struct Put {
    #[serde(flatten)]
    at: Key,
    /// Any JSON value.
    value: Value,
}

#[derive(Deserialize, JsonSchema)]
struct Fill {
    #[serde(flatten)]
    at: Key,
    /// Store this many bytes (to probe the host's value limit).
    size: usize,
}

#[derive(Deserialize, JsonSchema)]
struct Keys {
    /// Bucket name; "default" when omitted.
    #[serde(default)]
    bucket: String,
    /// Only keys starting with this.
    #[serde(default)]
    prefix: String,
}

#[derive(Deserialize, JsonSchema)]
struct Incr {
    #[serde(flatten)]
    at: Key,
    /// Amount to add.
    #[serde(default = "one")]
    by: i64,
}

fn one() -> i64 {
    1
}

fn server() -> Server {
    Server::new("keeper", env!("CARGO_PKG_VERSION"))
        .tool("put", "Store a JSON value", |a: Put, _: &Ctx| {
            Bucket::open(&a.at.bucket)?.put(&a.at.key, &a.value)?;
            Ok(ToolResult::json(json!({ "stored": a.at.key })))
        })
        .tool("get", "Read a JSON value (null when absent)", |a: Key, _: &Ctx| {
            let value: Option<Value> = Bucket::open(&a.bucket)?.get(&a.key)?;
            Ok(ToolResult::json(json!({ "value": value })))
        })
        .tool("delete", "Remove a key", |a: Key, _: &Ctx| {
            Bucket::open(&a.bucket)?.delete(&a.key)?;
            Ok(ToolResult::json(json!({ "deleted": a.key })))
        })
        .tool("keys", "List keys", |a: Keys, _: &Ctx| {
            Ok(ToolResult::json(json!({ "keys": Bucket::open(&a.bucket)?.keys_with_prefix(&a.prefix)? })))
        })
        .tool("fill", "Store `size` bytes", |a: Fill, _: &Ctx| {
            Bucket::open(&a.at.bucket)?.set_bytes(&a.at.key, &vec![b'x'; a.size])?;
            Ok(ToolResult::json(json!({ "stored": a.size })))
        })
        .tool("incr", "Atomic increment (wasi:keyvalue 0.2.0-draft2)", |a: Incr, _: &Ctx| {
            Ok(ToolResult::json(json!({ "value": Bucket::open(&a.at.bucket)?.increment(&a.at.key, a.by)? })))
        })
        .tool("incr_draft", "Atomic increment (wasi:keyvalue 0.2.0-draft)", |a: Incr, _: &Ctx| {
            use draft::wasi::keyvalue::{atomics, store};
            let bucket = store::open(&a.at.bucket).map_err(|e| format!("{e:?}"))?;
            let by = u64::try_from(a.by).map_err(|_| "0.2.0-draft increments are unsigned")?;
            Ok(ToolResult::json(json!({ "value": atomics::increment(&bucket, &a.at.key, by).map_err(|e| format!("{e:?}"))? })))
        })
        .tool("cas_incr", "Increment a JSON number with a compare-and-swap retry loop", |a: Key, _: &Ctx| {
            let value = Bucket::open(&a.bucket)?.update(&a.key, |n: Option<u64>| Ok::<_, KvError>(n.unwrap_or(0) + 1))?;
            Ok(ToolResult::json(json!({ "value": value })))
        })
        .tool("claim", "Store a value only if the key is absent", |a: Put, _: &Ctx| {
            let claimed = Bucket::open(&a.at.bucket)?.insert_new(&a.at.key, &a.value)?;
            Ok(ToolResult::json(json!({ "claimed": claimed })))
        })
}

hostel_sdk::export!(server);
