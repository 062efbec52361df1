//! Published versions, import origins and registry sources, on both backends.

use chrono::{TimeZone, Utc};
use mcpgw_registry::import::{Origin, OriginStore, Source};
use mcpgw_registry::versions::{ServerVersion, VersionStatus, VersionStore};
use mcpgw_store::SqlStore;
use serde_json::json;

fn published(path: &str, version: &str, seq: i64, at_ms: i64) -> ServerVersion {
    let at = Utc.timestamp_millis_opt(at_ms).unwrap();
    ServerVersion {
        path: path.to_owned(),
        version: version.to_owned(),
        seq,
        metadata: json!({"description": format!("{path} {version}"), "tags": ["a", "é"]}),
        digest: format!("digest-{seq}"),
        status: VersionStatus::Active,
        status_message: None,
        status_changed_at: at,
        published_at: at,
        updated_at: at,
    }
}

pub async fn versions_are_published_once_and_change_status(store: SqlStore) {
    let first = published("clock", "1.0.0", 1, 1_000);
    assert!(store.publish_version(&first).await.unwrap());
    // The same version string, or the same seq, is refused: someone published first.
    assert!(
        !store
            .publish_version(&published("clock", "1.0.0", 2, 2_000))
            .await
            .unwrap()
    );
    assert!(
        !store
            .publish_version(&published("clock", "1.1.0", 1, 2_000))
            .await
            .unwrap()
    );
    let second = published("clock", "1.1.0", 2, 2_000);
    assert!(store.publish_version(&second).await.unwrap());
    let other = published("adder", "0.0.1", 1, 1_500);
    assert!(store.publish_version(&other).await.unwrap());
    assert_eq!(
        store.list_versions().await.unwrap(),
        [other.clone(), first.clone(), second.clone()],
        "by path, then seq, exactly as stored"
    );
    assert_eq!(
        store.versions_of("clock").await.unwrap(),
        [first.clone(), second.clone()]
    );
    assert!(store.versions_of("nothing").await.unwrap().is_empty());

    // One version deprecated, with a reason.
    let at = Utc.timestamp_millis_opt(3_000).unwrap();
    let changed = store
        .set_version_status(
            "clock",
            Some("1.0.0"),
            VersionStatus::Deprecated,
            Some("use 1.1"),
            at,
        )
        .await
        .unwrap();
    assert_eq!(changed, 1);
    // The same request again changes nothing (no phantom update for incremental syncs).
    let again = store
        .set_version_status(
            "clock",
            Some("1.0.0"),
            VersionStatus::Deprecated,
            Some("use 1.1"),
            at,
        )
        .await
        .unwrap();
    assert_eq!(again, 0);
    // Every version of a server deleted at once; the other server untouched.
    let later = Utc.timestamp_millis_opt(4_000).unwrap();
    let deleted = store
        .set_version_status("clock", None, VersionStatus::Deleted, None, later)
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    let listed = store.list_versions().await.unwrap();
    assert_eq!(listed[0], other);
    for version in &listed[1..] {
        assert_eq!(version.status, VersionStatus::Deleted);
        assert_eq!(version.status_message, None);
        assert_eq!(version.updated_at, later);
        assert_eq!(version.status_changed_at, later);
        assert_eq!(version.published_at.timestamp_millis(), version.seq * 1_000);
    }
}

pub async fn origins_and_sources_round_trip(store: SqlStore) {
    let at = |ms: i64| Utc.timestamp_millis_opt(ms).unwrap();
    let origin = Origin {
        path: "weather".into(),
        source: "https://registry.example".into(),
        name: "io.example/weather".into(),
        version: "1.0.0".into(),
        document: json!({"name": "io.example/weather", "description": "✓ forecasts"}),
        applied_digest: "abc".into(),
        imported_at: at(1_000),
        updated_at: at(1_000),
    };
    store.put_origin(&origin).await.unwrap();
    // Storing again replaces, keeping when it was first imported.
    let newer = Origin {
        version: "1.1.0".into(),
        applied_digest: "def".into(),
        updated_at: at(2_000),
        ..origin.clone()
    };
    store.put_origin(&newer).await.unwrap();
    assert_eq!(store.list_origins().await.unwrap(), [newer]);
    assert!(store.delete_origin("weather").await.unwrap());
    assert!(!store.delete_origin("weather").await.unwrap());
    assert!(store.list_origins().await.unwrap().is_empty());

    let source = Source {
        name: "peer".into(),
        url: "http://127.0.0.1:9".into(),
        search: Some("time".into()),
        token: Some("secret".into()),
        interval_secs: 3_600,
        created_at: at(1_000),
        last_sync_at: None,
        last_result: None,
    };
    assert!(store.insert_source(&source).await.unwrap());
    // Never synchronised: the first claim is of a source with no last sync.
    assert!(!store.claim_sync("peer", Some(at(1)), at(2)).await.unwrap());
    assert!(
        !store.insert_source(&source).await.unwrap(),
        "names are unique"
    );
    assert_eq!(
        store.list_sources().await.unwrap(),
        std::slice::from_ref(&source)
    );
    let report = json!({"items": [{"name": "io.example/weather", "action": "created"}]});
    assert!(store.record_sync("peer", at(5_000), &report).await.unwrap());
    assert!(
        !store
            .record_sync("nobody", at(5_000), &report)
            .await
            .unwrap()
    );
    let listed = store.list_sources().await.unwrap();
    assert_eq!(listed[0].last_sync_at, Some(at(5_000)));
    assert_eq!(listed[0].last_result, Some(report));
    // One claim per round: of two gateways that read the same last sync, one wins.
    let seen = Some(at(5_000));
    assert!(store.claim_sync("peer", seen, at(9_000)).await.unwrap());
    assert!(!store.claim_sync("peer", seen, at(9_001)).await.unwrap());
    assert!(
        store
            .claim_sync("peer", Some(at(9_000)), at(12_000))
            .await
            .unwrap()
    );
    assert!(store.delete_source("peer").await.unwrap());
    assert!(store.list_sources().await.unwrap().is_empty());
}

