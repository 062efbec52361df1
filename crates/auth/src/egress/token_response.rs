//! A token endpoint's answer (RFC 6749 §5.1, §5.2), read the same way for every grant the
//! gateway uses (client credentials, token exchange, authorization code, refresh): at most
//! a bounded size, an `error` as a refusal (some providers, GitHub, send it with 200), a
//! success only with a bearer access token.

use serde::Deserialize;

use super::EgressError;

/// Longest token response read (a token is a few kilobytes at most).
const MAX_RESPONSE: usize = 64 * 1024;

/// Tokens an authorization server issued.
#[derive(Clone)]
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

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

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

/// Reads the answer `response` of the token endpoint at `url`.
pub(crate) async fn read(response: reqwest::Response, url: &str) -> Result<Issued, EgressError> {
    let failed = |message: String| EgressError::Fetch {
        url: url.to_owned(),
        message,
    };
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

/// RFC 6749 §2.3.1: a client id and secret are form-encoded before Basic encoding.
pub(crate) fn form_encoded(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
