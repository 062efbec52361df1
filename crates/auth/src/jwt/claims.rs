//! Reading claims by dotted path (`realm_access.roles`), tolerating the shapes providers
//! use for lists: an array of strings, or one space- or comma-free string.

use serde_json::Value;

/// The value at `dotted` in `claims`. A claim whose own name contains a dot or colon
/// (`cognito:groups`) is found by its full name first.
pub fn path<'a>(claims: &'a Value, dotted: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(dotted) {
        return Some(value);
    }
    dotted
        .split('.')
        .try_fold(claims, |value, segment| value.get(segment))
}

/// The strings of a claim: every string of an array, or the string itself.
pub fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Value::String(text) => vec![text.clone()],
        _ => Vec::new(),
    }
}
