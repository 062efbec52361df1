//! One `server.json`, read into typed parts and checked against the rules of the 2025-12-11
//! schema that decide whether and how mcpgw can run the server. Every error carries the
//! JSON path of the
//! offending field, so an admin importing a file of hundreds of entries knows which one to
//! fix and where.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{ImportError, Obj, invalid};

/// A checked `server.json`: the fields mcpgw uses, everything else ignored.
#[derive(Debug)]
pub(super) struct ServerDoc {
    /// `namespace/name`, e.g. `io.github.acme/weather`.
    pub name: String,
    /// Display name, if given.
    pub title: Option<String>,
    /// One line, at most 100 characters.
    pub description: String,
    /// A specific version, never a range.
    pub version: String,
    /// Hosted endpoints.
    pub remotes: Vec<Remote>,
    /// Installable packages.
    pub packages: Vec<Package>,
}

/// A hosted server (`remotes[]`).
#[derive(Debug)]
pub(super) struct Remote {
    /// JSON path, for errors.
    pub at: String,
    /// `streamable-http` or `sse`.
    pub kind: String,
    /// The endpoint, possibly with `{name}` templates.
    pub url: String,
    /// Headers to send, with the values the user may have to supply.
    pub headers: Vec<KeyValue>,
    /// Values of the `{name}` templates in `url`.
    pub variables: BTreeMap<String, Input>,
}

/// A package a client runs locally (`packages[]`).
#[derive(Debug)]
pub(super) struct Package {
    /// Lowercased `registryType` (`npm`, `pypi`, `oci`, `nuget`, `mcpb` …).
    pub registry_type: String,
    /// The registry to fetch from, when not the public one of its type.
    pub registry_base_url: Option<String>,
    /// Package name, or the image reference for `oci`.
    pub identifier: String,
    /// Package version (oci may carry it in the identifier instead).
    pub version: Option<String>,
    /// The program to launch it with (`npx`, `uvx`, `docker`, `dnx` …), if given.
    pub runtime_hint: Option<String>,
    /// `transport.type`: `stdio`, `streamable-http` or `sse`.
    pub transport: String,
    /// Arguments for the launcher, before the package.
    pub runtime_arguments: Vec<Argument>,
    /// Arguments for the package, after it.
    pub package_arguments: Vec<Argument>,
    /// Environment of the process.
    pub environment_variables: Vec<KeyValue>,
}

/// A value the user may have to supply (the schema's `Input` / `InputWithVariables`).
#[derive(Debug, Default)]
pub(super) struct Input {
    /// The value the publisher fixed, possibly with templates.
    pub value: Option<String>,
    /// The value to use when the user gives none.
    pub default: Option<String>,
    /// `isRequired`: the server does not work without it.
    pub required: bool,
    /// `isSecret`: a credential.
    pub secret: bool,
    /// `string`, `number`, `boolean` or `filepath`.
    pub format: Option<String>,
    /// A `placeholder` or `choices` is given: the publisher expects the user to type or
    /// pick something.
    pub prompts: bool,
    /// Values of the `{name}` templates in `value` (and `default`).
    pub variables: BTreeMap<String, Input>,
}

/// A header or an environment variable.
#[derive(Debug)]
pub(super) struct KeyValue {
    /// The header's or variable's name.
    pub name: String,
    /// Its value.
    pub input: Input,
}

/// A command-line argument.
#[derive(Debug)]
pub(super) enum Argument {
    /// Inserted verbatim; `hint` (`valueHint`) names it for humans.
    Positional { hint: Option<String>, input: Input },
    /// `name` followed by the value, or `name` alone.
    Named { name: String, input: Input },
}

