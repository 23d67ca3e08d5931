//! Where business state lives: the tenant's key-value store (buckets are
//! private to the tenant; the host scopes them). One bucket per kind of
//! record keeps key listing cheap and names self-explanatory.

use crate::envelope::AdcpError;
use hostel_sdk::kv::Bucket;
use serde_json::Value;

/// Opens the bucket `name`.
pub fn bucket(name: &str) -> Result<Bucket, AdcpError> {
    Ok(Bucket::open(name)?)
}

/// A fresh identifier `<prefix>_<n>`, unique across every instance and
/// replica (an atomic counter in the store).
pub fn next_id(prefix: &str) -> Result<String, AdcpError> {
    let n = bucket("sequences")?.increment(prefix, 1)?;
    Ok(format!("{prefix}_{n:06}"))
}

/// Every record in `bucket_name`, in key order.
pub fn all(bucket_name: &str) -> Result<Vec<Value>, AdcpError> {
    let b = bucket(bucket_name)?;
    let mut out = Vec::new();
    for key in b.keys()? {
        if let Some(v) = b.get::<Value>(&key)? {
            out.push(v);
        }
    }
    Ok(out)
}
