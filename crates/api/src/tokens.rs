//! The token vending service over HTTP: `POST /api/tokens` (and the Python registry's
//! `POST /api/tokens/generate`), `GET /api/tokens`, `DELETE /api/tokens/{id}`,
//! `POST /api/tokens/keys/rotate`, and the public keys at `GET /.well-known/jwks.json`.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use mcpgw_auth::Principal;
use mcpgw_auth::vending::{MintRequest, Minted, TokenRecord, VendingError};
use serde::Deserialize;
use serde_json::{Value, json};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;

use crate::body::{body_bytes, parse_json};
use crate::{ApiError, AppState};

impl From<VendingError> for ApiError {
    fn from(error: VendingError) -> Self {
        let (status, code) = match &error {
            VendingError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
            VendingError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            VendingError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            VendingError::Store(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            VendingError::Keys(_) | VendingError::Poisoned => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        };
        if status.is_server_error() {
            // Details (database errors, paths) go to the log, not to the caller.
            tracing::error!(%error, "token service failed");
            return ApiError::new(status, code, "the token service is unavailable; try again");
        }
        ApiError::new(status, code, error.to_string())
    }
}

/// `POST /api/tokens`: a token acting as the caller, with at most the caller's rights.
pub async fn mint(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<
    (
        StatusCode,
        [(axum::http::HeaderName, &'static str); 1],
        Json<Minted>,
    ),
    ApiError,
> {
    let request: MintRequest = parse_json(&body_bytes(body)?)?;
    let minted = state
        .tokens
        .mint(&principal, request, mcpgw_auth::now())
        .await?;
    Ok((StatusCode::CREATED, [NO_STORE], Json(minted)))
}

/// A response carrying a token must not be cached (RFC 6749 §5.1).
const NO_STORE: (axum::http::HeaderName, &str) = (axum::http::header::CACHE_CONTROL, "no-store");

/// The Python registry's token request.
#[derive(Debug, Deserialize)]
pub struct GenerateRequest {
    #[serde(default)]
    description: String,
    expires_in_hours: Option<f64>,
    requested_scopes: Option<Vec<String>>,
}

/// `POST /api/tokens/generate`: the same, in the Python registry's shapes.
pub async fn generate(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<([(axum::http::HeaderName, &'static str); 1], Json<Value>), ApiError> {
    let request: GenerateRequest = parse_json(&body_bytes(body)?)?;
    let expires_in = match request.expires_in_hours {
        Some(hours) if hours.is_finite() && hours > 0.0 => Some((hours * 3600.0).round() as i64),
        Some(hours) => {
            return Err(ApiError::invalid_field(
                "expires_in_hours",
                format!("must be positive, not {hours}"),
            ));
        }
        None => None,
    };
    let minted = state
        .tokens
        .mint(
            &principal,
            MintRequest {
                description: request.description,
                expires_in,
                scopes: request.requested_scopes,
                groups: None,
                admin: false,
            },
            mcpgw_auth::now(),
        )
        .await?;
    let record = &minted.record;
    Ok((
        [NO_STORE],
        Json(json!({
            "success": true,
            "token_id": record.id,
            "expires_at": record.expires_at,
            "tokens": {
                "access_token": minted.token,
                "token_type": "Bearer",
                "expires_in": record.expires_at - record.created_at,
                "scope": record.scopes.join(" "),
            },
        })),
    ))
}

/// `GET /api/tokens`: the caller's tokens (everyone's for an admin), never the tokens
/// themselves.
pub async fn list(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    let tokens: Vec<TokenRecord> = state.tokens.list(&principal).await?;
    Ok(Json(json!({ "count": tokens.len(), "tokens": tokens })))
}

/// `DELETE /api/tokens/{id}`: revokes one of the caller's tokens (any, for an admin).
pub async fn revoke(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<TokenRecord>, ApiError> {
    Ok(Json(
        state
            .tokens
            .revoke(&principal, &id, mcpgw_auth::now())
            .await?,
    ))
}

/// `POST /api/tokens/keys/rotate` (admins): a new signing key; the old one stays
/// published and accepted until every token it signed has expired.
pub async fn rotate(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    if !principal.is_admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only admins rotate the signing key",
        ));
    }
    let kid = state.tokens.rotate(mcpgw_auth::now()).await?;
    Ok(Json(json!({ "kid": kid })))
}

/// `GET /.well-known/jwks.json`: the gateway's public signing keys.
pub async fn jwks(State(state): State<AppState>) -> Json<Value> {
    Json(state.tokens.jwks(mcpgw_auth::now()))
}