/// Reads and checks a `server.json`; errors name the field as `server.<path>`.
pub(super) fn parse(server: &Value) -> Result<ServerDoc, ImportError> {
    let doc = Obj::of(server, "server".to_owned())?;
    let name = doc.required_str("name")?;
    let name_ok = name.split_once('/').is_some_and(|(namespace, rest)| {
        let chars = |text: &str, extra: &[char]| {
            !text.is_empty()
                && text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
        };
        chars(namespace, &['.', '-']) && chars(rest, &['.', '_', '-'])
    });
    if !name_ok {
        return Err(invalid(
            doc.path("name"),
            format!(
                "'{name}' must be namespace/name (reverse-DNS namespace of letters, digits, '.' and '-'; name of letters, digits, '.', '_' and '-')"
            ),
        ));
    }
    check_len(&doc, "name", &name, 3, 200)?;
    let description = doc.required_str("description")?;
    check_len(&doc, "description", &description, 1, 100)?;
    let title = doc.str("title")?;
    if let Some(title) = &title {
        check_len(&doc, "title", title, 1, 100)?;
    }
    let version = doc.required_str("version")?;
    check_version(&doc.path("version"), &version, 255)?;
    Ok(ServerDoc {
        name,
        title,
        description,
        version,
        remotes: doc.list("remotes", remote)?,
        packages: doc.list("packages", package)?,
    })
}

/// One of `remotes[]`; only HTTP transports make sense for a hosted server.
fn remote(remote: &Obj) -> Result<Remote, ImportError> {
    let kind = remote.required_str("type")?;
    if !matches!(kind.as_str(), "streamable-http" | "sse") {
        return Err(invalid(
            remote.path("type"),
            format!("'{kind}' must be streamable-http or sse (a remote is reached over HTTP)"),
        ));
    }
    let url = remote.required_str("url")?;
    // 2025-12-11 wants `^https?://\S+`; later drafts also allow a leading `{template}`.
    let scheme_ok = ["http://", "https://", "{"].iter().any(|prefix| {
        url.get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    });
    if !scheme_ok || url.chars().any(char::is_whitespace) {
        return Err(invalid(
            remote.path("url"),
            format!("'{url}' must be an http(s) URL"),
        ));
    }
    Ok(Remote {
        at: remote.at.clone(),
        kind,
        url,
        headers: remote.list("headers", key_value)?,
        variables: variables(remote)?,
    })
}

/// One of `packages[]`. An unknown `registryType` is not an error here: newer schemas add
/// registries, and [`super::candidate`] reports what it cannot run.
fn package(package: &Obj) -> Result<Package, ImportError> {
    let registry_type = package.required_str("registryType")?.to_ascii_lowercase();
    let identifier = package.required_str("identifier")?;
    // It lands on a command line: an identifier that reads as an option is refused.
    if identifier.starts_with('-') || identifier.chars().any(char::is_whitespace) {
        return Err(invalid(
            package.path("identifier"),
            "must be a package name, not an option or several words",
        ));
    }
    let Some(transport) = package.object("transport")? else {
        return Err(invalid(package.path("transport"), "is required"));
    };
    let transport_type = transport.required_str("type")?;
    if !matches!(transport_type.as_str(), "stdio" | "streamable-http" | "sse") {
        return Err(invalid(
            transport.path("type"),
            format!("'{transport_type}' must be stdio, streamable-http or sse"),
        ));
    }
    let version = package.str("version")?;
    if let Some(version) = &version {
        check_version(&package.path("version"), version, usize::MAX)?;
    }
    let registry_base_url = package.str("registryBaseUrl")?;
    if let Some(base) = &registry_base_url
        && url::Url::parse(base).is_err()
    {
        return Err(invalid(
            package.path("registryBaseUrl"),
            format!("'{base}' is not a URL"),
        ));
    }
    Ok(Package {
        registry_type,
        registry_base_url,
        identifier,
        version,
        runtime_hint: package
            .str("runtimeHint")?
            .filter(|hint| !hint.trim().is_empty()),
        transport: transport_type,
        runtime_arguments: package.list("runtimeArguments", argument)?,
        package_arguments: package.list("packageArguments", argument)?,
        environment_variables: package.list("environmentVariables", key_value)?,
    })
}

