//! Tool descriptions and input schemas come from upstream servers the gateway does not
//! control, yet the tool pages should show them readably. This renders the light Markdown
//! descriptions use as HTML that can never carry markup of its own, and flattens a JSON
//! Schema into table rows with limits a hostile schema cannot get past.

use std::collections::HashMap;

use serde_json::Value;

use crate::pages::escape;

/// Deepest nesting [`schema_rows`] descends to (top-level properties are level 1), so a
/// deep or self-similar schema cannot make the table endless.
pub const MAX_DEPTH: usize = 4;

/// Most rows [`schema_rows`] returns, so a schema with thousands of properties cannot blow
/// up the page.
pub const MAX_ROWS: usize = 200;

/// Most alternatives or enum values a kind lists before ending in `…`, to keep the column
/// readable.
const MAX_LISTED: usize = 8;

/// Longest default (JSON text, in characters) shown before it is cut off with `…`.
const MAX_DEFAULT_CHARS: usize = 200;

/// Longest enum or const value (in characters) a kind shows before cutting it off with `…`.
const MAX_VALUE_CHARS: usize = 40;

/// Renders a tool description as safe HTML, because descriptions are untrusted text that
/// often uses a little Markdown. Everything is escaped; the only markup produced is
/// `<p>`, `<br>`, `<ul>`/`<li>`, `<pre><code>`, `<code>` and `<strong>`. Blank lines
/// separate paragraphs, lines starting with `- ` or `* ` are list items (an indented line
/// continues the item), ```` ``` ```` fences make code blocks (an unclosed fence runs to the
/// end), `` `code` `` and `**bold**` work inline. Links and raw HTML are shown as text.
pub fn description_html(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out: Vec<String> = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    let mut lines = text.split('\n');
    while let Some(line) = lines.next() {
        if opens_fence(line) {
            flush_block(&mut block, &mut out);
            let code: Vec<&str> = lines
                .by_ref()
                .take_while(|l| !l.trim_start().starts_with("```"))
                .collect();
            out.push(format!(
                "<pre><code>{}</code></pre>",
                escape(&code.join("\n"))
            ));
        } else if line.trim().is_empty() {
            flush_block(&mut block, &mut out);
        } else {
            block.push(line);
        }
    }
    flush_block(&mut block, &mut out);
    out.join("\n")
}

/// A line of three or more backticks plus an optional info string (which, as in
/// CommonMark, holds no backtick: ```` ```x``` ```` is an inline code span).
fn opens_fence(line: &str) -> bool {
    let trimmed = line.trim_start();
    let info = trimmed.trim_start_matches('`');
    trimmed.len() - info.len() >= 3 && !info.contains('`')
}

/// The text after a list marker, if `line` is a list item.
fn list_item(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    trimmed
        .strip_prefix("- ")
        .or_else(|| trimmed.strip_prefix("* "))
}

/// Turns a run of non-blank lines into paragraphs and lists.
fn flush_block(block: &mut Vec<&str>, out: &mut Vec<String>) {
    let mut paragraph: Vec<String> = Vec::new();
    let mut items: Vec<String> = Vec::new();
    for line in block.drain(..) {
        if let Some(item) = list_item(line) {
            close_paragraph(&mut paragraph, out);
            items.push(inline(item.trim()));
        } else if let (Some(last), true) = (items.last_mut(), line.starts_with([' ', '\t'])) {
            last.push_str("<br>");
            last.push_str(&inline(line.trim()));
        } else {
            close_list(&mut items, out);
            paragraph.push(inline(line.trim()));
        }
    }
    close_paragraph(&mut paragraph, out);
    close_list(&mut items, out);
}

fn close_paragraph(lines: &mut Vec<String>, out: &mut Vec<String>) {
    if !lines.is_empty() {
        out.push(format!("<p>{}</p>", lines.join("<br>")));
        lines.clear();
    }
}

fn close_list(items: &mut Vec<String>, out: &mut Vec<String>) {
    if !items.is_empty() {
        let items: String = items.drain(..).map(|i| format!("<li>{i}</li>")).collect();
        out.push(format!("<ul>{items}</ul>"));
    }
}

