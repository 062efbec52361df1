//! Users' own accounts at the services servers call (the `oauth-user` egress mode) over
//! HTTP: `GET /api/connections` (the caller's servers that act with users' accounts, and
//! which are connected), `POST /api/connections/{path}` (where to connect: a page of the
//! gateway, for `mcpgw connect`) and `DELETE /api/connections/{path}` (disconnect: the
//! tokens are forgotten and revoked at the provider). The browser half (the connect flow
//! and its page) is in [`crate::ui`].

use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use mcpgw_auth::Principal;
use mcpgw_auth::egress::user::{ConnectError, ConnectionInfo, UserConnections};
use mcpgw_registry::{Egress, Server};
use serde::Serialize;
use serde_json::{Value, json};

use crate::access::Access;
use crate::{ApiError, AppState};

impl From<ConnectError> for ApiError {
    fn from(error: ConnectError) -> Self {
        let (status, code) = match &error {
            ConnectError::UnknownProvider(_) => (StatusCode::CONFLICT, "unknown_provider"),
            ConnectError::BadState => (StatusCode::BAD_REQUEST, "bad_state"),
            ConnectError::Refused(_) => (StatusCode::FORBIDDEN, "refused"),
            ConnectError::Unavailable(_) => (StatusCode::BAD_GATEWAY, "provider_unavailable"),
            ConnectError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        };
        if status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(%error, "connection store failed");
            return ApiError::new(status, code, "connections are unavailable; try again");
        }
        ApiError::new(status, code, error.to_string())
    }
}

/// A server that acts with users' own accounts, as one user sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Offer {
    /// The server's path.
    pub server: String,
    /// Its name.
    pub name: String,
    /// The provider's configured name.
    pub provider: String,
    /// What users call it.
    pub provider_name: String,
    /// Where to connect.
    pub connect_url: String,
    /// The user's connection, if made.
    pub connection: Option<ConnectionInfo>,
}

/// The connections service, or why there is none.
pub(crate) fn service(state: &AppState) -> Result<&Arc<UserConnections>, ApiError> {
    state.connections.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "this gateway has no egress providers configured ([[egress.providers]])",
        )
    })
}

/// The server at `path` with its provider and scope, if `principal` may list it and it
/// acts with users' own accounts.
pub(crate) async fn connectable(
    state: &AppState,
    principal: &Principal,
    path: &str,
) -> Result<(Server, String, Option<String>), ApiError> {
    let server = state.registry.get(path).await?;
    if !Access::of(state, principal).can_list(&server) {
        return Err(crate::access::hidden(path));
    }
    match &server.egress {
        Egress::OauthUser { provider, scope } => {
            let (provider, scope) = (provider.clone(), scope.clone());
            Ok((server, provider, scope))
        }
        _ => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_oauth_user",
            format!(
                "server '{}' does not act with users' own accounts (its egress is {})",
                server.path,
                server.egress.mode()
            ),
        )),
    }
}

/// The servers `principal` may list that act with users' own accounts, each with the
/// user's connection if made.
pub(crate) async fn offers(
    state: &AppState,
    principal: &Principal,
) -> Result<Vec<Offer>, ApiError> {
    let service = service(state)?;
    let access = Access::of(state, principal);
    let mut connections = service.list(&principal.owner()).await?;
    let mut offers = Vec::new();
    for server in state.registry.list().await? {
        let Egress::OauthUser { provider, .. } = &server.egress else {
            continue;
        };
        if !access.can_list(&server) {
            continue;
        }
        let provider_name = service
            .provider(provider)
            .map(|known| known.display_name.clone())
            .unwrap_or_else(|_| format!("{provider} (not configured)"));
        let connection = connections
            .iter()
            .position(|made| made.server == server.path && made.provider == *provider)
            .map(|at| connections.swap_remove(at));
        offers.push(Offer {
            connect_url: service.connect_url(&server.path),
            server: server.path,
            name: server.name,
            provider: provider.clone(),
            provider_name,
            connection,
        });
    }
    Ok(offers)
}

/// `GET /oauth/client-metadata.json` (public): the gateway's Client ID Metadata Document,
/// its client id at authorization servers that take one (`mcp` providers).
pub async fn client_metadata(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(service(&state)?.client_metadata()))
}

/// `GET /api/connections`.
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({ "servers": offers(&state, &principal).await? }),
    ))
}

/// `POST /api/connections/{path}`: where the caller connects their account for the
/// server (opened in a browser signed in to the gateway as the same user).
pub async fn connect_url(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(path): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (server, provider, _) = connectable(&state, &principal, &path).await?;
    let service = service(&state)?;
    let known = service.provider(&provider)?;
    Ok(Json(json!({
        "server": server.path,
        "provider": provider,
        "provider_name": known.display_name,
        "connect_url": service.connect_url(&server.path),
    })))
}

/// `DELETE /api/connections/{path}`: the caller's connection ends.
pub async fn disconnect(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(path): Path<String>,
) -> Result<StatusCode, ApiError> {
    if service(&state)?
        .disconnect(&principal.owner(), path.trim_matches('/'))
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("you have no connection for server '{path}'"),
        ))
    }
}
