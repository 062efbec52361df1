//! The `Store` contract, run against a real SQLite file and a real PostgreSQL server.
//!
//! PostgreSQL comes from `MCPGW_TEST_POSTGRES_URL` (the test script starts one on
//! loopback); each test gets a fresh database. Without the variable the PostgreSQL half is
//! skipped locally, and fails under CI so it can never be skipped silently there.

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use mcpgw_registry::{Health, HealthState, Server, Store, Tool, Transport};
use mcpgw_store::{SqlStore, connect};
use serde_json::json;
use sqlx::Connection;

#[path = "store/cluster.rs"]
mod cluster;
#[path = "store/connections.rs"]
mod connections;
#[path = "store/records.rs"]
mod records;
#[path = "store/scans.rs"]
mod scans;
#[path = "store/views.rs"]
mod views;
use cluster::{
    changes_reach_the_other_instances, leases_go_to_one_holder_until_they_expire,
    signing_keys_are_sealed_shared_and_retired,
};
use connections::{
    connect_flows_are_taken_once_and_pruned, connection_tokens_are_resealed,
    connection_tokens_are_sealed_and_bound, connections_are_deleted_with_their_server,
    connections_round_trip_per_owner, due_connections_are_listed_in_order,
    refresh_claims_are_leased,
};
use records::{
    health_history_is_kept_bounded_and_forgotten, origins_and_sources_round_trip,
    secrets_are_sealed_and_resealed, versions_are_published_once_and_change_status,
};
use scans::{
    a_scan_saved_during_the_servers_removal_is_not_left_behind,
    concurrent_saves_wait_for_each_other_instead_of_failing,
    tool_scans_are_replaced_summarised_and_forgotten,
};
use views::fresh_views_include_every_change_announced_before_the_read;

fn sample(path: &str) -> Server {
    let at = Utc.timestamp_millis_opt(1_764_000_000_123).unwrap();
    Server {
        path: path.to_owned(),
        name: format!("{path} name"),
        description: "a server ✓ with unicode".to_owned(),
        transport: Transport::StreamableHttp,
        url: Some(format!("http://127.0.0.1:9/{path}/mcp")),
        command: None,
        args: vec![],
        env: BTreeMap::new(),
        headers: BTreeMap::from([("X-Api-Key".to_owned(), "k".to_owned())]),
        tags: vec!["a".into(), "b".into()],
        license: Some("MIT".into()),
        version: Some("1.0.0".into()),
        enabled: true,
        eager: false,
        egress: mcpgw_registry::Egress::None,
        created_at: at,
        updated_at: at,
        health: Health::unknown(),
        server_info: None,
        tools: vec![],
        tools_updated_at: None,
        revision: 0,
    }
}

fn tool(name: &str) -> Tool {
    Tool {
        name: name.to_owned(),
        title: Some(format!("{name} title")),
        description: Some("does things".into()),
        input_schema: json!({"type": "object", "properties": {"x": {"type": "string"}}}),
        output_schema: Some(json!({"type": "object"})),
        annotations: Some(json!({"readOnlyHint": true})),
    }
}

fn healthy() -> Health {
    Health {
        status: HealthState::Healthy,
        reason: None,
        last_checked: Some(Utc.timestamp_millis_opt(1_764_000_100_000).unwrap()),
        era: Some("stateful".into()),
        protocol_version: Some("2025-11-25".into()),
    }
}

async fn round_trip(store: SqlStore) {
    let mut server = sample("alpha");
    server.transport = Transport::Stdio;
    server.url = None;
    server.command = Some("npx".into());
    server.args = vec!["-y".into(), "pkg with space".into()];
    server.env = BTreeMap::from([("TOKEN".into(), "s".into())]);
    assert!(store.insert_server(&server).await.unwrap());
    assert_eq!(
        store.get_server("alpha").await.unwrap(),
        Some(server.clone())
    );
    assert_eq!(store.get_server("missing").await.unwrap(), None);
    assert!(store.insert_server(&sample("beta")).await.unwrap());
    let paths: Vec<String> = store
        .list_servers()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.path)
        .collect();
    assert_eq!(paths, ["alpha", "beta"]);
}

