//! The tool-poisoning scan (issue 13): what a server's tools tell a model, read for
//! attacks on that model before any agent reads it.
//!
//! The built-in rules are pure functions of the tools (and of the other servers' tools and
//! the admin's approval): hidden Unicode ([`unicode`]), instructions aimed at the model
//! ([`instructions`]), names and descriptions that shadow another server's tools
//! ([`shadowing`]), and changes since an admin approved the server ([`rug_pull`]). An
//! external scanner command ([`external`]) may add its own findings. [`ToolScan`] runs them
//! whenever a server's tool list changes and decides whether the server must be disabled
//! until an admin approves it; the registry ([`crate::RegistryService`]) stores the result
//! through [`ScanStore`].

mod capture;
pub mod external;
mod fields;
mod instructions;
mod normalize;
mod observed;
mod rug_pull;
mod scanner;
mod service;
mod shadowing;
mod store;
#[cfg(test)]
mod test_support;
mod unicode;

use serde::{Deserialize, Serialize};

pub use external::{ExternalScanner, ScannerInput};
pub use observed::unseen_tools;
pub use rug_pull::{Approval, ToolDigest, tool_digests, tools_digest};
pub use scanner::{ScanSettings, ToolScan, builtin_findings};
pub use service::{ApprovalInfo, ScanReport};
pub use store::{ScanRecord, ScanStore, ScanSummary};

/// How much a finding matters. Ordered: `Low < Medium < High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look (an odd character, a tool that went away).
    Low,
    /// Suspicious but common enough in honest servers not to act on alone.
    Medium,
    /// An attack on the model, or a change nobody approved: disables the server (by default).
    High,
}

impl Severity {
    /// The name used in the API, storage and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// Parses [`Severity::as_str`]'s names (any case).
    pub fn parse(name: &str) -> Option<Severity> {
        match name.trim().to_ascii_lowercase().as_str() {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            _ => None,
        }
    }
}

/// One thing the scan found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Which rule found it (`hidden-unicode`, `ignore-instructions`, `rug-pull` …;
    /// `external:<rule>` for the external scanner's).
    pub rule: String,
    /// How much it matters.
    pub severity: Severity,
    /// The tool it is about, if any.
    pub tool: Option<String>,
    /// Where in the tool (`description`, `inputSchema.properties.path.description` …).
    pub field: Option<String>,
    /// The offending text, with invisible characters spelled out (`<U+200B>`), shortened.
    pub excerpt: Option<String>,
    /// What is wrong, for people.
    pub message: String,
}

impl Finding {
    /// A finding of `rule` about `tool`'s `field`.
    pub(crate) fn new(
        rule: &str,
        severity: Severity,
        tool: &str,
        field: &str,
        excerpt: Option<String>,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            rule: rule.to_owned(),
            severity,
            tool: Some(tool.to_owned()),
            field: Some(field.to_owned()),
            excerpt,
            message: message.into(),
        }
    }
}

/// The worst severity among `findings`, if any.
pub fn worst(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|finding| finding.severity).max()
}
