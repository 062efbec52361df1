//! MCP authorization discovery (RFC 9728, OAuth 2.0 Protected Resource Metadata): the
//! URLs a refused client is pointed to, and the metadata served there, naming the
//! authorization servers (the trusted issuers) where it can get a token.

use http::{HeaderMap, header::HOST};
use serde_json::{Value, json};

/// Where protected-resource metadata lives, below the gateway's base URL.
pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

/// The gateway's externally visible base URL: the configured public URL, else what the
/// client called (`Host`; the gateway itself speaks plain HTTP).
pub fn base_url(public_url: Option<&str>, headers: &HeaderMap) -> Option<String> {
    if let Some(public) = public_url {
        return Some(public.trim_end_matches('/').to_owned());
    }
    let host = headers.get(HOST)?.to_str().ok()?;
    // A Host with anything but host[:port] characters is not echoed into a URL.
    let plain = !host.is_empty()
        && host
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b".-:[]".contains(&byte));
    plain.then(|| format!("http://{host}"))
}

/// The metadata URL of the resource at `resource_path` (`weather/mcp`), or of the gateway
/// as a whole when it is empty.
pub fn metadata_url(base: &str, resource_path: &str) -> String {
    if resource_path.is_empty() {
        format!("{base}{METADATA_PATH}")
    } else {
        format!("{base}{METADATA_PATH}/{resource_path}")
    }
}

/// The metadata document of the resource at `resource_path` under `base`.
pub fn resource_metadata(base: &str, resource_path: &str, issuers: &[String]) -> Value {
    let resource = if resource_path.is_empty() {
        base.to_owned()
    } else {
        format!("{base}/{resource_path}")
    };
    json!({
        "resource": resource,
        "authorization_servers": issuers,
        "bearer_methods_supported": ["header"],
        "resource_name": "mcpgw",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn base_urls_come_from_the_public_url_or_a_plain_host() {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("127.0.0.1:7860"));
        assert_eq!(
            base_url(None, &headers).as_deref(),
            Some("http://127.0.0.1:7860")
        );
        assert_eq!(
            base_url(Some("https://mcp.example.com/"), &headers).as_deref(),
            Some("https://mcp.example.com")
        );
        headers.insert(HOST, HeaderValue::from_static("evil\"host"));
        assert_eq!(base_url(None, &headers), None);
        assert_eq!(
            metadata_url("http://h", "weather/mcp"),
            "http://h/.well-known/oauth-protected-resource/weather/mcp"
        );
        let document = resource_metadata("http://h", "weather/mcp", &["https://idp".into()]);
        assert_eq!(document["resource"], "http://h/weather/mcp");
        assert_eq!(document["authorization_servers"][0], "https://idp");
    }
}
