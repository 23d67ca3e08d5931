//! Per-request bounds of the key-value host.

use super::*;

/// What a request makes the host hold (a `get-many` answer, open
/// compare-and-swaps) is bounded by the tenant's memory limit, and is
/// released when the answer is handed over or the handle dropped.
#[tokio::test]
async fn values_held_host_side_are_bounded() {
    let store = StateStore::open("sqlite::memory:", 1).await.unwrap();
    let ctx = KvCtx::new(store, "t".into(), 256, 1 << 20, 3 << 20);
    let mut table = ResourceTable::new();
    let mut kv = KvView::new(&ctx, &mut table);
    let bucket = kv.open("b".into()).unwrap().unwrap();
    let b = || Resource::<Bucket>::new_borrow(bucket.rep());
    kv.set_many(b(), vec![("k".into(), vec![7; 1 << 20])]).await.unwrap().unwrap();
    let keys = |n| vec!["k".to_owned(); n];
    let Err(KvError::Other(e)) = kv.get_many(b(), keys(4)).await.unwrap() else { panic!("4 MiB of answers got through") };
    assert!(e.contains("3 MiB"), "{e}");
    assert_eq!(kv.get_many(b(), keys(3)).await.unwrap().unwrap().len(), 3, "3 MiB fits, and nothing stayed held");
    assert_eq!(kv.get_many(b(), keys(3)).await.unwrap().unwrap().len(), 3, "still");
    let pairs = |n| (0..n).map(|i| (format!("p{i}"), vec![1])).collect::<Vec<_>>();
    assert!(kv.set_many(b(), pairs(MAX_BATCH + 1)).await.unwrap().is_err(), "one transaction holds the writer");
    assert!(kv.set_many(b(), pairs(MAX_BATCH)).await.unwrap().is_ok());
    assert!(kv.delete_many(b(), keys(MAX_BATCH + 1)).await.unwrap().is_err());

    let cas: Vec<_> = open_cas(&mut kv, b, 3).await;
    assert!(kv.cas_new(b(), "k".into()).await.unwrap().is_err(), "a fourth open handle would hold 4 MiB");
    let mut cas = cas.into_iter();
    kv.cas_drop(cas.next().unwrap()).unwrap();
    assert!(kv.cas_new(b(), "k".into()).await.unwrap().is_ok(), "dropping one makes room");
}

async fn open_cas(kv: &mut KvView<'_>, b: impl Fn() -> Resource<Bucket>, n: usize) -> Vec<Resource<Cas>> {
    let mut open = Vec::new();
    for _ in 0..n {
        open.push(kv.cas_new(b(), "k".into()).await.unwrap().unwrap());
    }
    open
}
