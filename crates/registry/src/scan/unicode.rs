//! Hidden Unicode: text people do not see and models read. Tag characters (ASCII
//! smuggling) and bidi controls (text that reads differently than it is) are attacks;
//! runs of zero-width characters or variation selectors encode hidden data; an odd
//! zero-width or format character alone is merely suspicious. Zero-width joiners inside
//! emoji and non-Latin words (where they belong) are left alone.

use super::fields::{Kind, TextField};
use super::normalize::{excerpt, is_invisible};
use super::{Finding, Severity};

/// Longest hidden text quoted from tag characters.
const MAX_DECODED: usize = 120;

/// Zero-width characters in a row, or in one field, from which they are taken for encoded
/// data rather than a stray character.
const ZERO_WIDTH_RUN: usize = 4;
/// As many zero-width characters in one text, scattered, count as hidden data too.
const ZERO_WIDTH_TOTAL: usize = 8;

/// What one invisible character is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// U+E0000–U+E007F: invisible copies of ASCII.
    Tag,
    /// U+202A–U+202E, U+2066–U+2069: reorder what is displayed.
    Bidi,
    /// U+200B–U+200D, U+2060–U+2064, U+180E, U+FEFF.
    ZeroWidth,
    /// U+FE00–U+FE0F, U+E0100–U+E01EF.
    VariationSelector,
    /// Any other invisible or format character.
    Other,
}

/// The kind of invisible character `c` is, if it is one.
fn class(c: char) -> Option<Class> {
    if !is_invisible(c) {
        return None;
    }
    Some(match u32::from(c) {
        0xE0000..=0xE007F => Class::Tag,
        0x202A..=0x202E | 0x2066..=0x2069 => Class::Bidi,
        0x200B..=0x200D | 0x2060..=0x2064 | 0x180E | 0xFEFF => Class::ZeroWidth,
        0xFE00..=0xFE0F | 0xE0100..=0xE01EF => Class::VariationSelector,
        _ => Class::Other,
    })
}

/// The findings of hidden Unicode in one field of `tool`.
pub(crate) fn scan_field(tool: &str, field: &TextField<'_>) -> Vec<Finding> {
    let text = field.text;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut findings = Vec::new();
    let mut first: [Option<usize>; 5] = [None; 5];
    let mut decoded = String::new();
    let (mut zero_width, mut zero_run, mut longest_zero_run) = (0usize, 0usize, 0usize);
    let (mut selector_run, mut longest_selector_run) = (0usize, 0usize);
    let mut other = 0usize;
    for (index, &(at, c)) in chars.iter().enumerate() {
        let class = class(c);
        if class != Some(Class::ZeroWidth) {
            zero_run = 0;
        }
        if class != Some(Class::VariationSelector) {
            selector_run = 0;
        }
        let Some(class) = class else { continue };
        let slot = &mut first[class as usize];
        match class {
            Class::Tag => {
                if let Some(ascii) = char::from_u32(u32::from(c) - 0xE0000)
                    && decoded.chars().count() < MAX_DECODED
                {
                    decoded.push(if ascii.is_ascii_graphic() { ascii } else { ' ' });
                }
            }
            Class::ZeroWidth => {
                // A BOM at the very start, and joiners between two non-ASCII characters
                // (emoji, Indic and Persian words), are where they belong.
                let bom = c == '\u{FEFF}' && at == 0;
                if bom || is_joining(c, &chars, index) {
                    continue;
                }
                zero_width += 1;
                zero_run += 1;
                longest_zero_run = longest_zero_run.max(zero_run);
            }
            Class::VariationSelector => {
                selector_run += 1;
                longest_selector_run = longest_selector_run.max(selector_run);
                if selector_run < 2 {
                    // One selector after a character picks its glyph (emoji): not recorded.
                    continue;
                }
            }
            Class::Bidi => {}
            Class::Other => other += 1,
        }
        slot.get_or_insert(at);
    }
    let name = field.kind == Kind::Name;
    let at = |class: Class| first[class as usize].map(|at| excerpt(text, at..at + 1));
    if let Some(shown) = at(Class::Tag) {
        findings.push(Finding::new(
            "ascii-smuggling",
            Severity::High,
            tool,
            &field.path,
            Some(shown),
            format!(
                "invisible Unicode tag characters hide text a model reads: \"{}\"",
                decoded.trim()
            ),
        ));
    }
    if let Some(shown) = at(Class::Bidi) {
        findings.push(Finding::new(
            "bidi-control",
            Severity::High,
            tool,
            &field.path,
            Some(shown),
            "bidirectional control characters make the text display differently from what it says",
        ));
    }
    if let Some(shown) = at(Class::VariationSelector) {
        findings.push(Finding::new(
            "variation-selector-smuggling",
            Severity::High,
            tool,
            &field.path,
            Some(shown),
            format!("{longest_selector_run} variation selectors in a row encode hidden data"),
        ));
    }
    if let Some(shown) = at(Class::ZeroWidth) {
        let encoded = longest_zero_run >= ZERO_WIDTH_RUN || zero_width >= ZERO_WIDTH_TOTAL;
        let severity = if encoded || name {
            Severity::High
        } else {
            Severity::Medium
        };
        findings.push(Finding::new(
            "zero-width",
            severity,
            tool,
            &field.path,
            Some(shown),
            if encoded {
                format!("{zero_width} zero-width characters hide data in the text")
            } else {
                format!("{zero_width} zero-width character(s) hidden in the text")
            },
        ));
    }
    if let Some(shown) = at(Class::Other) {
        findings.push(Finding::new(
            "format-character",
            if name {
                Severity::Medium
            } else {
                Severity::Low
            },
            tool,
            &field.path,
            Some(shown),
            format!("{other} invisible format character(s) in the text"),
        ));
    }
    findings
}

/// Whether the zero-width (non-)joiner at `index` sits between two non-ASCII characters.
fn is_joining(c: char, chars: &[(usize, char)], index: usize) -> bool {
    if !matches!(c, '\u{200C}' | '\u{200D}') {
        return false;
    }
    let visible = |c: &char| !c.is_ascii() && !is_invisible(*c);
    let before = index
        .checked_sub(1)
        .and_then(|i| chars.get(i))
        .map(|(_, c)| c);
    let after = chars.get(index + 1).map(|(_, c)| c);
    // An emoji's variation selector may sit between it and the joiner.
    let before = match before {
        Some(c) if class(*c) == Some(Class::VariationSelector) => index
            .checked_sub(2)
            .and_then(|i| chars.get(i))
            .map(|(_, c)| c),
        other => other,
    };
    before.is_some_and(visible) && after.is_some_and(visible)
}

#[cfg(test)]
#[path = "unicode_tests.rs"]
mod tests;
