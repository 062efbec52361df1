//! Connecting: the authorization code flow with PKCE (S256), `state` bound to the browser
//! (a cookie, the caller's) and to the signed-in user, and the RFC 9207 `iss` check.

use base64::Engine;
use sha2::{Digest, Sha256};

use super::store::{ConnectFlow, ConnectionRecord};
use super::{
    CONNECT_FLOW_TTL_SECS, ConnectError, ConnectTarget, Started, UserConnections,
    refused_or_unavailable, token_endpoint,
};
use crate::login::Callback;
use crate::session::{digest, random_token};

impl UserConnections {
    /// Starts connecting `owner`'s account for `target`; the browser continues to `next`
    /// (a local path) once connected.
    pub async fn start(
        &self,
        owner: &str,
        target: ConnectTarget<'_>,
        next: String,
        now: i64,
    ) -> Result<Started, ConnectError> {
        let provider = self.provider(target.provider)?;
        let endpoints = self.endpoints(provider, target.url).await?;
        let verifier = random_token();
        let state = random_token();
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        let resource = endpoints.resource.clone();
        let flow = ConnectFlow {
            state_hash: digest(&state),
            owner: owner.to_owned(),
            server: target.server.to_owned(),
            provider: provider.name.clone(),
            server_url: target.url.to_owned(),
            issuer: endpoints.issuer.clone(),
            verifier,
            redirect_uri: self.redirect_uri(),
            resource: resource.clone(),
            next,
            expires_at: now + CONNECT_FLOW_TTL_SECS,
        };
        self.store
            .insert_connect_flow(&flow)
            .await
            .map_err(ConnectError::Store)?;
        let mut scopes = endpoints.scopes.clone();
        for scope in target.scope.unwrap_or_default().split_whitespace() {
            if !scopes.iter().any(|held| held == scope) {
                scopes.push(scope.to_owned());
            }
        }
        let mut location = reqwest::Url::parse(&endpoints.authorization)
            .map_err(|error| ConnectError::Unavailable(format!("authorization_url: {error}")))?;
        {
            let mut query = location.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &endpoints.client_id)
                .append_pair("redirect_uri", &flow.redirect_uri)
                .append_pair("state", &state)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            if !scopes.is_empty() {
                query.append_pair("scope", &scopes.join(" "));
            }
            if let Some(resource) = &resource {
                query.append_pair("resource", resource);
            }
            for (name, value) in &provider.authorization_params {
                query.append_pair(name, value);
            }
        }
        Ok(Started {
            location: location.into(),
            state,
        })
    }

    /// Finishes a connect flow from the provider's `callback`: `cookie_state` must be its
    /// `state`, and `owner` (who is signed in in this browser) the user who started it.
    /// Returns the server and where the browser goes next.
    pub async fn finish(
        &self,
        callback: Callback,
        cookie_state: Option<&str>,
        owner: &str,
        now: i64,
    ) -> Result<(String, String), ConnectError> {
        let state = callback.state.as_deref().ok_or(ConnectError::BadState)?;
        if cookie_state != Some(state) {
            return Err(ConnectError::BadState);
        }
        let flow = self
            .store
            .take_connect_flow(&digest(state))
            .await
            .map_err(ConnectError::Store)?
            .filter(|flow| now < flow.expires_at && flow.owner == owner)
            .ok_or(ConnectError::BadState)?;
        let provider = self.provider(&flow.provider)?;
        let endpoints = self.endpoints(provider, &flow.server_url).await?;
        // The code and the verifier go only to the authorization server the user was sent
        // to.
        if endpoints.issuer != flow.issuer {
            return Err(ConnectError::Refused(
                "the server's authorization server changed during the flow; start again".into(),
            ));
        }
        // RFC 9207: a response naming another issuer is a mix-up attack; one without is
        // refused where the authorization server says it always names itself.
        match (&callback.iss, &endpoints.issuer) {
            (Some(iss), Some(expected)) if iss != expected => {
                return Err(ConnectError::Refused(format!(
                    "the response names issuer '{iss}', not '{expected}'"
                )));
            }
            (None, _) if endpoints.requires_iss => {
                return Err(ConnectError::Refused(
                    "the response does not name its issuer (RFC 9207), which its \
                     authorization server promises"
                        .into(),
                ));
            }
            _ => {}
        }
        if let Some(error) = callback.error {
            let description = callback.error_description.unwrap_or_default();
            return Err(ConnectError::Refused(
                format!("{error} {description}").trim().to_owned(),
            ));
        }
        let code = callback
            .code
            .ok_or_else(|| ConnectError::Refused("the response has no code".into()))?;
        let issued = token_endpoint::redeem_code(
            &self.http,
            &endpoints,
            &code,
            &flow.verifier,
            &flow.redirect_uri,
            flow.resource.as_deref(),
        )
        .await
        .map_err(refused_or_unavailable)?;
        let record = ConnectionRecord {
            owner: flow.owner.clone(),
            server: flow.server.clone(),
            provider: flow.provider.clone(),
            server_url: flow.server_url.clone(),
            issuer: flow.issuer.clone(),
            resource: flow.resource.clone(),
            access_token: issued.access_token,
            refresh_token: issued.refresh_token,
            expires_at: issued.expires_in.map(|seconds| now + seconds),
            scope: issued.scope,
            created_at: now,
            refreshed_at: now,
        };
        self.store
            .put_connection(&record)
            .await
            .map_err(ConnectError::Store)?;
        self.forget(&flow.owner, &flow.server);
        tracing::info!(owner = %flow.owner, server = %flow.server, provider = %flow.provider, "user connected an account");
        Ok((flow.server, flow.next))
    }
}
