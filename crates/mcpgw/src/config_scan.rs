//! The `[scan]` settings: the tool-poisoning scan of every server's tools (issue 13).
//!
//! ```toml
//! [scan]
//! enabled = true                 # default; false scans nothing and disables nothing
//! disable_on = "high"            # high (default) | medium | low | never
//! command = ["mcp-scanner-wrapper", "--format", "json"]   # optional external scanner
//! timeout_secs = 60              # the external scanner's limit per run (default 60)
//! ```
//!
//! The external scanner reads `{"server": {...}, "tools": [...]}` on stdin and prints
//! `{"findings": [{"tool", "severity", "rule", "message"}]}` (see
//! `mcpgw_registry::scan::external` for the whole contract). `MCPGW_SCAN_ENABLED`
//! (true/false) overrides `enabled`.

use std::time::Duration;

use anyhow::bail;
use mcpgw_registry::scan::{ExternalScanner, ScanSettings, Severity};
use serde::Deserialize;

/// The `[scan]` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanSection {
    enabled: Option<bool>,
    disable_on: Option<String>,
    command: Option<Vec<String>>,
    timeout_secs: Option<f64>,
}

/// Default limit of one external scanner run.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The environment over the file's `section`, over the defaults.
pub fn resolve(section: &ScanSection) -> anyhow::Result<ScanSettings> {
    let enabled = match std::env::var("MCPGW_SCAN_ENABLED").ok().as_deref() {
        None => section.enabled.unwrap_or(true),
        Some("1" | "true" | "on") => true,
        Some("0" | "false" | "off") => false,
        Some(other) => bail!("MCPGW_SCAN_ENABLED must be true or false, not '{other}'"),
    };
    let disable_on = match section.disable_on.as_deref() {
        None => Some(Severity::High),
        Some("never") => None,
        Some(name) => match Severity::parse(name) {
            Some(severity) => Some(severity),
            None => bail!("scan disable_on must be high, medium, low or never, not {name:?}"),
        },
    };
    let timeout = crate::config::seconds("scan timeout_secs", section.timeout_secs)?
        .unwrap_or(DEFAULT_TIMEOUT);
    let external = match &section.command {
        None => None,
        Some(command)
            if command
                .first()
                .is_none_or(|program| program.trim().is_empty()) =>
        {
            bail!("scan command must name a program: [\"program\", \"arg\", ...]")
        }
        Some(command) => Some(ExternalScanner {
            command: command.clone(),
            timeout,
        }),
    };
    Ok(ScanSettings {
        enabled,
        disable_on,
        external,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str) -> ScanSection {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn defaults_scan_and_disable_on_high() {
        let settings = resolve(&ScanSection::default()).unwrap();
        assert!(settings.enabled);
        assert_eq!(settings.disable_on, Some(Severity::High));
        assert_eq!(settings.external, None);
    }

    #[test]
    fn every_key_is_read() {
        let settings = resolve(&section(
            r#"enabled = true
               disable_on = "medium"
               command = ["mcp-scanner", "--format", "json"]
               timeout_secs = 5"#,
        ))
        .unwrap();
        assert_eq!(settings.disable_on, Some(Severity::Medium));
        let external = settings.external.unwrap();
        assert_eq!(external.command, ["mcp-scanner", "--format", "json"]);
        assert_eq!(external.timeout, Duration::from_secs(5));
        let never = resolve(&section(r#"disable_on = "never""#)).unwrap();
        assert_eq!(never.disable_on, None);
    }

    #[test]
    fn bad_values_are_refused_clearly() {
        let error = resolve(&section(r#"disable_on = "severe""#)).unwrap_err();
        assert!(
            error.to_string().contains("high, medium, low or never"),
            "{error}"
        );
        let error = resolve(&section("command = []")).unwrap_err();
        assert!(error.to_string().contains("must name a program"), "{error}");
        assert!(resolve(&section("timeout_secs = -1")).is_err());
        assert!(toml::from_str::<ScanSection>("commands = []").is_err());
    }
}
