//! What several replicas share through the database: leases, signing keys, change
//! notifications; on both backends.

use std::sync::Arc;
use std::time::Duration;

use mcpgw_auth::sealing::Keyring;
use mcpgw_auth::vending::keys::{KeyStore, SigningKeys, StoredKey};
use mcpgw_registry::LeaseStore;
use mcpgw_store::{Backend, ChangeBus, SqlStore, Topic};
use sqlx::Row;
use tokio_util::sync::CancellationToken;

pub async fn leases_go_to_one_holder_until_they_expire(store: SqlStore) {
    let name = "health-checks";
    assert!(store.acquire_lease(name, "a", 10_000, 0).await.unwrap());
    assert!(!store.acquire_lease(name, "b", 10_500, 500).await.unwrap());
    assert!(
        store.acquire_lease(name, "a", 13_000, 3_000).await.unwrap(),
        "the holder renews"
    );
    assert!(
        !store
            .acquire_lease(name, "b", 22_000, 12_999)
            .await
            .unwrap()
    );
    assert!(
        store
            .acquire_lease(name, "b", 23_000, 13_000)
            .await
            .unwrap(),
        "expired: taken over"
    );
    assert!(
        !store
            .acquire_lease(name, "a", 24_000, 14_000)
            .await
            .unwrap()
    );
    assert!(
        store
            .acquire_lease("maintenance", "a", 24_000, 14_000)
            .await
            .unwrap(),
        "leases are independent"
    );
    store.release_lease(name, "a", 14_000).await.unwrap();
    assert!(
        !store
            .acquire_lease(name, "a", 24_000, 14_000)
            .await
            .unwrap(),
        "only the holder gives a lease back"
    );
    store.release_lease(name, "b", 15_000).await.unwrap();
    // A renewal of the holder's made before it gave the lease back (and reaching the
    // database only now) does not take it again.
    assert!(
        !store
            .acquire_lease(name, "b", 24_000, 14_500)
            .await
            .unwrap(),
        "a renewal older than the release took the lease back"
    );
    assert!(
        store
            .acquire_lease(name, "a", 25_000, 15_000)
            .await
            .unwrap()
    );
}

pub async fn signing_keys_are_sealed_shared_and_retired(store: SqlStore) {
    let keyring = Arc::new(Keyring::from_keys(&[vec![3u8; 32]]).unwrap());
    let store = store.with_keyring(keyring);
    let empty = tempfile::tempdir().unwrap();
    let now = 1_800_000_000;
    // Replicas starting together on one database sign with the same key.
    let (first, second) = tokio::join!(
        SigningKeys::load(Arc::new(store.clone()), empty.path(), 3600, now),
        SigningKeys::load(Arc::new(store.clone()), empty.path(), 3600, now),
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    let kid = first.active().unwrap().0;
    assert_eq!(second.active().unwrap().0, kid);
    let stored = store.signing_keys().await.unwrap();
    assert_eq!(stored.len(), 1);
    let row = sqlx::query("SELECT seed FROM signing_keys")
        .fetch_one(store.pool_for_tests())
        .await
        .unwrap();
    let raw: String = row.get("seed");
    assert_ne!(raw, stored[0].seed, "the seed is sealed at rest");
    assert!(!raw.contains(&stored[0].seed));

    // A rotation on one is seen by the other once it reloads.
    let rotated = first.rotate(now + 10).await.unwrap();
    assert_eq!(second.active().unwrap().0, kid, "not before it reloads");
    second.reload().await.unwrap();
    assert_eq!(second.active().unwrap().0, rotated);
    assert!(
        second.verifying(&kid, now + 10).is_some(),
        "the old key overlaps"
    );
    // Past the overlap, the next rotation drops the old key.
    first.rotate(now + 4000).await.unwrap();
    let kids: Vec<String> = store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|key| key.kid)
        .collect();
    assert!(!kids.contains(&kid), "{kids:?}");
    assert!(kids.contains(&rotated));

    // Two rotations at once: a key stays active, never none, and both sign with the same.
    let (a, b) = tokio::join!(first.rotate(now + 5000), second.rotate(now + 5000));
    let (a, b) = (a.unwrap(), b.unwrap());
    let active: Vec<String> = store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .filter(|key| key.retired_at.is_none())
        .map(|key| key.kid)
        .collect();
    assert!(!active.is_empty(), "{a} {b}: none active");
    first.reload().await.unwrap();
    second.reload().await.unwrap();
    assert_eq!(first.active().unwrap().0, second.active().unwrap().0);
    assert!(active.contains(&first.active().unwrap().0));

    // A new secrets key: the seeds are sealed again with it, and still sign.
    let rotated_keyring = Arc::new(Keyring::from_keys(&[vec![3u8; 32], vec![4u8; 32]]).unwrap());
    let rotated = store.clone().with_keyring(Arc::clone(&rotated_keyring));
    let before = stored_seeds(&store).await;
    assert!(rotated.seal_stored_secrets().await.unwrap() >= before.len() as u64);
    let after = stored_seeds(&store).await;
    let active_id = rotated_keyring.active_id().to_owned();
    assert!(
        after.iter().all(|seed| seed.contains(&active_id)),
        "{after:?}"
    );
    let reloaded = SigningKeys::load(Arc::new(rotated.clone()), empty.path(), 3600, now)
        .await
        .unwrap();
    assert_eq!(reloaded.active().unwrap().0, first.active().unwrap().0);
    let store = rotated;

    // A seed copied to another key's row does not open.
    let copy = StoredKey {
        kid: "mcpgw-copy".into(),
        seed: "x".into(),
        created_at: now,
        retired_at: Some(now),
    };
    store.add_signing_key(&copy).await.unwrap();
    sqlx::query("UPDATE signing_keys SET seed = $1 WHERE kid = 'mcpgw-copy'")
        .bind(&raw)
        .execute(store.pool_for_tests())
        .await
        .unwrap();
    assert!(store.signing_keys().await.is_err());
}