async fn duplicate_insert_changes_nothing(store: SqlStore) {
    let original = sample("dup");
    assert!(store.insert_server(&original).await.unwrap());
    let mut other = sample("dup");
    other.name = "intruder".into();
    assert!(!store.insert_server(&other).await.unwrap());
    assert_eq!(store.get_server("dup").await.unwrap(), Some(original));
}

async fn definition_and_check_columns_are_independent(store: SqlStore) {
    let server = sample("svc");
    store.insert_server(&server).await.unwrap();
    let info = json!({"name": "svc", "version": "2"});
    let tools = vec![tool("one"), tool("two")];
    assert!(
        store
            .record_check("svc", 0, &healthy(), Some(&info), Some(&tools))
            .await
            .unwrap()
    );

    let mut edited = server.clone();
    edited.description = "edited".into();
    edited.enabled = false;
    edited.updated_at = Utc.timestamp_millis_opt(1_764_000_200_000).unwrap();
    assert!(store.update_definition(&edited).await.unwrap());
    let stored = store.get_server("svc").await.unwrap().unwrap();
    assert_eq!(stored.revision, 1, "a definition change bumps the revision");
    // A second writer that read revision 0 loses: its change would overwrite the first.
    let mut stale = server.clone();
    stale.description = "stale writer".into();
    assert!(!store.update_definition(&stale).await.unwrap());
    assert_eq!(stored.description, "edited");
    assert!(!stored.enabled);
    assert_eq!(stored.health, healthy(), "an edit keeps the last check");
    assert_eq!(stored.tools, tools);
    assert_eq!(stored.server_info, Some(info.clone()));
    assert!(stored.tools_updated_at.is_some());

    let failed = Health {
        status: HealthState::Unhealthy,
        reason: Some("connection refused".into()),
        last_checked: Some(Utc::now()),
        era: None,
        protocol_version: None,
    };
    assert!(
        store
            .record_check("svc", 1, &failed, None, None)
            .await
            .unwrap()
    );
    let stored = store.get_server("svc").await.unwrap().unwrap();
    assert_eq!(stored.health.status, HealthState::Unhealthy);
    assert_eq!(stored.health.reason.as_deref(), Some("connection refused"));
    assert_eq!(
        stored.tools, tools,
        "a failed check keeps the last known tools"
    );
    assert_eq!(stored.server_info, Some(info));
    assert_eq!(stored.description, "edited", "a check keeps the edit");

    assert!(!store.update_definition(&sample("ghost")).await.unwrap());
    assert!(
        !store
            .record_check("ghost", 0, &failed, None, None)
            .await
            .unwrap()
    );
    // A check of an older definition (revision 0) is not recorded over the current one.
    assert!(
        !store
            .record_check("svc", 0, &healthy(), None, None)
            .await
            .unwrap()
    );
    let current = store.get_server("svc").await.unwrap().unwrap();
    assert_eq!(current.health.status, HealthState::Unhealthy);
}

async fn health_counts_are_grouped(store: SqlStore) {
    store.insert_server(&sample("a")).await.unwrap();
    store.insert_server(&sample("b")).await.unwrap();
    let mut off = sample("c");
    off.enabled = false;
    store.insert_server(&off).await.unwrap();
    store
        .record_check("a", 0, &healthy(), None, None)
        .await
        .unwrap();
    let mut counts = store.count_by_health().await.unwrap();
    counts.sort_by_key(|(enabled, state, _)| (*enabled, state.as_str()));
    assert_eq!(
        counts,
        vec![
            (false, HealthState::Unknown, 1),
            (true, HealthState::Healthy, 1),
            (true, HealthState::Unknown, 1)
        ]
    );
}

async fn delete_removes_only_that_server(store: SqlStore) {
    store.insert_server(&sample("a")).await.unwrap();
    store.insert_server(&sample("b")).await.unwrap();
    assert!(store.delete_server("a").await.unwrap());
    assert!(!store.delete_server("a").await.unwrap());
    assert_eq!(store.list_servers().await.unwrap().len(), 1);
    store.ping().await.unwrap();
}

