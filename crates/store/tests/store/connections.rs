//! Users' connections to upstream servers (egress mode `oauth-user`) and connect flows in
//! progress, on both backends: round trips, sealing at rest bound to column and row,
//! refresh leases, deletion with the server, and sealing rows written in clear.

use std::sync::Arc;

use mcpgw_auth::egress::user::store::{
    ConnectFlow, ConnectionRecord, ConnectionStore, Registration,
};
use mcpgw_auth::sealing::Keyring;
use mcpgw_registry::Store;
use mcpgw_store::SqlStore;
use sqlx::Row;

fn connection(
    owner: &str,
    server: &str,
    access: &str,
    refresh: Option<&str>,
    expires_at: Option<i64>,
) -> ConnectionRecord {
    ConnectionRecord {
        owner: owner.to_owned(),
        server: server.to_owned(),
        provider: "github".to_owned(),
        server_url: format!("https://user:pw@{server}.example/mcp"),
        issuer: Some("https://github.com".to_owned()),
        resource: Some(format!("https://{server}.example/mcp")),
        access_token: access.to_owned(),
        refresh_token: refresh.map(str::to_owned),
        expires_at,
        scope: Some("repo read:user ✓".to_owned()),
        created_at: 1_000,
        refreshed_at: 1_500,
    }
}

fn flow(state_hash: &str, owner: &str, verifier: &str, expires_at: i64) -> ConnectFlow {
    ConnectFlow {
        state_hash: state_hash.to_owned(),
        owner: owner.to_owned(),
        server: "github".to_owned(),
        provider: "github".to_owned(),
        server_url: "https://user:pw@github.example/mcp".to_owned(),
        issuer: None,
        verifier: verifier.to_owned(),
        redirect_uri: "https://gw.example/connect/callback".to_owned(),
        resource: (expires_at % 2 == 0).then(|| "https://api.example/".to_owned()),
        next: "/connections?x=1".to_owned(),
        expires_at,
    }
}

fn keyring(keys: &[u8]) -> Arc<Keyring> {
    let keys: Vec<Vec<u8>> = keys.iter().map(|&byte| vec![byte; 32]).collect();
    Arc::new(Keyring::from_keys(&keys).unwrap())
}

/// A token column of one connection, as stored.
async fn raw_token(store: &SqlStore, column: &str, owner: &str, server: &str) -> Option<String> {
    let sql = match column {
        "access_token" => {
            "SELECT access_token FROM egress_connections WHERE owner = $1 AND server_path = $2"
        }
        "refresh_token" => {
            "SELECT refresh_token FROM egress_connections WHERE owner = $1 AND server_path = $2"
        }
        other => panic!("no such column {other}"),
    };
    let row = sqlx::query(sql)
        .bind(owner.to_owned())
        .bind(server.to_owned())
        .fetch_one(store.pool_for_tests())
        .await
        .unwrap();
    row.try_get::<Option<String>, _>(0).unwrap()
}

/// Writes a token column of one connection as it is (as someone with database access could).
async fn set_raw_token(store: &SqlStore, column: &str, owner: &str, server: &str, value: &str) {
    let sql = match column {
        "access_token" => {
            "UPDATE egress_connections SET access_token = $1 WHERE owner = $2 AND server_path = $3"
        }
        "refresh_token" => {
            "UPDATE egress_connections SET refresh_token = $1 WHERE owner = $2 AND server_path = $3"
        }
        other => panic!("no such column {other}"),
    };
    let updated = sqlx::query(sql)
        .bind(value.to_owned())
        .bind(owner.to_owned())
        .bind(server.to_owned())
        .execute(store.pool_for_tests())
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 1);
}

async fn raw_verifier(store: &SqlStore, state_hash: &str) -> String {
    let row = sqlx::query("SELECT verifier FROM egress_connect_flows WHERE state_hash = $1")
        .bind(state_hash.to_owned())
        .fetch_one(store.pool_for_tests())
        .await
        .unwrap();
    row.try_get::<String, _>(0).unwrap()
}

