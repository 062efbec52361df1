//! Which server and endpoint a request path names, decided on the decoded, checked path.
//!
//! The raw path is percent-decoded segment by segment first. A path whose decoded form
//! has `.` or `..` segments, empty segments (`//`) or separators hidden in a segment
//! (`%2f`, `%5c`) is refused when it ends in an MCP endpoint: such paths mean different
//! things to different proxies, which is how one server's route reaches another's.

use percent_encoding::percent_decode_str;

use crate::error::GatewayError;

/// The endpoints a server has under `/{server}/…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/{server}/mcp`: Streamable HTTP.
    Mcp,
    /// `/{server}/sse`: the legacy SSE stream.
    Sse,
    /// `/{server}/messages`: where legacy SSE clients post.
    Messages,
}

impl Endpoint {
    fn parse(segment: &str) -> Option<Endpoint> {
        match segment {
            "mcp" => Some(Endpoint::Mcp),
            "sse" => Some(Endpoint::Sse),
            "messages" => Some(Endpoint::Messages),
            _ => None,
        }
    }
}

/// A request for one server's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The server's path (its registry key).
    pub server: String,
    /// The endpoint.
    pub endpoint: Endpoint,
}

/// Parses a raw request path. `Ok(None)` means "not an MCP route" (the API may serve it).
pub fn parse(raw_path: &str) -> Result<Option<Route>, GatewayError> {
    let Some(rest) = raw_path.strip_prefix('/') else {
        return Ok(None);
    };
    // One trailing slash is tolerated (`/weather/mcp/`), as reverse proxies commonly add it.
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let mut segments = Vec::new();
    let mut irregular = false;
    for raw in rest.split('/') {
        let decoded = percent_decode_str(raw).decode_utf8_lossy();
        if decoded.is_empty()
            || decoded == "."
            || decoded == ".."
            || decoded.contains(['/', '\\', '\0'])
        {
            irregular = true;
        }
        segments.push(decoded.into_owned());
    }
    let names_endpoint = segments
        .iter()
        .flat_map(|segment| segment.split(['/', '\\']))
        .last()
        .and_then(Endpoint::parse)
        .is_some();
    if irregular {
        return if names_endpoint {
            Err(GatewayError::BadPath(raw_path.to_owned()))
        } else {
            Ok(None)
        };
    }
    match segments.as_slice() {
        [server, endpoint] => Ok(Endpoint::parse(endpoint).map(|endpoint| Route {
            server: server.clone(),
            endpoint,
        })),
        _ => Ok(None),
    }
}

/// The endpoint of the aggregated server a raw path names (`/mcp`, `/sse`,
/// `/messages`, one trailing slash tolerated, percent-decoded), if any.
pub fn aggregate_endpoint(raw_path: &str) -> Option<Endpoint> {
    let rest = raw_path.strip_prefix('/')?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains('/') {
        return None;
    }
    Endpoint::parse(&percent_decode_str(rest).decode_utf8_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_endpoints() {
        assert_eq!(aggregate_endpoint("/mcp"), Some(Endpoint::Mcp));
        assert_eq!(aggregate_endpoint("/%6dcp/"), Some(Endpoint::Mcp));
        assert_eq!(aggregate_endpoint("/sse"), Some(Endpoint::Sse));
        assert_eq!(aggregate_endpoint("/messages/"), Some(Endpoint::Messages));
        assert_eq!(aggregate_endpoint("/a/mcp"), None);
        assert_eq!(aggregate_endpoint("/mcp%2f"), None);
        assert_eq!(aggregate_endpoint("/health"), None);
    }

    fn route(path: &str) -> Option<Route> {
        parse(path).unwrap()
    }

    #[test]
    fn plain_routes() {
        assert_eq!(
            route("/weather/mcp"),
            Some(Route {
                server: "weather".into(),
                endpoint: Endpoint::Mcp
            })
        );
        assert_eq!(route("/weather/sse").unwrap().endpoint, Endpoint::Sse);
        assert_eq!(
            route("/weather/messages/").unwrap().endpoint,
            Endpoint::Messages
        );
        assert_eq!(route("/w%65ather/mcp").unwrap().server, "weather");
        assert_eq!(route("/api/servers"), None);
        assert_eq!(route("/health"), None);
        assert_eq!(route("/a/b/mcp"), None);
    }

    #[test]
    fn ambiguous_paths_are_refused() {
        for path in [
            "/a/../b/mcp",
            "/a/%2e%2e/b/mcp",
            "/a/%2E%2E/b/sse",
            "/./b/mcp",
            "//b/mcp",
            "/b//mcp",
            "/a%2fb/mcp",
            "/b%2fmcp",
            "/b%5cmcp",
            "/a/.%2e/b/messages",
        ] {
            assert!(
                matches!(parse(path), Err(GatewayError::BadPath(_))),
                "{path}"
            );
        }
        // Irregular paths that do not name an MCP endpoint are left to the API (404 there).
        assert_eq!(route("/api/../health"), None);
    }
}
