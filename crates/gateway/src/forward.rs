//! Building the upstream request and the client's response: which headers cross the
//! gateway and which stop at it.

use http::header::{self, HeaderMap, HeaderName};
use http::{Uri, request, response};

/// Headers that describe one connection, never the message (RFC 9110 §7.6.1).
const HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Removes hop-by-hop headers, including those the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(name);
    }
    headers.remove("proxy-connection");
}

/// Prepares the client's request head for the upstream: hop-by-hop headers, `Host`, the
/// gateway's own credentials and cookies removed; the server's configured headers added.
///
/// `keep_authorization` is the dual-token rule: when the caller authenticated to the
/// gateway with `X-Authorization`, its `Authorization` belongs to the upstream.
pub fn upstream_head(
    parts: &mut request::Parts,
    uri: Uri,
    configured: &HeaderMap,
    keep_authorization: bool,
) {
    let headers = &mut parts.headers;
    strip_hop_by_hop(headers);
    headers.remove(header::HOST);
    headers.remove(header::CONTENT_LENGTH);
    headers.remove(header::COOKIE);
    headers.remove(header::EXPECT);
    headers.remove("x-authorization");
    // Client-asserted identity and origin headers: an upstream might trust them.
    for name in [
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-real-ip",
    ] {
        headers.remove(name);
    }
    if !keep_authorization {
        headers.remove(header::AUTHORIZATION);
    }
    for (name, value) in configured {
        headers.insert(name.clone(), value.clone());
    }
    parts.uri = uri;
    parts.version = http::Version::HTTP_11;
}

/// Prepares the upstream's response head for the client. Cookies are dropped: the
/// gateway's origin also serves the API and the UI, and an upstream must not set cookies
/// there.
pub fn client_head(parts: &mut response::Parts) {
    strip_hop_by_hop(&mut parts.headers);
    parts.headers.remove(header::SET_COOKIE);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_named_headers_are_dropped() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, "close, x-secret".parse().unwrap());
        headers.insert("x-secret", "1".parse().unwrap());
        headers.insert("mcp-session-id", "s".parse().unwrap());
        headers.insert(header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        strip_hop_by_hop(&mut headers);
        assert_eq!(headers.len(), 1);
        assert!(headers.contains_key("mcp-session-id"));
    }
}
