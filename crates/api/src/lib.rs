//! The gateway's HTTP API: thin axum handlers over the domain services.
//!
//! Handlers parse and authenticate, call [`mcpgw_registry::RegistryService`], and render
//! the result; every rule lives in the domain crates. Every error leaves as
//! `{"error": {"code": "...", "message": "..."}}` with the status its kind implies
//! ([`ApiError`]).
//!
//! Routes: `/health`, `/livez`, `/readyz`; sign-in (`/login`, `/logout`, `/auth/login/{provider}`,
//! `/auth/callback/{provider}`, `/`); `/api/auth/me`; local users under `/api/users`; the
//! gateway's tokens under `/api/tokens`; the registry REST API under `/api/servers`; and
//! the routes scripts written for the Python registry already call
//! (`/api/server_details/…`, `/api/tools/…`, `/api/refresh/…`, `/toggle/…`, `/register`).
//!
//! Protected routes take a bearer credential or a browser's session cookie
//! ([`auth_layer::require_principal`]), with CSRF protection for the cookie. Registry
//! routes then ask the access policy (`UI-Scopes` of `scopes.yml`, [`access`]) whether
//! the caller may see the server and take the action.

mod access;
pub(crate) mod audit;
mod auth_layer;
mod body;
pub mod client_config;
mod client_setup;
mod connections;
mod discovery;
mod error;
pub(crate) mod findings;
mod health;
mod health_ws;
mod import;
mod legacy;
mod login;
pub mod metrics;
mod metrics_summary;
mod pages;
pub mod registry_api;
mod search;
mod servers;
mod tokens;
mod ui;
mod users;
mod view;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use mcpgw_auth::Authenticator;
use mcpgw_registry::RegistryService;

pub use error::ApiError;
pub use health::Readiness;
pub use ui::live::LiveServers;

/// Largest request body the API accepts.
const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The registry.
    pub registry: RegistryService,
    /// Request authentication.
    pub auth: Arc<Authenticator>,
    /// When the process started, for `/health`.
    pub started: Instant,
    /// The gateway's own tokens.
    pub tokens: Arc<mcpgw_auth::vending::TokenService>,
    /// The gateway's public base URL, if configured.
    pub public_url: Option<String>,
    /// Its origin (`scheme://host[:port]`), for the CSRF origin check.
    pub public_origin: Option<String>,
    /// Local users.
    pub users: mcpgw_auth::users::UserService,
    /// Browser sessions.
    pub sessions: mcpgw_auth::session::SessionService,
    /// Sign-in at OIDC providers.
    pub oidc: Arc<mcpgw_auth::login::OidcLogin>,
    /// The access policy in force (the one the data plane enforces), for the registry
    /// routes' `UI-Scopes` decisions.
    pub policy: mcpgw_policy::SharedPolicy,
    /// The audit trail: access decisions are recorded in it and read from it.
    pub audit: mcpgw_telemetry::audit::AuditLog,
    /// Sentence embeddings for search, once a model is loaded.
    pub semantic: mcpgw_registry::SemanticSlot,
    /// The servers and tools search looks at, tokenised once per registry change.
    pub search: mcpgw_registry::LiveSearchCatalog,
    /// Imports from registries and federation with peer registries.
    pub importer: mcpgw_registry::import::Importer,
    /// How the official registry API (`/v0.1`) publishes.
    pub registry_api: registry_api::RegistryApiSettings,
    /// The names the aggregated endpoint gives a server's tools, for the server's page.
    pub aggregate_names: AggregateNames,
    /// The servers as last read for live health, shared by every open page and socket.
    pub live: LiveServers,
    /// Users' own accounts at egress providers (`oauth-user`), when any are configured.
    pub connections: Option<Arc<mcpgw_auth::egress::user::UserConnections>>,
    /// Whether this replica is draining (`/readyz`).
    pub readiness: Readiness,
    /// Takes one request from the principal's rate budget (shared with the MCP routes),
    /// or says in how many seconds to come back.
    pub admit: Admit,
}