async fn concurrent_writes_all_land(store: SqlStore) {
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.insert_server(&sample(&format!("s{i:02}"))).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().unwrap());
    }
    assert_eq!(store.list_servers().await.unwrap().len(), 40);
}

async fn gateway_tokens_round_trip_and_revoke(store: SqlStore) {
    use mcpgw_auth::vending::{TokenRecord, TokenStore};
    let record = |id: &str, subject: &str, expires_at: i64| TokenRecord {
        id: id.into(),
        owner: format!("https://idp#{subject}"),
        subject: subject.into(),
        description: "a \"quoted\" description".into(),
        scopes: vec!["mcp:read".into()],
        groups: vec!["team-a".into(), "team-b".into()],
        admin: false,
        created_at: 100,
        expires_at,
        revoked_at: None,
    };
    let (a, b, old) = (
        record("a", "alice", 1_000),
        record("b", "bob", 1_000),
        record("old", "alice", 150),
    );
    for token in [&a, &b, &old] {
        store.insert_token(token).await.unwrap();
    }
    assert_eq!(store.get_token("a").await.unwrap(), Some(a.clone()));
    assert_eq!(store.get_token("missing").await.unwrap(), None);
    assert_eq!(
        store
            .list_tokens(Some("https://idp#alice"))
            .await
            .unwrap()
            .len(),
        2
    );
    assert_eq!(store.list_tokens(None).await.unwrap().len(), 3);

    store.revoke_token("a", 200).await.unwrap();
    store.revoke_token("a", 300).await.unwrap();
    store.revoke_token("old", 120).await.unwrap();
    assert_eq!(
        store.get_token("a").await.unwrap().unwrap().revoked_at,
        Some(200),
        "first revocation kept"
    );
    assert_eq!(
        store.revoked_tokens(200).await.unwrap(),
        vec!["a".to_owned()],
        "expired tokens need no deny-list entry"
    );
}

async fn users_round_trip(store: SqlStore) {
    use mcpgw_auth::users::{UserRecord, UserStore};
    let alice = UserRecord {
        username: "alice".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        groups: vec!["dev".into(), "ops ✓".into()],
        admin: true,
        created_at: 10,
        updated_at: 10,
    };
    assert!(store.insert_user(&alice).await.unwrap());
    let taken = UserRecord {
        admin: false,
        ..alice.clone()
    };
    assert!(
        !store.insert_user(&taken).await.unwrap(),
        "the name is taken"
    );
    assert_eq!(store.get_user("alice").await.unwrap(), Some(alice.clone()));
    assert_eq!(store.get_user("bob").await.unwrap(), None);
    assert!(store.set_password("alice", "new", 20).await.unwrap());
    assert!(!store.set_password("bob", "new", 20).await.unwrap());
    let listed = store.list_users().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].password_hash.as_str(), listed[0].updated_at),
        ("new", 20)
    );
    assert!(store.delete_user("alice").await.unwrap());
    assert!(!store.delete_user("alice").await.unwrap());
}

