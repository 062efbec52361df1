//! Text folding, so that trivial obfuscation (full-width or mathematical letters, Cyrillic
//! look-alikes, zero-width characters inside words, odd spacing, capitals) cannot slip
//! past the rules, and excerpts that show people what a model would read, invisible
//! characters included.

use unicode_normalization::UnicodeNormalization;

/// Whether `c` renders as nothing (or only changes how text around it renders): format
/// characters, zero-width characters, bidi controls, tag characters, variation selectors,
/// fillers. Such characters hide text from people that models still read.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x034F
            | 0x061C
            | 0x115F
            | 0x1160
            | 0x17B4
            | 0x17B5
            | 0x180B..=0x180F
            | 0x200B..=0x200F
            | 0x202A..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0x3164
            | 0xFE00..=0xFE0F
            | 0xFEFF
            | 0xFFA0
            | 0xFFF9..=0xFFFB
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0000..=0xE0FFF
    )
}

/// The ASCII letter a look-alike from another script passes for (after lowercasing).
fn confusable(c: char) -> Option<char> {
    Some(match c {
        // Cyrillic.
        'а' => 'a',
        'в' => 'b',
        'е' | 'ё' => 'e',
        'к' => 'k',
        'м' => 'm',
        'н' | 'һ' => 'h',
        'о' => 'o',
        'р' => 'p',
        'с' => 'c',
        'т' => 't',
        'у' => 'y',
        'х' => 'x',
        'і' | 'ї' => 'i',
        'ј' => 'j',
        'ѕ' => 's',
        'ԁ' => 'd',
        'ӏ' => 'l',
        'ԛ' => 'q',
        'ԝ' => 'w',
        // Greek.
        'α' => 'a',
        'β' => 'b',
        'ε' => 'e',
        'ζ' => 'z',
        'η' => 'h',
        'ι' => 'i',
        'κ' => 'k',
        'μ' => 'm',
        'ν' => 'v',
        'ο' => 'o',
        'ρ' => 'p',
        'τ' => 't',
        'υ' => 'u',
        'χ' => 'x',
        // Latin look-alikes NFKC keeps.
        'ı' => 'i',
        'ɡ' => 'g',
        'ɑ' => 'a',
        // Apostrophes, so that "don’t" reads as "don't".
        '’' | 'ʼ' | '`' => '\'',
        _ => return None,
    })
}

/// `text` as the rules read it: invisible characters dropped, compatibility forms
/// folded (NFKC: full-width, mathematical, ligatures), lowercased, look-alike letters of
/// other scripts mapped to ASCII, and every run of whitespace made one space.
pub(crate) fn fold(text: &str) -> String {
    let visible: String = text.chars().filter(|c| !is_invisible(*c)).collect();
    let mut folded = String::with_capacity(visible.len());
    let mut space = false;
    for c in visible.nfkc().flat_map(char::to_lowercase) {
        if is_invisible(c) {
            continue;
        }
        if c.is_whitespace() {
            space = !folded.is_empty();
            continue;
        }
        if space {
            folded.push(' ');
            space = false;
        }
        folded.push(confusable(c).unwrap_or(c));
    }
    folded
}

/// A name as it looks: [`fold`]ed, with `-`, `_`, `.` and spaces dropped, so that
/// `Send_Email`, `send-email` and `ѕend_email` (Cyrillic ѕ) compare equal.
pub(crate) fn skeleton(name: &str) -> String {
    fold(name)
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ' '))
        .collect()
}

/// Most characters an excerpt shows.
const EXCERPT_CHARS: usize = 160;

/// `text` around the byte range `at` (at most [`EXCERPT_CHARS`] characters), invisible
/// characters spelled out as `<U+200B>` and line breaks as spaces, `…` where cut.
pub(crate) fn excerpt(text: &str, at: std::ops::Range<usize>) -> String {
    let start = floor_boundary(text, at.start.saturating_sub(60));
    let end = floor_boundary(text, at.end.saturating_add(100).min(text.len()));
    let mut shown = String::new();
    if start > 0 {
        shown.push('…');
    }
    for (count, c) in text[start..end].chars().enumerate() {
        if count >= EXCERPT_CHARS {
            break;
        }
        if is_invisible(c) {
            shown.push_str(&format!("<U+{:04X}>", u32::from(c)));
        } else if c.is_control() || c == '\u{2028}' || c == '\u{2029}' {
            shown.push(' ');
        } else {
            shown.push(c);
        }
    }
    if end < text.len() {
        shown.push('…');
    }
    shown
}

/// The largest char boundary of `text` at or before `index`.
fn floor_boundary(text: &str, index: usize) -> usize {
    let mut index = index.min(text.len());
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_undoes_trivial_obfuscation() {
        assert_eq!(fold("ＩＧＮＯＲＥ  all\n\tprevious"), "ignore all previous");
        assert_eq!(fold("ig\u{200B}nore pre\u{2060}vious"), "ignore previous");
        assert_eq!(fold("іgnоrе"), "ignore");
        assert_eq!(fold("𝐢𝐠𝐧𝐨𝐫𝐞"), "ignore");
        assert_eq!(fold("  lead and trail  "), "lead and trail");
    }

    #[test]
    fn skeletons_of_look_alike_names_are_equal() {
        assert_eq!(skeleton("Send_Email"), skeleton("send-email"));
        assert_eq!(skeleton("ѕend_email"), "sendemail");
        assert_ne!(skeleton("send_email"), skeleton("send_mail"));
    }

    #[test]
    fn excerpts_spell_out_invisible_characters() {
        let text = "hello\u{200B}world\nnext";
        assert_eq!(excerpt(text, 0..5), "hello<U+200B>world next");
        let long = format!("{}needle{}", "a".repeat(100), "b".repeat(200));
        let shown = excerpt(&long, 100..106);
        assert!(shown.starts_with('…') && shown.ends_with('…'));
        assert!(shown.contains("needle"));
        // Never cuts inside a character.
        let wide = "é".repeat(200);
        assert!(excerpt(&wide, 101..103).contains('é'));
    }
}
