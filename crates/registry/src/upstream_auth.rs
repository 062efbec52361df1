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
}

/// Obtains the `Authorization` the upstream of a server with an egress mode needs.
#[async_trait]
pub trait UpstreamAuth: Send + Sync + 'static {
    /// The header value for `target`'s upstream (`Bearer …`), or why there is none.
    async fn authorization(&self, target: EgressTarget<'_>) -> Result<String, String>;

    /// The upstream refused the last one (401): the next call obtains a new one.
    async fn refused(&self, target: EgressTarget<'_>);

    /// The upstream answered `insufficient_scope` naming `scope`: later tokens carry it
    /// too. `true` when that changed anything (a retry may then succeed).
    async fn step_up(&self, target: EgressTarget<'_>, scope: &str) -> bool;
}

/// A shared [`UpstreamAuth`].
pub type SharedUpstreamAuth = Arc<dyn UpstreamAuth>;