/// Health changes come back newest first, only the newest `keep` stay, and removing the
/// server forgets them.
pub async fn health_history_is_kept_bounded_and_forgotten(store: SqlStore) {
    use mcpgw_registry::{HealthEvent, HealthState, Store};
    let server = super::sample("flaky");
    assert!(store.insert_server(&server).await.unwrap());
    let at = |seconds: i64| Utc.timestamp_opt(1_800_000_000 + seconds, 0).unwrap();
    // A server that is not registered gets no history.
    let orphan = HealthEvent {
        at: at(0),
        status: HealthState::Healthy,
        reason: None,
    };
    store
        .record_health_event("nobody", &orphan, 5)
        .await
        .unwrap();
    assert!(store.health_events("nobody", 10).await.unwrap().is_empty());
    for n in 0..7 {
        let event = HealthEvent {
            at: at(n),
            status: if n % 2 == 0 {
                HealthState::Unhealthy
            } else {
                HealthState::Healthy
            },
            reason: (n % 2 == 0).then(|| format!("refused {n}")),
        };
        store.record_health_event("flaky", &event, 5).await.unwrap();
        // The same change seen by a second check is not a second change.
        store.record_health_event("flaky", &event, 5).await.unwrap();
    }
    let events = store.health_events("flaky", 100).await.unwrap();
    let times: Vec<i64> = events
        .iter()
        .map(|e| e.at.timestamp() - 1_800_000_000)
        .collect();
    assert_eq!(times, [6, 5, 4, 3, 2], "newest first, five kept");
    assert_eq!(events[0].status, HealthState::Unhealthy);
    assert_eq!(events[0].reason.as_deref(), Some("refused 6"));
    assert_eq!(events[1].reason, None);
    assert_eq!(store.health_events("flaky", 2).await.unwrap().len(), 2);
    assert!(store.health_events("other", 10).await.unwrap().is_empty());
    assert!(store.delete_server("flaky").await.unwrap());
    assert!(store.health_events("flaky", 10).await.unwrap().is_empty());
}

/// Header and environment values, a URL's password and a source's token are stored
/// sealed, read back in clear, and sealed again with a new key (or for the first time,
/// when written in clear) by `seal_stored_secrets`.
pub async fn secrets_are_sealed_and_resealed(store: SqlStore) {
    use std::sync::Arc;

    use mcpgw_auth::sealing::Keyring;
    use mcpgw_registry::Store;
    use sqlx::Row;

    let first = Arc::new(Keyring::from_keys(&[vec![1u8; 32]]).unwrap());
    let sealed = store.clone().with_keyring(Arc::clone(&first));
    let mut server = super::sample("sealed");
    server.headers.insert("X-Key".into(), "h-secret".into());
    server.env.insert("TOKEN".into(), "e-secret".into());
    server.url = Some("https://svc:u-secret@example.com/mcp".into());
    assert!(sealed.insert_server(&server).await.unwrap());
    let raw = |column: &'static str| {
        let store = store.clone();
        let sql: &'static str = match column {
            "headers_json" => "SELECT headers_json FROM servers WHERE path = 'sealed'",
            "env_json" => "SELECT env_json FROM servers WHERE path = 'sealed'",
            _ => "SELECT url FROM servers WHERE path = 'sealed'",
        };
        async move {
            let row = sqlx::query(sql)
                .fetch_one(store.pool_for_tests())
                .await
                .unwrap();
            row.try_get::<String, _>(0).unwrap()
        }
    };

    for (column, secret) in [
        ("headers_json", "h-secret"),
        ("env_json", "e-secret"),
        ("url", "u-secret"),
    ] {
        let stored = raw(column).await;
        assert!(!stored.contains(secret), "{column}: {stored}");
        assert!(
            stored.contains(&format!("enc:v1:{}:", first.active_id())),
            "{column}"
        );
    }
    assert!(
        raw("headers_json").await.contains("X-Key"),
        "names stay readable"
    );
    let back = sealed.get_server("sealed").await.unwrap().unwrap();
    assert_eq!(back.headers, server.headers);
    assert_eq!(back.env, server.env);
    assert_eq!(back.url, server.url);
    // Without the key, a sealed value is an error, never passed on as the secret.
    assert!(store.get_server("sealed").await.is_err());

    // A plaintext row (an older version's) and a rotation: both sealed with the new key.
    let mut legacy = super::sample("legacy");
    legacy
        .headers
        .insert("X-Key".into(), "legacy-secret".into());
    assert!(store.insert_server(&legacy).await.unwrap());
    let second = Arc::new(Keyring::from_keys(&[vec![1u8; 32], vec![2u8; 32]]).unwrap());
    let rotated = store.clone().with_keyring(Arc::clone(&second));
    assert_eq!(rotated.seal_stored_secrets().await.unwrap(), 2);
    assert_eq!(
        rotated.seal_stored_secrets().await.unwrap(),
        0,
        "nothing left to do"
    );
    let headers = raw("headers_json").await;
    assert!(
        headers.contains(&format!("enc:v1:{}:", second.active_id())),
        "{headers}"
    );
    let back = rotated.get_server("legacy").await.unwrap().unwrap();
    assert_eq!(back.headers["X-Key"], "legacy-secret");
    assert_eq!(
        rotated.get_server("sealed").await.unwrap().unwrap().url,
        server.url
    );
}
