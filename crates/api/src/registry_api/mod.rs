//! The official MCP registry API (`/v0.1`, and the same under `/v0`), so that any client
//! or aggregator that reads a registry reads ours, and `/.well-known/mcp-servers`.
//!
//! Every registered server is published: each change to what it publishes is a version
//! (`mcpgw_registry::versions`), and each version is a `server.json` whose name is
//! `{namespace}/{path}` and whose remotes are the gateway's URLs for it. Reading needs
//! the credentials every API route needs (or the anonymous group, when configured), and
//! shows only the servers the caller may list (`list_service`): the others are the 404 of
//! an unknown name. Errors are problem details (see [`problem`]).

mod catalog;
mod document;
mod handlers;
mod params;
mod path;
mod problem;
mod status;
mod well_known;

use axum::Router;
use axum::middleware;
use axum::routing::{get, patch};

use crate::AppState;

pub use document::{GATEWAY_META, OFFICIAL_META, SERVER_SCHEMA};

/// The namespace of published names when none is configured (the Python registry's).
pub const DEFAULT_NAMESPACE: &str = "io.mcpgateway";

/// How the registry API publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryApiSettings {
    /// The reverse-DNS namespace of published names (`io.example` → `io.example/weather`).
    pub namespace: String,
    /// Whether `/.well-known/mcp-servers` is served.
    pub well_known: bool,
}

impl Default for RegistryApiSettings {
    fn default() -> Self {
        RegistryApiSettings {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            well_known: true,
        }
    }
}

impl RegistryApiSettings {
    /// Checks a namespace: what server.json allows before the `/` (letters, digits, `.`
    /// and `-`), at most 100 characters so that every name fits in 200.
    pub fn check_namespace(namespace: &str) -> Result<(), String> {
        let valid = !namespace.is_empty()
            && namespace.len() <= 100
            && namespace
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'-');
        if valid {
            Ok(())
        } else {
            Err(format!(
                "registry namespace '{namespace}' must be 1 to 100 letters, digits, '.' or '-' \
                 (reverse DNS, e.g. com.example)"
            ))
        }
    }
}

/// The registry API's routes, under `/v0.1` and `/v0`; they need an authenticated caller,
/// and answer every error, the authentication's included, as problem details.
pub fn protected_routes(state: AppState) -> Router<AppState> {
    let mut router = Router::new();
    for prefix in ["/v0.1", "/v0"] {
        router = router
            .route(&format!("{prefix}/servers"), get(handlers::list))
            .route(
                &format!("{prefix}/servers/{{name}}/versions"),
                get(handlers::versions),
            )
            .route(
                &format!("{prefix}/servers/{{name}}/versions/{{version}}"),
                get(handlers::version),
            )
            .route(
                &format!("{prefix}/servers/{{name}}/versions/{{version}}/status"),
                patch(status::one),
            )
            .route(
                &format!("{prefix}/servers/{{name}}/status"),
                patch(status::all),
            );
    }
    router
        .route_layer(middleware::from_fn_with_state(
            state,
            crate::auth_layer::require_principal,
        ))
        .layer(middleware::map_response(problem::reword_api_errors))
}

/// The public routes: `/.well-known/mcp-servers`.
pub fn public_routes() -> Router<AppState> {
    Router::new().route("/.well-known/mcp-servers", get(well_known::get))
}
