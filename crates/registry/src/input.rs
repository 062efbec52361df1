//! What a caller sends to register or update a server, before validation.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::error::RegistryError;
use crate::model::{Health, Server, Transport};
use crate::validation;

/// Tags as a JSON array or as the comma-separated string of the Python registry's form.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum TagsInput {
    /// `["a", "b"]`
    List(Vec<String>),
    /// `"a, b"`
    CommaSeparated(String),
}

impl TagsInput {
    fn into_vec(self) -> Vec<String> {
        match self {
            TagsInput::List(tags) => tags,
            TagsInput::CommaSeparated(text) => text.split(',').map(str::to_owned).collect(),
        }
    }
}

/// The fields of a server a caller may set. Every field is optional so the same type
/// serves registration (where `path` is required) and partial updates (absent = keep).
/// Unknown fields are rejected, so a typo never silently does nothing.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerInput {
    /// URL segment; a leading or trailing `/` is ignored (`/weather` = `weather`).
    pub path: Option<String>,
    /// Display name; defaults to the path.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// `streamable-http` (default for URLs), `sse` or `stdio` (default with a command).
    pub transport: Option<String>,
    /// Upstream URL; `proxy_pass_url` is the Python registry's name for it.
    #[serde(alias = "proxy_pass_url")]
    pub url: Option<String>,
    /// Program for stdio servers.
    pub command: Option<String>,
    /// Its arguments.
    pub args: Option<Vec<String>>,
    /// Its environment.
    pub env: Option<BTreeMap<String, String>>,
    /// Headers to add upstream.
    pub headers: Option<BTreeMap<String, String>>,
    /// Labels.
    pub tags: Option<TagsInput>,
    /// Licence.
    pub license: Option<String>,
    /// Version.
    pub version: Option<String>,
    /// Whether it is routed and checked (default true).
    pub enabled: Option<bool>,
    /// Start a stdio server with the gateway rather than on first use (default false).
    pub eager: Option<bool>,
    /// How the gateway authorises itself upstream (default `{"mode": "none"}`).
    pub egress: Option<crate::egress::Egress>,
}

impl ServerInput {
    /// Builds a new, validated server from a registration.
    pub fn into_new_server(self, now: DateTime<Utc>) -> Result<Server, RegistryError> {
        let Some(path) = self.path.clone() else {
            return Err(RegistryError::invalid("path", "is required"));
        };
        let path = validation::normalize_path(&path);
        let transport = match &self.transport {
            Some(_) => None,
            None if self.command.is_some() => Some(Transport::Stdio),
            None => Some(Transport::StreamableHttp),
        };
        let blank = Server {
            name: path.clone(),
            path,
            description: String::new(),
            transport: transport.unwrap_or(Transport::StreamableHttp),
            url: None,
            command: None,
            args: Vec::new(),
            env: BTreeMap::new(),
            headers: BTreeMap::new(),
            tags: Vec::new(),
            license: None,
            version: None,
            enabled: true,
            eager: false,
            egress: crate::egress::Egress::None,
            created_at: now,
            updated_at: now,
            health: Health::unknown(),
            server_info: None,
            tools: Vec::new(),
            tools_updated_at: None,
            revision: 0,
        };
        self.apply_to(&blank, now)
    }