pub async fn changes_reach_the_other_instances(store: SqlStore) {
    let url = store_url(&store).await;
    let sender = ChangeBus::new(&store, "replica-a");
    let receiver = ChangeBus::new(&store, "replica-b");
    let stop = CancellationToken::new();
    let mut heard = receiver.subscribe();
    let mut own = sender.subscribe();
    let resync = match store.backend() {
        Backend::Postgres => Duration::from_secs(3600),
        Backend::Sqlite => Duration::from_millis(200),
    };
    let listening = receiver.start(&url, resync, stop.clone());
    // Every topic is announced once listening starts (PostgreSQL) or at the first resync.
    let mut first = Vec::new();
    while first.len() < Topic::ALL.len() {
        let topic = tokio::time::timeout(Duration::from_secs(10), heard.recv())
            .await
            .expect("a resync")
            .unwrap();
        first.push(topic);
    }
    if store.backend() == Backend::Postgres {
        sender.publish(Topic::Revocations);
        let topic = tokio::time::timeout(Duration::from_secs(10), heard.recv())
            .await
            .expect("the notification arrives")
            .unwrap();
        assert_eq!(topic, Topic::Revocations);
        assert!(own.try_recv().is_err(), "a replica does not hear itself");
    }
    stop.cancel();
    listening.await.unwrap();
}

/// The seeds as stored (sealed).
async fn stored_seeds(store: &SqlStore) -> Vec<String> {
    sqlx::query("SELECT seed FROM signing_keys")
        .fetch_all(store.pool_for_tests())
        .await
        .unwrap()
        .iter()
        .map(|row| row.get("seed"))
        .collect()
}

/// The URL the store was opened with (the test harness does not keep it).
async fn store_url(store: &SqlStore) -> String {
    match store.backend() {
        Backend::Sqlite => "sqlite://unused".into(),
        Backend::Postgres => {
            let row = sqlx::query("SELECT CAST(current_database() AS TEXT) AS name")
                .fetch_one(store.pool_for_tests())
                .await
                .unwrap();
            let name: String = row.get("name");
            let mut url =
                url::Url::parse(&std::env::var("MCPGW_TEST_POSTGRES_URL").unwrap()).unwrap();
            url.set_path(&name);
            url.to_string()
        }
    }
}
