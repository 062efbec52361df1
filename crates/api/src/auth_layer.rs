//! The authentication step in front of every protected route: a bearer credential, or the
//! session cookie of a signed-in browser (with CSRF protection on anything that changes
//! state).

use axum::Json;
use axum::extract::{Extension, Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use mcpgw_auth::Principal;
use mcpgw_auth::session::origin::{Provenance, provenance};
use mcpgw_auth::session::{Session, SessionError, cookie};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use crate::access::Access;
use crate::{ApiError, AppState};

/// The header a browser's scripts send the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

impl From<SessionError> for ApiError {
    fn from(error: SessionError) -> Self {
        tracing::error!(%error, "session store failed");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "sessions are unavailable; try again",
        )
    }
}

/// Rejects requests without valid credentials (401, JSON body) and hands the
/// authenticated [`mcpgw_auth::Principal`] (and, for a browser, its [`Session`]) to
/// handlers as request extensions.
///
/// A bearer credential wins over a session cookie. A cookie that opens no session (expired,
/// signed out) is a 401, not an anonymous request.
pub async fn require_principal(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let headers = request.headers();
    let session_cookie = cookie::find(headers, cookie::SESSION_COOKIE);
    let principal = match session_cookie {
        Some(value) if !has_bearer(headers) => {
            let session = state
                .sessions
                .find(value, mcpgw_auth::now())
                .await?
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "session_expired",
                        "your session has expired or was ended; sign in again at /login",
                    )
                })?;
            check_csrf(&state, request.method(), headers, &session, None)?;
            let principal = session.principal.clone();
            request.extensions_mut().insert(session);
            principal
        }
        _ => state.auth.authenticate(headers).await?,
    };
    if let Err(seconds) = (state.admit)(&principal) {
        return Err(ApiError {
            retry_after: Some(seconds),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("rate limit reached: retry in {seconds}s"),
            )
        });
    }
    request.extensions_mut().insert(principal);
    Ok(next.run(request).await)
}

fn has_bearer(headers: &HeaderMap) -> bool {
    headers.contains_key(axum::http::header::AUTHORIZATION)
        || headers.contains_key("x-authorization")
}

/// Refuses a state-changing request made with a session cookie unless it is safe: never
/// from another site's page; from a browser, only with the session's CSRF token (in
/// [`CSRF_HEADER`], or `form_token` from a form body). Scripts and command-line clients
/// (no `Origin`, no `Sec-Fetch-Site`) cannot be forged by a web page and need no token,
/// so the Python registry's cookie-based scripts keep working.
pub fn check_csrf(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    session: &Session,
    form_token: Option<&str>,
) -> Result<(), ApiError> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let forbidden = |message: &str| ApiError::new(StatusCode::FORBIDDEN, "csrf", message);
    match provenance(headers, state.public_origin.as_deref()) {
        Provenance::NotBrowser => Ok(()),
        Provenance::CrossOrigin => Err(forbidden(
            "cross-site request refused: a page of another site cannot act with your session",
        )),
        Provenance::SameOrigin => {
            let sent = headers
                .get(CSRF_HEADER)
                .and_then(|value| value.to_str().ok())
                .or(form_token)
                .unwrap_or_default();
            if bool::from(sent.as_bytes().ct_eq(session.csrf_token.as_bytes())) {
                Ok(())
            } else {
                Err(forbidden(
                    "missing or wrong CSRF token: send the session's token (GET /api/auth/me) \
                     in X-CSRF-Token",
                ))
            }
        }
    }
}

/// 403 unless `principal` is an admin (local users are managed by admins only; the
/// registry's routes decide per caller in [`crate::access`]).
pub fn admin_only(principal: &Principal) -> Result<(), ApiError> {
    admin_for(principal, "manage local users")
}

/// 403 unless `principal` is an admin, saying it may not do `what`.
pub fn admin_for(principal: &Principal, what: &str) -> Result<(), ApiError> {
    if principal.is_admin {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!(
            "{} is authenticated but may not {what}: only admins may",
            principal.subject
        ),
    ))
}

/// `GET /api/auth/me`: the caller, as the gateway sees it; `policy_scopes`, the scopes
/// the access policy in force gives it (mapped from its groups by `group_mappings`, or
/// its `scope` claim), so people can see why they may or may not do something; for a
/// browser session also the CSRF token its scripts must send with state-changing
/// requests.
pub async fn me(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    session: Option<Extension<Session>>,
) -> Result<Json<Value>, ApiError> {
    let mut body = serde_json::to_value(&principal).map_err(|error| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            error.to_string(),
        )
    })?;
    body["policy_scopes"] = json!(Access::of(&state, &principal).scope_names());
    if let Some(Extension(session)) = session {
        body["csrf_token"] = json!(session.csrf_token);
    }
    Ok(Json(body))
}
