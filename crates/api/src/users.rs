//! Local users over HTTP: `GET`/`POST /api/users`, `DELETE /api/users/{name}` (admins),
//! and `PUT /api/users/{name}/password` (admins, or the user with their current password).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use mcpgw_auth::users::{NewUser, UserRecord, owner_key};
use mcpgw_auth::{AuthMethod, Principal, now};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth_layer::admin_only;
use crate::body::{body_bytes, parse_json};
use crate::{ApiError, AppState};

/// `GET /api/users`: every local user (never their password hashes).
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    admin_only(&principal)?;
    let users = state.users.list().await?;
    Ok(Json(json!({ "users": users })))
}

/// `POST /api/users`: creates a local user.
pub async fn create(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<UserRecord>), ApiError> {
    admin_only(&principal)?;
    let user: NewUser = parse_json(&body_bytes(body)?)?;
    let created = state.users.create(user, now()).await?;
    tracing::info!(user = %created.username, by = %principal.subject, "local user created");
    Ok((StatusCode::CREATED, Json(created)))
}

/// `DELETE /api/users/{name}`: deletes a user, ends their sessions, revokes their tokens.
pub async fn remove(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(username): Path<String>,
) -> Result<StatusCode, ApiError> {
    admin_only(&principal)?;
    state.users.delete(&username).await?;
    let (sessions, tokens) = end_everything_of(&state, &username).await?;
    tracing::info!(user = %username, by = %principal.subject, sessions, tokens, "local user deleted; sessions ended, tokens revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// A password change.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The new password.
    password: String,
    /// The current one: required when users change their own (a stolen session must not
    /// be enough to take the account over).
    current_password: Option<String>,
}

/// `PUT /api/users/{name}/password`: sets a new password, ends every session of the user
/// (who signs in again with it) and revokes their tokens.
pub async fn set_password(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(username): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, ApiError> {
    let change: PasswordChange = parse_json(&body_bytes(body)?)?;
    let own = principal.auth_method == AuthMethod::Password && principal.subject == username;
    if !principal.is_admin || own {
        if !own {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "only admins may change another user's password",
            ));
        }
        let current = change.current_password.as_deref().unwrap_or_default();
        state
            .users
            .sign_in(&username, current, now())
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "current_password is missing or wrong",
                )
            })?;
    }
    state
        .users
        .set_password(&username, change.password, now())
        .await?;
    let (sessions, tokens) = end_everything_of(&state, &username).await?;
    tracing::info!(user = %username, by = %principal.subject, sessions, tokens, "password changed; sessions ended, tokens revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session and revokes every token a local user holds: what was obtained with
/// a password that is gone (or may have leaked) goes with it.
async fn end_everything_of(state: &AppState, username: &str) -> Result<(u64, usize), ApiError> {
    let owner = owner_key(username);
    let sessions = state.sessions.close_all_of(&owner).await?;
    let tokens = state.tokens.revoke_all_of(&owner, now()).await?;
    Ok((sessions, tokens))
}
