//! The `WWW-Authenticate` challenge of MCP routes (MCP authorization, RFC 9728 + RFC 6750):
//! a client that is refused learns where the resource's metadata is, and from there which
//! authorization server to get a token from.

use http::HeaderValue;
use mcpgw_auth::{AuthError, discovery};

use crate::error::GatewayError;
use crate::route::{Endpoint, Route};

/// The resource a route's endpoint is, as its metadata names it: `{server}/mcp` or
/// `{server}/sse` (the message endpoint belongs to the SSE resource).
pub fn resource_of(route: &Route) -> String {
    format!("{}/{}", route.server, endpoint_resource(route.endpoint))
}

/// The resource name of an endpoint of the aggregated server (`mcp` or `sse`).
pub fn endpoint_resource(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Mcp => "mcp",
        Endpoint::Sse | Endpoint::Messages => "sse",
    }
}

/// Where the protected-resource metadata of `resource` is served.
pub fn metadata_url(base: &str, resource: &str) -> String {
    discovery::metadata_url(base, resource)
}

/// The challenge for a 401 or 403 on `route`, if `error` calls for one.
pub fn challenge(error: &GatewayError, metadata: Option<&str>) -> Option<HeaderValue> {
    let mut parts: Vec<String> = Vec::new();
    match error {
        GatewayError::Unauthenticated(AuthError::MissingCredentials) => {}
        GatewayError::Unauthenticated(reason) => {
            parts.push("error=\"invalid_token\"".into());
            parts.push(format!(
                "error_description=\"{}\"",
                quoted(&reason.to_string())
            ));
        }
        GatewayError::Forbidden(_) | GatewayError::Refused { .. } => {
            parts.push("error=\"insufficient_scope\"".into())
        }
        _ => return None,
    }
    if let Some(metadata) = metadata {
        parts.push(format!("resource_metadata=\"{}\"", quoted(metadata)));
    }
    let value = if parts.is_empty() {
        "Bearer".to_owned()
    } else {
        format!("Bearer {}", parts.join(", "))
    };
    HeaderValue::from_str(&value).ok()
}

/// Text safe inside a quoted-string: no quotes, backslashes or control characters.
fn quoted(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == '"' || c == '\\' || c.is_control() {
                '\''
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_name_the_metadata_and_the_error() {
        let route = Route {
            server: "weather".into(),
            endpoint: Endpoint::Mcp,
        };
        let metadata = metadata_url("http://127.0.0.1:7860", &resource_of(&route));
        assert_eq!(
            metadata,
            "http://127.0.0.1:7860/.well-known/oauth-protected-resource/weather/mcp"
        );
        let missing = GatewayError::Unauthenticated(AuthError::MissingCredentials);
        assert_eq!(
            challenge(&missing, Some(&metadata)).unwrap(),
            format!("Bearer resource_metadata=\"{metadata}\"").as_str()
        );
        let expired =
            GatewayError::Unauthenticated(AuthError::Rejected("the \"token\" has expired".into()));
        let value = challenge(&expired, Some(&metadata)).unwrap();
        assert!(value.to_str().unwrap().starts_with(
            "Bearer error=\"invalid_token\", error_description=\"invalid token: the 'token' has expired\""
        ));
        let denied = GatewayError::Forbidden("no".into());
        let value = challenge(&denied, None).unwrap();
        assert!(value.to_str().unwrap().contains("insufficient_scope"));
        assert!(challenge(&GatewayError::Registry, None).is_none());
    }
}
