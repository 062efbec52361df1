//! The authentication step in front of every protected route.

use axum::Json;
use axum::extract::{Extension, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use mcpgw_auth::Principal;

use crate::{ApiError, AppState};

/// Rejects requests without valid credentials (401, JSON body) and hands the
/// authenticated [`mcpgw_auth::Principal`] to handlers as a request extension.
pub async fn require_principal(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let principal = state.auth.authenticate(request.headers()).await?;
    request.extensions_mut().insert(principal);
    Ok(next.run(request).await)
}

/// The registry's routes need an admin until the access-control layer (`scopes.yml`)
/// decides per principal: an authenticated caller who is not an admin gets 403.
pub async fn require_admin(request: Request, next: Next) -> Result<Response, ApiError> {
    match request.extensions().get::<Principal>() {
        Some(principal) if principal.is_admin => Ok(next.run(request).await),
        Some(principal) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "{} is authenticated but may not manage the registry: only admins may, until \
                 access control (scopes.yml) is configured",
                principal.subject
            ),
        )),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing_credentials",
            "authentication required",
        )),
    }
}

/// `GET /api/auth/me`: the caller, as the gateway sees it.
pub async fn me(Extension(principal): Extension<Principal>) -> Json<Principal> {
    Json(principal)
}