/// A principal's request rate budget: `Err(seconds)` when it is spent.
pub type Admit = Arc<dyn Fn(&mcpgw_auth::Principal) -> Result<(), u64> + Send + Sync>;

/// Given a server's path, its tools' names on the aggregated endpoint as (tool, exposed
/// name) pairs; empty when none of its tools is offered there (disabled, unhealthy).
pub type AggregateNames = Arc<dyn Fn(&str) -> Vec<(String, String)> + Send + Sync>;

/// Builds the router for all API routes.
pub fn router(state: AppState) -> Router {
    let protected = Router::new()
        .route("/api/servers", get(servers::list).post(servers::register))
        .route(
            "/api/servers/{path}",
            get(servers::show)
                .put(servers::update)
                .patch(servers::update)
                .delete(servers::remove),
        )
        .route("/api/servers/{path}/toggle", post(servers::toggle))
        .route("/api/servers/{path}/tools", get(servers::tools))
        .route("/api/servers/{path}/refresh", post(servers::refresh))
        .route("/api/servers/{path}/findings", get(findings::findings))
        .route("/api/servers/{path}/security-scan", get(findings::findings))
        .route("/api/servers/{path}/rescan", post(findings::rescan))
        .route("/api/servers/{path}/approve", post(findings::approve))
        .route("/api/server_details/{*path}", get(legacy::server_details))
        .route("/api/tools/{*path}", get(legacy::tools))
        .route("/api/refresh/{*path}", post(legacy::refresh))
        .route("/toggle/{*path}", post(legacy::toggle))
        .route("/register", post(legacy::register))
        .route("/api/auth/me", get(auth_layer::me))
        .route("/ws/health_status", get(health_ws::upgrade))
        .route("/api/users", get(users::list).post(users::create))
        .route("/api/users/{name}", axum::routing::delete(users::remove))
        .route(
            "/api/users/{name}/password",
            axum::routing::put(users::set_password),
        )
        .route("/api/tokens", get(tokens::list).post(tokens::mint))
        .route("/api/client-config", post(client_setup::config))
        .route("/api/tokens/generate", post(tokens::generate))
        .route("/api/tokens/keys/rotate", post(tokens::rotate))
        .route("/api/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route("/api/connections", get(connections::list))
        .route(
            "/api/connections/{path}",
            post(connections::connect_url).delete(connections::disconnect),
        )
        .route("/api/audit", get(audit::list))
        .route("/metrics", get(metrics::for_admins))
        .route("/api/metrics/summary", get(metrics_summary::get))
        .route("/api/search", get(search::get))
        .route("/api/search/semantic", post(search::semantic))
        .route("/api/import", post(import::import))
        .route(
            "/api/sources",
            get(import::list_sources).post(import::add_source),
        )
        .route(
            "/api/sources/{path}",
            axum::routing::delete(import::remove_source),
        )
        .route("/api/sources/{path}/sync", post(import::sync_source))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth_layer::require_principal,
        ));
    Router::new()
        .route("/health", get(health::health))
        .route("/livez", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/", get(login::home))
        .route("/login", get(login::page).post(login::submit))
        .route("/logout", post(login::logout))
        .route("/auth/login/{provider}", get(login::start_oidc))
        .route("/auth/callback/{provider}", get(login::finish_oidc))
        .route("/.well-known/jwks.json", get(tokens::jwks))
        .route(
            "/oauth/client-metadata.json",
            get(connections::client_metadata),
        )
        .route(
            "/.well-known/oauth-protected-resource",
            get(discovery::gateway),
        )
        .route(
            "/.well-known/oauth-protected-resource/{*resource}",
            get(discovery::server),
        )
        .merge(registry_api::public_routes())
        .merge(registry_api::protected_routes(state.clone()))
        .merge(protected)
        .merge(ui::routes(state.clone()))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}
