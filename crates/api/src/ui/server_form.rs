//! Registering and editing a server in the browser: `GET|POST /ui/servers/new` and
//! `GET|POST /ui/servers/{path}/edit`. The form is validated by the registry itself (the
//! very rules of the REST API), and a refused field is shown next to the field with the
//! registry's message. "Test connection" checks the server as the form describes it,
//! storing nothing, and shows the outcome with the form kept as typed.
//!
//! An edit carries the revision it was made from: saving over someone else's change
//! needs a second, informed save. Without `toggle_service` the form has no "Enabled"
//! box and an edit leaves the server enabled or not, as it was.

use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mcpgw_policy::UiAction;
use mcpgw_registry::{CheckOutcome, HealthState, RegistryError, Server};

use crate::access::{Access, authorized_server, server_ref};
use crate::ui::actions::{Fields, checked_form};
use crate::ui::error::{error_page, or_error_page};
use crate::ui::form_input::{FieldError, FormValues};
use crate::ui::frame::{Frame, Section, render, see_other};
use crate::ui::viewer::Viewer;
use crate::{ApiError, AppState};

/// The fields the form shows, to point an error at its field.
const FIELDS: [&str; 12] = [
    "name",
    "description",
    "transport",
    "url",
    "command",
    "args",
    "env",
    "headers",
    "tags",
    "license",
    "version",
    "enabled",
];

/// What "test connection" found.
pub struct TestResult {
    /// Whether the server answered the MCP handshake and listed its tools.
    pub healthy: bool,
    /// One line: `healthy`, `unhealthy: connection refused` …
    pub summary: String,
    /// The tools it listed.
    pub tools: Vec<String>,
}

/// Which form: a registration or an edit, and whether it may enable and disable.
#[derive(Debug, Clone, Copy)]
struct Kind {
    new: bool,
    can_toggle: bool,
}

/// What a submitted form led to.
enum Outcome {
    /// Saved: the server's (normalised) path.
    Saved(String),
    /// Tested, nothing stored.
    Tested(CheckOutcome),
}

#[derive(Template)]
#[template(path = "server_form.html")]
struct FormPage {
    frame: Frame,
    new: bool,
    can_toggle: bool,
    values: FormValues,
    error: Option<FieldError>,
    test: Option<TestResult>,
    action: String,
}

impl FormPage {
    /// The error message for `field`, if it is the one refused.
    fn error_for(&self, field: &str) -> &str {
        match &self.error {
            Some(error) if error.field == field => &error.message,
            _ => "",
        }
    }

    /// Whether the refused field is one the form shows (else the message is on top only).
    fn error_on_form(&self) -> bool {
        self.error.as_ref().is_some_and(|error| {
            (error.field == "path" && self.new)
                || (error.field == "enabled" && self.can_toggle)
                || FIELDS[..11].contains(&error.field.as_str())
        })
    }
}

/// `GET /ui/servers/new`.
pub async fn new_page(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
) -> Response {
    let access = Access::of(&state, &viewer.principal);
    if let Err(error) = access.authorize(UiAction::Register, None) {
        return error_page(&state, &viewer, error);
    }
    let page = form_page(&viewer, &access, NEW, FormValues::blank(), None, None);
    render(StatusCode::OK, &page)
}

/// A registration form: whoever may register chooses whether the server starts enabled.
const NEW: Kind = Kind {
    new: true,
    can_toggle: true,
};

/// `POST /ui/servers/new`: registers, or tests the connection.
pub async fn create(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let done = async {
        let access = Access::of(&state, &viewer.principal);
        access.authorize(UiAction::Register, None)?;
        let fields = checked_form(&state, &viewer, &headers, body)?;
        let values = FormValues::read(&fields);
        let input = match values.to_input(true) {
            Ok(input) => input,
            Err(error) => return Ok(refused(&viewer, &access, NEW, values, error)),
        };
        let outcome = if testing(&fields) {
            state
                .registry
                .try_connection(input, None)
                .await
                .map(Outcome::Tested)
        } else {
            let saved = state.registry.register(input).await;
            saved.map(|server| Outcome::Saved(server.path))
        };
        finish(&viewer, &access, NEW, values, outcome)
    };
    or_error_page(&state, &viewer, done.await)
}

/// `GET /ui/servers/{path}/edit`.
pub async fn edit_page(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(path): Path<String>,
) -> Response {
    let done = async {
        let (server, access) =
            authorized_server(&state, &viewer.principal, &path, UiAction::Modify).await?;
        let kind = edit_kind(&access, &server);
        let page = form_page(&viewer, &access, kind, FormValues::of(&server), None, None);
        Ok(render(StatusCode::OK, &page))
    };
    or_error_page(&state, &viewer, done.await)
}

