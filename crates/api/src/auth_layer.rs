//! The authentication step in front of every protected route.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::{ApiError, AppState};

/// Rejects requests without valid credentials (401, JSON body) and hands the
/// authenticated [`mcpgw_auth::Principal`] to handlers as a request extension.
pub async fn require_principal(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let principal = state.auth.authenticate(request.headers())?;
    request.extensions_mut().insert(principal);
    Ok(next.run(request).await)
}
