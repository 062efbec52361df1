//! The web UI (issue 10): server-rendered pages under `/ui/` for the people who manage and
//! find MCP servers, served by the gateway itself from templates compiled into the binary,
//! with one small hand-written script (no build step, no CDN).
//!
//! Every page needs a browser session ([`viewer`]); every form carries the session's CSRF
//! token; every decision is the REST API's ([`crate::access`]), and what the viewer may not
//! do is left out of the page rather than offered and refused.

mod actions;
mod activity;
mod admin_page;
mod assets;
mod audit_page;
mod connections_page;
mod error;
mod events;
mod form_input;
pub(crate) mod frame;
mod highlight;
pub(crate) mod live;
mod rich_text;
pub(crate) mod rows;
mod scan_view;
mod search_page;
mod server_form;
mod server_page;
mod servers_page;
mod tokens_page;
mod viewer;

use axum::Router;
use axum::middleware;
use axum::routing::get;

use crate::AppState;

/// The UI's routes (without state; the caller adds it).
pub fn routes(state: AppState) -> Router<AppState> {
    let pages = Router::new()
        .route("/ui", get(|| async { frame::see_other("/ui/servers") }))
        .route("/ui/servers", get(servers_page::page))
        .route(
            "/ui/servers/new",
            get(server_form::new_page).post(server_form::create),
        )
        .route("/ui/servers/{path}", get(server_page::page))
        .route(
            "/ui/servers/{path}/edit",
            get(server_form::edit_page).post(server_form::save),
        )
        .route(
            "/ui/servers/{path}/delete",
            get(actions::confirm_delete).post(actions::delete),
        )
        .route(
            "/ui/servers/{path}/toggle",
            axum::routing::post(actions::toggle),
        )
        .route(
            "/ui/servers/{path}/refresh",
            axum::routing::post(actions::refresh),
        )
        .route(
            "/ui/servers/{path}/approve",
            axum::routing::post(scan_view::approve),
        )
        .route(
            "/ui/servers/{path}/rescan",
            axum::routing::post(scan_view::rescan),
        )
        .route("/ui/search", get(search_page::page))
        .route("/ui/tokens", get(tokens_page::page).post(tokens_page::mint))
        .route(
            "/ui/tokens/{id}/revoke",
            axum::routing::post(tokens_page::revoke),
        )
        .route("/ui/connections", get(connections_page::page))
        .route(
            "/ui/connections/{path}/disconnect",
            axum::routing::post(connections_page::disconnect),
        )
        .route(
            "/oauth/connect/{path}",
            get(connections_page::confirm).post(connections_page::start),
        )
        .route("/oauth/callback", get(connections_page::finish))
        .route("/ui/admin", get(admin_page::page))
        .route("/ui/admin/audit", get(audit_page::page))
        .route("/ui/events", get(events::stream))
        .route_layer(middleware::from_fn_with_state(
            state,
            viewer::require_viewer,
        ));
    Router::new()
        .route("/ui/static/{name}", get(assets::serve))
        .merge(pages)
}