/// A connection comes back as stored, in clear; storing again replaces it; each user sees
/// only their own.
pub async fn connections_round_trip_per_owner(store: SqlStore) {
    let store = store.with_keyring(keyring(&[1]));
    assert_eq!(store.get_connection("alice", "github").await.unwrap(), None);
    assert!(store.connections_of("alice").await.unwrap().is_empty());

    let github = connection("alice", "github", "a-1", Some("r-1"), Some(5_000));
    let mut jira = connection("alice", "jira", "a-2", None, None);
    jira.resource = None;
    jira.scope = None;
    store.put_connection(&github).await.unwrap();
    store.put_connection(&jira).await.unwrap();
    assert_eq!(
        store.get_connection("alice", "github").await.unwrap(),
        Some(github.clone())
    );
    assert_eq!(
        store.get_connection("alice", "jira").await.unwrap(),
        Some(jira.clone())
    );
    assert_eq!(
        store.connections_of("alice").await.unwrap(),
        [github.clone(), jira.clone()],
        "by server"
    );

    // Storing again for the same user and server replaces every field.
    let replaced = ConnectionRecord {
        provider: "github-enterprise".into(),
        resource: None,
        access_token: "a-1-new".into(),
        refresh_token: None,
        expires_at: None,
        scope: None,
        created_at: 2_000,
        refreshed_at: 2_000,
        ..github.clone()
    };
    store.put_connection(&replaced).await.unwrap();
    assert_eq!(
        store.get_connection("alice", "github").await.unwrap(),
        Some(replaced.clone())
    );
    assert_eq!(
        store.connections_of("alice").await.unwrap(),
        [replaced.clone(), jira.clone()]
    );

    // Another user: nothing of alice's, and their own connection apart.
    assert_eq!(store.get_connection("bob", "github").await.unwrap(), None);
    assert!(store.connections_of("bob").await.unwrap().is_empty());
    let bob = connection("bob", "github", "b-1", Some("rb-1"), Some(7_000));
    store.put_connection(&bob).await.unwrap();
    assert_eq!(store.connections_of("bob").await.unwrap(), [bob]);
    assert_eq!(
        store.get_connection("alice", "github").await.unwrap(),
        Some(replaced)
    );
}

/// Tokens and PKCE verifiers are sealed at rest, each bound to its column and row: a
/// sealed value copied elsewhere does not open there.
pub async fn connection_tokens_are_sealed_and_bound(store: SqlStore) {
    let ring = keyring(&[1]);
    let sealed = store.clone().with_keyring(Arc::clone(&ring));
    let prefix = format!("enc:v1:{}:", ring.active_id());
    let alice = connection(
        "alice",
        "github",
        "alice-access",
        Some("alice-refresh"),
        None,
    );
    let bob = connection("bob", "github", "bob-access", Some("bob-refresh"), None);
    let other = connection("alice", "jira", "jira-access", Some("jira-refresh"), None);
    for record in [&alice, &bob, &other] {
        sealed.put_connection(record).await.unwrap();
    }
    for (column, secret) in [
        ("access_token", "alice-access"),
        ("refresh_token", "alice-refresh"),
    ] {
        let stored = raw_token(&store, column, "alice", "github").await.unwrap();
        assert!(stored.starts_with(&prefix), "{column}: {stored}");
        assert!(!stored.contains(secret), "{column}: {stored}");
    }
    assert_eq!(
        sealed.get_connection("alice", "github").await.unwrap(),
        Some(alice.clone())
    );
    // Without the key, a sealed token is an error, never passed on as the token.
    assert!(store.get_connection("alice", "github").await.is_err());

    assert_eq!(
        sealed.get_connection("bob", "github").await.unwrap(),
        Some(bob)
    );
    // Alice's sealed access token copied into bob's row (another owner), into her own row
    // for another server, and into her refresh token column: none of them opens.
    let stolen = raw_token(&store, "access_token", "alice", "github")
        .await
        .unwrap();
    set_raw_token(&store, "access_token", "bob", "github", &stolen).await;
    let read = sealed.get_connection("bob", "github").await;
    assert!(read.is_err(), "bob must not get alice's token: {read:?}");
    assert!(sealed.connections_of("bob").await.is_err());
    set_raw_token(&store, "access_token", "alice", "jira", &stolen).await;
    assert!(sealed.get_connection("alice", "jira").await.is_err());
    set_raw_token(&store, "refresh_token", "alice", "github", &stolen).await;
    assert!(sealed.get_connection("alice", "github").await.is_err());

    // The PKCE verifier of a connect flow likewise.
    let first = flow("state-1", "alice", "alice-verifier", 10_000);
    let second = flow("state-2", "bob", "bob-verifier", 10_000);
    sealed.insert_connect_flow(&first).await.unwrap();
    sealed.insert_connect_flow(&second).await.unwrap();
    let stored = raw_verifier(&store, "state-1").await;
    assert!(stored.starts_with(&prefix), "{stored}");
    assert!(!stored.contains("alice-verifier"), "{stored}");
    assert_eq!(
        sealed.take_connect_flow("state-1").await.unwrap(),
        Some(first)
    );
    sqlx::query("UPDATE egress_connect_flows SET verifier = $1 WHERE state_hash = $2")
        .bind(stored)
        .bind("state-2".to_owned())
        .execute(store.pool_for_tests())
        .await
        .unwrap();
    assert!(sealed.take_connect_flow("state-2").await.is_err());
}

