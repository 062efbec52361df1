//! Instructions aimed at the model rather than at people: "ignore previous instructions",
//! "do not tell the user", `<IMPORTANT>` blocks, reading `~/.ssh/id_rsa` "before using
//! this tool", sending secrets to a URL or an address, rewriting the system prompt.
//!
//! Text is [`fold`]ed first, so obfuscation by case, spacing, zero-width characters,
//! compatibility forms or look-alike letters does not hide a phrase. Each rule is a small
//! set of patterns; a field that mentions a sensitive file or a secret is high only when
//! it also tells the model to read or send it (a description that merely says "reads your
//! ~/.ssh/config" is medium), which keeps honest servers quiet.

use std::sync::LazyLock;

use regex::Regex;

use super::fields::TextField;
use super::normalize::{excerpt, fold};
use super::{Finding, Severity};

/// In patterns, `§` is a run of anything but letters and digits (spaces, punctuation).
const SEPARATOR: &str = r"(?:[^\p{L}\p{N}]+)";

/// A named pattern.
struct Pattern {
    rule: &'static str,
    regex: Regex,
}

/// The patterns as written: (rule, pattern).
const PATTERNS: &[(&str, &str)] = &[
    (
        "ignore-instructions",
        r"\b(?:ignore|disregard|forget|override|bypass)§(?:(?:all|any|every|the|your|of|these|those)§)*(?:previous|prior|above|preceding|earlier|existing|original|other|system|safety|developer)§(?:instructions?|prompts?|rules|directions|guidelines|messages|context|constraints|policies)\b",
    ),
    (
        "conceal-from-user",
        r"\b(?:do§not|don't|dont|never|must§not|should§not|without)§(?:tell|telling|inform|informing|mention|mentioning|reveal|revealing|notify|notifying|alert|alerting|disclose|disclosing|let)(?:§[\p{L}\p{N}]+){0,4}?§(?:the§)?users?(?:$|[^'\p{L}])",
    ),
    (
        "conceal-from-user",
        r"\b(?:hide|conceal|keep)§(?:this|it|that|these|them)(?:§[\p{L}\p{N}]+){0,3}?§from§(?:the§)?users?\b",
    ),
    (
        "conceal-from-user",
        r"\bwithout§(?:the§)?user'?s?§(?:knowledge|noticing|knowing|awareness)\b|\bthe§user§(?:must|should|does|need)§(?:not|never)§(?:know|see|be§told|notice|find§out)\b",
    ),
    (
        "system-prompt",
        r"\b(?:reveal|print|output|repeat|leak|dump|disclose|send|include)(?:§[\p{L}\p{N}]+){0,3}?§(?:system§prompt|system§message|initial§instructions|hidden§instructions|conversation§history|chat§history)\b",
    ),
    (
        "system-prompt",
        r"\b(?:override|change|modify|replace|rewrite)(?:§[\p{L}\p{N}]+){0,2}?§system§prompt\b|\byou§are§now§(?:a|an|in|the|my)\b|\bfrom§now§on§,?§?you\b|\bnew§instructions§?:",
    ),
    (
        "chat-template",
        r"<\|(?:im_start|im_end|system|endoftext|assistant|user)\|>|\[/?inst\]|<</?sys>>",
    ),
    (
        "model-tag",
        r"<\s*/?\s*(?:important|system|instructions?|secret|hidden|admin|critical|assistant|prompt)\s*>",
    ),
    (
        "hidden-recipient",
        r"\b(?:bcc|blind§copy)(?:§\S+){0,6}?§[\w.+-]+@[\w-]+\.[a-z]{2,}\b",
    ),
    ("exfiltrate", r"\bexfiltrat\w*"),
    (
        "send-elsewhere",
        r"\b(?:send|forward|upload|post|transmit|mail|email|leak|copy)(?:s|es|ed|ing)?(?:§\S+){0,8}?§(?:to|at)§(?:https?://|[\w.+-]+@[\w-]+\.[a-z]{2,}\b)",
    ),
    (
        "coercion",
        r"\bbefore§(?:using|calling|invoking|running)§(?:this|any|the|these|other)§tools?§(?:(?:you|must|should|need|to|have|first|please|always)§)*(?:read|call|run|use|invoke|send|fetch|open|check|include|pass)\b|\botherwise§(?:the§|this§)?tool§(?:will|would|won't|can't|cannot)§(?:not§)?(?:work|fail|crash|break)\b",
    ),
];

