//! The registry API's path parameters: a server's name (`io.example%2Fweather`, its `/`
//! percent-encoded) and a version (`1.0.0%2B3`), decoded, with a problem for what cannot
//! be decoded.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::problem::Problem;

/// `{serverName}`, decoded.
pub struct NamePath(pub String);

/// `{serverName}` and `{version}`, decoded.
pub struct NameVersionPath(pub String, pub String);

impl<S: Send + Sync> FromRequestParts<S> for NamePath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match axum::extract::Path::<String>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(name)) => Ok(NamePath(name)),
            Err(_) => Err(Problem::bad_request("Invalid server name encoding")),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for NameVersionPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        match axum::extract::Path::<(String, String)>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path((name, version))) => Ok(NameVersionPath(name, version)),
            Err(_) => Err(Problem::bad_request(
                "Invalid server name or version encoding",
            )),
        }
    }
}