/// A connect flow is taken once; pruning removes the expired ones only.
pub async fn connect_flows_are_taken_once_and_pruned(store: SqlStore) {
    let store = store.with_keyring(keyring(&[3]));
    let old = flow("old", "alice", "v-old", 100);
    let taken = flow("taken", "alice", "v-taken", 150);
    let later = flow("later", "bob", "v-later", 250);
    let latest = flow("latest", "bob", "v-latest", 301);
    for each in [&old, &taken, &later, &latest] {
        store.insert_connect_flow(each).await.unwrap();
    }
    assert_eq!(store.take_connect_flow("taken").await.unwrap(), Some(taken));
    assert_eq!(store.take_connect_flow("taken").await.unwrap(), None);
    assert_eq!(store.take_connect_flow("unknown").await.unwrap(), None);

    assert_eq!(store.prune_connect_flows(200).await.unwrap(), 1);
    assert_eq!(store.prune_connect_flows(200).await.unwrap(), 0);
    assert_eq!(store.take_connect_flow("old").await.unwrap(), None);
    assert_eq!(store.take_connect_flow("later").await.unwrap(), Some(later));
    assert_eq!(
        store.take_connect_flow("latest").await.unwrap(),
        Some(latest)
    );
}

/// A connection with `refreshed_at` and `expires_at`, refreshable or not.
fn timed(
    server: &str,
    refreshed_at: i64,
    expires_at: Option<i64>,
    refresh: bool,
) -> ConnectionRecord {
    ConnectionRecord {
        refreshed_at,
        ..connection("alice", server, "a", refresh.then_some("r"), expires_at)
    }
}

