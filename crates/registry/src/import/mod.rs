//! Importing servers from MCP registries: the official registry's `/v0.1` API, another
//! mcpgw, or `server.json` files.
//!
//! A registry entry describes a server for every client at once (hosted remotes, packages
//! for several package managers, inputs the user must fill in); mcpgw needs one runnable
//! registration. [`documents`] finds the `server.json` entries in whatever shape a
//! registry served them, [`candidate`] checks one against the 2025-12-11 schema and turns
//! it into a [`ServerInput`](crate::ServerInput), and [`local_path`] derives the path it is
//! registered under. Fetching, collision handling and storing are the caller's business,
//! so this module stays pure and testable without a network or a store.
//!
//! Layout: this file finds the entries of a document and holds the JSON reader every check
//! uses, and fills the `{name}` templates of values; `document` reads and checks one
//! `server.json`; `convert` builds the registration.

mod convert;
mod document;
mod entries;
mod federation;
mod fetch;
mod guard;
mod importer;
mod origins;
mod plan;
mod report;

pub use convert::{Candidate, candidate};
pub(crate) use document::looks_like_range;
pub use entries::{Entry, documents};
pub use federation::{DEFAULT_INTERVAL_SECS, MIN_INTERVAL_SECS};
pub use fetch::{RegistryQuery, fetch_registry};
pub use importer::Importer;
pub use origins::{Origin, OriginStore, Source};
pub use plan::definition_digest;
pub use report::{Action, ImportItem, ImportReport, ImportRequest, Selection};

use std::collections::BTreeMap;

use document::Input;
use serde_json::{Map, Value};

use crate::error::RegistryError;
use crate::validation;

/// Why a registry document or entry cannot be imported. Messages name the offending field
/// by its JSON path (`server.packages[0].identifier: is required`), because the admin fixing
/// it is looking at that document, not at mcpgw's model.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The bytes are not JSON at all (wrong URL, HTML error page, truncated download).
    #[error("not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    /// A field breaks a rule of the document's shape or of the server.json schema.
    #[error("{field}: {message}")]
    Invalid {
        /// JSON path of the field, e.g. `server.name` or `servers[2].server`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// The entry is valid but offers nothing mcpgw can run (only mcpb bundles, only packages
    /// that serve HTTP locally, or nothing at all); the text says what was found.
    #[error("no remote or package mcpgw can run: {0}")]
    Unsupported(String),
    /// A registry could not be read: unreachable, an HTTP error, an oversized page.
    #[error("{0}")]
    Unreachable(String),
    /// The entry converts into a registration mcpgw's own rules reject (a header the gateway
    /// manages itself, a URL that does not parse once its templates are filled …).
    #[error("the converted registration is invalid: {field}: {message}")]
    Unregistrable {
        /// The registration field, as [`RegistryError::Invalid`] named it.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

/// Every import failure but an unreadable registry is the input's fault, so it maps to
/// [`crate::ErrorKind::Invalid`] and the API answers 422 with the field, like any other
/// bad registration; an unreadable registry is [`crate::ErrorKind::Upstream`] (502).
impl From<ImportError> for RegistryError {
    fn from(error: ImportError) -> Self {
        match error {
            ImportError::Invalid { field, message }
            | ImportError::Unregistrable { field, message } => {
                RegistryError::invalid(field, message)
            }
            ImportError::NotJson(error) => {
                RegistryError::invalid("document", format!("not JSON: {error}"))
            }
            ImportError::Unreachable(why) => RegistryError::Upstream(why),
            ImportError::Unsupported(found) => RegistryError::invalid(
                "server",
                format!("no remote or package mcpgw can run: {found}"),
            ),
        }
    }
}

/// The local path an imported name gets: the part after the last '/', lowercased,
/// characters outside `[a-z0-9._-]` replaced by '-', trimmed to 63, starting with
/// `[a-z0-9]`; a reserved or empty result gets a prefix derived from the namespace. Pure
/// function; collisions are the caller's business.
///
/// The prefix is the namespace's last label (`io.github.acme/api` → `acme-api`), as that is
/// its most specific part (the user or company); then the whole namespace, then `server`.
pub fn local_path(name: &str) -> String {
    let (namespace, rest) = name.rsplit_once('/').unwrap_or(("", name));
    let base = slug(rest);
    if usable(&base) {
        return base;
    }
    let label = namespace
        .rsplit(['.', '/'])
        .map(slug)
        .find(|label| !label.is_empty());
    label
        .into_iter()
        .chain([slug(namespace)])
        .map(|prefix| {
            // Shorten the prefix, not the name, so `<long namespace>/api` keeps its `-api`.
            let room = 63usize.saturating_sub(base.len() + 1);
            slug(&dash_join(&prefix[..prefix.len().min(room)], &base))
        })
        .find(|path| usable(path))
        .unwrap_or_else(|| slug(&dash_join("server", &base)))
}

/// `text` reduced to the path alphabet: see [`local_path`].
fn slug(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            let allowed =
                c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
            if allowed { c } else { '-' }
        })
        .collect();
    let start = mapped.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    // Every character is ASCII now, so cutting at a byte index is safe.
    let cut = &start[..start.len().min(63)];
    cut.trim_end_matches(['.', '_', '-']).to_owned()
}

