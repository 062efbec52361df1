//! TEMPORARY until the helper's module lands.
use serde_json::Value;
pub struct SchemaRow { pub name: String, pub kind: String, pub required: bool, pub description: String, pub default: Option<String> }
pub fn description_html(text: &str) -> String { crate::pages::escape(text) }
pub fn schema_rows(_schema: &Value) -> Vec<SchemaRow> { Vec::new() }
pub fn schema_pretty(schema: &Value) -> String { serde_json::to_string_pretty(schema).unwrap_or_default() }
