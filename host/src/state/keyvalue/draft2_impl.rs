//! 0.2.0-draft2: key cursors, signed increment, compare-and-swap.

use super::draft2::wasi::keyvalue::{atomics, batch, store};
use super::{Bucket, Cas, KvError, KvView};
use crate::state::Page;
use wasmtime::component::Resource;

shared_impls! {
    async fn list_keys(&mut self, bucket: Resource<Bucket>, cursor: Option<String>) -> Res<store::KeyResponse> {
        conv(self.list(bucket, Page::After(cursor)).await.map(|r| {
            r.map(|keys| {
                let cursor = (keys.len() == super::KEYS_PER_PAGE as usize).then(|| keys.last().cloned()).flatten();
                store::KeyResponse { keys, cursor }
            })
        }))
    }
}

impl atomics::HostCas for KvView<'_> {
    async fn new(&mut self, bucket: Resource<Bucket>, key: String) -> Res<Resource<Cas>> {
        conv(self.cas_new(bucket, key).await)
    }

    async fn current(&mut self, cas: Resource<Cas>) -> Res<Option<Vec<u8>>> {
        Ok(Ok(self.table.get(&cas)?.current.clone()))
    }

    async fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.cas_drop(cas).map(|_| ())
    }
}

impl atomics::Host for KvView<'_> {
    async fn increment(&mut self, bucket: Resource<Bucket>, key: String, delta: i64) -> Res<i64> {
        conv(KvView::increment(self, bucket, key, |n: i64| n.checked_add(delta), 0).await)
    }

    async fn swap(&mut self, cas: Resource<Cas>, value: Vec<u8>) -> wasmtime::Result<Result<(), atomics::CasError>> {
        Ok(match KvView::swap(self, cas, value).await? {
            Ok(None) => Ok(()),
            Ok(Some(fresh)) => Err(atomics::CasError::CasFailed(fresh)),
            Err(e) => Err(atomics::CasError::StoreError(e.into())),
        })
    }
}