    /// Applies an update to an existing server and validates the result. The path cannot
    /// change; changing the transport drops the fields of the old one.
    pub fn apply_to(self, existing: &Server, now: DateTime<Utc>) -> Result<Server, RegistryError> {
        if let Some(path) = &self.path
            && validation::normalize_path(path) != existing.path
        {
            return Err(RegistryError::invalid(
                "path",
                "cannot be changed; remove and register again",
            ));
        }
        let mut server = existing.clone();
        if let Some(transport) = &self.transport {
            let parsed = Transport::parse(transport).ok_or_else(|| {
                RegistryError::invalid(
                    "transport",
                    format!("must be streamable-http, sse or stdio, not '{transport}'"),
                )
            })?;
            if parsed.is_http() != server.transport.is_http() {
                server.url = None;
                server.command = None;
                server.args.clear();
                server.env.clear();
                server.eager = false;
                server.egress = crate::egress::Egress::None;
            }
            server.transport = parsed;
        }
        let secrets_resent = |values: &Option<BTreeMap<String, String>>| {
            values
                .as_ref()
                .is_some_and(|values| values.values().all(|value| value != REDACTED))
        };
        let headers_resent = secrets_resent(&self.headers);
        let env_resent = secrets_resent(&self.env);
        set(&mut server.name, self.name);
        set(&mut server.description, self.description);
        if let Some(url) = self.url {
            server.url = Some(keep_redacted_password(url, existing.url.as_deref()));
        }
        set_some(&mut server.command, self.command);
        set(&mut server.args, self.args);
        if let Some(env) = self.env {
            server.env = keep_redacted("env", env, &existing.env)?;
        }
        if let Some(headers) = self.headers {
            server.headers = keep_redacted("headers", headers, &existing.headers)?;
        }
        set(&mut server.tags, self.tags.map(TagsInput::into_vec));
        set(&mut server.eager, self.eager);
        if let Some(egress) = self.egress {
            server.egress = egress.validated(&existing.egress)?;
        }
        set_some(&mut server.license, self.license);
        set_some(&mut server.version, self.version);
        set(&mut server.enabled, self.enabled);
        server.updated_at = now;
        validation::validate(&mut server)?;
        // Header and environment values are often credentials meant for one destination:
        // they do not silently follow the server to another host or program.
        if !existing.headers.is_empty()
            && !headers_resent
            && origin_of(server.url.as_deref()) != origin_of(existing.url.as_deref())
        {
            return Err(RegistryError::invalid(
                "headers",
                "re-enter the header values when moving the server to another host (they may be secrets)",
            ));
        }
        if !existing.env.is_empty() && !env_resent && server.command != existing.command {
            return Err(RegistryError::invalid(
                "env",
                "re-enter the environment values when changing the command (they may be secrets)",
            ));
        }
        Ok(server)
    }
}

/// Placeholder shown instead of header and environment values, which often hold secrets.
/// Sending it back in an update keeps the stored value, so a read-modify-write round trip
/// of an API response never overwrites a secret with the placeholder.
pub const REDACTED: &str = "<redacted>";

fn keep_redacted(
    field: &str,
    incoming: BTreeMap<String, String>,
    stored: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, RegistryError> {
    incoming
        .into_iter()
        .map(|(key, value)| {
            if value != REDACTED {
                return Ok((key, value));
            }
            match stored.get(&key) {
                Some(original) => Ok((key, original.clone())),
                None => Err(RegistryError::invalid(
                    field,
                    format!("'{key}' has the placeholder {REDACTED} but no stored value"),
                )),
            }
        })
        .collect()
}

/// `scheme://host:port` of a URL, to tell whether a server moved to another host.
fn origin_of(url: Option<&str>) -> Option<String> {
    let url = url::Url::parse(url?).ok()?;
    Some(url.origin().ascii_serialization())
}

/// The API shows a URL's password as [`REDACTED`]; a URL sent back with that placeholder
/// keeps the stored password (only if it still points to the same place).
fn keep_redacted_password(url: String, stored: Option<&str>) -> String {
    let (Ok(mut incoming), Some(Ok(stored))) = (url::Url::parse(&url), stored.map(url::Url::parse))
    else {
        return url;
    };
    let placeholder = incoming
        .password()
        .is_some_and(|password| percent_decode(password) == REDACTED);
    if !placeholder
        || incoming.origin() != stored.origin()
        || incoming.username() != stored.username()
    {
        return url;
    }
    if incoming.set_password(stored.password()).is_err() {
        return url;
    }
    incoming.to_string()
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default()
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *slot = value;
    }
}

fn set_some<T>(slot: &mut Option<T>, value: Option<T>) {
    if value.is_some() {
        *slot = value;
    }
}
