//! Talking to a provider's token and revocation endpoints for a user's connection: the
//! authorization code (with its PKCE verifier), refreshing (RFC 6749 §6), revoking
//! (RFC 7009).

use super::endpoints::Endpoints;
use super::providers::ClientAuth;
use crate::egress::EgressError;
use crate::egress::token_response::form_encoded;

pub use crate::egress::token_response::Issued;

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
        (Some(secret), ClientAuth::ClientSecretBasic) => request
            .basic_auth(
                form_encoded(&endpoints.client_id),
                Some(form_encoded(secret)),
            )
            .form(&form),
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
    crate::egress::token_response::read(response, url).await
}
