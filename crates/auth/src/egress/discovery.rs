//! How an upstream server wants to be authorised: its RFC 9728 metadata (from the
//! `resource_metadata` of its `WWW-Authenticate` challenge, else the well-known URLs
//! derived from its own: path-based, then the root), then its authorization server's
//! RFC 8414 metadata (or OpenID Connect discovery, which MCP also allows, in its two
//! forms). Both documents are checked to be about what was asked for, so that a server
//! cannot send the gateway's credentials elsewhere.

use reqwest::header::ACCEPT;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::EgressError;

/// Longest metadata document read.
const MAX_DOCUMENT: usize = 256 * 1024;

/// An upstream's protected resource metadata (RFC 9728 §2), as far as a client needs it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ProtectedResource {
    /// The resource identifier: the value of the token request's `resource` parameter.
    pub resource: String,
    /// Issuers of the authorization servers that issue tokens for it.
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    /// Scopes it understands.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
}

/// An authorization server's metadata (RFC 8414 §2), as far as a client needs it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AuthorizationServer {
    /// Its issuer identifier.
    pub issuer: String,
    /// Where tokens are requested.
    pub token_endpoint: String,
    /// Grant types it supports (empty when it does not say).
    #[serde(default)]
    pub grant_types_supported: Vec<String>,
    /// Where users authorise (the authorization code flow).
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// RFC 7009 revocation.
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    /// PKCE methods (the MCP spec refuses a server that does not list S256).
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    /// How clients may authenticate at the token endpoint.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// Whether a client may be identified by the URL of its metadata document (CIMD).
    #[serde(default)]
    pub client_id_metadata_document_supported: bool,
    /// RFC 7591 dynamic client registration.
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    /// RFC 9207: its authorization responses always carry `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

/// Where the metadata of `resource` is (RFC 9728 §3.1): the well-known path inserted
/// between the host and the resource's path (`https://h/a/mcp` →
/// `https://h/.well-known/oauth-protected-resource/a/mcp`).
pub fn resource_metadata_url(resource: &str) -> Result<Url, EgressError> {
    inserted(resource, "oauth-protected-resource")
}

/// The `resource_metadata` URL of a `WWW-Authenticate: Bearer …` challenge, if it gives one.
pub fn resource_metadata_hint(challenge: &str) -> Option<String> {
    challenge_parameter(challenge, "resource_metadata")
}

/// What an upstream's answer to a request without credentials says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Challenge {
    /// Its `resource_metadata` (RFC 9728 §5.1).
    pub resource_metadata: Option<String>,
    /// The scopes it asks for, if it says.
    pub scope: Option<String>,
}

/// The upstream MCP endpoint `url`'s challenge to a request without credentials (a
/// `ping`), if it answers with a `WWW-Authenticate: Bearer` one.
pub async fn challenge(http: &reqwest::Client, url: &str) -> Option<Challenge> {
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":0,"method":"ping"}"#)
        .send()
        .await
        .ok()?;
    let header = response
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)?
        .to_str()
        .ok()?;
    header.trim().starts_with("Bearer").then(|| Challenge {
        resource_metadata: challenge_parameter(header, "resource_metadata"),
        scope: challenge_parameter(header, "scope"),
    })
}

