//! Failures as pages: what went wrong in words, with the status the API would answer
//! (403 for a missing permission, 404 for an unknown server …) and the navigation.

use askama::Template;
use axum::response::Response;

use crate::access::Access;
use crate::ui::frame::{Frame, Section, render};
use crate::ui::viewer::Viewer;
use crate::{ApiError, AppState};

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    frame: Frame,
    heading: &'static str,
    message: String,
}

/// A handler's result as a response: the page it made, or its error as a page.
pub fn or_error_page(
    state: &AppState,
    viewer: &Viewer,
    result: Result<Response, ApiError>,
) -> Response {
    result.unwrap_or_else(|error| error_page(state, viewer, error))
}

/// `error` as a page for `viewer`.
pub fn error_page(state: &AppState, viewer: &Viewer, error: ApiError) -> Response {
    let access = Access::of(state, &viewer.principal);
    let heading = match error.status.as_u16() {
        403 => "Not allowed",
        404 => "Not found",
        400 | 409 | 422 => "That did not work",
        _ => "Something went wrong",
    };
    let page = ErrorPage {
        frame: Frame::new(viewer, &access, heading, Section::Elsewhere),
        heading,
        message: error.message,
    };
    render(error.status, &page)
}
