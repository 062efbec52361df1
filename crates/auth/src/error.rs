//! Why a request could not be authenticated.

/// Authentication failures. All of them mean HTTP 401; the message tells the caller what
/// to fix without revealing anything about valid credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` (or `X-Authorization`) header.
    #[error("missing credentials: send 'Authorization: Bearer <token>'")]
    MissingCredentials,
    /// The header is not `Bearer <token>`.
    #[error("malformed Authorization header: expected 'Bearer <token>'")]
    MalformedHeader,
    /// The token is not one the gateway accepts.
    #[error("invalid or expired token")]
    InvalidToken,
    /// A JWT that failed verification, with a reason safe to tell the caller.
    #[error("invalid token: {0}")]
    Rejected(String),
}

impl AuthError {
    /// A stable machine-readable code for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::MissingCredentials => "missing_credentials",
            AuthError::MalformedHeader => "malformed_credentials",
            AuthError::InvalidToken | AuthError::Rejected(_) => "invalid_token",
        }
    }
}
