//! Every piece of text a tool shows a model, with where it sits: the name, title and
//! description, and every key and string of its schemas and annotations (property
//! descriptions and titles, enum values, defaults …).

use serde_json::Value;

use crate::model::Tool;

/// How a piece of text is used, which decides the rules it is read by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The tool's name.
    Name,
    /// Prose a model reads as guidance (descriptions, titles, schema strings).
    Prose,
    /// A key of a schema or of the annotations (a property's name).
    Key,
}

/// One piece of text of a tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TextField<'a> {
    /// Where it is (`description`, `inputSchema.properties.path.description`; a key as
    /// `inputSchema.properties.path (key)`).
    pub path: String,
    /// The text.
    pub text: &'a str,
    /// How it is used.
    pub kind: Kind,
}

/// Deepest nesting of a schema that is read; deeper parts are not (a schema that deep is
/// itself odd, and the walk must stay bounded).
const MAX_DEPTH: usize = 32;
/// Most strings read from one tool.
const MAX_STRINGS: usize = 10_000;

/// Every piece of text of `tool`.
pub(crate) fn text_fields(tool: &Tool) -> Vec<TextField<'_>> {
    let mut fields = vec![TextField {
        path: "name".to_owned(),
        text: &tool.name,
        kind: Kind::Name,
    }];
    for (path, text) in [("title", &tool.title), ("description", &tool.description)] {
        if let Some(text) = text {
            fields.push(TextField {
                path: path.to_owned(),
                text,
                kind: Kind::Prose,
            });
        }
    }
    walk(&tool.input_schema, "inputSchema", 0, &mut fields);
    if let Some(schema) = &tool.output_schema {
        walk(schema, "outputSchema", 0, &mut fields);
    }
    if let Some(annotations) = &tool.annotations {
        walk(annotations, "annotations", 0, &mut fields);
    }
    fields
}

/// Collects the strings (and object keys) of `value` under `path` into `fields`, down to
/// [`MAX_DEPTH`] and up to [`MAX_STRINGS`].
fn walk<'a>(value: &'a Value, path: &str, depth: usize, fields: &mut Vec<TextField<'a>>) {
    if depth > MAX_DEPTH || fields.len() >= MAX_STRINGS {
        return;
    }
    match value {
        Value::String(text) => fields.push(TextField {
            path: path.to_owned(),
            text,
            kind: Kind::Prose,
        }),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                walk(item, &format!("{path}[{index}]"), depth + 1, fields);
            }
        }
        Value::Object(object) => {
            for (key, item) in object {
                let inner = format!("{path}.{key}");
                fields.push(TextField {
                    path: format!("{inner} (key)"),
                    text: key,
                    kind: Kind::Key,
                });
                walk(item, &inner, depth + 1, fields);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_string_of_a_tool_is_found_with_its_place() {
        let tool = Tool {
            name: "read".into(),
            title: Some("Read".into()),
            description: Some("Reads a file".into()),
            input_schema: json!({"type": "object", "properties": {
                "path": {"type": "string", "description": "Which file", "enum": ["a", "b"]}
            }}),
            output_schema: None,
            annotations: Some(json!({"title": "Reader"})),
        };
        let fields = text_fields(&tool);
        let find = |path: &str| fields.iter().find(|field| field.path == path);
        assert_eq!(find("name").map(|f| f.kind), Some(Kind::Name));
        assert_eq!(find("description").map(|f| f.text), Some("Reads a file"));
        assert_eq!(
            find("inputSchema.properties.path.description").map(|f| (f.text, f.kind)),
            Some(("Which file", Kind::Prose))
        );
        assert_eq!(
            find("inputSchema.properties.path (key)").map(|f| (f.text, f.kind)),
            Some(("path", Kind::Key))
        );
        assert_eq!(
            find("inputSchema.properties.path.enum[1]").map(|f| f.text),
            Some("b")
        );
        assert_eq!(find("annotations.title").map(|f| f.text), Some("Reader"));
    }

    #[test]
    fn the_walk_is_bounded() {
        let mut deep = json!("bottom");
        for _ in 0..100 {
            deep = json!({"x": deep});
        }
        let tool = Tool {
            name: "deep".into(),
            title: None,
            description: None,
            input_schema: deep,
            output_schema: None,
            annotations: None,
        };
        let fields = text_fields(&tool);
        assert!(fields.len() < 40);
        assert!(fields.iter().all(|field| field.text != "bottom"));
    }
}
