//! Argument and structured-output types of the `toolbox` tools.
//!
//! Every field's doc comment becomes its `description` in the tool's JSON Schema.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Longest `sleep` accepted, in milliseconds; longer requests are capped.
pub const MAX_SLEEP_MS: u64 = 60_000;
/// Most steps `countdown` will run; larger requests are capped.
pub const MAX_COUNTDOWN_STEPS: u32 = 1_000;
/// Longest per-step delay `countdown` accepts, in milliseconds; longer requests are capped.
pub const MAX_COUNTDOWN_DELAY_MS: u64 = 10_000;

/// Arguments of `echo`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct EchoParams {
    /// Text to send back unchanged.
    pub message: String,
}

/// Arguments of `add`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AddParams {
    /// First addend.
    pub a: f64,
    /// Second addend.
    pub b: f64,
}

/// Structured result of `add`.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct AddResult {
    /// First addend, as received.
    pub a: f64,
    /// Second addend, as received.
    pub b: f64,
    /// `a + b`.
    pub sum: f64,
}

/// Arguments of the tools that take one piece of text.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TextParams {
    /// The input text.
    pub text: String,
}

/// Structured result of `word_count`.
#[derive(Debug, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct WordCountResult {
    /// Number of whitespace-separated words.
    pub words: usize,
    /// Number of lines (0 for empty text).
    pub lines: usize,
    /// Number of Unicode scalar values.
    pub characters: usize,
    /// Number of UTF-8 bytes.
    pub bytes: usize,
}

impl WordCountResult {
    /// Counts words, lines, characters and bytes of `text`.
    pub fn of(text: &str) -> Self {
        Self {
            words: text.split_whitespace().count(),
            lines: text.lines().count(),
            characters: text.chars().count(),
            bytes: text.len(),
        }
    }
}

/// Arguments of `base64_decode`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Base64DecodeParams {
    /// Standard (RFC 4648, padded) base64 whose decoded bytes are UTF-8 text.
    pub data: String,
}

/// Arguments of `random_number`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RandomNumberParams {
    /// Smallest value that may be returned (inclusive); defaults to 0.
    #[serde(default)]
    pub min: i64,
    /// Largest value that may be returned (inclusive); defaults to 100.
    #[serde(default = "default_random_max")]
    pub max: i64,
}

fn default_random_max() -> i64 {
    100
}

/// Arguments of `countdown`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CountdownParams {
    /// Number of steps (one progress notification each); defaults to 5, capped at 1000.
    #[serde(default = "default_countdown_steps")]
    pub steps: u32,
    /// Delay before each step in milliseconds; defaults to 100, capped at 10000.
    #[serde(default = "default_countdown_delay_ms")]
    pub delay_ms: u64,
}

fn default_countdown_steps() -> u32 {
    5
}

fn default_countdown_delay_ms() -> u64 {
    100
}

/// Arguments of `fail`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct FailParams {
    /// Error message to return; defaults to "failure requested by the caller".
    #[serde(default = "default_fail_message")]
    pub message: String,
}

fn default_fail_message() -> String {
    "failure requested by the caller".to_owned()
}

/// Arguments of `sleep`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SleepParams {
    /// How long to sleep in milliseconds; capped at 60000.
    pub ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_count_counts() {
        assert_eq!(
            WordCountResult::of("hello  wörld\nbye"),
            WordCountResult {
                words: 3,
                lines: 2,
                characters: 16,
                bytes: 17
            }
        );
        assert_eq!(WordCountResult::of("").lines, 0);
    }

    #[test]
    fn defaults_apply() {
        let p: CountdownParams = serde_json::from_str("{}").unwrap();
        assert_eq!((p.steps, p.delay_ms), (5, 100));
        let p: RandomNumberParams = serde_json::from_str("{}").unwrap();
        assert_eq!((p.min, p.max), (0, 100));
        let p: FailParams = serde_json::from_str("{}").unwrap();
        assert!(!p.message.is_empty());
    }
}
