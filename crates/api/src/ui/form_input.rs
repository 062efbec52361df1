//! The register/edit form's fields, both ways: from a stored server (to edit it) and to a
//! [`ServerInput`] (to validate and save it), with a parse error naming its field.
//!
//! Multi-valued fields are one entry per line: arguments as they are, environment as
//! `NAME=value`, headers as `Name: value`. Secrets are shown as the API shows them
//! ([`REDACTED`]); sending the placeholder back keeps the stored value.

use std::collections::BTreeMap;

use mcpgw_registry::{REDACTED, Server, ServerInput, TagsInput};

use crate::ui::actions::Fields;
use crate::view::redacted_url;

/// The form's values, as text.
#[derive(Debug, Clone, Default)]
pub struct FormValues {
    /// The server's path (fixed when editing).
    pub path: String,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: String,
    /// `streamable-http`, `sse` or `stdio`.
    pub transport: String,
    /// Upstream URL (HTTP transports).
    pub url: String,
    /// Program (stdio).
    pub command: String,
    /// Arguments, one per line.
    pub args: String,
    /// `NAME=value` lines.
    pub env: String,
    /// `Name: value` lines.
    pub headers: String,
    /// Comma-separated tags.
    pub tags: String,
    /// Licence.
    pub license: String,
    /// Version.
    pub version: String,
    /// Routed to and checked.
    pub enabled: bool,
    /// Started with the gateway (stdio).
    pub eager: bool,
    /// The revision the form was made from (edits only).
    pub revision: String,
}

/// A field the form could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field, as named in the form and the API.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl FormValues {
    /// A blank registration form.
    pub fn blank() -> Self {
        FormValues {
            transport: "streamable-http".to_owned(),
            enabled: true,
            ..FormValues::default()
        }
    }

    /// `server`'s values, secrets redacted.
    pub fn of(server: &Server) -> Self {
        let lines = |map: &BTreeMap<String, String>, separator: &str| {
            map.keys()
                .map(|key| format!("{key}{separator}{REDACTED}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        FormValues {
            path: server.path.clone(),
            name: server.name.clone(),
            description: server.description.clone(),
            transport: server.transport.as_str().to_owned(),
            url: server.url.as_deref().map(redacted_url).unwrap_or_default(),
            command: server.command.clone().unwrap_or_default(),
            args: server.args.join("\n"),
            env: lines(&server.env, "="),
            headers: lines(&server.headers, ": "),
            tags: server.tags.join(", "),
            license: server.license.clone().unwrap_or_default(),
            version: server.version.clone().unwrap_or_default(),
            enabled: server.enabled,
            eager: server.eager,
            revision: server.revision.to_string(),
        }
    }

    /// The values of a submitted form.
    pub fn read(fields: &Fields) -> Self {
        let text = |name: &str| fields.get(name).unwrap_or_default().to_owned();
        FormValues {
            path: text("path"),
            name: text("name"),
            description: text("description"),
            transport: text("transport"),
            url: text("url"),
            command: text("command"),
            args: text("args"),
            env: text("env"),
            headers: text("headers"),
            tags: text("tags"),
            license: text("license"),
            version: text("version"),
            enabled: fields.get("enabled").is_some(),
            eager: fields.get("eager").is_some(),
            revision: text("revision"),
        }
    }

    /// Whether the transport needs a URL (else a command).
    pub fn is_http(&self) -> bool {
        self.transport != "stdio"
    }

    /// The registration or update these values ask for. Only the fields of the chosen
    /// transport are sent, and the other transport's secrets are sent empty (so switching
    /// transport drops them instead of refusing to move them); empty optional fields are
    /// cleared. Arguments are kept as typed, one per line (a last empty line is the
    /// textarea's, not an argument).
    pub fn to_input(&self, new: bool) -> Result<ServerInput, FieldError> {
        let optional = |text: &str| Some(text.trim().to_owned());
        let mut input = ServerInput {
            path: new.then(|| self.path.trim().to_owned()),
            name: Some(self.name.trim().to_owned()),
            description: Some(self.description.trim().to_owned()),
            transport: Some(self.transport.clone()),
            tags: Some(TagsInput::CommaSeparated(self.tags.clone())),
            license: optional(&self.license),
            version: optional(&self.version),
            enabled: Some(self.enabled),
            ..ServerInput::default()
        };
        if self.is_http() {
            input.url = Some(self.url.trim().to_owned());
            input.headers = Some(pairs("headers", &self.headers, ':')?);
            input.env = Some(BTreeMap::new());
        } else {
            input.command = Some(self.command.trim().to_owned());
            let mut args: Vec<String> = self.args.lines().map(str::to_owned).collect();
            if args.last().is_some_and(|last| last.trim().is_empty()) {
                args.pop();
            }
            input.args = Some(args);
            input.env = Some(pairs("env", &self.env, '=')?);
            input.headers = Some(BTreeMap::new());
            input.eager = Some(self.eager);
        }
        Ok(input)
    }
}

/// `name<separator>value` lines as a map; a line without the separator is an error naming
/// its field and line.
fn pairs(field: &str, text: &str, separator: char) -> Result<BTreeMap<String, String>, FieldError> {
    let mut map = BTreeMap::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once(separator) else {
            return Err(FieldError {
                field: field.to_owned(),
                message: format!(
                    "line {} has no '{separator}': write one entry per line as name{separator}value",
                    number + 1
                ),
            });
        };
        map.insert(name.trim().to_owned(), value.trim().to_owned());
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_maps_and_bad_lines_name_their_field() {
        let map = pairs("headers", "X-Api-Key: a:b\n\nAccept:  json ", ':').unwrap();
        assert_eq!(map["X-Api-Key"], "a:b");
        assert_eq!(map["Accept"], "json");
        let error = pairs("env", "A=1\nB", '=').unwrap_err();
        assert_eq!(error.field, "env");
        assert!(error.message.contains("line 2"), "{}", error.message);
    }

    #[test]
    fn only_the_chosen_transports_fields_are_sent() {
        let values = FormValues {
            transport: "stdio".into(),
            url: "http://ignored".into(),
            command: "npx".into(),
            args: "-y\n pkg \n".into(),
            ..FormValues::blank()
        };
        let input = values.to_input(true).unwrap();
        assert_eq!(input.url, None);
        assert_eq!(input.command.as_deref(), Some("npx"));
        assert_eq!(input.args, Some(vec!["-y".to_owned(), " pkg ".to_owned()]));
        assert_eq!(
            input.headers,
            Some(BTreeMap::new()),
            "no headers follow to stdio"
        );
        let edit = FormValues::blank().to_input(false).unwrap();
        assert_eq!(edit.path, None, "an edit never sends the path");
    }
}
