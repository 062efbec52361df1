//! Errors of the registry and of its storage, each with the kind that decides its status.

/// Broad class of an error, so that transports (HTTP, CLI) map it without string matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The caller sent a value that breaks a rule; fixing the input fixes it.
    Invalid,
    /// The named server does not exist.
    NotFound,
    /// The request collides with existing state (duplicate path).
    Conflict,
    /// The backing store is unreachable or failing; retrying later may help.
    Unavailable,
    /// The database's disk is full; writes work again once space is freed.
    InsufficientStorage,
    /// Another service the operation reads (a peer registry to import from) failed.
    Upstream,
    /// A bug or corrupted data on our side.
    Internal,
}

/// Everything that can go wrong in a registry operation.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// A field of the input is invalid; `field` names it for the caller.
    #[error("invalid {field}: {message}")]
    Invalid {
        /// The offending field, as named in the API.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// No server has this path.
    #[error("server '{0}' not found")]
    NotFound(String),
    /// A server with this path already exists.
    #[error("a server with path '{0}' already exists")]
    Conflict(String),
    /// The server's versions outlive it, but cannot be made current again: only
    /// registering the server again publishes it.
    #[error("server '{0}' was removed from the registry; register it again to publish it")]
    Removed(String),
    /// The server may not be enabled: the tool scan disabled it and no admin approved it.
    #[error("server '{path}' stays disabled: {reason}")]
    Blocked {
        /// The server.
        path: String,
        /// Why (the scan's reason).
        reason: String,
    },
    /// A registry to import from could not be read (down, an error page, not JSON …).
    #[error("cannot read the registry {0}")]
    Upstream(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RegistryError {
    /// Shorthand for an [`RegistryError::Invalid`] error.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        RegistryError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            RegistryError::Invalid { .. } => ErrorKind::Invalid,
            RegistryError::NotFound(_) => ErrorKind::NotFound,
            RegistryError::Conflict(_)
            | RegistryError::Removed(_)
            | RegistryError::Blocked { .. } => ErrorKind::Conflict,
            RegistryError::Upstream(_) => ErrorKind::Upstream,
            RegistryError::Store(error) => error.kind(),
        }
    }
}

/// Failures of a [`crate::Store`] implementation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or refused the operation (disk full, connection lost …).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database's disk is full (SQLite's `SQLITE_FULL`, PostgreSQL's `disk_full`).
    #[error(
        "the database's disk is full: nothing more can be stored until space is freed on it \
         (what is stored stays, and registered servers keep being served)"
    )]
    Full,
    /// A row could not be decoded into the domain model.
    #[error("corrupt data in database: {0}")]
    Corrupt(String),
    /// The schema migration failed.
    #[error("database migration failed: {0}")]
    Migration(String),
}

impl StoreError {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::Unavailable(_) => ErrorKind::Unavailable,
            StoreError::Full => ErrorKind::InsufficientStorage,
            StoreError::Corrupt(_) | StoreError::Migration(_) => ErrorKind::Internal,
        }
    }
}
