//! 0.2.0-draft: offset cursors, unsigned increment, no compare-and-swap.

use super::draft::wasi::keyvalue::{atomics, batch, store};
use super::{Bucket, KvError, KvView};
use crate::state::Page;
use wasmtime::component::Resource;

shared_impls! {
    async fn list_keys(&mut self, bucket: Resource<Bucket>, cursor: Option<u64>) -> Res<store::KeyResponse> {
        let offset = cursor.unwrap_or(0);
        conv(self.list(bucket, Page::Offset(offset)).await.map(|r| {
            r.map(|keys| {
                let cursor = (keys.len() == super::KEYS_PER_PAGE as usize).then(|| offset + keys.len() as u64);
                store::KeyResponse { keys, cursor }
            })
        }))
    }
}

impl atomics::Host for KvView<'_> {
    async fn increment(&mut self, bucket: Resource<Bucket>, key: String, delta: u64) -> Res<u64> {
        conv(KvView::increment(self, bucket, key, |n: u64| n.checked_add(delta), 0).await)
    }
}
