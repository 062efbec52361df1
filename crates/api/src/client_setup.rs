//! `POST /api/client-config`: a ready-to-use configuration for one MCP client (VS Code,
//! Cursor, Claude Code, Cline, Roo Code, plain JSON, or the Python and TypeScript SDKs),
//! for the aggregated `/mcp` or one server, with a token minted for it on the spot
//! (`auth: "token"`, the default) or none at all for clients that sign in themselves
//! through the gateway's protected-resource metadata (`auth: "oauth"`). The token is
//! minted as the caller, with at most its rights, exactly as `POST /api/tokens` does.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use mcpgw_auth::Principal;
use mcpgw_auth::discovery::base_url;
use mcpgw_auth::vending::MintRequest;
use mcpgw_policy::UiAction;
use serde::Deserialize;
use serde_json::json;

use crate::access::authorized_server;
use crate::body::{body_bytes, parse_json};
use crate::client_config::{CLIENTS, Target, snippet};
use crate::{ApiError, AppState};

/// The request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigRequest {
    /// One of [`CLIENTS`].
    client: String,
    /// A server's path; none: the aggregated `/mcp`.
    #[serde(default)]
    server: Option<String>,
    /// `token` (mint one) or `oauth` (no token).
    #[serde(default)]
    auth: Option<String>,
    /// The minted token's lifetime, in seconds.
    #[serde(default)]
    expires_in: Option<i64>,
    /// What the minted token is for.
    #[serde(default)]
    description: Option<String>,
    /// Mint it with admin rights (admins only).
    #[serde(default)]
    admin: bool,
}

/// `POST /api/client-config`: `{client, title, file, language, text, url}` plus, when a
/// token was minted, `token_id` and `expires_at` (201); without a token, 200.
pub async fn config(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request: ConfigRequest = parse_json(&body_bytes(body)?)?;
    if !CLIENTS.contains(&request.client.as_str()) {
        return Err(ApiError::invalid_field(
            "client",
            format!(
                "unknown client '{}'; use one of {}",
                request.client,
                CLIENTS.join(", ")
            ),
        ));
    }
    let discovery = match request.auth.as_deref() {
        None | Some("token") => false,
        Some("oauth") => true,
        Some(other) => {
            return Err(ApiError::invalid_field(
                "auth",
                format!("'{other}': use token or oauth"),
            ));
        }
    };
    let base = base_url(state.public_url.as_deref(), &headers).ok_or_else(|| {
        ApiError::bad_request("cannot tell the gateway's address: set public_url")
    })?;
    let (name, url) = match &request.server {
        Some(path) => {
            let (server, _) = authorized_server(&state, &principal, path, UiAction::List).await?;
            (
                format!("mcpgw-{}", server.path),
                format!("{base}/{}/mcp", server.path),
            )
        }
        None => ("mcpgw".to_owned(), format!("{base}/mcp")),
    };
    fn target<'a>(
        name: &'a str,
        url: &'a str,
        token: Option<&'a str>,
        discovery: bool,
    ) -> Target<'a> {
        Target {
            name,
            url,
            token,
            discovery,
        }
    }
    // Refused before anything is minted: a client that cannot sign in without a token.
    if snippet(&target(&name, &url, None, discovery), &request.client).is_none() {
        return Err(ApiError::invalid_field(
            "auth",
            format!("{} needs a token: use auth token", request.client),
        ));
    }
    let minted = if discovery {
        None
    } else {
        let description = request
            .description
            .unwrap_or_else(|| format!("{} configuration", request.client));
        let mint = MintRequest {
            description,
            expires_in: request.expires_in,
            scopes: None,
            groups: None,
            admin: request.admin,
        };
        Some(
            state
                .tokens
                .mint(&principal, mint, mcpgw_auth::now())
                .await?,
        )
    };
    let token = minted.as_ref().map(|minted| minted.token.as_str());
    let Some(chosen) = snippet(&target(&name, &url, token, discovery), &request.client) else {
        return Err(ApiError::invalid_field("client", "no configuration for it"));
    };
    let mut body = json!({
        "client": chosen.client,
        "title": chosen.title,
        "file": chosen.file,
        "language": chosen.language,
        "text": chosen.text,
        "url": url,
    });
    let status = match &minted {
        Some(minted) => {
            body["token_id"] = json!(minted.record.id);
            body["expires_at"] = json!(minted.record.expires_at);
            StatusCode::CREATED
        }
        None => StatusCode::OK,
    };
    // It may carry a token: never cached (RFC 6749 §5.1).
    Ok((status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}