/// Due: refreshable, expiring within the buffer or half the lifetime (whichever is
/// sooner), not claimed; soonest first, at most as many as asked.
pub async fn due_connections_are_listed_in_order(store: SqlStore) {
    let store = store.with_keyring(keyring(&[4]));
    let hour = timed("hour", 0, Some(3_600), true);
    let long = timed("long", 0, Some(10_000), true);
    for record in [
        &long,
        &hour,
        &timed("no-refresh", 0, Some(3_000), false),
        &timed("no-expiry", 0, None, true),
    ] {
        store.put_connection(record).await.unwrap();
    }
    // An hour's buffer does not make one-hour tokens due as soon as they are issued...
    assert!(
        store
            .connections_due(60, 3_600, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // ...but once half their lifetime is gone.
    assert_eq!(
        store.connections_due(1_900, 3_600, 10).await.unwrap(),
        std::slice::from_ref(&hour)
    );
    assert_eq!(
        store.connections_due(9_950, 100, 10).await.unwrap(),
        [hour.clone(), long.clone()]
    );
    assert_eq!(
        store.connections_due(9_950, 100, 1).await.unwrap(),
        std::slice::from_ref(&hour)
    );
    // A claimed one waits for its lease to end.
    assert!(
        store
            .claim_refresh("alice", "hour", 0, 9_950, 9_980)
            .await
            .unwrap()
    );
    assert_eq!(
        store.connections_due(9_950, 100, 10).await.unwrap(),
        std::slice::from_ref(&long)
    );
    assert_eq!(
        store.connections_due(9_980, 100, 10).await.unwrap(),
        [hour, long]
    );
}

/// One claim at a time until the lease ends, and only of the connection as it was read;
/// new tokens are stored only over that same connection, which ends the lease.
pub async fn refresh_claims_are_leased(store: SqlStore) {
    let record = connection("alice", "github", "a", Some("r"), Some(1_100));
    let seen = record.refreshed_at;
    store.put_connection(&record).await.unwrap();
    let claim = |seen: i64, now: i64| {
        let store = store.clone();
        async move {
            store
                .claim_refresh("alice", "github", seen, now, now + 30)
                .await
                .unwrap()
        }
    };
    assert!(claim(seen, 1_000).await);
    assert!(!claim(seen, 1_000).await);
    assert!(!claim(seen, 1_029).await);
    // The lease has ended at its `until`.
    assert!(claim(seen, 1_030).await);
    // Not the connection read: no claim.
    assert!(!claim(seen - 1, 5_000).await);
    // Refreshed tokens replace the ones read, once; the lease ends with them.
    let refreshed = ConnectionRecord {
        access_token: "a2".into(),
        refreshed_at: seen + 100,
        ..record.clone()
    };
    assert!(store.update_tokens(&refreshed, seen).await.unwrap());
    assert!(!store.update_tokens(&refreshed, seen).await.unwrap());
    assert_eq!(
        store.get_connection("alice", "github").await.unwrap(),
        Some(refreshed.clone())
    );
    assert!(!claim(seen, 1_031).await);
    assert!(claim(seen + 100, 1_031).await);
    // Only the connection read is deleted.
    assert!(
        !store
            .delete_connection_if("alice", "github", seen)
            .await
            .unwrap()
    );
    assert!(
        store
            .delete_connection_if("alice", "github", seen + 100)
            .await
            .unwrap()
    );
    // A refresh finishing after a disconnect stores nothing.
    assert!(!store.update_tokens(&refreshed, seen + 100).await.unwrap());
    assert_eq!(store.get_connection("alice", "github").await.unwrap(), None);
    // New tokens stored: the next refresh may be claimed at once.
    store.put_connection(&record).await.unwrap();
    assert!(claim(seen, 1_031).await);
    // Another user's, or a connection that does not exist: no claim.
    assert!(
        !store
            .claim_refresh("bob", "github", seen, 2_000, 2_030)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_refresh("alice", "jira", seen, 2_000, 2_030)
            .await
            .unwrap()
    );
}

/// A connection is deleted once; deleting a server deletes every user's connection to it.
pub async fn connections_are_deleted_with_their_server(store: SqlStore) {
    let store = store.with_keyring(keyring(&[5]));
    assert!(store.insert_server(&super::sample("s1")).await.unwrap());
    assert!(store.insert_server(&super::sample("s2")).await.unwrap());
    let alice_s1 = connection("alice", "s1", "a1", Some("r1"), Some(10));
    let bob_s1 = connection("bob", "s1", "b1", None, None);
    let alice_s2 = connection("alice", "s2", "a2", Some("r2"), Some(20));
    for record in [&alice_s1, &bob_s1, &alice_s2] {
        store.put_connection(record).await.unwrap();
    }
    assert_eq!(
        store.delete_connection("alice", "s1").await.unwrap(),
        Some(alice_s1.clone())
    );
    assert_eq!(store.delete_connection("alice", "s1").await.unwrap(), None);
    assert_eq!(store.get_connection("alice", "s1").await.unwrap(), None);
    assert_eq!(
        store.get_connection("bob", "s1").await.unwrap(),
        Some(bob_s1.clone())
    );

    store.put_connection(&alice_s1).await.unwrap();
    assert!(store.delete_server("s1").await.unwrap());
    assert_eq!(store.get_connection("alice", "s1").await.unwrap(), None);
    assert_eq!(store.get_connection("bob", "s1").await.unwrap(), None);
    assert!(store.connections_of("bob").await.unwrap().is_empty());
    assert_eq!(store.connections_of("alice").await.unwrap(), [alice_s2]);
    assert!(store.get_server("s2").await.unwrap().is_some());
}

/// Connections written in clear (before sealing was configured) are sealed at start, and
/// sealed again after a rotation; they read back unchanged.
pub async fn connection_tokens_are_resealed(store: SqlStore) {
    let with_refresh = connection(
        "alice",
        "github",
        "plain-access",
        Some("plain-refresh"),
        None,
    );
    let without = connection("bob", "github", "bob-access", None, Some(9));
    store.put_connection(&with_refresh).await.unwrap();
    store.put_connection(&without).await.unwrap();
    assert_eq!(
        raw_token(&store, "access_token", "alice", "github").await,
        Some("plain-access".to_owned())
    );

    let first = keyring(&[1]);
    let sealed = store.clone().with_keyring(Arc::clone(&first));
    assert_eq!(sealed.seal_stored_secrets().await.unwrap(), 2);
    assert_eq!(sealed.seal_stored_secrets().await.unwrap(), 0, "all sealed");
    let check = |ring: Arc<Keyring>| {
        let store = store.clone();
        async move {
            let prefix = format!("enc:v1:{}:", ring.active_id());
            for (column, owner, secret) in [
                ("access_token", "alice", "plain-access"),
                ("refresh_token", "alice", "plain-refresh"),
                ("access_token", "bob", "bob-access"),
            ] {
                let stored = raw_token(&store, column, owner, "github").await.unwrap();
                assert!(stored.starts_with(&prefix), "{owner} {column}: {stored}");
                assert!(!stored.contains(secret), "{owner} {column}: {stored}");
            }
            assert_eq!(
                raw_token(&store, "refresh_token", "bob", "github").await,
                None
            );
        }
    };
    check(Arc::clone(&first)).await;
    assert_eq!(
        sealed.get_connection("alice", "github").await.unwrap(),
        Some(with_refresh.clone())
    );
    assert_eq!(
        sealed.get_connection("bob", "github").await.unwrap(),
        Some(without.clone())
    );

    // Only the refresh token in clear: the row is sealed again all the same.
    set_raw_token(&store, "refresh_token", "alice", "github", "plain-refresh").await;
    assert_eq!(sealed.seal_stored_secrets().await.unwrap(), 1);
    check(Arc::clone(&first)).await;

    // A rotation: everything sealed with the new key, still read back unchanged.
    let second = keyring(&[1, 2]);
    let rotated = store.clone().with_keyring(Arc::clone(&second));
    assert_eq!(rotated.seal_stored_secrets().await.unwrap(), 2);
    assert_eq!(rotated.seal_stored_secrets().await.unwrap(), 0);
    check(second).await;
    assert_eq!(
        rotated.connections_of("alice").await.unwrap(),
        [with_refresh]
    );
    assert_eq!(rotated.connections_of("bob").await.unwrap(), [without]);

    // The gateway's own registrations: their client secrets too.
    let registration = Registration {
        provider: "remote".into(),
        issuer: "https://as.example".into(),
        redirect_uri: "https://gw.example/oauth/callback".into(),
        client_id: "dcr-client".into(),
        client_secret: Some("dcr-secret".into()),
        auth_method: Some("client_secret_basic".into()),
    };
    assert_eq!(
        store.put_registration(&registration).await.unwrap(),
        registration
    );
    assert_eq!(rotated.seal_stored_secrets().await.unwrap(), 1);
    let raw: String = sqlx::query("SELECT client_secret FROM egress_registrations")
        .fetch_one(store.pool_for_tests())
        .await
        .unwrap()
        .get(0);
    assert!(
        raw.starts_with("enc:v1:") && !raw.contains("dcr-secret"),
        "{raw}"
    );
    assert_eq!(
        rotated
            .get_registration(
                "remote",
                "https://as.example",
                "https://gw.example/oauth/callback"
            )
            .await
            .unwrap(),
        Some(registration.clone())
    );
    // Another callback (a changed public_url) is another registration.
    assert_eq!(
        rotated
            .get_registration(
                "remote",
                "https://as.example",
                "https://new.example/oauth/callback"
            )
            .await
            .unwrap(),
        None
    );
    // The first registration kept wins over a later one.
    let later = Registration {
        client_id: "other".into(),
        ..registration.clone()
    };
    assert_eq!(
        rotated.put_registration(&later).await.unwrap(),
        registration
    );
}
