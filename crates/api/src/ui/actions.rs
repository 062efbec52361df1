//! The buttons of the server pages, as plain form posts (they work without script; the
//! script only saves the reload): enable/disable, check now, and delete after a
//! confirmation page. Each is decided by the same access rules as the REST API and
//! carries the session's CSRF token.

use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mcpgw_policy::UiAction;

use crate::access::authorized_server;
use crate::body::{body_bytes, parse_form};
use crate::pages::local_path;
use crate::ui::error::or_error_page;
use crate::ui::frame::{Frame, Section, render, see_other};
use crate::ui::viewer::Viewer;
use crate::{ApiError, AppState};

/// The header the UI's script sends with the forms it posts itself: such a post gets
/// `204 No Content` when done, so that the script can tell success from a redirect to
/// the login page (an expired session).
const SCRIPT_HEADER: &str = "x-mcpgw-ui";

/// A form's fields.
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// Reads a form body.
    pub fn read(body: Result<Bytes, BytesRejection>) -> Result<Fields, ApiError> {
        Ok(Fields(parse_form(&body_bytes(body)?)?))
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Reads a form post and checks its CSRF token.
pub fn checked_form(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Fields, ApiError> {
    let fields = Fields::read(body)?;
    viewer.check_form(state, headers, fields.get("csrf_token"))?;
    Ok(fields)
}

/// Where a form goes back to: its `back` field if that is a page of this gateway.
fn back(fields: &Fields, default: &str) -> String {
    match fields.get("back") {
        Some(back) => local_path(Some(back)),
        None => default.to_owned(),
    }
}

/// `POST /ui/servers/{path}/toggle` with `enabled=true|false`.
pub async fn toggle(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let done = async {
        let fields = checked_form(&state, &viewer, &headers, body)?;
        let enabled = match fields.get("enabled") {
            Some("true") => true,
            Some("false") => false,
            _ => return Err(ApiError::invalid_field("enabled", "must be true or false")),
        };
        authorized_server(&state, &viewer.principal, &path, UiAction::Toggle).await?;
        state.registry.set_enabled(&path, enabled).await?;
        // The page's script asks for no page back: only "done".
        if headers.get(SCRIPT_HEADER).is_some() {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        Ok(see_other(&back(&fields, "/ui/servers")))
    };
    or_error_page(&state, &viewer, done.await)
}

/// `POST /ui/servers/{path}/refresh`: checks the server now, then shows its page.
pub async fn refresh(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let form = (headers, body);
    let registry = state.registry.clone();
    act(
        &state,
        &viewer,
        &path,
        form,
        UiAction::HealthCheck,
        |server| async move {
            registry.refresh(&server).await?;
            Ok(format!("/ui/servers/{server}"))
        },
    )
    .await
}

/// A form post acting on one server: checks the form, asks the policy for `action`, then
/// runs `op` on the server's path and goes where it says.
async fn act<F, Fut>(
    state: &AppState,
    viewer: &Viewer,
    path: &str,
    (headers, body): (HeaderMap, Result<Bytes, BytesRejection>),
    action: UiAction,
    op: F,
) -> Response
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<String, mcpgw_registry::RegistryError>>,
{
    let done = async {
        checked_form(state, viewer, &headers, body)?;
        let (server, _) = authorized_server(state, &viewer.principal, path, action).await?;
        Ok(see_other(&op(server.path).await?))
    };
    or_error_page(state, viewer, done.await)
}

#[derive(Template)]
#[template(path = "confirm_delete.html")]
struct ConfirmDelete {
    frame: Frame,
    path: String,
    name: String,
    num_tools: usize,
}

/// `GET /ui/servers/{path}/delete`: asks before deleting.
pub async fn confirm_delete(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(path): Path<String>,
) -> Response {
    let done = async {
        let (server, access) =
            authorized_server(&state, &viewer.principal, &path, UiAction::Modify).await?;
        let page = ConfirmDelete {
            frame: Frame::new(
                &viewer,
                &access,
                format!("Delete {}", server.name),
                Section::Servers,
            ),
            path: server.path,
            name: server.name,
            num_tools: server.tools.len(),
        };
        Ok(render(StatusCode::OK, &page))
    };
    or_error_page(&state, &viewer, done.await)
}

/// `POST /ui/servers/{path}/delete`: deletes the server, back to the list.
pub async fn delete(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let form = (headers, body);
    let registry = state.registry.clone();
    act(
        &state,
        &viewer,
        &path,
        form,
        UiAction::Modify,
        |server| async move {
            registry.remove(&server).await?;
            Ok("/ui/servers".to_owned())
        },
    )
    .await
}