async fn sessions_and_login_flows(store: SqlStore) {
    use mcpgw_auth::session::{LoginFlow, SessionRecord, SessionStore};
    use mcpgw_auth::{AuthMethod, Principal};
    let principal = Principal {
        subject: "alice".into(),
        is_admin: false,
        groups: vec!["dev".into()],
        client_id: Some("web".into()),
        username: Some("Alice ✓".into()),
        scopes: vec![],
        auth_method: AuthMethod::OidcLogin {
            issuer: "https://idp".into(),
        },
        expires_at: Some(500),
    };
    let session = |id: &str, expires_at: i64| SessionRecord {
        id_hash: id.into(),
        owner: "https://idp#alice".into(),
        principal: principal.clone(),
        csrf_token: format!("csrf-{id}"),
        created_at: 100,
        expires_at,
    };
    for record in [session("a", 500), session("b", 500), session("old", 150)] {
        store.insert_session(&record).await.unwrap();
    }
    assert_eq!(
        store.get_session("a").await.unwrap(),
        Some(session("a", 500))
    );
    store.delete_session("a").await.unwrap();
    assert_eq!(store.get_session("a").await.unwrap(), None);
    assert_eq!(
        store.prune_sessions(200).await.unwrap(),
        1,
        "the expired one"
    );
    assert_eq!(
        store.delete_sessions_of("https://idp#alice").await.unwrap(),
        1
    );

    let flow = LoginFlow {
        state_hash: "s".into(),
        provider: "idp".into(),
        verifier: "v".into(),
        nonce: "n".into(),
        redirect_uri: "http://127.0.0.1:1/auth/callback/idp".into(),
        next: "/servers?x=1".into(),
        expires_at: 700,
    };
    store.insert_login_flow(&flow).await.unwrap();
    assert_eq!(
        store.take_login_flow("s").await.unwrap(),
        Some(flow.clone())
    );
    assert_eq!(
        store.take_login_flow("s").await.unwrap(),
        None,
        "taken once"
    );
    store.insert_login_flow(&flow).await.unwrap();
    assert_eq!(store.prune_sessions(700).await.unwrap(), 1);
    assert_eq!(store.take_login_flow("s").await.unwrap(), None);
}

fn audit_entry(n: i64) -> mcpgw_telemetry::audit::AuditEntry {
    use mcpgw_telemetry::audit::{AuditEntry, AuditRecord, AuditSource};
    // Every third record shares its millisecond with the next, so pages must break ties.
    let at = 1_764_000_000_000 + (n / 3) * 2;
    AuditEntry {
        id: format!("id-{n:04}"),
        record: AuditRecord {
            at,
            source: if n % 5 == 0 {
                AuditSource::Api
            } else {
                AuditSource::Mcp
            },
            principal: if n % 2 == 0 { "alice" } else { "bob ✓" }.into(),
            owner: format!("https://idp#{n}"),
            auth: "jwt".into(),
            client_id: (n % 4 == 0).then(|| "agent".to_owned()),
            server: if n < 20 { "currenttime" } else { "box" }.into(),
            method: if n % 3 == 0 {
                "tools/list"
            } else {
                "tools/call"
            }
            .into(),
            target: (n % 3 != 0).then(|| format!("tool_{}", n % 2)),
            allowed: n % 7 != 0,
            reason: "no entry for server 'box' allows tools/call of 'x' — \"quoted\"".into(),
            request_id: Some(format!("\"req-{n}\"")),
        },
    }
}

