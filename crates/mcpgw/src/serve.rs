//! `mcpgw serve`: wires storage, registry, health checks and the HTTP API, and shuts them
//! down in order.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use mcpgw_api::AppState;
use mcpgw_auth::jwt::JwtVerifier;
use mcpgw_auth::{AdminToken, Authenticator, TokenSource};
use mcpgw_gateway::{Gateway, RoutingTable};
use mcpgw_registry::{HealthChecker, Prober, RegistryService};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::cli::ServeArgs;
use crate::workers::Workers;
use crate::{app, config, demo};

/// How long open connections get to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Runs the gateway until SIGINT or SIGTERM.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let signals = ShutdownSignals::install()?;
    let settings = config::resolve(&args)?;
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create data directory {}",
            settings.data_dir.display()
        )
    })?;

    let (admin, source) =
        AdminToken::load_or_create(&settings.data_dir, std::env::var("MCPGW_ADMIN_TOKEN").ok())?;
    if let TokenSource::CreatedFile(path) = &source {
        eprintln!(
            "mcpgw: created the admin token in {} (mode 0600). Send it as \
             'Authorization: Bearer <token>'; the mcpgw CLI reads it from there.",
            path.display()
        );
    }

    let store = mcpgw_store::connect(&settings.database_url).await?;
    let prober = Prober::new(settings.health.timeout)?;
    let registry =
        RegistryService::new(Arc::new(store.clone()), prober, settings.health.concurrency);
    let shutdown = CancellationToken::new();

    let listener = TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let address = listener.local_addr()?;

    if args.demo {
        demo::start(&registry, shutdown.clone()).await?;
    }
    let checker = HealthChecker::spawn(registry.clone(), settings.health.clone(), shutdown.clone());

    let table = RoutingTable::load(registry.clone()).await?;
    let mut authenticator = Authenticator::new(admin);
    if !settings.issuers.is_empty() {
        let names: Vec<&str> = settings.issuers.iter().map(|i| i.issuer.as_str()).collect();
        tracing::info!(issuers = ?names, "accepting JWTs from these issuers");
        let verifier = JwtVerifier::new(settings.issuers.clone(), &settings.jwt)
            .context("invalid [auth] configuration")?;
        authenticator = authenticator.with_jwt(verifier);
    }
    if let Some(group) = &settings.anonymous_group {
        tracing::warn!(%group, "requests without credentials are let in as 'anonymous'");
        authenticator = authenticator.with_anonymous_group(group.clone());
    }
    let auth = Arc::new(authenticator);
    let gateway = Gateway::new(table, Arc::clone(&auth), settings.gateway.clone())
        .context("cannot set up the upstream HTTP client")?;
    let api = mcpgw_api::router(AppState {
        authorization_servers: settings.issuers.iter().map(|i| i.issuer.clone()).collect(),
        public_url: settings.public_url.clone(),
        registry: registry.clone(),
        auth,
        started,
    });
    let gateway = Arc::new(gateway);
    gateway.watch_registry();
    let app = app::service(Arc::clone(&gateway), api);
    tracing::info!(
        %address,
        database = store.backend().name(),
        data_dir = %settings.data_dir.display(),
        public_url = settings.public_url.as_deref().unwrap_or("(not set)"),
        "mcpgw started"
    );
    // Scripts and tests read this line to learn the port when listening on :0.
    println!("mcpgw listening on http://{address}");
    std::io::stdout().flush()?;

    let abort = CancellationToken::new();
    let workers = Workers::start(
        settings.io_threads,
        listener,
        app,
        shutdown.clone(),
        abort.clone(),
    )?;
    signals.wait().await;
    tracing::info!("shutting down");
    shutdown.cancel();
    let stopped = workers.join();
    tokio::pin!(stopped);
    if tokio::time::timeout(SHUTDOWN_GRACE, &mut stopped)
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; closing them");
        abort.cancel();
        stopped.await;
    }
    if let Err(error) = checker.await {
        tracing::error!(%error, "the health checker had failed");
    }
    gateway.shutdown().await;
    registry.shutdown().await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// SIGINT and SIGTERM handlers, installed before the gateway announces itself so a
/// supervisor that signals right after the listening line still gets a graceful stop.
struct ShutdownSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    fn install() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(ShutdownSignals {
                interrupt: signal(SignalKind::interrupt()).context("cannot watch SIGINT")?,
                terminate: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(ShutdownSignals {})
    }

    /// Resolves on the first SIGINT (Ctrl-C) or SIGTERM.
    async fn wait(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
