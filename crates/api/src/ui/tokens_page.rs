//! `GET /ui/tokens`: the viewer's gateway tokens (everyone's for an admin), a form to mint
//! one with chosen scopes, groups and lifetime, revocation, and copy-ready client
//! configuration for the aggregated endpoint or one server, with a token just minted
//! filled in (it is shown once, on the page that minted it, and never stored in clear).

use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mcpgw_auth::discovery::base_url;
use mcpgw_auth::vending::{MintRequest, Minted, TokenRecord};
use serde::Deserialize;

use crate::access::Access;
use crate::client_config::{Snippet, Target, snippets};
use crate::ui::actions::{Fields, checked_form};
use crate::ui::error::{error_page, or_error_page};
use crate::ui::frame::{Frame, Section, render, see_other};
use crate::ui::rows::human_millis;
use crate::ui::viewer::Viewer;
use crate::{ApiError, AppState};

/// The lifetimes offered, in seconds, with their labels (those above the configured
/// maximum are left out).
const LIFETIMES: [(i64, &str); 6] = [
    (3_600, "1 hour"),
    (8 * 3_600, "8 hours"),
    (86_400, "1 day"),
    (7 * 86_400, "7 days"),
    (30 * 86_400, "30 days"),
    (90 * 86_400, "90 days"),
];

/// One token in the list.
struct TokenRow {
    id: String,
    description: String,
    subject: String,
    scopes: String,
    created: String,
    expires: String,
    status: &'static str,
}

/// A choice in a list of checkboxes or options.
struct Choice {
    value: String,
    label: String,
    chosen: bool,
}

#[derive(Template)]
#[template(path = "tokens.html")]
struct TokensPage {
    frame: Frame,
    tokens: Vec<TokenRow>,
    scopes: Vec<Choice>,
    groups: Vec<Choice>,
    lifetimes: Vec<Choice>,
    targets: Vec<Choice>,
    target: String,
    minted: Option<String>,
    mint_error: String,
    snippets: Vec<Snippet>,
    target_url: String,
    discovery: bool,
    session_note: bool,
    /// No scopes file is in force: only admin tokens may do anything (the page says so;
    /// admin rights are never ticked for the user).
    admin_needed: bool,
}

#[derive(Debug, Default, Deserialize)]
struct Params {
    server: Option<String>,
    /// `oauth`: configurations without a token, for clients that sign in themselves.
    auth: Option<String>,
}

/// The page.
pub async fn page(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let params: Params =
        serde_urlencoded::from_str(raw.as_deref().unwrap_or("")).unwrap_or_default();
    let discovery = params.auth.as_deref() == Some("oauth");
    build(
        &state,
        &viewer,
        &headers,
        Shown {
            target: params.server.as_deref(),
            discovery,
        },
        None,
        String::new(),
    )
    .await
    .map(|page| render(StatusCode::OK, &page))
    .unwrap_or_else(|error| error_page(&state, &viewer, error))
}

/// `POST /ui/tokens`: mints a token and shows it once, with the client configuration.
pub async fn mint(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let done = async {
        let fields = checked_form(&state, &viewer, &headers, body)?;
        let target = fields
            .get("server")
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let minted = match mint_request(&viewer, &fields) {
            Ok(request) => state
                .tokens
                .mint(&viewer.principal, request, mcpgw_auth::now())
                .await
                .map_err(ApiError::from),
            Err(refused) => Err(refused),
        };
        let (minted, error, status) = match minted {
            Ok(Minted { token, .. }) => (Some(token), String::new(), StatusCode::CREATED),
            Err(error) => {
                if error.status.is_server_error() {
                    return Err(error);
                }
                (None, error.message, error.status)
            }
        };
        let shown = Shown {
            target: target.as_deref(),
            discovery: false,
        };
        let page = build(&state, &viewer, &headers, shown, minted, error).await?;
        Ok(render(status, &page))
    };
    or_error_page(&state, &viewer, done.await)
}

/// `POST /ui/tokens/{id}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let done = async {
        checked_form(&state, &viewer, &headers, body)?;
        state
            .tokens
            .revoke(&viewer.principal, &id, mcpgw_auth::now())
            .await?;
        Ok(see_other("/ui/tokens"))
    };
    or_error_page(&state, &viewer, done.await)
}