async fn audit_trail_pages_filters_and_prunes(store: SqlStore) {
    use mcpgw_telemetry::audit::{AuditQuery, AuditStore};
    let all: Vec<_> = (0..30).map(audit_entry).collect();
    store.append_audit(&all[..20]).await.unwrap();
    // A batch retried after an unclear failure is not stored twice.
    store.append_audit(&all[15..]).await.unwrap();
    store.append_audit(&[]).await.unwrap();

    let mut expected = all.clone();
    expected.sort_by(|a, b| (b.record.at, &b.id).cmp(&(a.record.at, &a.id)));
    let mut seen = Vec::new();
    let mut query = AuditQuery {
        limit: 7,
        ..AuditQuery::default()
    };
    loop {
        let page = store.query_audit(&query).await.unwrap();
        assert!(page.entries.len() <= 7);
        seen.extend(page.entries);
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(
        seen, expected,
        "every record once, newest first, exactly as written"
    );

    let matching = |query: AuditQuery| {
        let store = store.clone();
        async move {
            let page = store
                .query_audit(&AuditQuery {
                    limit: 1000,
                    ..query
                })
                .await
                .unwrap();
            assert!(page.next_cursor.is_none());
            page.entries.into_iter().map(|e| e.id).collect::<Vec<_>>()
        }
    };
    let ids = |filter: &dyn Fn(&mcpgw_telemetry::audit::AuditRecord) -> bool| {
        expected
            .iter()
            .filter(|e| filter(&e.record))
            .map(|e| e.id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        matching(AuditQuery {
            principal: Some("bob ✓".into()),
            server: Some("currenttime".into()),
            ..AuditQuery::default()
        })
        .await,
        ids(&|r| r.principal == "bob ✓" && r.server == "currenttime")
    );
    assert_eq!(
        matching(AuditQuery {
            owner: Some("https://idp#4".into()),
            ..AuditQuery::default()
        })
        .await,
        ids(&|r| r.owner == "https://idp#4")
    );
    assert_eq!(
        matching(AuditQuery {
            method: Some("tools/call".into()),
            target: Some("tool_1".into()),
            allowed: Some(false),
            ..AuditQuery::default()
        })
        .await,
        ids(&|r| r.method == "tools/call" && r.target.as_deref() == Some("tool_1") && !r.allowed)
    );
    let (since, until) = (1_764_000_000_006, 1_764_000_000_012);
    assert_eq!(
        matching(AuditQuery {
            since: Some(since),
            until: Some(until),
            ..AuditQuery::default()
        })
        .await,
        ids(&|r| r.at >= since && r.at < until)
    );
    assert!(
        matching(AuditQuery {
            principal: Some("alice' OR '1'='1".into()),
            ..AuditQuery::default()
        })
        .await
        .is_empty()
    );

    let pruned = store.prune_audit(since).await.unwrap();
    assert_eq!(pruned as usize, ids(&|r| r.at < since).len());
    assert_eq!(
        matching(AuditQuery::default()).await,
        ids(&|r| r.at >= since)
    );
}

async fn audit_pruning_goes_past_its_chunk_size(store: SqlStore) {
    use mcpgw_telemetry::audit::{AuditQuery, AuditStore};
    // More old records than one pruning statement deletes, and one to keep.
    let entries: Vec<_> = (0..11_001)
        .map(|n| {
            let mut entry = audit_entry(n);
            entry.record.at = if n == 11_000 { 2_000 } else { 1_000 };
            entry
        })
        .collect();
    for batch in entries.chunks(1000) {
        store.append_audit(batch).await.unwrap();
    }
    assert_eq!(store.prune_audit(2_000).await.unwrap(), 11_000);
    let left = store
        .query_audit(&AuditQuery {
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(left.entries, [entries[11_000].clone()]);
}

async fn sqlite() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("nested/mcpgw.db").display());
    (dir, url)
}

/// A fresh PostgreSQL database for one test, or `None` when no server is configured.
async fn postgres() -> Option<String> {
    let Ok(admin_url) = std::env::var("MCPGW_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "MCPGW_TEST_POSTGRES_URL must be set in CI"
        );
        eprintln!("MCPGW_TEST_POSTGRES_URL not set: skipping the PostgreSQL half");
        return None;
    };
    sqlx::any::install_default_drivers();
    let name = format!("mcpgw_test_{}", rand_id());
    let mut admin = sqlx::AnyConnection::connect(&admin_url)
        .await
        .expect("connect to test PostgreSQL");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    admin.close().await.unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&name);
    Some(url.to_string())
}

fn rand_id() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{nanos:x}_{}", std::process::id())
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (_dir, url) = super::sqlite().await;
                    super::$name(super::connect(&url).await.unwrap()).await;
                }
            )*

            #[tokio::test]
            async fn migrations_are_idempotent_and_data_persists() {
                let (_dir, url) = super::sqlite().await;
                super::reopen(&url).await;
            }
        }
        mod on_postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(url) = super::postgres().await else { return };
                    super::$name(super::connect(&url).await.unwrap()).await;
                }
            )*

            #[tokio::test]
            async fn migrations_are_idempotent_and_data_persists() {
                let Some(url) = super::postgres().await else { return };
                super::reopen(&url).await;
            }
        }
    };
}