/// One of `runtimeArguments[]` / `packageArguments[]`.
fn argument(argument: &Obj) -> Result<Argument, ImportError> {
    let kind = argument.required_str("type")?;
    let input = input(argument, true)?;
    match kind.as_str() {
        "named" => Ok(Argument::Named {
            name: argument.required_str("name")?,
            input,
        }),
        "positional" => {
            let hint = argument.str("valueHint")?;
            if hint.is_none() && input.value.is_none() {
                return Err(invalid(
                    argument.path("value"),
                    "a positional argument needs a value or a valueHint",
                ));
            }
            Ok(Argument::Positional { hint, input })
        }
        _ => Err(invalid(
            argument.path("type"),
            format!("'{kind}' must be positional or named"),
        )),
    }
}

/// A header or environment variable: a name and an input.
fn key_value(entry: &Obj) -> Result<KeyValue, ImportError> {
    Ok(KeyValue {
        name: entry.required_str("name")?,
        input: input(entry, true)?,
    })
}

/// The input fields of `input`; variables of variables are not part of the schema, hence
/// `with_variables`.
fn input(input: &Obj, with_variables: bool) -> Result<Input, ImportError> {
    let flag = |key: &str| match input.get(key) {
        None => Ok(false),
        Some(Value::Bool(flag)) => Ok(*flag),
        Some(_) => Err(invalid(input.path(key), "must be a boolean")),
    };
    Ok(Input {
        value: input.scalar("value")?,
        default: input.scalar("default")?,
        required: flag("isRequired")?,
        secret: flag("isSecret")?,
        format: input.str("format")?,
        prompts: input.get("placeholder").is_some()
            || input
                .get("choices")
                .and_then(Value::as_array)
                .is_some_and(|choices| !choices.is_empty()),
        variables: if with_variables {
            variables(input)?
        } else {
            BTreeMap::new()
        },
    })
}

/// The `variables` map of an input or remote.
fn variables(owner: &Obj) -> Result<BTreeMap<String, Input>, ImportError> {
    let Some(variables) = owner.object("variables")? else {
        return Ok(BTreeMap::new());
    };
    variables
        .map
        .iter()
        .map(|(name, value)| {
            Ok((
                name.clone(),
                input(&Obj::of(value, variables.path(name))?, false)?,
            ))
        })
        .collect()
}

/// The schema's `minLength`/`maxLength`, counted in characters as JSON Schema does.
fn check_len(obj: &Obj, key: &str, text: &str, min: usize, max: usize) -> Result<(), ImportError> {
    let len = text.chars().count();
    if len < min || len > max {
        return Err(invalid(
            obj.path(key),
            format!("must be {min} to {max} characters, not {len}"),
        ));
    }
    Ok(())
}

/// A version must name one release: the official registry rejects `latest` (it is the
/// API's alias for the newest version) and anything that reads as a range.
fn check_version(at: &str, version: &str, max: usize) -> Result<(), ImportError> {
    if version.trim().is_empty() {
        return Err(invalid(at, "must not be empty"));
    }
    if version.chars().count() > max {
        return Err(invalid(at, format!("must be at most {max} characters")));
    }
    if version == "latest" {
        return Err(invalid(at, "'latest' is reserved; give a specific version"));
    }
    if looks_like_range(version) {
        return Err(invalid(
            at,
            format!("'{version}' is a version range; give a specific version"),
        ));
    }
    Ok(())
}

/// The official registry's range detection: comparators (`^1.2.3`, `>=1`), alternatives
/// (`1.2 || 1.3`), hyphen ranges (`1 - 2`) and wildcards in a dotted version (`1.x`, `1.2.*`).
pub(crate) fn looks_like_range(version: &str) -> bool {
    let version = version.trim();
    if version.starts_with(['^', '~', '>', '<', '='])
        || version.contains("||")
        || version.split_whitespace().any(|word| word == "-")
    {
        return true;
    }
    let dotted = version.strip_prefix(['v', 'V']).unwrap_or(version);
    let parts: Vec<&str> = dotted.split('.').collect();
    let wildcard = |part: &&str| matches!(*part, "x" | "X" | "*");
    parts.iter().any(wildcard)
        && parts.iter().all(|part| {
            wildcard(part) || (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
        })
}
