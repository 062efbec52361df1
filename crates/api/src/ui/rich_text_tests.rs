//! Descriptions render the promised Markdown subset and nothing else; schemas flatten into
//! the rows the tool page needs, within the limits, whatever the schema holds.

use serde_json::{Value, json};

use super::{MAX_DEPTH, MAX_ROWS, SchemaRow, description_html, schema_pretty, schema_rows};

/// Every `<` in `html` must open or close one of the tags the renderer may produce.
fn assert_only_allowed_tags(html: &str) {
    const ALLOWED: [&str; 7] = ["p>", "br>", "ul>", "li>", "pre>", "code>", "strong>"];
    for (at, _) in html.match_indices('<') {
        let rest = html[at + 1..].trim_start_matches('/');
        assert!(
            ALLOWED.iter().any(|tag| rest.starts_with(tag)),
            "unexpected markup at {at} in {html}"
        );
    }
}

#[test]
fn plain_text_becomes_paragraphs_with_line_breaks() {
    assert_eq!(description_html(""), "");
    assert_eq!(
        description_html("Adds two numbers."),
        "<p>Adds two numbers.</p>"
    );
    assert_eq!(
        description_html("first\nsecond\n\n  \nthird\r\nfourth\rfifth"),
        "<p>first<br>second</p>\n<p>third<br>fourth<br>fifth</p>"
    );
}

#[test]
fn dash_and_star_lines_become_lists() {
    let html = description_html("Modes:\n- fast\n* **safe**\n  slower\nDone.\n\n- alone");
    assert_eq!(
        html,
        "<p>Modes:</p>\n<ul><li>fast</li><li><strong>safe</strong><br>slower</li></ul>\n\
         <p>Done.</p>\n<ul><li>alone</li></ul>"
    );
    // A marker needs its space; `**` at the start is bold, not a list.
    assert_eq!(description_html("-x"), "<p>-x</p>");
    assert_eq!(description_html("**a** b"), "<p><strong>a</strong> b</p>");
}

#[test]
fn fenced_code_is_escaped_and_left_alone() {
    let html = description_html("Call:\n```json\n{\"a\": \"<b>\"}\n  **no** `no`\n```\nAfter.");
    assert_eq!(
        html,
        "<p>Call:</p>\n<pre><code>{&quot;a&quot;: &quot;&lt;b&gt;&quot;}\n  **no** `no`\
         </code></pre>\n<p>After.</p>"
    );
    // An unclosed fence runs to the end; blank lines inside stay inside.
    assert_eq!(
        description_html("```\na\n\n<i>"),
        "<pre><code>a\n\n&lt;i&gt;</code></pre>"
    );
    // Backticks in the info string make it an inline span, as in CommonMark.
    assert_eq!(description_html("```x```"), "<p><code>x</code></p>");
}

#[test]
fn inline_code_and_bold() {
    assert_eq!(
        description_html("use `a<b` or ``x ` y`` with **care** & `**raw**`"),
        "<p>use <code>a&lt;b</code> or <code>x ` y</code> with <strong>care</strong> \
         &amp; <code>**raw**</code></p>"
    );
}

#[test]
fn unbalanced_markers_stay_text() {
    assert_eq!(description_html("a ` b"), "<p>a ` b</p>");
    assert_eq!(description_html("``a`"), "<p>``a`</p>");
    assert_eq!(description_html("**open"), "<p>**open</p>");
    assert_eq!(description_html("****"), "<p>****</p>");
    assert_eq!(
        description_html("**a** **b"),
        "<p><strong>a</strong> **b</p>"
    );
    assert_eq!(description_html("*"), "<p>*</p>");
    assert_eq!(description_html("- "), "<ul><li></li></ul>");
    for text in ["`", "```", "**", "***", "- `", "* **", "`**`**"] {
        assert_only_allowed_tags(&description_html(text));
    }
}

