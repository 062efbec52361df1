//! Transports for the example servers: Streamable HTTP (mounted on axum) and stdio.

use std::{future::IntoFuture as _, io, sync::Arc, time::Duration};

use rmcp::{
    ServerHandler, ServiceExt as _,
    service::ServerInitializeError,
    transport::{
        StreamableHttpServerConfig, StreamableHttpService,
        streamable_http_server::session::local::LocalSessionManager,
    },
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{CurrentTime, ExampleServer, Toolbox};

/// HTTP path at which [`serve_http`] mounts the MCP endpoint.
pub const MCP_PATH: &str = "/mcp";

/// How long open connections (e.g. SSE streams) may keep running after `shutdown`
/// is cancelled before [`serve_http`] returns anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serve over Streamable HTTP at path `/mcp` on the given listener until `shutdown` is cancelled.
///
/// * `stateful = true`: protocol revisions up to `2025-11-25` get a session
///   (`Mcp-Session-Id` returned by `initialize`) and their responses are SSE streams
///   (`text/event-stream`), with a standalone GET stream available.
/// * `stateful = false`: no sessions; every POST is answered on its own, as plain
///   `application/json` when the handler sends nothing but the response, or as an SSE
///   stream when it emits notifications first (e.g. `countdown` progress).
///
/// In both modes `rmcp` answers the stateless `2026-07-28` revision
/// (`server/discover`, per-request `_meta`) without sessions.
///
/// When the listener is bound to a loopback address, requests must carry a loopback
/// `Host` header (rmcp's DNS-rebinding protection); on any other address `Host`
/// validation is disabled so the server is reachable under whatever name routes to it.
///
/// Returns once the server has stopped: after `shutdown` is cancelled and open
/// connections have closed, or at most a few seconds later.
pub async fn serve_http(
    server: ExampleServer,
    listener: TcpListener,
    stateful: bool,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let local_addr = listener.local_addr()?;
    let config = http_config(stateful, local_addr.ip().is_loopback(), &shutdown);
    let router = match server {
        ExampleServer::CurrentTime => mcp_router(CurrentTime::new(), config),
        ExampleServer::Toolbox => mcp_router(Toolbox::new(), config),
    };
    tracing::info!(%local_addr, server = server.name(), stateful, "serving MCP over HTTP");
    let serving = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .into_future();
    tokio::select! {
        result = serving => result,
        () = async {
            shutdown.cancelled().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!(%local_addr, "connections still open after shutdown grace period; stopping anyway");
            Ok(())
        }
    }
}

/// Builds the rmcp Streamable HTTP configuration for one mode.
fn http_config(
    stateful: bool,
    loopback: bool,
    shutdown: &CancellationToken,
) -> StreamableHttpServerConfig {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(stateful)
        .with_json_response(!stateful)
        .with_cancellation_token(shutdown.child_token());
    if loopback {
        config
    } else {
        config.disable_allowed_hosts()
    }
}

/// An axum router serving clones of `server` at [`MCP_PATH`].
fn mcp_router<S>(server: S, config: StreamableHttpServerConfig) -> axum::Router
where
    S: ServerHandler + Clone + Send + Sync + 'static,
{
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    axum::Router::new().route_service(MCP_PATH, service)
}

/// Serve over stdio (newline-delimited JSON-RPC on stdin/stdout) until stdin closes.
///
/// Both lifecycles work: `initialize` + `notifications/initialized`, and the stateless
/// `2026-07-28` style (`server/discover` and requests carrying protocol `_meta`).
/// Nothing but protocol messages is written to stdout. Stdin closing before any
/// request arrived is a normal end, not an error.
pub async fn serve_stdio(server: ExampleServer) -> io::Result<()> {
    match server {
        ExampleServer::CurrentTime => run_stdio(CurrentTime::new()).await,
        ExampleServer::Toolbox => run_stdio(Toolbox::new()).await,
    }
}

async fn run_stdio<S: ServerHandler>(server: S) -> io::Result<()> {
    let running = match server.serve(rmcp::transport::stdio_pipes()).await {
        Ok(running) => running,
        Err(ServerInitializeError::ConnectionClosed(_)) => return Ok(()),
        Err(e) => return Err(io::Error::other(e)),
    };
    let reason = running.waiting().await.map_err(io::Error::other)?;
    tracing::debug!(?reason, "stdio server stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_modes() {
        let ct = CancellationToken::new();
        let stateful = http_config(true, true, &ct);
        assert!(stateful.legacy_session_mode && !stateful.json_response);
        assert!(!stateful.allowed_hosts.is_empty());
        let stateless = http_config(false, false, &ct);
        assert!(!stateless.legacy_session_mode && stateless.json_response);
        assert!(stateless.allowed_hosts.is_empty());
        ct.cancel();
        assert!(stateless.cancellation_token.is_cancelled());
    }
}