/// Signals that decide the severity of mentions of files and secrets.
const SENSITIVE_FILE: &str = r"~/\.ssh|\.ssh/|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\.aws/(?:credentials|config)|/etc/(?:passwd|shadow|sudoers)|(?:^|[\s'`(~/])\.env\b|\.netrc\b|\.git-credentials|\.npmrc\b|\.pypirc\b|\.kube/config|\.docker/config\.json|\.gnupg|_history\b|\bmcp\.json\b|claude_desktop_config\.json|\.config/gcloud|wallet\.dat|-----begin [a-z ]*private key";
/// Words naming a secret (`§` stands for a run of spaces, `_` or `-`).
const SECRET: &str = r"\b(?:api§?keys?|apikeys?|(?:access|auth|authorization|bearer|refresh|session)§tokens?|secret§keys?|client§secrets?|passwords?|passwd|credentials?|private§keys?|seed§phrases?|mnemonic|session§cookies?|ssh§keys?)\b";
/// Verbs telling the model to read or send something.
const DIRECTIVE: &str = r"\b(?:read|cat|open|load|access|include|pass|send|upload|provide|attach|copy|paste|append|extract|collect|forward|transmit|post|output|print|dump)\b";
/// Where something is sent: a URL, an address, a parameter of the call.
const SINK: &str = r"\bside§?note\b|\b(?:as|in|into)§(?:the§|an?§)?(?:extra|additional|hidden|secret)§(?:parameter|argument|field)\b|\bpass§(?:[\p{L}\p{N}]+§){0,3}contents?§(?:as|in|into|via)\b";

/// Compiles one of the patterns above (`§` becoming its separator class).
fn compile(pattern: &str) -> Option<Regex> {
    Regex::new(&pattern.replace('§', SEPARATOR)).ok()
}

/// The patterns, compiled once.
static COMPILED: LazyLock<Vec<Pattern>> = LazyLock::new(|| {
    PATTERNS
        .iter()
        .filter_map(|(rule, pattern)| {
            Some(Pattern {
                rule,
                regex: compile(pattern)?,
            })
        })
        .collect()
});

/// The signal patterns, in the order [`SENSITIVE_FILE`], [`SECRET`], [`DIRECTIVE`], [`SINK`].
static SIGNALS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [SENSITIVE_FILE, SECRET, DIRECTIVE, SINK]
        .iter()
        .filter_map(|pattern| compile(pattern))
        .collect()
});

/// What each rule means, and how much.
fn judge(rule: &str, file: bool, secret: bool) -> (Severity, &'static str) {
    match rule {
        "ignore-instructions" => (Severity::High, "tells the model to ignore its instructions"),
        "conceal-from-user" => (
            Severity::High,
            "tells the model to keep something from the user",
        ),
        "system-prompt" => (
            Severity::High,
            "tries to change or extract the model's system prompt or conversation",
        ),
        "chat-template" => (
            Severity::High,
            "contains chat-template control tokens that impersonate the system or user",
        ),
        "model-tag" => (
            Severity::Medium,
            "wraps text in a tag addressed to the model (like <IMPORTANT>)",
        ),
        "hidden-recipient" => (
            Severity::High,
            "tells the model to copy messages to a hidden recipient",
        ),
        "exfiltrate" => (Severity::High, "talks of exfiltrating data"),
        "send-elsewhere" if file || secret => (
            Severity::High,
            "tells the model to send secrets or files to an outside address",
        ),
        "send-elsewhere" => (
            Severity::Medium,
            "tells the model to send data to an outside address",
        ),
        "coercion" if file => (
            Severity::High,
            "makes the tool's use depend on first reading or sending secrets",
        ),
        _ => (
            Severity::Medium,
            "makes the tool's use depend on a prior step the model must take",
        ),
    }
}

/// The findings of instructions aimed at the model in one prose field of `tool`.
pub(crate) fn scan_field(tool: &str, field: &TextField<'_>) -> Vec<Finding> {
    let text = fold(field.text);
    let signal = |index: usize| SIGNALS.get(index).and_then(|regex| regex.find(&text));
    let (file, secret, directive, sink) = (signal(0), signal(1), signal(2), signal(3));
    let mut findings: Vec<Finding> = Vec::new();
    for pattern in COMPILED.iter() {
        let Some(found) = pattern.regex.find(&text) else {
            continue;
        };
        if findings.iter().any(|finding| finding.rule == pattern.rule) {
            continue;
        }
        let (severity, message) = judge(pattern.rule, file.is_some(), secret.is_some());
        findings.push(Finding::new(
            pattern.rule,
            severity,
            tool,
            &field.path,
            Some(excerpt(&text, found.range())),
            message,
        ));
    }
    if let Some(found) = file {
        let (severity, message) = if directive.is_some() {
            (
                Severity::High,
                "tells the model to read or pass on a sensitive file (keys, credentials, configuration)",
            )
        } else {
            (
                Severity::Medium,
                "mentions a sensitive file (keys, credentials, configuration)",
            )
        };
        findings.push(Finding::new(
            "sensitive-file",
            severity,
            tool,
            &field.path,
            Some(excerpt(&text, found.range())),
            message,
        ));
    }
    if let (Some(found), Some(_), Some(_)) = (secret, directive, sink) {
        findings.push(Finding::new(
            "secret-exfiltration",
            Severity::High,
            tool,
            &field.path,
            Some(excerpt(&text, found.range())),
            "tells the model to pass secrets (keys, tokens, passwords) somewhere",
        ));
    }
    findings
}

#[cfg(test)]
#[path = "instructions_tests.rs"]
mod tests;
