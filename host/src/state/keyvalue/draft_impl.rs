//! 0.2.0-draft: offset cursors, unsigned increment, no compare-and-swap.

use super::draft::wasi::keyvalue::{atomics, batch, store};
use super::{Bucket, KvError, KvView};
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

    async fn list_keys(&mut self, bucket: Resource<Bucket>, cursor: Option<u64>) -> Res<store::KeyResponse> {
        let offset = cursor.unwrap_or(0);
        conv(self.list(bucket, Page::Offset(offset)).await.map(|r| {
            r.map(|keys| {
                let cursor = (keys.len() == super::KEYS_PER_PAGE as usize).then(|| offset + keys.len() as u64);
                store::KeyResponse { keys, cursor }
            })
        }))
    }

    async fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for KvView<'_> {
    async fn increment(&mut self, bucket: Resource<Bucket>, key: String, delta: u64) -> Res<u64> {
        conv(KvView::increment(self, bucket, key, |n: u64| n.checked_add(delta), 0).await)
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
