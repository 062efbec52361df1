//! The words of a query marked in a text: HTML-escaped text with `<mark>` around every
//! case-insensitive occurrence of a query word (two characters or more). Matching is on
//! ASCII case only, so byte positions in the lowered text are those of the original.

use crate::pages::escape;

/// Longest text shown, in characters; longer texts are cut with `…`.
const MAX_CHARS: usize = 400;

/// `text` escaped, cut to [`MAX_CHARS`], with `query`'s words marked.
pub fn highlight(text: &str, query: &str) -> String {
    let text = match text.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    };
    let lowered = text.to_ascii_lowercase();
    let words: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| word.chars().count() >= 2)
        .map(str::to_ascii_lowercase)
        .collect();
    // Which bytes are inside a match.
    let mut marked = vec![false; text.len()];
    for word in &words {
        for (start, _) in lowered.match_indices(word.as_str()) {
            marked[start..start + word.len()].fill(true);
        }
    }
    let mut out = String::with_capacity(text.len() + 32);
    let mut start = 0;
    while start < text.len() {
        let inside = marked[start];
        let mut end = start;
        while end < text.len() && marked[end] == inside {
            end += 1;
        }
        // Match boundaries fall on character boundaries (ASCII lowering keeps UTF-8
        // sequences intact, and words are whole UTF-8 strings).
        let piece = text.get(start..end).unwrap_or_default();
        if inside {
            out.push_str("<mark>");
            out.push_str(&escape(piece));
            out.push_str("</mark>");
        } else {
            out.push_str(&escape(piece));
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::highlight;

    #[test]
    fn words_are_marked_and_everything_is_escaped() {
        assert_eq!(
            highlight("Get the <b>Weather</b> now", "weather b"),
            "Get the &lt;b&gt;<mark>Weather</mark>&lt;/b&gt; now"
        );
        assert_eq!(highlight("no match", "xyz"), "no match");
        assert_eq!(
            highlight("café Café", "café"),
            "<mark>café</mark> <mark>Café</mark>"
        );
    }

    #[test]
    fn long_texts_are_cut() {
        let long = "a ".repeat(500);
        assert!(highlight(&long, "q").ends_with('…'));
    }
}