/// `prefix-base`, or whichever of the two is not empty.
fn dash_join(prefix: &str, base: &str) -> String {
    match (prefix.is_empty(), base.is_empty()) {
        (false, false) => format!("{prefix}-{base}"),
        (true, _) => base.to_owned(),
        (false, true) => prefix.to_owned(),
    }
}

/// A valid, unreserved path: the same rule registration applies.
fn usable(path: &str) -> bool {
    validation::validate_path(path).is_ok()
}

/// A JSON object with its path, so every accessor can name the field it complains about.
struct Obj<'a> {
    at: String,
    map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    /// `value` as an object at path `at`; anything else is an error naming `at`.
    fn of(value: &'a Value, at: String) -> Result<Self, ImportError> {
        match value.as_object() {
            Some(map) => Ok(Obj { at, map }),
            None => Err(invalid(at, "must be an object")),
        }
    }

    /// The path of field `key`.
    fn path(&self, key: &str) -> String {
        join(&self.at, key)
    }

    /// A present field; JSON `null` counts as absent (some serializers write optional
    /// fields that way).
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }

    /// An optional string field.
    fn str(&self, key: &str) -> Result<Option<String>, ImportError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(_) => Err(invalid(self.path(key), "must be a string")),
        }
    }

    /// A string, or a number or boolean written without quotes (the schema says string,
    /// but the meaning of `8080` or `true` is not in doubt).
    fn scalar(&self, key: &str) -> Result<Option<String>, ImportError> {
        match self.get(key) {
            Some(Value::Number(number)) => Ok(Some(number.to_string())),
            Some(Value::Bool(flag)) => Ok(Some(flag.to_string())),
            _ => self.str(key),
        }
    }

    /// A required, non-empty string field.
    fn required_str(&self, key: &str) -> Result<String, ImportError> {
        match self.str(key)? {
            Some(text) if !text.is_empty() => Ok(text),
            Some(_) => Err(invalid(self.path(key), "must not be empty")),
            None => Err(invalid(self.path(key), "is required")),
        }
    }

    /// An optional object field.
    fn object(&self, key: &str) -> Result<Option<Obj<'a>>, ImportError> {
        self.get(key)
            .map(|value| Obj::of(value, self.path(key)))
            .transpose()
    }

    /// Each element of the array `key`, read with `read`; an absent array is empty.
    fn list<T>(
        &self,
        key: &str,
        read: fn(&Obj<'a>) -> Result<T, ImportError>,
    ) -> Result<Vec<T>, ImportError> {
        self.array(key)?.iter().map(read).collect()
    }

    /// The objects of the array `key`, each with its indexed path; absent is empty.
    fn array(&self, key: &str) -> Result<Vec<Obj<'a>>, ImportError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(index, item)| Obj::of(item, format!("{}[{index}]", self.path(key))))
                .collect(),
            Some(_) => Err(invalid(self.path(key), "must be an array")),
        }
    }
}

/// `at.key`, or `key` at the top of a document.
fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

/// Shorthand for [`ImportError::Invalid`].
fn invalid(field: impl Into<String>, message: impl Into<String>) -> ImportError {
    ImportError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// The value to use: `value`, else `default`, with templates filled; never empty and never
/// with a template left in it.
fn value_of(input: &Input) -> Option<String> {
    [&input.value, &input.default]
        .into_iter()
        .flatten()
        .find_map(|raw| {
            let (text, unresolved) = substitute(raw, &input.variables);
            (unresolved.is_empty() && !text.trim().is_empty()).then_some(text)
        })
}

/// Fills the `{name}` templates of `text` from `variables`. Returns the text, with the
/// templates nothing could fill kept verbatim, and their names (each once). Braces around
/// anything that is not a name (JSON, say) are plain text.
fn substitute(text: &str, variables: &BTreeMap<String, Input>) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut unresolved = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name = after
            .find('}')
            .map(|close| &after[..close])
            .filter(|name| !name.contains('{'));
        let Some(name) = name else {
            out.push('{');
            rest = after;
            continue;
        };
        match variables.get(name).and_then(variable_value) {
            Some(value) => out.push_str(&value),
            None => {
                out.push_str(&rest[open..open + name.len() + 2]);
                let template = variables.contains_key(name) || is_template_name(name);
                if template && !unresolved.iter().any(|seen| seen == name) {
                    unresolved.push(name.to_owned());
                }
            }
        }
        rest = &after[name.len() + 1..];
    }
    out.push_str(rest);
    (out, unresolved)
}

/// A variable's own value or default; variables have no variables, so a template in it is
/// a placeholder nobody filled.
fn variable_value(variable: &Input) -> Option<String> {
    [&variable.value, &variable.default]
        .into_iter()
        .flatten()
        .find(|value| !value.trim().is_empty() && substitute(value, &BTreeMap::new()).1.is_empty())
        .cloned()
}

/// `[A-Za-z_][A-Za-z0-9_-]*`: the schema's template names, plus '-' which publishers use.
fn is_template_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
