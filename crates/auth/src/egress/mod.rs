//! The gateway as an OAuth client of the servers behind it (issue 11): finding out how an
//! upstream MCP server wants to be authorised (RFC 9728 protected resource metadata, then
//! RFC 8414 authorization server metadata, as the MCP authorization spec prescribes), and
//! obtaining and keeping tokens for it with the gateway's own client credentials
//! (RFC 6749 §4.4, with the RFC 8707 `resource` parameter).
//!
//! This is the client half; which servers use it, and with which credentials, is the
//! egress configuration's business.

pub mod client_credentials;
pub mod discovery;
pub mod token_exchange;
pub mod token_response;
pub mod user;

/// Everything that can go wrong while discovering or obtaining a token.
#[derive(Debug, thiserror::Error)]
pub enum EgressError {
    /// A URL the metadata or the configuration gives is not usable.
    #[error("invalid URL {url}: {message}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// A metadata or token endpoint could not be reached or answered garbage.
    #[error("{url}: {message}")]
    Fetch {
        /// What was asked.
        url: String,
        /// What happened.
        message: String,
    },
    /// The metadata does not describe what was asked for (another resource or issuer:
    /// RFC 9728 §3.3 and RFC 8414 §3.3 require refusing it).
    #[error("{0}")]
    Mismatch(String),
    /// The authorization server refused the token request.
    #[error("the authorization server refused the token: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Refused {
        /// The OAuth error code (`invalid_client`, `invalid_scope` …).
        error: String,
        /// Its description, if given.
        description: Option<String>,
    },
}
