//! Turning text into search terms: words split on non-alphanumerics and at camelCase
//! boundaries, lowercased, without stop words, lightly stemmed. Shared by the query and
//! the documents, so that both sides agree on what a term is.

/// Distinct query terms considered; bounds the per-token cost of a very long query.
const MAX_QUERY_TERMS: usize = 64;

/// The query's distinct terms (the first [`MAX_QUERY_TERMS`]), sorted for binary search.
pub(super) fn query_terms(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    let mut word = String::new();
    for_each_term(query, &mut word, &mut |term| {
        if terms.len() < MAX_QUERY_TERMS && !terms.iter().any(|t| t == term) {
            terms.push(term.to_owned());
        }
    });
    terms.sort_unstable();
    terms
}

/// Calls `emit` with every searchable term of `text`: words split on non-alphanumerics and
/// at camelCase boundaries (`getPullRequest`, `HTTPServer`), lowercased, stemmed, without
/// stop words and single characters. One pass; `word` is scratch space, reused so that no
/// token allocates.
pub(super) fn for_each_term(text: &str, word: &mut String, emit: &mut impl FnMut(&str)) {
    word.clear();
    let mut ascii = true;
    let mut previous = ' ';
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if !c.is_alphanumeric() {
            emit_word(word, ascii, emit);
            ascii = true;
            continue;
        }
        if c.is_uppercase()
            && !word.is_empty()
            && (!previous.is_uppercase() || chars.peek().is_some_and(|n| n.is_lowercase()))
        {
            emit_word(word, ascii, emit);
            ascii = true;
        }
        if c.is_ascii() {
            word.push(c.to_ascii_lowercase());
        } else {
            ascii = false;
            word.extend(c.to_lowercase());
        }
        previous = c;
    }
    emit_word(word, ascii, emit);
}

/// Emits the lowercased `word` unless it is not worth searching, then clears it.
fn emit_word(word: &mut String, ascii: bool, emit: &mut impl FnMut(&str)) {
    let single = if ascii {
        word.len() < 2
    } else {
        word.chars().nth(1).is_none()
    };
    if !single && !is_stop_word(word) {
        if ascii {
            stem(word);
        }
        emit(word);
    }
    word.clear();
}

/// Words too common in task descriptions to tell tools apart. A `match`, not a table
/// lookup: the compiler's decision tree is several times faster on the hot path.
#[rustfmt::skip]
fn is_stop_word(word: &str) -> bool {
    matches!(
        word,
        "a" | "about" | "all" | "am" | "an" | "and" | "any" | "are" | "as" | "at" | "be" |
        "been" | "but" | "by" | "can" | "could" | "do" | "does" | "for" | "from" | "has" |
        "have" | "he" | "her" | "his" | "how" | "i" | "if" | "in" | "into" | "is" | "it" |
        "its" | "me" | "my" | "of" | "on" | "or" | "our" | "please" | "she" | "should" |
        "so" | "some" | "than" | "that" | "the" | "their" | "them" | "then" | "there" |
        "these" | "they" | "this" | "those" | "to" | "us" | "was" | "we" | "were" | "what" |
        "when" | "where" | "which" | "who" | "why" | "will" | "with" | "would" | "you" |
        "your"
    )
}

/// A light suffix stemmer, so that inflections meet (`times`/`time`, `forecasting`/
/// `forecast`, `created`/`create`). Stems need not be words, only agree with each other:
/// plurals lose `s`/`es`/`ies`, then `-ing`/`-ed` go, then a doubled final consonant and a
/// final `e` are dropped. Only for ASCII words: the suffixes are English.
fn stem(word: &mut String) {
    let len = word.len();
    if len > 4 && (word.ends_with("ies") || word.ends_with("ied")) {
        word.truncate(len - 3);
        word.push('y');
        return;
    }
    if word.ends_with("sses") {
        word.truncate(len - 2);
    } else if len > 3
        && word.ends_with('s')
        && !(word.ends_with("ss") || word.ends_with("us") || word.ends_with("is"))
    {
        word.truncate(len - 1);
    }
    let len = word.len();
    let keep = |suffix: usize| len >= suffix + 3 && has_vowel(&word[..len - suffix]);
    if word.ends_with("ing") && keep(3) {
        word.truncate(len - 3);
    } else if word.ends_with("ed") && !word.ends_with("eed") && keep(2) {
        word.truncate(len - 2);
    }
    let bytes = word.as_bytes();
    if let [.., x, y] = bytes
        && x == y
        && !b"aeiouylsz".contains(y)
        && y.is_ascii_alphabetic()
    {
        word.pop();
    }
    if word.len() >= 4 && word.ends_with('e') {
        word.pop();
    }
}

/// True if `stem` has a vowel, so `string` and `thing` keep their `ing`.
fn has_vowel(stem: &str) -> bool {
    stem.bytes().any(|b| b"aeiouy".contains(&b))
}