async fn analytics_rows_land_once_summarise_and_prune(store: SqlStore) {
    use mcpgw_telemetry::analytics::{
        AnalyticsRow, AnalyticsStore, AuthRow, DiscoveryRow, StoredRow, SummaryQuery, ToolRow,
        summarise,
    };
    use sqlx::Row;
    let tool = |id: &str, at: i64, success: bool, ms: f64, client: &str| StoredRow {
        id: id.into(),
        user_hash: Some("ab12cd34ef56".into()),
        row: AnalyticsRow::Tool(ToolRow {
            at,
            server_name: "clock".into(),
            server_path: "/clock/".into(),
            tool_name: "now".into(),
            method: "tools/call".into(),
            client_name: Some(client.into()),
            client_version: Some("1".into()),
            user: None,
            success,
            error_code: (!success).then(|| "500".into()),
            duration_ms: ms,
            request_id: Some("r1".into()),
        }),
    };
    let auth = StoredRow {
        id: "a1".into(),
        user_hash: None,
        row: AnalyticsRow::Auth(AuthRow {
            at: 1_000,
            server: "clock".into(),
            method: "jwt".into(),
            success: true,
            user: None,
            error_code: None,
            duration_ms: 0.5,
            request_id: None,
        }),
    };
    let search = StoredRow {
        id: "d1".into(),
        user_hash: None,
        row: AnalyticsRow::Discovery(DiscoveryRow {
            at: 3_000,
            query: "what time is it".into(),
            results_count: 3,
            top_k_services: 3,
            top_n_tools: 1,
            source: "api".into(),
            mode: "lexical".into(),
            duration_ms: 1.5,
        }),
    };
    let batch = [
        tool("t1", 1_000, true, 10.0, "a"),
        tool("t2", 2_000, false, 30.0, "b"),
        auth,
        search,
    ];
    store.append_analytics(&batch).await.unwrap();
    // A retried batch is not stored twice.
    store.append_analytics(&batch).await.unwrap();
    // Every column holds its own value.
    let pool = store.pool_for_tests().clone();
    let stored = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            let row = sqlx::query(sql).fetch_one(&pool).await.unwrap();
            (0..row.len())
                .map(|index| {
                    row.try_get::<Option<String>, _>(index)
                        .map(|text| text.unwrap_or_else(|| "NULL".into()))
                        .or_else(|_| row.try_get::<i64, _>(index).map(|n| n.to_string()))
                        .or_else(|_| row.try_get::<f64, _>(index).map(|n| n.to_string()))
                        .unwrap()
                })
                .collect::<Vec<_>>()
                .join("|")
        }
    };
    assert_eq!(
        stored(
            "SELECT id, at, timestamp, service, request_id, duration_ms, tool_name, server_path, \
             server_name, success, error_code, client_name, client_version, method, user_hash \
             FROM tool_metrics WHERE id = 't2'"
        )
        .await,
        "t2|2000|1970-01-01T00:00:02.000000|mcpgw|r1|30|now|/clock/|clock|0|500|b|1|tools/call|ab12cd34ef56"
    );
    assert_eq!(
        stored(
            "SELECT id, at, timestamp, service, request_id, duration_ms, success, method, \
             server, user_hash, error_code FROM auth_metrics"
        )
        .await,
        "a1|1000|1970-01-01T00:00:01.000000|mcpgw|NULL|0.5|1|jwt|clock|NULL|NULL"
    );
    assert_eq!(
        stored(
            "SELECT id, at, timestamp, service, duration_ms, query, results_count, \
             top_k_services, top_n_tools, source, mode FROM discovery_metrics"
        )
        .await,
        "d1|3000|1970-01-01T00:00:03.000000|mcpgw|1.5|what time is it|3|3|1|api|lexical"
    );
    let query = SummaryQuery {
        since: 0,
        until: 10_000,
        server: Some("clock".into()),
    };
    let summary = summarise(store.tool_samples(&query).await.unwrap());
    assert_eq!(summary.len(), 1);
    assert_eq!((summary[0].calls, summary[0].errors), (2, 1));
    assert_eq!((summary[0].p50_ms, summary[0].p95_ms), (10.0, 30.0));
    assert_eq!(summary[0].unique_clients, 2);
    let other = SummaryQuery {
        server: Some("other".into()),
        ..query.clone()
    };
    assert!(store.tool_samples(&other).await.unwrap().is_empty());
    // Rows before 2.5 s go: both tool rows and the authentication.
    assert_eq!(store.prune_analytics(2_500).await.unwrap(), 3);
    assert_eq!(store.tool_samples(&query).await.unwrap().len(), 0);
    assert_eq!(store.prune_analytics(10_000).await.unwrap(), 1);

    // A large batch is appended whole (in statements of several sizes), once.
    let many: Vec<StoredRow> = (0..151)
        .map(|n| tool(&format!("m{n:03}"), 5_000 + n, true, 1.0, "c"))
        .collect();
    store.append_analytics(&many).await.unwrap();
    store.append_analytics(&many[..100]).await.unwrap();
    assert_eq!(store.tool_samples(&query).await.unwrap().len(), 151);
}

