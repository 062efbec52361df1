//! `mcpgw serve`: wires storage, registry, health checks and the HTTP API, and shuts them
//! down in order.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use mcpgw_api::AppState;
use mcpgw_auth::jwt::JwtVerifier;
use mcpgw_auth::login::OidcLogin;
use mcpgw_auth::session::SessionService;
use mcpgw_auth::session::origin::origin_of;
use mcpgw_auth::users::{Bootstrapped, UserService};
use mcpgw_auth::vending::TokenService;
use mcpgw_auth::vending::keys::SigningKeys;
use mcpgw_auth::{AdminToken, Authenticator, TokenSource};
use mcpgw_gateway::aggregate::{AggregateEndpoint, LiveCatalog};
use mcpgw_gateway::{Gateway, RoutingTable};
use mcpgw_registry::{HealthChecker, Prober, RegistryService};
use mcpgw_telemetry::analytics::Analytics;
use mcpgw_telemetry::audit::{AuditConfig, AuditLog};
use mcpgw_telemetry::batch::BatchConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;
use crate::cluster::{Cluster, Followers, leases};
use crate::session_directory::DatabaseSessions;
use crate::workers::Workers;
use crate::{app, config, demo, policy_file, retention};
use mcpgw_store::Topic;

/// Runs the gateway until SIGINT or SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    // Every TLS client of the process (PostgreSQL, upstreams, identity providers) uses
    // this provider; installed before the first of them connects (idempotent).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut signals = crate::signals::ShutdownSignals::install()?;
    let settings = config::resolve(&args)?;
    // Before the first upstream client is built: every one of them uses it.
    mcpgw_mcp::client::configure_upstream_tls(&settings.upstream_tls)
        .context("invalid [upstream_tls] configuration")?;
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create data directory {}",
            settings.data_dir.display()
        )
    })?;

    let (admin, source) =
        AdminToken::load_or_create(&settings.data_dir, std::env::var("MCPGW_ADMIN_TOKEN").ok())?;
    if let TokenSource::CreatedFile(path) = &source {
        // A log line (not a bare print) so that JSON logs stay JSON.
        tracing::warn!(
            file = %path.display(),
            "created the admin token (mode 0600); send it as 'Authorization: Bearer <token>', \
             the mcpgw CLI reads it from there"
        );
    }

    // Secrets at rest (server headers and environment, peer registry tokens) are sealed
    // with a key the database does not hold.
    let keyring = mcpgw_auth::sealing::Keyring::load(
        &settings.data_dir,
        std::env::var("MCPGW_SECRET_KEY").ok().as_deref(),
        std::env::var("MCPGW_SECRET_KEYS_PREVIOUS").ok().as_deref(),
    )
    .context("cannot load the key that seals stored secrets")?;
    let key_id = keyring.active_id().to_owned();
    let store = mcpgw_store::connect(&settings.database_url)
        .await?
        .with_keyring(Arc::new(keyring));
    let resealed = store
        .seal_stored_secrets()
        .await
        .context("cannot seal the stored secrets")?;
    if resealed > 0 {
        tracing::info!(rows = resealed, key = %key_id, "sealed stored secrets with the current key");
    }
    let cluster = Cluster::new(&store);
    let shutdown = CancellationToken::new();
    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let address = listener.local_addr()?;
    let connections = crate::egress_users::user_connections(
        &settings,
        &store,
        address,
        cluster.announcer(Topic::Connections),
    )?;
    // Egress tokens (`oauth-client` servers): one source for checks and traffic. Discovery
    // and token requests are bounded in time and never follow a redirect.
    let egress_http = mcpgw_netguard::guarded_client(Arc::clone(&settings.network))
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(15))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot set up the HTTP client for egress tokens")?;
    let mut egress = mcpgw_gateway::egress::OAuthClients::new(egress_http);
    if let Some(connections) = &connections {
        egress = egress.with_users(Arc::clone(connections));
        crate::egress_users::spawn_refresh(
            Arc::clone(connections),
            settings.egress_refresh_interval,
            shutdown.clone(),
        );
    }
    let upstream_auth: mcpgw_registry::SharedUpstreamAuth = Arc::new(egress);
    let prober = Prober::new(settings.health.timeout)?
        .with_network(Arc::clone(&settings.network))?
        .with_auth(Arc::clone(&upstream_auth));
    let registry = RegistryService::new(
        Arc::new(store.clone()),
        Arc::new(store.clone()),
        prober,
        settings.health.concurrency,
    )
    .with_egress_providers(
        settings
            .egress_providers
            .iter()
            .map(|provider| provider.name.clone())
            .collect(),
    )
    .with_change_hook(cluster.announcer(Topic::Servers))
    .with_tool_scan(mcpgw_registry::scan::ToolScan::new(
        Arc::new(store.clone()),
        settings.scan.clone(),
    ));
    let (published, withdrawn) = registry
        .sync_versions()
        .await
        .context("cannot bring the published versions in step with the servers")?;
    if published > 0 || withdrawn > 0 {
        tracing::info!(published, withdrawn, "published versions brought in step");
    }
    if let Some(metrics_address) = settings.metrics_listen {
        serve_metrics(metrics_address, shutdown.clone()).await?;
    }

    if args.demo {
        demo::start(&registry, shutdown.clone()).await?;
    }
    let (health_lease, health_lease_task) =
        cluster.lease(leases::HEALTH_CHECKS, shutdown.clone()).await;
    let (maintenance, maintenance_task) =
        cluster.lease(leases::MAINTENANCE, shutdown.clone()).await;
    let checker = HealthChecker::spawn(
        registry.clone(),
        settings.health.clone(),
        health_lease,
        shutdown.clone(),
    );

    let table = RoutingTable::load(registry.clone()).await?;
    let mut authenticator = Authenticator::new(admin);
    if !settings.issuers.is_empty() {
        let names: Vec<&str> = settings.issuers.iter().map(|i| i.issuer.as_str()).collect();
        tracing::info!(issuers = ?names, "accepting JWTs from these issuers");
        if settings.public_url.is_none() {
            tracing::warn!(
                "public_url is not set: MCP clients are pointed to http://<Host>/.well-known/…, \
                 which is wrong behind a TLS proxy; set public_url"
            );
        }
        let verifier = JwtVerifier::new(settings.issuers.clone(), &settings.jwt)
            .context("invalid [auth] configuration")?;
        authenticator = authenticator.with_jwt(verifier);
    }
    if let Some(group) = &settings.anonymous_group {
        tracing::warn!(%group, "requests without credentials are let in as 'anonymous'");
        authenticator = authenticator.with_anonymous_group(group.clone());
    }
    let tokens = token_service(&settings, &store, &cluster).await?;
    authenticator = authenticator.with_tokens(Arc::clone(&tokens));
    let users = UserService::new(Arc::new(store.clone()));
    let bootstrapped = users
        .bootstrap_admin(
            &settings.data_dir,
            std::env::var("MCPGW_ADMIN_PASSWORD").ok(),
            mcpgw_auth::now(),
        )
        .await
        .context("cannot create the first admin user (MCPGW_ADMIN_PASSWORD)")?;
    match bootstrapped {
        Bootstrapped::PasswordFile(path) => tracing::warn!(
            file = %path.display(),
            "created the local user 'admin' for the web login; its password is in the file \
             (mode 0600): sign in at /login and change it"
        ),
        Bootstrapped::FromEnvironment => {
            tracing::warn!("created the local user 'admin' with the password MCPGW_ADMIN_PASSWORD")
        }
        Bootstrapped::NotNeeded => {}
    }
    let sessions = SessionService::new(Arc::new(store.clone()), settings.session_ttl);
    let oidc = OidcLogin::new(
        settings.oidc_login.clone(),
        sessions.clone(),
        settings.jwt.leeway,
        settings.jwt.min_key_refresh,
    )
    .context("invalid [[auth.oidc_login]] configuration")?;
    let auth = Arc::new(authenticator);
    crate::config_reload::watch(
        args.clone(),
        settings.clone(),
        Arc::clone(&auth),
        shutdown.clone(),
    )?;
    let policy = policy_file::initial(settings.scopes_file.as_deref())?;
    policy_file::watch(
        settings.scopes_file.clone(),
        policy.clone(),
        shutdown.clone(),
    )?;
    let audit = AuditLog::start(Arc::new(store.clone()), AuditConfig::default());
    let pruned = audit.clone();
    retention::spawn(
        "audit records",
        settings.audit_retention_days,
        maintenance.clone(),
        shutdown.clone(),
        move |before| {
            let audit = pruned.clone();
            async move { audit.prune(before).await }
        },
    );
    let analytics = Analytics::start(Arc::new(store.clone()), BatchConfig::default());
    if settings.analytics {
        mcpgw_telemetry::analytics::install(analytics.clone());
    } else {
        tracing::info!("analytics tables off ([metrics] analytics = false): metrics only");
    }
    let pruned = analytics.clone();
    retention::spawn(
        "analytics rows",
        settings.metrics_retention_days,
        maintenance.clone(),
        shutdown.clone(),
        move |before| {
            let analytics = pruned.clone();
            async move { analytics.prune(before).await }
        },
    );
    let gateway = Gateway::new(table, Arc::clone(&auth), settings.gateway.clone())
        .context("cannot set up the upstream HTTP client")?
        .with_policy(policy.clone())
        .with_audit(audit.clone())
        .with_upstream_auth(upstream_auth)
        .with_session_directory(Arc::new(DatabaseSessions(store.clone())))
        .with_rate_limits(
            mcpgw_gateway::limits::RateLimits::new(
                settings.limits.principal_rate,
                settings.limits.server_rate,
            )
            .with_streams_per_principal(settings.limits.max_streams_per_principal),
        );
    mcpgw_mcp::client::set_max_stdio_processes(settings.limits.max_stdio_processes);
    let rate_limits = Arc::clone(gateway.rate_limits());
    let following = cluster.follow(
        &settings.database_url,
        settings.cluster.resync,
        Followers {
            registry: registry.clone(),
            tokens: Arc::clone(&tokens),
            connections: connections.clone(),
        },
        shutdown.clone(),
    );
    retention::spawn_session_pruning(
        sessions.clone(),
        store.clone(),
        maintenance,
        shutdown.clone(),
    );
    // Filled once an embedding model is loaded (the semantic-search issue); until then
    // tool search ranks by words.
    let semantic = mcpgw_registry::SemanticSlot::default();
    crate::semantic::start(
        settings.model_dir.clone(),
        Arc::new(store.clone()),
        registry.clone(),
        semantic.clone(),
    );
    let search = mcpgw_registry::LiveSearchCatalog::start(registry.clone())
        .await
        .context("cannot read the registry for search")?;
    let registry_client = mcpgw_mcp::client::guarded_http_client(
        std::time::Duration::from_secs(10),
        Arc::clone(&settings.network),
    )
    .context("cannot set up the HTTP client for registry imports")?;
    let importer = mcpgw_registry::import::Importer::new(
        registry.clone(),
        Arc::new(store.clone()),
        registry_client,
    );
    let federation = importer.clone().spawn_federation(shutdown.clone());
    let catalog = LiveCatalog::start(
        registry.clone(),
        settings.tool_separator.clone(),
        mcpgw_gateway::aggregate::BUILTIN_TOOLS,
    )
    .await?;
    let names = catalog.clone();
    let aggregate_names: mcpgw_api::AggregateNames = Arc::new(move |path: &str| {
        names
            .current()
            .tools()
            .iter()
            .filter(|exposed| exposed.server.path == path)
            .map(|exposed| (exposed.tool.name.clone(), exposed.name.clone()))
            .collect()
    });
    let readiness = mcpgw_api::Readiness::default();
    let api = mcpgw_api::router(AppState {
        admit: Arc::new(move |principal| {
            rate_limits
                .admit_principal(|| principal.owner())
                .map_err(|wait| wait.seconds())
        }),
        readiness: readiness.clone(),
        aggregate_names,
        live: Default::default(),
        connections,
        importer,
        registry_api: settings.registry_api.clone(),
        semantic: semantic.clone(),
        search,
        tokens,
        public_url: settings.public_url.clone(),
        public_origin: settings.public_url.as_deref().and_then(origin_of),
        users,
        sessions,
        oidc: Arc::new(oidc),
        audit: audit.clone(),
        registry: registry.clone(),
        auth,
        started,
        policy,
    });
    let gateway = Arc::new(gateway);
    gateway.watch_registry();
    let aggregate = AggregateEndpoint::new(
        Arc::clone(&gateway),
        catalog,
        registry.clone(),
        semantic.clone(),
        shutdown.clone(),
    )
    .context("cannot set up the aggregated endpoint")?;
    // Cancelled when the drain starts: no new connections, event streams end. Everything
    // else (following other replicas' changes, leases, sessions on /mcp) goes on until the
    // open requests are done (`shutdown`), so that a draining replica still enforces a
    // revocation made elsewhere and lets a call in flight on /mcp finish.
    let draining = CancellationToken::new();
    let serving = crate::server::ServeOptions::from_settings(&settings.server, &shutdown)?;
    let app = app::service(
        Arc::clone(&gateway),
        Arc::new(aggregate),
        api,
        crate::admission::Admission::from_settings(&settings, serving.tls.is_some(), address),
        draining.clone(),
    );
    tracing::info!(
        %address,
        database = store.backend().name(),
        data_dir = %settings.data_dir.display(),
        public_url = settings.public_url.as_deref().unwrap_or("(not set)"),
        "mcpgw started"
    );
    // Scripts and tests read this line to learn the port when listening on :0.
    println!("mcpgw listening on {}://{address}", serving.scheme());
    std::io::stdout().flush()?;

    let export_stop = CancellationToken::new();
    let metrics_export = crate::otel_metrics::start(export_stop.clone())
        .context("invalid OpenTelemetry metrics settings (OTEL_*)")?;
    let abort = CancellationToken::new();
    let workers = Workers::start(
        settings.io_threads,
        listener,
        app,
        serving,
        draining.clone(),
        abort.clone(),
    )?;
    signals.wait().await;
    // Load balancers that probe `/readyz` stop sending traffic here; the listener stays
    // open meanwhile (`drain_delay`), so that requests already on their way are served.
    readiness.drain();
    if !settings.cluster.drain_delay.is_zero() {
        tracing::info!(delay = ?settings.cluster.drain_delay, "draining: not ready; still accepting");
        tokio::select! {
            () = tokio::time::sleep(settings.cluster.drain_delay) => {}
            () = signals.wait() => {}
        }
    }
    tracing::info!(drain = ?settings.cluster.drain, "shutting down: no new connections; open ones may finish");
    draining.cancel();
    let stopped = workers.join();
    tokio::pin!(stopped);
    if tokio::time::timeout(settings.cluster.drain, &mut stopped)
        .await
        .is_err()
    {
        tracing::warn!(drain = ?settings.cluster.drain, "connections still open after the drain time; closing them");
        abort.cancel();
        stopped.await;
    }
    shutdown.cancel();
    if let Err(error) = checker.await {
        tracing::error!(%error, "the health checker had failed");
    }
    // A synchronisation in progress finishes (each page is bounded in time), so that an
    // import is not cut between its steps by the database closing.
    if let Err(error) = federation.await {
        tracing::error!(%error, "the registry federation had failed");
    }
    gateway.shutdown().await;
    // Leases given back, so that another replica takes over at once.
    for task in [health_lease_task, maintenance_task, following] {
        let _ = task.await;
    }
    // The last values, after the last request.
    export_stop.cancel();
    if let Some(export) = metrics_export {
        let _ = export.await;
    }
    registry.shutdown().await;
    // After the last request: every decision made is in the database before it closes.
    audit.shutdown().await;
    analytics.shutdown().await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// The token vending service: its signing keys from the data dir, its records in the store.
