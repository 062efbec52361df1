//! Reading `mcpgw.toml`: the TOML parsed into [`FileConfig`], unknown keys reported (a typo
//! must not silently do nothing), syntax errors located by line and column.

use std::path::Path;

use anyhow::Context;

use crate::config::FileConfig;

/// Reads the TOML file; unknown keys are reported (a typo must not silently do nothing)
/// but do not stop the gateway, so a file written for a newer version still starts.
pub(crate) fn load_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let located = |error: toml::de::Error| {
        let position = error
            .span()
            .map(|span| line_and_column(&text, span.start))
            .map(|(line, column)| format!(":{line}:{column}"))
            .unwrap_or_default();
        anyhow::anyhow!(
            "invalid configuration in {}{position}: {}",
            path.display(),
            error.message().trim()
        )
    };
    let deserializer = toml::Deserializer::parse(&text).map_err(located)?;
    serde_ignored::deserialize(deserializer, |key| {
        tracing::warn!(file = %path.display(), %key, "unknown configuration key ignored");
    })
    .map_err(located)
}

/// 1-based line and column of a byte offset, for error messages.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |rest| rest.chars().count())
        + 1;
    (line, column)
}