/// Inline markup of one line: code spans first (their content only escaped), then bold in
/// the text between them. A backtick run with no run of the same length after it is text.
fn inline(line: &str) -> String {
    // Backtick runs as (byte start, length).
    let bytes = line.as_bytes();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'`' {
            let start = i;
            while i < bytes.len() && bytes[i] == b'`' {
                i += 1;
            }
            runs.push((start, i - start));
        } else {
            i += 1;
        }
    }
    // For each run, the next run of the same length: its closing partner, found in O(1).
    let mut next_same = vec![None; runs.len()];
    let mut last_of_len = HashMap::new();
    for (i, &(_, len)) in runs.iter().enumerate().rev() {
        next_same[i] = last_of_len.insert(len, i);
    }
    let mut out = String::new();
    let mut done = 0; // bytes of `line` already rendered
    let mut r = 0;
    while r < runs.len() {
        let (start, len) = runs[r];
        let Some(c) = next_same[r] else {
            r += 1;
            continue;
        };
        out.push_str(&bold(&escape(&line[done..start])));
        let (close_start, _) = runs[c];
        let code = &line[start + len..close_start];
        out.push_str(&format!("<code>{}</code>", escape(code)));
        done = close_start + len;
        r = c + 1;
    }
    out.push_str(&bold(&escape(&line[done..])));
    out
}

/// `**text**` → `<strong>text</strong>` in already escaped text; a `**` without a partner
/// (or with nothing between) stays as it is.
fn bold(escaped: &str) -> String {
    let mut out = String::new();
    let mut rest = escaped;
    while let Some(open) = rest.find("**") {
        let after = &rest[open + 2..];
        match after.find("**") {
            Some(close) if close > 0 => {
                out.push_str(&rest[..open]);
                out.push_str("<strong>");
                out.push_str(&after[..close]);
                out.push_str("</strong>");
                rest = &after[close + 2..];
            }
            _ => break,
        }
    }
    out.push_str(rest);
    out
}

/// One input of a tool, as the schema table shows it. Every field is plain text, to be
/// escaped by the template like any other value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaRow {
    /// Dotted path: `options.limit` for nested objects, `items[].id` inside array items.
    pub name: String,
    /// Readable type, e.g. `string`, `array of string`, `string (enum: a, b)`,
    /// `string or null`, `one of: …`, `ref: #/$defs/X`.
    pub kind: String,
    /// Listed in the enclosing object's `required`.
    pub required: bool,
    /// The schema's `description` (or its `title` when it has none); plain text.
    pub description: String,
    /// The `default`, as compact JSON text.
    pub default: Option<String>,
}

/// Flattens a tool's input schema into rows, because the tool page lists its inputs as a
/// table. Nested object properties and the properties of array items get their own rows,
/// down to [`MAX_DEPTH`] levels and at most [`MAX_ROWS`] rows. A schema that is not an
/// object with `properties` has no rows; `$ref`s are shown, not followed.
pub fn schema_rows(schema: &Value) -> Vec<SchemaRow> {
    let mut rows = Vec::new();
    properties(schema, "", 1, &mut rows);
    rows
}

/// Pretty-printed JSON of the schema, for the collapsible raw view next to the table.
pub fn schema_pretty(schema: &Value) -> String {
    format!("{schema:#}")
}

/// Rows for the `properties` of `schema`, named under `prefix`, at nesting `level`.
fn properties(schema: &Value, prefix: &str, level: usize, rows: &mut Vec<SchemaRow>) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required = schema.get("required").and_then(Value::as_array);
    let is_required = |key: &str| required.is_some_and(|r| r.iter().any(|v| v == key));
    for (key, prop) in props {
        if rows.len() >= MAX_ROWS {
            return;
        }
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        rows.push(SchemaRow {
            kind: kind(prop, 1),
            required: is_required(key),
            description: text_field(prop, "description")
                .or_else(|| text_field(prop, "title"))
                .unwrap_or_default(),
            default: prop.get("default").map(default_text),
            name: name.clone(),
        });
        children(prop, &name, level, rows);
    }
}

