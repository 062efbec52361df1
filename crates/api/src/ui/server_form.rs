//! Registering and editing a server in the browser: `GET|POST /ui/servers/new` and
//! `GET|POST /ui/servers/{path}/edit`. The form is validated by the registry itself (the
//! very rules of the REST API), and a refused field is shown next to the field with the
//! registry's message. "Test connection" checks the server as the form describes it,
//! storing nothing, and shows the outcome with the form kept as typed.

use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mcpgw_policy::UiAction;
use mcpgw_registry::{CheckOutcome, HealthState, RegistryError};

use crate::access::{Access, authorized_server};
use crate::ui::actions::checked_form;
use crate::ui::error::error_page;
use crate::ui::form_input::{FieldError, FormValues};
use crate::ui::frame::{Frame, Section, render, see_other};
use crate::ui::viewer::Viewer;
use crate::{ApiError, AppState};

/// What "test connection" found.
pub struct TestResult {
    /// Whether the server answered the MCP handshake and listed its tools.
    pub healthy: bool,
    /// One line: `healthy`, `unhealthy: connection refused` …
    pub summary: String,
    /// The tools it listed.
    pub tools: Vec<String>,
}

#[derive(Template)]
#[template(path = "server_form.html")]
struct FormPage {
    frame: Frame,
    new: bool,
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

    /// Whether a refused field is one the form has (else the message goes on top only).
    fn error_on_form(&self) -> bool {
        const FIELDS: [&str; 13] = [
            "path",
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
        self.error
            .as_ref()
            .is_some_and(|error| FIELDS.contains(&error.field.as_str()))
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
    let page = form_page(&viewer, &access, true, FormValues::blank(), None, None);
    render(StatusCode::OK, &page)
}

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
        let testing = fields.get("intent") == Some("test");
        let input = match values.to_input(true) {
            Ok(input) => input,
            Err(error) => return Ok(refused(&viewer, &access, true, values, error)),
        };
        let outcome = if testing {
            state.registry.try_connection(input, None).await.map(Some)
        } else {
            state.registry.register(input).await.map(|_| None)
        };
        finish(&viewer, &access, true, values, outcome)
    };
    done.await
        .unwrap_or_else(|error| error_page(&state, &viewer, error))
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
        let page = form_page(&viewer, &access, false, FormValues::of(&server), None, None);
        Ok(render(StatusCode::OK, &page))
    };
    done.await
        .unwrap_or_else(|error| error_page(&state, &viewer, error))
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
        let fields = checked_form(&state, &viewer, &headers, body)?;
        let mut values = FormValues::read(&fields);
        values.path = server.path.clone();
        let input = match values.to_input(false) {
            Ok(input) => input,
            Err(error) => return Ok(refused(&viewer, &access, false, values, error)),
        };
        let outcome = if fields.get("intent") == Some("test") {
            state
                .registry
                .try_connection(input, Some(&server.path))
                .await
                .map(Some)
        } else {
            state
                .registry
                .update(&server.path, input)
                .await
                .map(|_| None)
        };
        finish(&viewer, &access, false, values, outcome)
    };
    done.await
        .unwrap_or_else(|error| error_page(&state, &viewer, error))
}

/// After a save or a test: the server's page, the form with the test's outcome, or the
/// form with the refused field. Failures that are not the input's (the store is down)
/// are an error page.
fn finish(
    viewer: &Viewer,
    access: &Access,
    new: bool,
    values: FormValues,
    outcome: Result<Option<CheckOutcome>, RegistryError>,
) -> Result<Response, ApiError> {
    match outcome {
        Ok(None) => Ok(see_other(&format!("/ui/servers/{}", values.path.trim()))),
        Ok(Some(checked)) => {
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
            let page = form_page(viewer, access, new, values, None, Some(test));
            Ok(render(StatusCode::OK, &page))
        }
        Err(RegistryError::Invalid { field, message }) => Ok(refused(
            viewer,
            access,
            new,
            values,
            FieldError { field, message },
        )),
        Err(RegistryError::Conflict(path)) => Ok(refused(
            viewer,
            access,
            new,
            values,
            FieldError {
                field: "path".to_owned(),
                message: format!("'{path}' is taken by another server; choose another path"),
            },
        )),
        Err(other) => Err(ApiError::from(other)),
    }
}

/// The form again, with `error` at its field (422).
fn refused(
    viewer: &Viewer,
    access: &Access,
    new: bool,
    values: FormValues,
    error: FieldError,
) -> Response {
    let page = form_page(viewer, access, new, values, Some(error), None);
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

fn form_page(
    viewer: &Viewer,
    access: &Access,
    new: bool,
    values: FormValues,
    error: Option<FieldError>,
    test: Option<TestResult>,
) -> FormPage {
    let (title, action) = if new {
        ("Register a server".to_owned(), "/ui/servers/new".to_owned())
    } else {
        (
            format!("Edit {}", values.name),
            format!("/ui/servers/{}/edit", values.path),
        )
    };
    FormPage {
        frame: Frame::new(viewer, access, title, Section::Servers),
        new,
        values,
        error,
        test,
        action,
    }
}
