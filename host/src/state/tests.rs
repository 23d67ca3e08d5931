//! The store against real SQLite (file and memory). The same operations
//! run against PostgreSQL through guests in `tests/e2e/state.rs`.

use super::*;

async fn file_store() -> (StateStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/nested/state.db", dir.path().display());
    (StateStore::open(&url, 4).await.unwrap(), dir)
}

#[tokio::test]
async fn values_are_scoped_by_tenant_and_bucket() {
    let (store, _dir) = file_store().await;
    store.set("a", "default", "k", b"from a").await.unwrap();
    store.set("b", "default", "k", b"from b").await.unwrap();
    store.set("a", "other", "k", b"a other").await.unwrap();
    assert_eq!(store.get("a", "default", "k").await.unwrap().as_deref(), Some(&b"from a"[..]));
    assert_eq!(store.get("b", "default", "k").await.unwrap().as_deref(), Some(&b"from b"[..]));
    assert_eq!(store.get("a", "other", "k").await.unwrap().as_deref(), Some(&b"a other"[..]));
    store.delete_many("a", "default", &["k".into(), "absent".into()]).await.unwrap();
    assert_eq!(store.get("a", "default", "k").await.unwrap(), None);
    assert_eq!(store.get("b", "default", "k").await.unwrap().as_deref(), Some(&b"from b"[..]));
}

#[tokio::test]
async fn keys_page_in_byte_order_with_both_cursor_kinds() {
    let store = StateStore::open("sqlite::memory:", 1).await.unwrap();
    let pairs: Vec<(String, Vec<u8>)> = ["b", "a", "B", "é", "c"].iter().map(|k| (k.to_string(), vec![])).collect();
    store.set_many("t", "x", &pairs).await.unwrap();
    let first = store.list_keys("t", "x", Page::After(None), 2).await.unwrap();
    assert_eq!(first, ["B", "a"]);
    let next = store.list_keys("t", "x", Page::After(Some("a".into())), 10).await.unwrap();
    assert_eq!(next, ["b", "c", "é"]);
    assert_eq!(store.list_keys("t", "x", Page::Offset(3), 10).await.unwrap(), ["c", "é"]);
}

#[tokio::test]
async fn update_is_atomic_under_concurrency_and_rolls_back_on_error() {
    let (store, _dir) = file_store().await;
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .update("t", "b", "n", |cur| {
                        let n: u64 = cur.map_or(0, |c| std::str::from_utf8(c).unwrap().parse().unwrap());
                        Ok::<_, ()>((n + 1).to_string().into_bytes())
                    })
                    .await
                    .unwrap()
                    .unwrap()
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(store.get("t", "b", "n").await.unwrap().as_deref(), Some(&b"200"[..]));
    // A failed update writes nothing, not even the placeholder row.
    let failed = store.update("t", "b", "fresh", |_| Err("no")).await.unwrap();
    assert_eq!(failed, Err("no"));
    assert_eq!(store.get("t", "b", "fresh").await.unwrap(), None);
}

#[tokio::test]
async fn swap_detects_any_intervening_write() {
    let store = StateStore::open("sqlite::memory:", 1).await.unwrap();
    // Absent → only the first of two swaps from "absent" wins.
    assert!(store.swap("t", "b", "k", None, b"1").await.unwrap());
    assert!(!store.swap("t", "b", "k", None, b"2").await.unwrap());
    let (_, v1) = store.get_versioned("t", "b", "k").await.unwrap().unwrap();
    // Rewrite with the same bytes: the version still changes (no ABA).
    store.set("t", "b", "k", b"1").await.unwrap();
    assert!(!store.swap("t", "b", "k", Some(v1), b"3").await.unwrap());
    let (_, v2) = store.get_versioned("t", "b", "k").await.unwrap().unwrap();
    assert!(store.swap("t", "b", "k", Some(v2), b"3").await.unwrap());
    assert_eq!(store.get("t", "b", "k").await.unwrap().as_deref(), Some(&b"3"[..]));
}

#[tokio::test]
async fn data_survives_reopening_the_file() {
    let (store, dir) = file_store().await;
    store.set("t", "b", "k", b"kept").await.unwrap();
    drop(store);
    let url = format!("sqlite://{}/nested/state.db", dir.path().display());
    let reopened = StateStore::open(&url, 1).await.unwrap();
    assert_eq!(reopened.get("t", "b", "k").await.unwrap().as_deref(), Some(&b"kept"[..]));
}

#[tokio::test]
async fn bad_urls_are_refused_with_the_password_masked() {
    let err = StateStore::open("mysql://u:secret@h/db", 1).await.err().unwrap().to_string();
    assert!(err.contains("unsupported state URL") && err.contains("u:***@h") && !err.contains("secret"), "{err}");
    let err = StateStore::open("postgres://u:secret@127.0.0.1:1/db", 1).await.err().unwrap();
    let msg = format!("{err:#}");
    assert!(msg.contains("failed to open state store") && !msg.contains("secret"), "{msg}");
}

#[test]
fn logged_urls_hide_passwords() {
    for (url, shown) in [
        ("postgres://u:secret@db/hostel", "postgres://u:***@db/hostel"),
        ("postgres://u:pa@ss@db:5432/hostel", "postgres://u:***@db:5432/hostel"),
        ("postgres://u:pa/ss?x@db/hostel", "postgres://u:***@db/hostel"),
        ("postgres://db/hostel?user=u&password=secret&sslmode=require", "postgres://db/hostel?user=u&password=***&sslmode=require"),
        ("postgres://u@db/hostel", "postgres://u@db/hostel"),
        ("sqlite://.hostel/state.db", "sqlite://.hostel/state.db"),
    ] {
        assert_eq!(super::mask_password(url), shown);
    }
}