/// `POST /ui/servers/{path}/edit`: saves, or tests the connection.
pub async fn save(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let done = async {
        let (server, access) =
            authorized_server(&state, &viewer.principal, &path, UiAction::Modify).await?;
        let kind = edit_kind(&access, &server);
        let fields = checked_form(&state, &viewer, &headers, body)?;
        let mut values = FormValues::read(&fields);
        values.path = server.path.clone();
        if !kind.can_toggle {
            values.enabled = server.enabled;
        }
        let stale = values.revision != server.revision.to_string();
        // The next save is made knowing the other change: it may overwrite it.
        values.revision = server.revision.to_string();
        let mut input = match values.to_input(false) {
            Ok(input) => input,
            Err(error) => return Ok(refused(&viewer, &access, kind, values, error)),
        };
        if !kind.can_toggle {
            input.enabled = None;
        }
        let outcome = if testing(&fields) {
            state
                .registry
                .try_connection(input, Some(&server.path))
                .await
                .map(Outcome::Tested)
        } else if stale {
            return Ok(refused(&viewer, &access, kind, values, changed_meanwhile()));
        } else {
            let saved = state.registry.update(&server.path, input).await;
            saved.map(|server| Outcome::Saved(server.path))
        };
        finish(&viewer, &access, kind, values, outcome)
    };
    or_error_page(&state, &viewer, done.await)
}

/// Whether the form's "Test connection" button sent it.
fn testing(fields: &Fields) -> bool {
    fields.get("intent") == Some("test")
}

/// An edit form for `server`: with the "Enabled" box only if the viewer may toggle it.
fn edit_kind(access: &Access, server: &Server) -> Kind {
    Kind {
        new: false,
        can_toggle: access.allows(UiAction::Toggle, Some(server_ref(server))),
    }
}

/// The refusal of an edit made from a revision someone else changed since.
fn changed_meanwhile() -> FieldError {
    FieldError {
        field: "revision".to_owned(),
        message: "someone else changed this server since you opened the form: your edits are \
                  kept below; look at the server's page in another tab, then save again to \
                  overwrite the other change"
            .to_owned(),
    }
}

/// After a save or a test: the server's page, the form with the test's outcome, or the
/// form with the refused field. Failures that are not the input's (the store is down)
/// are an error page.
fn finish(
    viewer: &Viewer,
    access: &Access,
    kind: Kind,
    values: FormValues,
    outcome: Result<Outcome, RegistryError>,
) -> Result<Response, ApiError> {
    let error = match outcome {
        Ok(Outcome::Saved(path)) => return Ok(see_other(&format!("/ui/servers/{path}"))),
        Ok(Outcome::Tested(checked)) => {
            let test = TestResult {
                healthy: checked.health.status == HealthState::Healthy,
                summary: checked.health.summary(),
                tools: checked
                    .tools
                    .unwrap_or_default()
                    .into_iter()
                    .map(|tool| tool.name)
                    .collect(),
            };
            let page = form_page(viewer, access, kind, values, None, Some(test));
            return Ok(render(StatusCode::OK, &page));
        }
        Err(RegistryError::Invalid { field, message }) => FieldError { field, message },
        Err(RegistryError::Conflict(path)) if kind.new => FieldError {
            field: "path".to_owned(),
            message: format!("'{path}' is taken by another server; choose another path"),
        },
        // An edit that kept losing to concurrent writers.
        Err(RegistryError::Conflict(_)) => changed_meanwhile(),
        Err(other) => return Err(ApiError::from(other)),
    };
    Ok(refused(viewer, access, kind, values, error))
}

/// The form again, with `error` at its field (422).
fn refused(
    viewer: &Viewer,
    access: &Access,
    kind: Kind,
    values: FormValues,
    error: FieldError,
) -> Response {
    let page = form_page(viewer, access, kind, values, Some(error), None);
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

fn form_page(
    viewer: &Viewer,
    access: &Access,
    kind: Kind,
    values: FormValues,
    error: Option<FieldError>,
    test: Option<TestResult>,
) -> FormPage {
    let (title, action) = if kind.new {
        ("Register a server".to_owned(), "/ui/servers/new".to_owned())
    } else {
        (
            format!("Edit {}", values.name),
            format!("/ui/servers/{}/edit", values.path),
        )
    };
    FormPage {
        frame: Frame::new(viewer, access, title, Section::Servers),
        new: kind.new,
        can_toggle: kind.can_toggle,
        values,
        error,
        test,
        action,
    }
}
