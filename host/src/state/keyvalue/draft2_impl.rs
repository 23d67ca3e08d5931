//! 0.2.0-draft2: key cursors, signed increment, compare-and-swap.

use super::draft2::wasi::keyvalue::{atomics, batch, store};
use super::{Bucket, Cas, KvError, KvView};
use crate::state::Page;
use wasmtime::component::Resource;

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

    async fn list_keys(&mut self, bucket: Resource<Bucket>, cursor: Option<String>) -> Res<store::KeyResponse> {
        conv(self.list(bucket, Page::After(cursor)).await.map(|r| {
            r.map(|keys| {
                let cursor = (keys.len() == super::KEYS_PER_PAGE as usize).then(|| keys.last().cloned()).flatten();
                store::KeyResponse { keys, cursor }
            })
        }))
    }

    async fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
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
        self.table.delete(cas)?;
        Ok(())
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
