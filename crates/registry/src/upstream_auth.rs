//! Credentials the gateway obtains at run time for an upstream (its egress, issue 11),
//! for health checks and for traffic alike. The registry only asks; the data plane's
//! implementation discovers, requests and keeps the tokens.

use std::sync::Arc;

use async_trait::async_trait;

use crate::egress::Egress;

/// What an implementation needs to know of a server.
#[derive(Debug, Clone, Copy)]
pub struct EgressTarget<'a> {
    /// The server's path.
    pub path: &'a str,
    /// The revision of its definition (tokens of an older definition are not reused).
    pub revision: i64,
    /// Its upstream URL (the resource tokens are asked for).
    pub url: &'a str,
    /// Its egress configuration.
    pub egress: &'a Egress,
    /// On whose behalf the request goes (none for the gateway's own checks).
    pub caller: Option<EgressCaller<'a>>,
}

/// The caller a request goes on behalf of, as the egress modes need it.
#[derive(Debug, Clone, Copy)]
pub struct EgressCaller<'a> {
    /// Its owner key (`Principal::owner`): whose connections (`oauth-user`).
    pub owner: &'a str,
    /// The issuer of its JWT, when it brought one from a trusted identity provider.
    pub issuer: Option<&'a str>,
    /// That JWT (`token-exchange` exchanges it).
    pub token: Option<&'a str>,
}

/// What a request to the upstream carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    /// The `Authorization` value (`Bearer …`).
    pub authorization: String,
    /// More headers the provider wants (`X-Atlassian-Cloud-Id`, …).
    pub headers: Vec<(String, String)>,
}

/// Why a request cannot be authorised upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EgressFailure {
    /// The user has not connected their account at `provider` (or must again): they do
    /// so at `url`.
    Connect {
        /// The provider's display name.
        provider: String,
        /// Where to connect.
        url: String,
    },
    /// The caller's credential cannot be used for this server (said in words).
    Forbidden(String),
    /// Anything else, said in words.
    Failed(String),
}

impl std::fmt::Display for EgressFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EgressFailure::Connect { provider, url } => {
                write!(f, "connect your {provider} account first: {url}")
            }
            EgressFailure::Forbidden(reason) | EgressFailure::Failed(reason) => f.write_str(reason),
        }
    }
}

/// Obtains the `Authorization` the upstream of a server with an egress mode needs.
#[async_trait]
pub trait UpstreamAuth: Send + Sync + 'static {
    /// What a request to `target`'s upstream carries, or why it cannot go.
    async fn authorization(&self, target: EgressTarget<'_>) -> Result<Granted, EgressFailure>;

    /// The upstream refused the last one (401): the next call obtains a new one.
    async fn refused(&self, target: EgressTarget<'_>);

    /// The upstream answered `insufficient_scope` naming `scope`: later tokens carry it
    /// too. `true` when that changed anything (a retry may then succeed).
    async fn step_up(&self, target: EgressTarget<'_>, scope: &str) -> bool;
}

/// A shared [`UpstreamAuth`].
pub type SharedUpstreamAuth = Arc<dyn UpstreamAuth>;