async fn embeddings_are_kept_by_model_and_text(store: SqlStore) {
    use mcpgw_registry::EmbeddingStore;
    let first = vec![0.25f32, -0.5, 1.0];
    let second = vec![1.0f32, 0.0, 0.0];
    store
        .save_embeddings(
            "m1",
            &[("a".into(), first.clone()), ("b".into(), second.clone())],
        )
        .await
        .unwrap();
    // A hash already stored keeps its vector; another model is another space.
    store
        .save_embeddings("m1", &[("a".into(), vec![9.0, 9.0, 9.0])])
        .await
        .unwrap();
    store
        .save_embeddings("m2", &[("a".into(), second.clone())])
        .await
        .unwrap();
    let mut loaded = store.load_embeddings("m1").await.unwrap();
    loaded.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        loaded,
        [("a".to_owned(), first), ("b".to_owned(), second.clone())]
    );
    assert_eq!(
        store
            .forget_embeddings("m1", &["a".into(), "unknown".into()])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.load_embeddings("m1").await.unwrap(),
        [("b".to_owned(), second.clone())]
    );
    assert_eq!(
        store.load_embeddings("m2").await.unwrap(),
        [("a".to_owned(), second)]
    );
    store.save_embeddings("m1", &[]).await.unwrap();
}

async fn reopen(url: &str) {
    let first = connect(url).await.unwrap();
    first.insert_server(&sample("kept")).await.unwrap();
    first.close().await;
    let second = connect(url).await.unwrap();
    assert_eq!(
        second.get_server("kept").await.unwrap(),
        Some(sample("kept"))
    );
}

on_both_backends!(
    fresh_views_include_every_change_announced_before_the_read,
    tool_scans_are_replaced_summarised_and_forgotten,
    concurrent_saves_wait_for_each_other_instead_of_failing,
    a_scan_saved_during_the_servers_removal_is_not_left_behind,
    leases_go_to_one_holder_until_they_expire,
    signing_keys_are_sealed_shared_and_retired,
    changes_reach_the_other_instances,
    connections_round_trip_per_owner,
    connection_tokens_are_sealed_and_bound,
    connect_flows_are_taken_once_and_pruned,
    due_connections_are_listed_in_order,
    refresh_claims_are_leased,
    connections_are_deleted_with_their_server,
    connection_tokens_are_resealed,
    secrets_are_sealed_and_resealed,
    health_history_is_kept_bounded_and_forgotten,
    versions_are_published_once_and_change_status,
    origins_and_sources_round_trip,
    analytics_rows_land_once_summarise_and_prune,
    embeddings_are_kept_by_model_and_text,
    audit_trail_pages_filters_and_prunes,
    audit_pruning_goes_past_its_chunk_size,
    gateway_tokens_round_trip_and_revoke,
    users_round_trip,
    sessions_and_login_flows,
    round_trip,
    duplicate_insert_changes_nothing,
    definition_and_check_columns_are_independent,
    delete_removes_only_that_server,
    health_counts_are_grouped,
    concurrent_writes_all_land,
);