async fn token_service(
    settings: &config::Settings,
    store: &mcpgw_store::SqlStore,
    cluster: &Cluster,
) -> anyhow::Result<Arc<TokenService>> {
    let now = mcpgw_auth::now();
    let keys = SigningKeys::load(
        Arc::new(store.clone()),
        &settings.data_dir,
        settings.max_token_lifetime,
        now,
    )
    .await
    .context("cannot set up the token signing key")?;
    let issuer = settings
        .public_url
        .clone()
        .unwrap_or_else(|| "mcpgw".to_owned());
    let tokens = Arc::new(
        TokenService::new(
            keys,
            issuer,
            settings.max_token_lifetime,
            Arc::new(store.clone()),
        )
        .with_max_active_per_owner(settings.max_tokens_per_owner)
        .with_change_hook(cluster.token_announcer()),
    );
    tokens
        .reload_revocations(now)
        .await
        .context("cannot read the token revocation list")?;
    Ok(tokens)
}

/// Serves `/metrics` alone, without authentication, on `address` until `shutdown`.
async fn serve_metrics(address: SocketAddr, shutdown: CancellationToken) -> anyhow::Result<()> {
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen for metrics on {address}"))?;
    let bound = listener.local_addr()?;
    tracing::info!(address = %bound, "metrics listening (GET /metrics, no authentication)");
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(mcpgw_api::metrics::exposition),
    );
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    Ok(())
}
