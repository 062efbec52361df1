//! The rules a server definition must follow. One place, used by every entry point (REST,
//! legacy form routes, CLI through the API, demo registration), so they cannot disagree.

use crate::error::RegistryError;
use crate::model::Server;

/// Paths that would shadow the gateway's own routes.
pub const RESERVED_PATHS: &[&str] = &[
    "all",
    "api",
    "auth",
    "docs",
    "edit",
    "favicon.ico",
    "health",
    "livez",
    "login",
    "logout",
    "mcp",
    "mcpgw",
    "messages",
    "metrics",
    "oauth",
    "readyz",
    "register",
    "sse",
    "static",
    "toggle",
    "ui",
    "v0",
    "v0.1",
    "ws",
];

const MAX_PATH_LEN: usize = 63;
const MAX_NAME_LEN: usize = 200;
const MAX_DESCRIPTION_LEN: usize = 8 * 1024;
const MAX_SHORT_LEN: usize = 200;
const MAX_TAGS: usize = 50;
const MAX_TAG_LEN: usize = 64;
const MAX_ARGS: usize = 256;
const MAX_HEADER_VALUE_LEN: usize = 8 * 1024;

/// Headers the gateway manages itself; a configured value would break the connection or
/// the protocol.
const FORBIDDEN_HEADERS: &[&str] = &[
    "connection",
    "content-length",
    "content-type",
    "host",
    "keep-alive",
    "mcp-protocol-version",
    "mcp-session-id",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Strips the leading and trailing `/` that Python-registry users write (`/weather/`).
pub fn normalize_path(path: &str) -> String {
    path.trim().trim_matches('/').to_owned()
}

/// Checks a path against `^[a-z0-9][a-z0-9._-]{0,62}$` and the reserved names.
pub fn validate_path(path: &str) -> Result<(), RegistryError> {
    let invalid = |message: String| Err(RegistryError::invalid("path", message));
    let Some(first) = path.chars().next() else {
        return invalid("must not be empty".into());
    };
    if path.len() > MAX_PATH_LEN {
        return invalid(format!("must be at most {MAX_PATH_LEN} characters"));
    }
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return invalid(format!(
            "'{path}' must start with a lowercase letter or a digit"
        ));
    }
    if let Some(bad) = path
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    {
        return invalid(format!(
            "'{path}' contains '{bad}'; use lowercase letters, digits, '.', '_' and '-'"
        ));
    }
    if RESERVED_PATHS.contains(&path) {
        return invalid(format!("'{path}' is reserved for a gateway route"));
    }
    Ok(())
}

/// Validates and normalises a whole server definition in place.
pub fn validate(server: &mut Server) -> Result<(), RegistryError> {
    validate_path(&server.path)?;
    server.name = server.name.trim().to_owned();
    if server.name.is_empty() {
        return Err(RegistryError::invalid("name", "must not be empty"));
    }
    check_len("name", &server.name, MAX_NAME_LEN)?;
    check_len("description", &server.description, MAX_DESCRIPTION_LEN)?;
    // An empty licence or version (a form's blank field) is none at all.
    for (field, value) in [
        ("license", &mut server.license),
        ("version", &mut server.version),
    ] {
        *value = value
            .take()
            .map(|text| text.trim().to_owned())
            .filter(|text| !text.is_empty());
        if let Some(value) = value {
            check_len(field, value, MAX_SHORT_LEN)?;
        }
    }
    if server.transport.is_http() {
        validate_http(server)?;
    } else {
        validate_stdio(server)?;
    }
    validate_headers(server)?;
    if !server.transport.is_http() && server.egress != crate::egress::Egress::None {
        return Err(RegistryError::invalid(
            "egress",
            "only HTTP servers get tokens from an authorization server",
        ));
    }
    normalize_tags(server)
}

fn check_len(field: &str, value: &str, max: usize) -> Result<(), RegistryError> {
    if value.chars().count() > max {
        return Err(RegistryError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

fn validate_http(server: &Server) -> Result<(), RegistryError> {
    let transport = server.transport.as_str();
    let Some(raw) = &server.url else {
        return Err(RegistryError::invalid(
            "url",
            format!("is required for transport {transport}"),
        ));
    };
    let url = url::Url::parse(raw).map_err(|error| {
        RegistryError::invalid("url", format!("'{raw}' is not a valid URL: {error}"))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(RegistryError::invalid(
            "url",
            format!("must use http or https, not '{}'", url.scheme()),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(RegistryError::invalid("url", "must name a host"));
    }
    if url.fragment().is_some() {
        return Err(RegistryError::invalid(
            "url",
            "must not contain a #fragment",
        ));
    }
    if server.command.is_some() || !server.args.is_empty() || !server.env.is_empty() {
        return Err(RegistryError::invalid(
            "command",
            format!("command, args and env are only for stdio servers, not {transport}"),
        ));
    }
    if server.eager {
        return Err(RegistryError::invalid(
            "eager",
            format!("only stdio servers are started by the gateway, not {transport}"),
        ));
    }
    Ok(())
}

fn validate_stdio(server: &Server) -> Result<(), RegistryError> {
    match &server.command {
        Some(command) if !command.trim().is_empty() => {}
        _ => {
            return Err(RegistryError::invalid(
                "command",
                "is required for transport stdio",
            ));
        }
    }
    if server
        .command
        .as_deref()
        .is_some_and(|command| command.contains('\0'))
    {
        return Err(RegistryError::invalid("command", "must not contain NUL"));
    }
    if server.url.is_some() {
        return Err(RegistryError::invalid(
            "url",
            "is not used by stdio servers; remove it",
        ));
    }
    if server.args.len() > MAX_ARGS {
        return Err(RegistryError::invalid(
            "args",
            format!("at most {MAX_ARGS} arguments"),
        ));
    }
    if server.args.iter().any(|arg| arg.contains('\0')) {
        return Err(RegistryError::invalid("args", "must not contain NUL"));
    }
    for (key, value) in &server.env {
        if key.is_empty() || key.contains('=') || key.contains('\0') || value.contains('\0') {
            return Err(RegistryError::invalid(
                "env",
                format!("'{key}' is not a valid environment variable"),
            ));
        }
    }
    Ok(())
}

fn validate_headers(server: &Server) -> Result<(), RegistryError> {
    for (name, value) in &server.headers {
        let is_token = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !is_token {
            return Err(RegistryError::invalid(
                "headers",
                format!("'{name}' is not a valid header name"),
            ));
        }
        if FORBIDDEN_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(RegistryError::invalid(
                "headers",
                format!("'{name}' is managed by the gateway"),
            ));
        }
        let value_ok = value.len() <= MAX_HEADER_VALUE_LEN
            && value
                .bytes()
                .all(|b| b == b'\t' || (0x20..0x7f).contains(&b));
        if !value_ok {
            return Err(RegistryError::invalid(
                "headers",
                format!(
                    "value of '{name}' must be visible ASCII, at most {MAX_HEADER_VALUE_LEN} bytes"
                ),
            ));
        }
    }
    Ok(())
}

fn normalize_tags(server: &mut Server) -> Result<(), RegistryError> {
    let mut tags: Vec<String> = Vec::new();
    for tag in server
        .tags
        .iter()
        .map(|tag| tag.trim())
        .filter(|tag| !tag.is_empty())
    {
        check_len("tags", tag, MAX_TAG_LEN)?;
        if !tags.iter().any(|seen| seen == tag) {
            tags.push(tag.to_owned());
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(RegistryError::invalid(
            "tags",
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    server.tags = tags;
    Ok(())
}

#[cfg(test)]
#[path = "validation_tests.rs"]
mod tests;