#[test]
fn no_markup_or_links_get_through() {
    let hostile = "<script>alert(1)</script>\n\
        <img src=x onerror=\"alert('x')\">\n\
        [click](javascript:alert(1)) <a href=\"javascript:alert(1)\">x</a>\n\
        - <b onmouseover=alert(1)>item</b>\n\
        `</code><script>` **</strong><script>**\n\
        ```\n</code></pre><script>alert(1)</script>\n```";
    let html = description_html(hostile);
    assert_only_allowed_tags(&html);
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<a "), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(
        html.contains("onerror=&quot;alert(&#39;x&#39;)&quot;"),
        "{html}"
    );
    assert!(html.contains("[click](javascript:alert(1))"), "{html}");
}

fn row<'a>(rows: &'a [SchemaRow], name: &str) -> &'a SchemaRow {
    rows.iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no row {name} in {rows:#?}"))
}

fn kind_of(property: Value) -> String {
    let rows = schema_rows(&json!({"type": "object", "properties": {"p": property}}));
    row(&rows, "p").kind.clone()
}

#[test]
fn top_level_properties_with_required_description_and_default() {
    let schema = json!({
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What to look for"},
            "limit": {"type": "integer", "title": "Limit", "default": 10},
            "filter": {"type": "object", "default": {"tag": "a\"b"}},
        },
        "required": ["query"],
    });
    let rows = schema_rows(&schema);
    assert_eq!(rows.len(), 3);
    let query = row(&rows, "query");
    assert_eq!(
        (
            query.kind.as_str(),
            query.required,
            query.description.as_str()
        ),
        ("string", true, "What to look for")
    );
    assert_eq!(query.default, None);
    let limit = row(&rows, "limit");
    assert_eq!(
        (limit.required, limit.description.as_str()),
        (false, "Limit")
    );
    assert_eq!(limit.default.as_deref(), Some("10"));
    let filter = row(&rows, "filter");
    assert_eq!(filter.default.as_deref(), Some(r#"{"tag":"a\"b"}"#));
}

#[test]
fn kinds_for_type_lists_enums_and_combinations() {
    assert_eq!(
        kind_of(json!({"type": ["string", "null"]})),
        "string or null"
    );
    assert_eq!(
        kind_of(json!({"type": "string", "enum": ["a", "b"]})),
        "string (enum: a, b)"
    );
    assert_eq!(kind_of(json!({"enum": [1, "x", null]})), "enum: 1, x, null");
    assert_eq!(kind_of(json!({"const": "fixed"})), "const: fixed");
    assert_eq!(
        kind_of(json!({"type": "array", "items": {"type": "string"}})),
        "array of string"
    );
    assert_eq!(kind_of(json!({"type": "array"})), "array");
    assert_eq!(
        kind_of(json!({"type": ["array", "null"], "items": {"type": "integer"}})),
        "array of integer or null"
    );
    assert_eq!(
        kind_of(json!({"anyOf": [{"type": "integer"}, {"type": "null"}]})),
        "integer or null"
    );
    assert_eq!(
        kind_of(json!({"oneOf": [{"type": "string"}, {"type": "integer"}, {"$ref": "#/$defs/X"}]})),
        "one of: string, integer, ref: #/$defs/X"
    );
    assert_eq!(
        kind_of(json!({"anyOf": [{"type": "string"}, {}]})),
        "any of: string, any"
    );
    assert_eq!(
        kind_of(json!({"$ref": "#/$defs/Options", "type": "object"})),
        "ref: #/$defs/Options"
    );
    assert_eq!(kind_of(json!({"properties": {}})), "object");
    assert_eq!(kind_of(json!({})), "any");
    assert_eq!(kind_of(json!(true)), "any");
    assert_eq!(kind_of(json!({"type": 7})), "any");
}

#[test]
fn long_lists_and_values_are_cut_short() {
    let many: Vec<String> = (0..20).map(|i| format!("v{i}")).collect();
    let kind = kind_of(json!({"type": "string", "enum": many}));
    assert_eq!(kind, "string (enum: v0, v1, v2, v3, v4, v5, v6, v7, …)");
    let long = "x".repeat(1000);
    let kind = kind_of(json!({"enum": [long]}));
    assert_eq!(kind, format!("enum: {}…", "x".repeat(40)));
    let rows = schema_rows(&json!({"properties": {"p": {"default": "é".repeat(500)}}}));
    let default = row(&rows, "p").default.clone().unwrap_or_default();
    assert_eq!(default.chars().count(), 201);
    assert!(default.ends_with('…'));
}

#[test]
fn nested_objects_and_array_items_get_dotted_names() {
    let schema = json!({
        "type": "object",
        "properties": {
            "options": {
                "type": "object",
                "properties": {"limit": {"type": "integer"}, "sort": {"type": "string"}},
                "required": ["limit"],
            },
            "items": {
                "type": "array",
                "items": {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
            },
            "matrix": {
                "type": "array",
                "items": {"type": "array", "items": {"properties": {"v": {"type": "number"}}}},
            },
        },
    });
    let rows = schema_rows(&schema);
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    for name in [
        "options",
        "options.limit",
        "options.sort",
        "items",
        "items[].id",
        "matrix",
        "matrix[][].v",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    assert_eq!(rows.len(), 7);
    assert_eq!(row(&rows, "options").kind, "object");
    assert!(row(&rows, "options.limit").required);
    assert!(!row(&rows, "options.sort").required);
    assert_eq!(row(&rows, "items").kind, "array of object");
    assert!(row(&rows, "items[].id").required);
    assert_eq!(row(&rows, "matrix").kind, "array of array of object");
}

#[test]
fn deep_and_self_referencing_schemas_stop() {
    let mut deep = json!({"type": "string"});
    for _ in 0..50 {
        deep = json!({"type": "object", "properties": {"a": deep}});
    }
    let rows = schema_rows(&deep);
    assert_eq!(rows.len(), MAX_DEPTH);
    assert_eq!(rows.last().map(|r| r.name.as_str()), Some("a.a.a.a"));

    let mut nested_arrays = json!({"type": "string"});
    for _ in 0..50 {
        nested_arrays = json!({"type": "array", "items": nested_arrays});
    }
    let kind = kind_of(nested_arrays);
    assert!(kind.ends_with('…') && kind.len() < 100, "{kind}");

    let recursive = json!({
        "$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}}},
        "type": "object",
        "properties": {"root": {"$ref": "#/$defs/node"}, "self": {"$ref": "#"}},
    });
    let rows = schema_rows(&recursive);
    assert_eq!(rows.len(), 2);
    assert_eq!(row(&rows, "root").kind, "ref: #/$defs/node");
    assert_eq!(row(&rows, "self").kind, "ref: #");
}

#[test]
fn wide_schemas_are_capped() {
    let props: serde_json::Map<String, Value> = (0..5000)
        .map(|i| (format!("p{i:04}"), json!({"type": "string"})))
        .collect();
    assert_eq!(schema_rows(&json!({"properties": props})).len(), MAX_ROWS);

    // Wide at every level: the cap holds across recursion too.
    let mut level = json!({"type": "string"});
    for _ in 0..4 {
        let props: serde_json::Map<String, Value> =
            (0..8).map(|i| (format!("k{i}"), level.clone())).collect();
        level = json!({"type": "object", "properties": props});
    }
    assert_eq!(schema_rows(&level).len(), MAX_ROWS);
}

#[test]
fn non_object_schemas_have_no_rows() {
    for schema in [
        json!(null),
        json!("string"),
        json!([{"properties": {"a": {}}}]),
        json!({"type": "string"}),
        json!({"type": "object"}),
        json!({"properties": ["a"]}),
    ] {
        assert_eq!(schema_rows(&schema), Vec::new(), "{schema}");
    }
    let odd_required = json!({"properties": {"a": {}}, "required": "a"});
    assert!(!schema_rows(&odd_required)[0].required);
}

#[test]
fn pretty_schema_round_trips() {
    let schema =
        json!({"type": "object", "properties": {"q": {"type": "string", "description": "<b>"}}});
    let text = schema_pretty(&schema);
    assert!(text.contains("\n  \"properties\": {\n"), "{text}");
    assert_eq!(serde_json::from_str::<Value>(&text).ok(), Some(schema));
}

#[test]
fn many_backtick_runs_stay_cheap() {
    // Unpaired runs of every length up front, then thousands of pairs: pairing is linear.
    let mut text: String = (2..400).map(|n| format!("{}x", "`".repeat(n))).collect();
    text.push_str(&"`a` ".repeat(20_000));
    let html = description_html(&text);
    assert_eq!(html.matches("<code>").count(), 20_000);
    assert_only_allowed_tags(&html);
}
