//! The browser half of users' own accounts (the `oauth-user` egress mode):
//! `GET /ui/connections` lists the servers that act with the viewer's accounts, connected
//! or not; `GET /oauth/connect/{path}` starts connecting (the link `mcpgw connect` and the
//! data plane's "connect first" answers give, so it asks the user to sign in first);
//! `GET /oauth/callback` is where the provider sends the browser back;
//! `POST /ui/connections/{path}/disconnect` ends a connection.

use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mcpgw_auth::egress::user::{CONNECT_FLOW_TTL_SECS, ConnectTarget};
use mcpgw_auth::login::Callback;
use mcpgw_auth::session::cookie;

use crate::access::Access;
use crate::connections::{Offer, connectable, offers, service};
use crate::login::{append_cookie, secure_cookies};
use crate::ui::actions::checked_form;
use crate::ui::error::{error_page, or_error_page};
use crate::ui::frame::{Frame, Section, encode, render, see_other};
use crate::ui::rows::human_millis;
use crate::ui::viewer::Viewer;
use crate::{ApiError, AppState};

/// The cookies binding connect flows to the browser that started them: one per flow,
/// named after the start of its `state`, so that flows started in two tabs do not undo
/// each other.
const CONNECT_COOKIE: &str = "mcpgw_connect_";
/// How much of the `state` names its cookie.
const COOKIE_NAME_CHARS: usize = 12;

/// The name of the cookie of the flow with `state`.
fn connect_cookie(state: &str) -> String {
    let prefix: String = state.chars().take(COOKIE_NAME_CHARS).collect();
    format!("{CONNECT_COOKIE}{prefix}")
}
/// Its path: sent back only to the callback.
const CONNECT_COOKIE_PATH: &str = "/oauth/callback";

/// One server on the page.
struct Row {
    server: String,
    name: String,
    provider: String,
    connected: bool,
    detail: String,
}

#[derive(Template)]
#[template(path = "connect.html")]
struct ConfirmPage {
    frame: Frame,
    server: String,
    name: String,
    provider: String,
}

#[derive(Template)]
#[template(path = "connections.html")]
struct ConnectionsPage {
    frame: Frame,
    rows: Vec<Row>,
    notice: String,
}

fn row(offer: Offer) -> Row {
    let detail = match &offer.connection {
        Some(connection) => {
            let mut detail = format!(
                "Connected {}",
                human_millis(connection.connected_at.saturating_mul(1000))
            );
            if let Some(expires) = connection.expires_at {
                let renewal = if connection.refreshable {
                    "renewed automatically"
                } else {
                    "connect again then"
                };
                detail.push_str(&format!(
                    "; access expires {} ({renewal})",
                    human_millis(expires.saturating_mul(1000))
                ));
            }
            detail
        }
        None => "Not connected: calls to this server ask you to connect first.".to_owned(),
    };
    Row {
        connected: offer.connection.is_some(),
        server: offer.server,
        name: offer.name,
        provider: offer.provider_name,
        detail,
    }
}

/// `GET /ui/connections`.
pub async fn page(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        let offers = offers(&state, &viewer.principal).await?;
        let query: Vec<(String, String)> = query
            .as_deref()
            .map(|query| serde_urlencoded::from_str(query).unwrap_or_default())
            .unwrap_or_default();
        let notice = query
            .iter()
            .find_map(|(key, server)| match key.as_str() {
                "connected" => Some(format!(
                    "Connected: calls to /{server} now carry your account."
                )),
                "disconnected" => Some(format!(
                    "Disconnected from /{server}; its tokens are revoked."
                )),
                _ => None,
            })
            .unwrap_or_default();
        let access = Access::of(&state, &viewer.principal);
        let page = ConnectionsPage {
            frame: Frame::new(&viewer, &access, "Connected accounts", Section::Connections),
            rows: offers.into_iter().map(row).collect(),
            notice,
        };
        Ok(render(StatusCode::OK, &page))
    }
    .await;
    or_error_page(&state, &viewer, result)
}

/// `GET /oauth/connect/{path}`: what connecting means, and a button to go on.
pub async fn confirm(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(path): Path<String>,
) -> Response {
    let result = async {
        let (server, provider, _) = connectable(&state, &viewer.principal, &path).await?;
        let provider = service(&state)?.provider(&provider)?.display_name.clone();
        let access = Access::of(&state, &viewer.principal);
        let page = ConfirmPage {
            frame: Frame::new(&viewer, &access, "Connect an account", Section::Connections),
            server: server.path,
            name: server.name,
            provider,
        };
        Ok(render(StatusCode::OK, &page))
    }
    .await;
    or_error_page(&state, &viewer, result)
}

/// `POST /oauth/connect/{path}`: sends the browser to the server's provider.
pub async fn start(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        checked_form(&state, &viewer, &headers, body)?;
        let (server, provider, scope) = connectable(&state, &viewer.principal, &path).await?;
        let url = server.url.clone().unwrap_or_default();
        let started = service(&state)?
            .start(
                &viewer.principal.owner(),
                ConnectTarget {
                    server: &server.path,
                    url: &url,
                    provider: &provider,
                    scope: scope.as_deref(),
                },
                format!("/ui/connections?connected={}", encode(&server.path)),
                mcpgw_auth::now(),
            )
            .await?;
        let mut response = see_other(&started.location);
        append_cookie(
            &mut response,
            &cookie::set(
                &connect_cookie(&started.state),
                &started.state,
                CONNECT_COOKIE_PATH,
                CONNECT_FLOW_TTL_SECS,
                secure_cookies(&state, &headers),
            ),
        );
        Ok(response)
    }
    .await;
    or_error_page(&state, &viewer, result)
}

/// `GET /oauth/callback`: the provider's answer; the connection is stored.
pub async fn finish(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let callback: Callback = query
        .as_deref()
        .and_then(|query| serde_urlencoded::from_str(query).ok())
        .unwrap_or_default();
    let name = connect_cookie(callback.state.as_deref().unwrap_or_default());
    let result = async {
        let (_, next) = service(&state)?
            .finish(
                callback,
                cookie::find(&headers, &name),
                &viewer.principal.owner(),
                mcpgw_auth::now(),
            )
            .await?;
        Ok::<_, ApiError>(see_other(&next))
    }
    .await;
    let mut response = match result {
        Ok(response) => response,
        Err(error) => error_page(&state, &viewer, error),
    };
    append_cookie(
        &mut response,
        &cookie::clear(&name, CONNECT_COOKIE_PATH, secure_cookies(&state, &headers)),
    );
    response
}

/// `POST /ui/connections/{path}/disconnect`.
pub async fn disconnect(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        checked_form(&state, &viewer, &headers, body)?;
        service(&state)?
            .disconnect(&viewer.principal.owner(), &path)
            .await?;
        Ok(see_other(&format!(
            "/ui/connections?disconnected={}",
            encode(&path)
        )))
    }
    .await;
    or_error_page(&state, &viewer, result)
}
