//! [`Problem`]: the registry API's errors, as the official registry sends them.
//!
//! The official registry answers errors with RFC 9457 problem details
//! (`application/problem+json`: `title`, `status`, `detail`), while its OpenAPI
//! description shows `{"error": "..."}`. A problem may carry extension members, so each
//! body has both: `detail` and `error` say the same thing, and a client written against
//! either shape reads it.

use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::ApiError;

/// The detail of every "no such server or version" answer, as the official registry
/// words it (for unknown servers, unknown versions and servers the caller may not list
/// alike, so that none tells a caller more than the others).
pub const NOT_FOUND: &str = "Server not found";

/// An error of the registry API.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    detail: String,
}

impl Problem {
    /// A problem with `status` and `detail`.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Problem {
            status,
            detail: detail.into(),
        }
    }

    /// 404 "Server not found".
    pub fn not_found() -> Self {
        Problem::new(StatusCode::NOT_FOUND, NOT_FOUND)
    }

    /// 400: a parameter the API cannot read.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 422: a parameter outside what the API accepts.
    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
    }
}

impl From<ApiError> for Problem {
    fn from(error: ApiError) -> Self {
        // A server the caller may not see is the 404 of an unknown one, in these words.
        if error.status == StatusCode::NOT_FOUND {
            return Problem::not_found();
        }
        Problem::new(error.status, error.message)
    }
}

impl From<mcpgw_registry::RegistryError> for Problem {
    fn from(error: mcpgw_registry::RegistryError) -> Self {
        Problem::from(ApiError::from(error))
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let body = json!({
            "title": title,
            "status": self.status.as_u16(),
            "detail": self.detail,
            "error": self.detail,
        });
        let mut response = (self.status, axum::Json(body)).into_response();
        response.headers_mut().insert(
            CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// Re-words the gateway's own JSON errors (`{"error": {"code", "message"}}`, from the
/// authentication in front of these routes) as problem details, so that every error of
/// the registry API has one shape; its other headers (`WWW-Authenticate`) are kept.
pub async fn reword_api_errors(response: Response) -> Response {
    let is_api_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if response.status().is_success() || !is_api_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return Problem::new(parts.status, "the error could not be read").into_response();
    };
    let message = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|body| body["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
    let problem = Problem::new(parts.status, message).into_response();
    let (problem_parts, problem_body) = problem.into_parts();
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    parts
        .headers
        .insert(CONTENT_TYPE, problem_parts.headers[CONTENT_TYPE].clone());
    Response::from_parts(parts, problem_body)
}
