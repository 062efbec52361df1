//! Where a user's connection to one server is made and renewed: a configured provider's
//! endpoints as they are, or (`mcp` preset) what the server itself says, found out as the
//! MCP authorization spec describes — its challenge (the `resource_metadata` and `scope`
//! of its 401), its protected-resource metadata, its authorization server's metadata —
//! with the gateway identified, where no client id is configured, by its Client ID
//! Metadata Document if the authorization server takes one, else by a client it registers
//! there (RFC 7591), kept in the database so that it outlives a restart.

use serde::Deserialize;

use super::ConnectError;
use super::providers::{ClientAuth, Provider};
use super::store::{ConnectionStore, Registration};
use crate::egress::discovery::{self, AuthorizationServer};

/// Longest registration answer read.
const MAX_REGISTRATION: usize = 64 * 1024;

/// Who the gateway is, as a client: its metadata document and where it comes back to.
#[derive(Debug, Clone, Copy)]
pub struct ClientIdentity<'a> {
    /// Its Client ID Metadata Document's URL.
    pub metadata_url: &'a str,
    /// Its callback.
    pub redirect_uri: &'a str,
}

/// Everything a connect flow, a refresh and a revocation need, for one server.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The authorization endpoint.
    pub authorization: String,
    /// The token endpoint.
    pub token: String,
    /// The revocation endpoint, if any.
    pub revocation: Option<String>,
    /// The issuer a callback must name (RFC 9207), if known.
    pub issuer: Option<String>,
    /// Whether a callback without `iss` is refused (the server promises to send it).
    pub requires_iss: bool,
    /// The client id to present (a metadata document's URL, for CIMD).
    pub client_id: String,
    /// The client secret, for a confidential client.
    pub client_secret: Option<String>,
    /// How the secret is presented.
    pub client_auth: ClientAuth,
    /// The scopes to ask for (the server's own are added by the caller).
    pub scopes: Vec<String>,
    /// The RFC 8707 resource, when one is sent.
    pub resource: Option<String>,
}

impl Endpoints {
    /// A configured provider's endpoints, for the server at `url`.
    pub fn configured(provider: &Provider, url: &str) -> Result<Endpoints, ConnectError> {
        let client_id = provider.client_id.clone().ok_or_else(|| {
            ConnectError::Unavailable(format!("provider '{}' has no client_id", provider.name))
        })?;
        Ok(Endpoints {
            authorization: provider.authorization_url.clone(),
            token: provider.token_url.clone(),
            revocation: provider.revocation_url.clone(),
            issuer: provider.issuer.clone(),
            requires_iss: false,
            client_id,
            client_secret: provider.client_secret.clone(),
            client_auth: provider.client_auth,
            scopes: provider.scopes.clone(),
            resource: provider.send_resource.then(|| canonical_resource(url)),
        })
    }
}

impl std::fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoints")
            .field("authorization", &self.authorization)
            .field("token", &self.token)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("resource", &self.resource)
            .finish_non_exhaustive()
    }
}

/// A server URL as an RFC 8707 resource: without credentials, query or fragment (a URL
/// may carry a password or a key; the resource is shown to the browser and the
/// authorization server).
pub fn canonical_resource(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.into()
        }
        Err(_) => url.to_owned(),
    }
}

/// Finds out the endpoints of the MCP server at `url` (an `mcp` provider), registering
/// the gateway as a client where it must (kept in `store`).
pub async fn discover(
    http: &reqwest::Client,
    provider: &Provider,
    url: &str,
    identity: ClientIdentity<'_>,
    store: &dyn ConnectionStore,
) -> Result<Endpoints, ConnectError> {
    let unavailable =
        |what: &str, error: String| ConnectError::Unavailable(format!("{url}: {what}: {error}"));
    let challenge = discovery::challenge(http, url).await.unwrap_or_default();
    let resource = discovery::protected_resource(http, url, challenge.resource_metadata.as_deref())
        .await
        .map_err(|error| unavailable("protected resource metadata", error.to_string()))?;
    let issuer = resource.authorization_servers.first().ok_or_else(|| {
        unavailable(
            "protected resource metadata",
            "no authorization server".into(),
        )
    })?;
    let server = discovery::authorization_server(http, issuer)
        .await
        .map_err(|error| unavailable("authorization server metadata", error.to_string()))?;
    // A configured secret goes only to the authorization server it was issued by.
    if let Some(pinned) = &provider.issuer
        && *pinned != server.issuer
    {
        return Err(unavailable(
            "authorization server",
            format!(
                "it is {}, but provider '{}' is pinned to {pinned}",
                server.issuer, provider.name
            ),
        ));
    }
    let authorization = server.authorization_endpoint.clone().ok_or_else(|| {
        unavailable(
            "authorization server metadata",
            "no authorization_endpoint".into(),
        )
    })?;
    // Codes, verifiers, secrets and tokens travel to these: https only (http on loopback).
    let endpoints = [
        Some(&authorization),
        Some(&server.token_endpoint),
        server.registration_endpoint.as_ref(),
        server.revocation_endpoint.as_ref(),
    ];
    if let Some(insecure) = endpoints
        .into_iter()
        .flatten()
        .find(|url| !crate::jwt::secure_or_loopback(url))
    {
        return Err(unavailable(
            "authorization server metadata",
            format!("{insecure} is not https (http only on loopback)"),
        ));
    }
    // The MCP spec: without S256 listed, PKCE cannot be relied on, so no flow starts.
    if !server
        .code_challenge_methods_supported
        .iter()
        .any(|method| method == "S256")
    {
        return Err(unavailable(
            "authorization server metadata",
            "it does not list PKCE S256 (code_challenge_methods_supported)".into(),
        ));
    }
    let (client_id, client_secret, client_auth) =
        client_of(http, provider, &server, identity, store).await?;
    // The challenge's scopes, else every scope the resource lists, else none.
    let scopes: Vec<String> = match challenge.scope {
        Some(scope) => scope.split_whitespace().map(str::to_owned).collect(),
        None => resource.scopes_supported.clone(),
    };
    Ok(Endpoints {
        authorization,
        token: server.token_endpoint,
        revocation: server.revocation_endpoint,
        requires_iss: server.authorization_response_iss_parameter_supported,
        issuer: Some(server.issuer),
        client_id,
        client_secret,
        client_auth,
        scopes,
        resource: Some(resource.resource),
    })
}