/// Rows below one property: its own properties and, through any depth of arrays, those of
/// its items (`name[]`, `name[][]`, …).
fn children(prop: &Value, name: &str, level: usize, rows: &mut Vec<SchemaRow>) {
    if level >= MAX_DEPTH {
        return;
    }
    properties(prop, name, level + 1, rows);
    if let Some(items) = prop.get("items").filter(|i| i.is_object()) {
        children(items, &format!("{name}[]"), level + 1, rows);
    }
}

fn text_field(schema: &Value, key: &str) -> Option<String> {
    schema.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn default_text(value: &Value) -> String {
    truncate(value.to_string(), MAX_DEFAULT_CHARS)
}

/// `text` cut to `max` characters, with `…` when something was cut.
fn truncate(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// The readable type of a (sub)schema; `level` bounds the recursion through `items`,
/// `anyOf` and friends just like the rows are bounded.
fn kind(schema: &Value, level: usize) -> String {
    if level > MAX_DEPTH {
        return "…".to_owned();
    }
    let Some(obj) = schema.as_object() else {
        return "any".to_owned();
    };
    if let Some(target) = obj.get("$ref").and_then(Value::as_str) {
        return format!("ref: {target}");
    }
    let base = match obj.get("type") {
        Some(Value::String(t)) => Some(type_name(t, schema, level)),
        Some(Value::Array(types)) => {
            let names: Vec<String> = types
                .iter()
                .filter_map(Value::as_str)
                .map(|t| type_name(t, schema, level))
                .collect();
            (!names.is_empty()).then(|| names.join(" or "))
        }
        _ => None,
    };
    let values = |key: &str| obj.get(key).and_then(Value::as_array);
    let combined = [
        ("oneOf", "one of"),
        ("anyOf", "any of"),
        ("allOf", "all of"),
    ]
    .into_iter()
    .find_map(|(key, label)| values(key).map(|alts| (label, alts)))
    .map(|(label, alts)| alternatives(label, alts, level));
    let enumerated = values("enum")
        .map(|vals| format!("enum: {}", listed(vals.iter().map(value_text))))
        .or_else(|| {
            obj.get("const")
                .map(|v| format!("const: {}", value_text(v)))
        });
    match (base, combined, enumerated) {
        (Some(base), _, Some(values)) => format!("{base} ({values})"),
        (Some(base), _, None) => base,
        (None, Some(combined), _) => combined,
        (None, None, Some(values)) => values,
        (None, None, None) if obj.contains_key("properties") => "object".to_owned(),
        (None, None, None) => "any".to_owned(),
    }
}

/// One `type` name; arrays say what they hold.
fn type_name(name: &str, schema: &Value, level: usize) -> String {
    match (name, schema.get("items")) {
        ("array", Some(items)) if items.is_object() => {
            format!("array of {}", kind(items, level + 1))
        }
        _ => name.to_owned(),
    }
}

/// `anyOf`/`oneOf`/`allOf`: "X or null" for the common nullable pair, else the list.
fn alternatives(label: &str, alts: &[Value], level: usize) -> String {
    let kinds: Vec<String> = alts.iter().map(|a| kind(a, level + 1)).collect();
    if label != "all of" && kinds.len() == 2 && kinds.iter().any(|k| k == "null") {
        let other = kinds
            .iter()
            .find(|k| *k != "null")
            .map_or("null", String::as_str);
        return format!("{other} or null");
    }
    format!("{label}: {}", listed(kinds.into_iter()))
}

/// At most [`MAX_LISTED`] entries, comma-separated, `…` when there were more.
fn listed(items: impl Iterator<Item = String>) -> String {
    let mut items = items.peekable();
    let shown: Vec<String> = items.by_ref().take(MAX_LISTED).collect();
    let more = if items.peek().is_some() { ", …" } else { "" };
    format!("{}{more}", shown.join(", "))
}

/// An enum or const value: strings bare, anything else as JSON; long ones cut short.
fn value_text(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    truncate(text, MAX_VALUE_CHARS)
}

#[cfg(test)]
#[path = "rich_text_tests.rs"]
mod tests;