/// The mint request the form asks for: the checked scopes and groups (an empty choice
/// is sent as such, so the vending service's rules apply), and the chosen lifetime.
fn mint_request(viewer: &Viewer, fields: &Fields) -> Result<MintRequest, ApiError> {
    let chosen = |name: &str| -> Vec<String> {
        fields
            .0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .collect()
    };
    let expires_in = fields
        .get("expires_in")
        .map(|value| {
            value
                .parse::<i64>()
                .map_err(|_| ApiError::invalid_field("expires_in", "must be a number of seconds"))
        })
        .transpose()?;
    let principal = &viewer.principal;
    let scopes = (!principal.scopes.is_empty()).then(|| chosen("scope"));
    let groups = (!principal.groups.is_empty()).then(|| chosen("group"));
    let admin = principal.is_admin && fields.get("admin").is_some();
    // Unticking everything offered would mint a token that can do nothing at all.
    let emptied = |chosen: &Option<Vec<String>>| chosen.as_ref().is_none_or(Vec::is_empty);
    if (scopes.is_some() || groups.is_some()) && !admin && emptied(&scopes) && emptied(&groups) {
        return Err(ApiError::invalid_field(
            "scope",
            "choose at least one scope or group: a token without any can do nothing",
        ));
    }
    Ok(MintRequest {
        description: fields
            .get("description")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        expires_in,
        scopes,
        groups,
        admin,
    })
}

/// Which configurations the page shows: for which server (none: the aggregated `/mcp`),
/// and whether without a token.
struct Shown<'a> {
    target: Option<&'a str>,
    discovery: bool,
}

async fn build(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    shown: Shown<'_>,
    minted: Option<String>,
    mint_error: String,
) -> Result<TokensPage, ApiError> {
    let access = Access::of(state, &viewer.principal);
    let principal = &viewer.principal;
    let now = mcpgw_auth::now();
    let tokens = state
        .tokens
        .list(principal)
        .await?
        .iter()
        .map(|record| token_row(record, now))
        .collect();
    // Only servers the viewer may see are offered as targets.
    let servers = access.listable(state.registry.list().await.unwrap_or_default());
    let target = shown
        .target
        .and_then(|path| servers.iter().find(|s| s.path == path));
    let base = base_url(state.public_url.as_deref(), headers).unwrap_or_default();
    let (name, url) = match target {
        Some(server) => (
            format!("mcpgw-{}", server.path),
            format!("{base}/{}/mcp", server.path),
        ),
        None => ("mcpgw".to_owned(), format!("{base}/mcp")),
    };
    let snippets = snippets(&Target {
        name: &name,
        url: &url,
        token: minted.as_deref(),
        discovery: shown.discovery,
    });
    let mut targets = vec![Choice {
        value: String::new(),
        label: "every server (aggregated /mcp)".to_owned(),
        chosen: target.is_none(),
    }];
    targets.extend(servers.iter().map(|server| Choice {
        value: server.path.clone(),
        label: format!("{} (/{}/mcp)", server.name, server.path),
        chosen: target.is_some_and(|t| t.path == server.path),
    }));
    let all = |values: &[String]| -> Vec<Choice> {
        values
            .iter()
            .map(|value| Choice {
                value: value.clone(),
                label: value.clone(),
                chosen: true,
            })
            .collect()
    };
    let max = state.tokens.max_lifetime();
    let mut lifetimes: Vec<Choice> = LIFETIMES
        .iter()
        .filter(|(seconds, _)| *seconds <= max)
        .enumerate()
        .map(|(index, (seconds, label))| Choice {
            value: seconds.to_string(),
            label: (*label).to_owned(),
            chosen: index == 0,
        })
        .collect();
    // A gateway configured for shorter tokens than any of the choices: its maximum.
    if lifetimes.is_empty() {
        lifetimes.push(Choice {
            value: max.to_string(),
            label: format!("{max} seconds (the most this gateway allows)"),
            chosen: true,
        });
    }
    Ok(TokensPage {
        frame: Frame::new(viewer, &access, "Tokens & client setup", Section::Tokens),
        tokens,
        scopes: all(&principal.scopes),
        groups: all(&principal.groups),
        lifetimes,
        targets,
        target: target.map(|server| server.path.clone()).unwrap_or_default(),
        minted,
        mint_error,
        snippets,
        target_url: url,
        discovery: shown.discovery,
        session_note: principal.expires_at.is_some(),
        admin_needed: principal.is_admin && !state.policy.load().is_configured(),
    })
}

fn token_row(record: &TokenRecord, now: i64) -> TokenRow {
    let at = |seconds: i64| human_millis(seconds.saturating_mul(1000));
    TokenRow {
        id: record.id.clone(),
        description: record.description.clone(),
        subject: record.subject.clone(),
        scopes: if record.scopes.is_empty() {
            record.groups.join(", ")
        } else {
            record.scopes.join(", ")
        },
        created: at(record.created_at),
        expires: at(record.expires_at),
        status: if record.revoked_at.is_some() {
            "revoked"
        } else if record.expires_at <= now {
            "expired"
        } else {
            "active"
        },
    }
}