/// The parameter `name` of a `WWW-Authenticate: Bearer …` challenge (RFC 6750 §3:
/// `error`, `scope`, `resource_metadata` …), unquoted, if the challenge has it.
pub fn challenge_parameter(challenge: &str, name: &str) -> Option<String> {
    let rest = challenge.trim().strip_prefix("Bearer")?;
    rest.split(',').find_map(|parameter| {
        let (key, value) = parameter.trim().split_once('=')?;
        (key.trim().eq_ignore_ascii_case(name)).then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// The metadata of the upstream MCP endpoint `resource`: from `hint` (the challenge's
/// `resource_metadata`) when given, else from the path-based well-known URL, else from
/// the root one (RFC 9728 §3.1, the MCP spec's order). Refused unless it names
/// `resource` itself or a resource containing it (the same origin, a prefix of its
/// path: metadata at the root describes the whole origin), and at least one
/// authorization server.
pub async fn protected_resource(
    http: &reqwest::Client,
    resource: &str,
    hint: Option<&str>,
) -> Result<ProtectedResource, EgressError> {
    let (url, metadata) = match hint {
        Some(hint) => {
            let url = parse(hint)?;
            let metadata: ProtectedResource = fetch(http, &url).await?;
            (url, metadata)
        }
        None => {
            let path_based = resource_metadata_url(resource)?;
            match fetch::<ProtectedResource>(http, &path_based).await {
                Ok(metadata) => (path_based, metadata),
                Err(first) => {
                    let mut root = parse(resource)?;
                    root.set_path("/.well-known/oauth-protected-resource");
                    root.set_query(None);
                    if root == path_based {
                        return Err(first);
                    }
                    let metadata: ProtectedResource = fetch(http, &root).await?;
                    (root, metadata)
                }
            }
        }
    };
    if !covers(&metadata.resource, resource) {
        return Err(EgressError::Mismatch(format!(
            "the metadata at {url} is about {}, not {resource}",
            metadata.resource
        )));
    }
    if metadata.authorization_servers.is_empty() {
        return Err(EgressError::Mismatch(format!(
            "the metadata at {url} names no authorization server"
        )));
    }
    Ok(metadata)
}

/// The metadata of the authorization server `issuer`: RFC 8414's well-known URL first,
/// then OpenID Connect discovery with the well-known part inserted before the issuer's
/// path, then appended to it (the MCP spec's order; the last two are the same for an
/// issuer without a path). Refused unless it names `issuer` itself.
pub async fn authorization_server(
    http: &reqwest::Client,
    issuer: &str,
) -> Result<AuthorizationServer, EgressError> {
    let oauth = inserted(issuer, "oauth-authorization-server")?;
    let openid_inserted = inserted(issuer, "openid-configuration")?;
    let openid_appended = parse(&format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    ))?;
    let mut urls = vec![oauth, openid_inserted];
    if !urls.contains(&openid_appended) {
        urls.push(openid_appended);
    }
    let mut failure = None;
    for url in urls {
        match fetch::<AuthorizationServer>(http, &url).await {
            Ok(metadata)
                if metadata.issuer.trim_end_matches('/') == issuer.trim_end_matches('/') =>
            {
                return Ok(metadata);
            }
            Ok(metadata) => {
                return Err(EgressError::Mismatch(format!(
                    "the metadata at {url} is for issuer {}, not {issuer}",
                    metadata.issuer
                )));
            }
            Err(error) => failure = Some(error),
        }
    }
    Err(failure.unwrap_or_else(|| EgressError::Fetch {
        url: issuer.to_owned(),
        message: "no metadata".into(),
    }))
}

/// `base` with `/.well-known/{name}` inserted between its host and its path.
fn inserted(base: &str, name: &str) -> Result<Url, EgressError> {
    let mut url = parse(base)?;
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("/.well-known/{name}{path}"));
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// Whether metadata about resource `described` covers the endpoint `asked`: the same
/// identifier (a trailing slash aside), or one of the same origin whose path is a
/// whole-segment prefix of its path.
fn covers(described: &str, asked: &str) -> bool {
    let (described, asked) = (described.trim_end_matches('/'), asked.trim_end_matches('/'));
    if described == asked {
        return true;
    }
    let (Ok(described), Ok(asked)) = (Url::parse(described), Url::parse(asked)) else {
        return false;
    };
    let prefix = described.path().trim_end_matches('/');
    described.origin() == asked.origin()
        && described.query().is_none()
        && described.fragment().is_none()
        && (prefix.is_empty()
            || asked.path() == prefix
            || asked.path().starts_with(&format!("{prefix}/")))
}

fn parse(text: &str) -> Result<Url, EgressError> {
    let url = Url::parse(text).map_err(|error| EgressError::Url {
        url: text.to_owned(),
        message: error.to_string(),
    })?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(EgressError::Url {
            url: text.to_owned(),
            message: "only http and https".into(),
        });
    }
    Ok(url)
}

/// GETs `url` as JSON (at most [`MAX_DOCUMENT`] bytes, success statuses only).
async fn fetch<T: DeserializeOwned>(http: &reqwest::Client, url: &Url) -> Result<T, EgressError> {
    let failed = |message: String| EgressError::Fetch {
        url: url.to_string(),
        message,
    };
    let response = http
        .get(url.clone())
        .header(ACCEPT, "application/json")
        .send()
        .await
        .map_err(|error| failed(crate::http_json::transport_error(&error)))?;
    if !response.status().is_success() {
        return Err(failed(format!("HTTP {}", response.status().as_u16())));
    }
    crate::http_json::read_json(response, url.as_str(), MAX_DOCUMENT)
        .await
        .map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_urls_are_inserted_before_the_path() {
        assert_eq!(
            resource_metadata_url("https://h.example/a/mcp")
                .unwrap()
                .as_str(),
            "https://h.example/.well-known/oauth-protected-resource/a/mcp"
        );
        assert_eq!(
            resource_metadata_url("http://127.0.0.1:9/mcp?x=1")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            inserted("https://as.example/tenant/", "oauth-authorization-server")
                .unwrap()
                .as_str(),
            "https://as.example/.well-known/oauth-authorization-server/tenant"
        );
        assert!(resource_metadata_url("file:///etc/passwd").is_err());
    }

    #[test]
    fn metadata_covers_its_resource_and_what_lies_below_it() {
        assert!(covers("http://h:1/mcp/", "http://h:1/mcp"));
        assert!(covers("http://h:1", "http://h:1/mcp"));
        assert!(covers("http://h:1/a", "http://h:1/a/mcp"));
        assert!(!covers("http://h:1/a", "http://h:1/ab/mcp"));
        assert!(!covers("https://evil.example.com/mcp", "http://h:1/mcp"));
        assert!(!covers("http://h:2", "http://h:1/mcp"));
        assert!(!covers("http://h:1/mcp/deeper", "http://h:1/mcp"));
    }

    #[test]
    fn the_challenge_names_the_metadata() {
        assert_eq!(
            resource_metadata_hint(
                r#"Bearer error="invalid_token", resource_metadata="https://h/.well-known/oauth-protected-resource/a/mcp""#
            )
            .as_deref(),
            Some("https://h/.well-known/oauth-protected-resource/a/mcp")
        );
        assert_eq!(resource_metadata_hint("Basic realm=\"x\""), None);
        let step_up = r#"Bearer error="insufficient_scope", scope="a b""#;
        assert_eq!(
            challenge_parameter(step_up, "error").as_deref(),
            Some("insufficient_scope")
        );
        assert_eq!(
            challenge_parameter(step_up, "SCOPE").as_deref(),
            Some("a b")
        );
        assert_eq!(resource_metadata_hint("Bearer realm=\"x\""), None);
    }
}