/// The client the gateway is at `server`: the configured one; else its metadata
/// document, if the server takes those; else the one registered there (once, kept).
async fn client_of(
    http: &reqwest::Client,
    provider: &Provider,
    server: &AuthorizationServer,
    identity: ClientIdentity<'_>,
    store: &dyn ConnectionStore,
) -> Result<(String, Option<String>, ClientAuth), ConnectError> {
    if let Some(client_id) = &provider.client_id {
        let auth = auth_method(
            &server.token_endpoint_auth_methods_supported,
            provider.client_auth,
        );
        return Ok((client_id.clone(), provider.client_secret.clone(), auth));
    }
    if server.client_id_metadata_document_supported {
        let client_id = provider
            .client_metadata_url
            .clone()
            .unwrap_or_else(|| identity.metadata_url.to_owned());
        return Ok((client_id, None, ClientAuth::ClientSecretBasic));
    }
    let Some(endpoint) = &server.registration_endpoint else {
        return Err(ConnectError::Unavailable(format!(
            "{}: takes neither client metadata documents nor registrations; configure \
             client_id for provider '{}'",
            server.issuer, provider.name
        )));
    };
    let registration = match store
        .get_registration(&provider.name, &server.issuer, identity.redirect_uri)
        .await
        .map_err(ConnectError::Store)?
    {
        Some(registration) => registration,
        None => {
            let made = register(http, endpoint, server, identity).await?;
            let registration = Registration {
                provider: provider.name.clone(),
                issuer: server.issuer.clone(),
                redirect_uri: identity.redirect_uri.to_owned(),
                client_id: made.client_id,
                client_secret: made.client_secret.filter(|secret| !secret.is_empty()),
                auth_method: made.token_endpoint_auth_method,
            };
            tracing::info!(provider = %provider.name, issuer = %server.issuer, "registered the gateway as a client (RFC 7591)");
            store
                .put_registration(&registration)
                .await
                .map_err(ConnectError::Store)?
        }
    };
    let auth = match registration.auth_method.as_deref() {
        Some("client_secret_post") => ClientAuth::ClientSecretPost,
        _ => ClientAuth::ClientSecretBasic,
    };
    let secret = registration
        .client_secret
        .filter(|_| registration.auth_method.as_deref() != Some("none"));
    Ok((registration.client_id, secret, auth))
}

/// How to present a configured secret: as configured, else as the server prefers.
fn auth_method(supported: &[String], configured: ClientAuth) -> ClientAuth {
    let offers = |name: &str| supported.iter().any(|method| method == name);
    if configured == ClientAuth::ClientSecretPost
        || (!offers("client_secret_basic") && offers("client_secret_post"))
    {
        ClientAuth::ClientSecretPost
    } else {
        ClientAuth::ClientSecretBasic
    }
}

/// An RFC 7591 registration answer, as far as the gateway needs it.
#[derive(Deserialize)]
struct Registered {
    client_id: String,
    client_secret: Option<String>,
    token_endpoint_auth_method: Option<String>,
}

/// Registers the gateway at `endpoint` as a client signing users in with the
/// authorization code flow and coming back to its callback.
async fn register(
    http: &reqwest::Client,
    endpoint: &str,
    server: &AuthorizationServer,
    identity: ClientIdentity<'_>,
) -> Result<Registered, ConnectError> {
    let method = if server
        .token_endpoint_auth_methods_supported
        .iter()
        .any(|method| method == "client_secret_basic")
        || server.token_endpoint_auth_methods_supported.is_empty()
    {
        "client_secret_basic"
    } else {
        server.token_endpoint_auth_methods_supported[0].as_str()
    };
    let failed = |message: String| {
        ConnectError::Unavailable(format!("client registration at {endpoint}: {message}"))
    };
    let response = http
        .post(endpoint)
        .json(&serde_json::json!({
            "client_name": "mcpgw",
            "redirect_uris": [identity.redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": method,
        }))
        .send()
        .await
        .map_err(|error| failed(error.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("HTTP {}", response.status().as_u16())));
    }
    crate::http_json::read_json(response, endpoint, MAX_REGISTRATION)
        .await
        .map_err(failed)
}
