//! Talking to a provider's token and revocation endpoints for a user's connection: the
//! authorization code (with its PKCE verifier), refreshing (RFC 6749 §6), revoking
//! (RFC 7009).

use serde::Deserialize;

use super::endpoints::Endpoints;
use super::providers::ClientAuth;
use crate::egress::EgressError;

/// Longest token response read.
const MAX_RESPONSE: usize = 64 * 1024;

/// Tokens a provider issued.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The access token.
    pub access_token: String,
    /// A refresh token, if issued.
    pub refresh_token: Option<String>,
    /// Seconds until the access token expires, if said.
    pub expires_in: Option<i64>,
    /// The granted scopes, if said.
    pub scope: Option<String>,
}

/// A token endpoint's answer (RFC 6749 §5.1, §5.2). Some providers (GitHub) answer
/// errors with 200.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    refresh_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<i64>,
    scope: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Exchanges an authorization `code`.
pub async fn redeem_code(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
    resource: Option<&str>,
) -> Result<Issued, EgressError> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
    ];
    if let Some(resource) = resource {
        form.push(("resource", resource));
    }
    request(http, endpoints, form).await
}

/// Obtains a new access token with `refresh_token`.
pub async fn refresh(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    refresh_token: &str,
    resource: Option<&str>,
) -> Result<Issued, EgressError> {
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    if let Some(resource) = resource {
        form.push(("resource", resource));
    }
    request(http, endpoints, form).await
}

/// Asks the provider to revoke `token` (best effort: RFC 7009 answers 200 even for
/// unknown tokens; a failure is reported for the log).
pub async fn revoke(
    http: &reqwest::Client,
    endpoints: &Endpoints,
    token: &str,
    hint: &str,
) -> Result<(), EgressError> {
    let Some(url) = &endpoints.revocation else {
        return Ok(());
    };
    let form = vec![("token", token), ("token_type_hint", hint)];
    let response = authenticated(http.post(url), endpoints, form)
        .send()
        .await
        .map_err(|error| EgressError::Fetch {
            url: url.clone(),
            message: error.to_string(),
        })?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(EgressError::Fetch {
            url: url.clone(),
            message: format!("HTTP {}", response.status().as_u16()),
        })
    }
}

/// The client's authentication on `request` with `form`, as the provider takes it.
fn authenticated<'a>(
    request: reqwest::RequestBuilder,
    endpoints: &'a Endpoints,
    mut form: Vec<(&'a str, &'a str)>,
) -> reqwest::RequestBuilder {
    let request = request.header(reqwest::header::ACCEPT, "application/json");
    match (&endpoints.client_secret, endpoints.client_auth) {
        (Some(secret), ClientAuth::ClientSecretBasic) => {
            let encode = |part: &str| -> String {
                url::form_urlencoded::byte_serialize(part.as_bytes()).collect()
            };
            request
                .basic_auth(encode(&endpoints.client_id), Some(encode(secret)))
                .form(&form)
        }
        (Some(secret), ClientAuth::ClientSecretPost) => {
            form.push(("client_id", &endpoints.client_id));
            form.push(("client_secret", secret));
            request.form(&form)
        }
        (None, _) => {
            form.push(("client_id", &endpoints.client_id));
            request.form(&form)
        }
    }
}

async fn request<'a>(
    http: &reqwest::Client,
    endpoints: &'a Endpoints,
    form: Vec<(&'a str, &'a str)>,
) -> Result<Issued, EgressError> {
    let url = &endpoints.token;
    let failed = |message: String| EgressError::Fetch {
        url: url.clone(),
        message,
    };
    let response = authenticated(http.post(url), endpoints, form)
        .send()
        .await
        .map_err(|error| failed(error.to_string()))?;
    let status = response.status();
    let body: TokenResponse = crate::http_json::read_json(response, url, MAX_RESPONSE)
        .await
        .map_err(|error| {
            failed(format!(
                "HTTP {}: not a token response ({error})",
                status.as_u16()
            ))
        })?;
    if let Some(error) = body.error {
        return Err(EgressError::Refused {
            error,
            description: body.error_description,
        });
    }
    let access_token = match (status.is_success(), body.access_token) {
        (true, Some(token)) if !token.is_empty() => token,
        _ => {
            return Err(failed(format!(
                "HTTP {} without an access token",
                status.as_u16()
            )));
        }
    };
    if body
        .token_type
        .as_deref()
        .is_some_and(|kind| !kind.eq_ignore_ascii_case("bearer"))
    {
        return Err(failed("not a bearer token".into()));
    }
    Ok(Issued {
        access_token,
        refresh_token: body.refresh_token.filter(|token| !token.is_empty()),
        expires_in: body.expires_in.filter(|seconds| *seconds > 0),
        scope: body.scope,
    })
}
