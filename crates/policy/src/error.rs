//! Why a policy file was refused.

/// A `scopes.yml` that cannot be used. The previous good policy stays in force.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Not YAML, or YAML of the wrong shape, at a known place in the file.
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong there.
        message: String,
    },
    /// Well-formed YAML whose content makes no sense (a pattern that can never match, …).
    #[error("{0}")]
    Invalid(String),
    /// The file could not be read (reported by the caller that did the I/O).
    #[error("cannot read {path}: {message}")]
    Unreadable {
        /// The file.
        path: String,
        /// The operating system's reason.
        message: String,
    },
}
