//! Turning a checked `server.json` into one runnable registration.
//!
//! Choices made where the schema leaves room (each one keeps an import safe to store and
//! honest about what is still missing):
//! - A `{name}` in a value is filled from the input's `variables` (value, else default). A
//!   template nothing fills makes the value unusable: the schema would keep the braces, but
//!   a literal `{api_key}` sent as a header or secret is never what the publisher meant.
//! - An input without a usable value is left out; if it is required it is listed in
//!   [`Candidate::missing`] for the admin. Imports start disabled, so nothing half-configured
//!   is routed or started.
//! - Unfilled URL variables stay in the URL as `{name}` text (listed as missing) as long as
//!   the URL still parses, so the admin edits one obvious spot; a URL that cannot parse that
//!   way (`{base}/mcp`, a templated port) is an error.

use std::collections::BTreeMap;

use serde_json::Value;

use super::document::{self, Argument, Input, KeyValue, Package, Remote, ServerDoc};
use super::{ImportError, local_path, substitute, value_of};
use crate::error::RegistryError;
use crate::input::ServerInput;
use crate::model::now;

/// Package registries mcpgw can launch, in the order it prefers them when an entry offers
/// several: npx and uvx are the most common launchers, docker is heavier, dnx the rarest.
const RUNNABLE_REGISTRIES: [&str; 4] = ["npm", "pypi", "oci", "nuget"];

/// Longest version a registration keeps (validation's limit for short fields); server.json
/// allows 255, and a longer one is kept in [`Candidate::version`] only.
const MAX_REGISTERED_VERSION: usize = 200;

/// A registry entry converted into a registration, with what the admin must still supply.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The entry's name, e.g. `io.github.foo/weather`; the key to find it again upstream.
    pub name: String,
    /// The entry's version.
    pub version: String,
    /// A complete registration, with `enabled: Some(false)`: imports start disabled until
    /// an admin has reviewed them and filled in [`Candidate::missing`].
    pub input: ServerInput,
    /// Which part of the entry was used: `remote streamable-http`, `remote sse`,
    /// `package npm`, `package pypi`, `package oci` or `package nuget`.
    pub source: String,
    /// Settings the admin must still fill in, each named: `env GITHUB_TOKEN`,
    /// `header Authorization`, `argument --api-key`, `url variable tenant_id`.
    pub missing: Vec<String>,
}

/// Checks a server.json against the rules of the 2025-12-11 schema that matter (required
/// fields, name pattern `^[a-zA-Z0-9.-]+/[a-zA-Z0-9._-]+$` and 3..=200 chars, description
/// 1..=100, version ≤255 and not a range, `remotes[].type` streamable-http|sse with an
/// http(s) url, `packages[]` registryType/identifier/transport) and converts it. Unknown
/// fields are ignored, so entries written for newer schemas still import.
///
/// Remotes win over packages (nothing to install or start), streamable-http over sse (sse
/// is deprecated); among packages npm, pypi, oci, nuget in that order, stdio only. The
/// result is checked with mcpgw's own registration rules, so it registers unless its path
/// is taken.
pub fn candidate(server: &Value) -> Result<Candidate, ImportError> {
    let doc = document::parse(server)?;
    let mut missing = Vec::new();
    let launch = match choose(&doc)? {
        Choice::Remote(remote) => from_remote(remote, &mut missing)?,
        Choice::Package(package) => from_package(package, &mut missing),
    };
    let title = doc.title.as_ref().filter(|title| !title.trim().is_empty());
    let input = ServerInput {
        path: Some(local_path(&doc.name)),
        name: Some(title.unwrap_or(&doc.name).clone()),
        description: Some(doc.description.clone()),
        transport: Some(launch.transport.to_owned()),
        url: launch.url,
        args: launch.command.is_some().then_some(launch.args),
        command: launch.command,
        env: (!launch.env.is_empty()).then_some(launch.env),
        headers: (!launch.headers.is_empty()).then_some(launch.headers),
        tags: None,
        license: None,
        version: (doc.version.chars().count() <= MAX_REGISTERED_VERSION)
            .then(|| doc.version.clone()),
        enabled: Some(false),
        eager: None,
        egress: None,
    };
    registers(&input)?;
    Ok(Candidate {
        name: doc.name,
        version: doc.version,
        input,
        source: launch.source,
        missing,
    })
}

/// What the chosen remote or package contributes to the registration.
#[derive(Default)]
struct Launch {
    /// [`Candidate::source`].
    source: String,
    /// `streamable-http`, `sse` or `stdio`.
    transport: &'static str,
    /// For remotes.
    url: Option<String>,
    /// For packages: the launcher.
    command: Option<String>,
    /// For packages: the launcher's arguments.
    args: Vec<String>,
    /// For packages.
    env: BTreeMap<String, String>,
    /// For remotes.
    headers: BTreeMap<String, String>,
}

/// The part of an entry mcpgw will run.
enum Choice<'a> {
    /// A hosted endpoint.
    Remote(&'a Remote),
    /// A package started as a stdio process.
    Package(&'a Package),
}

/// Picks what to run (see [`candidate`]), or says what the entry offers instead.
fn choose(doc: &ServerDoc) -> Result<Choice<'_>, ImportError> {
    for kind in ["streamable-http", "sse"] {
        if let Some(remote) = doc.remotes.iter().find(|remote| remote.kind == kind) {
            return Ok(Choice::Remote(remote));
        }
    }
    for registry in RUNNABLE_REGISTRIES {
        let runnable =
            |package: &&Package| package.registry_type == registry && package.transport == "stdio";
        if let Some(package) = doc.packages.iter().find(runnable) {
            return Ok(Choice::Package(package));
        }
    }
    let mut found: Vec<String> = Vec::new();
    for package in &doc.packages {
        let reason = if RUNNABLE_REGISTRIES.contains(&package.registry_type.as_str()) {
            format!(
                "{} package {} uses transport {}, a local HTTP server mcpgw does not start",
                package.registry_type, package.identifier, package.transport
            )
        } else {
            format!("{} packages are not supported", package.registry_type)
        };
        if !found.contains(&reason) {
            found.push(reason);
        }
    }
    if found.is_empty() {
        found.push("the entry has neither remotes nor packages".to_owned());
    }
    Err(ImportError::Unsupported(found.join("; ")))
}

/// A remote's URL with its templates filled, and its headers.
fn from_remote(remote: &Remote, missing: &mut Vec<String>) -> Result<Launch, ImportError> {
    let (url, unresolved) = substitute(&remote.url, &remote.variables);
    let parses = url::Url::parse(&url).is_ok_and(|parsed| {
        matches!(parsed.scheme(), "http" | "https")
            && parsed.host_str().is_some_and(|host| !host.is_empty())
    });
    if !parses {
        let message = match unresolved.as_slice() {
            [] => format!("'{url}' is not a valid http(s) URL"),
            names => format!(
                "'{url}' is not a valid http(s) URL without a value for {}",
                names.join(", ")
            ),
        };
        return Err(ImportError::Invalid {
            field: format!("{}.url", remote.at),
            message,
        });
    }
    missing.extend(unresolved.iter().map(|name| format!("url variable {name}")));
    let mut headers = BTreeMap::new();
    for header in &remote.headers {
        fill(header, "header", &mut headers, missing);
    }
    Ok(Launch {
        source: format!("remote {}", remote.kind),
        transport: if remote.kind == "sse" {
            "sse"
        } else {
            "streamable-http"
        },
        url: Some(url),
        headers,
        ..Launch::default()
    })
}

/// The command line of a package: `<launcher> <launcher options> <registry option>
/// <runtimeArguments> <package spec> <packageArguments>`.
fn from_package(package: &Package, missing: &mut Vec<String>) -> Launch {
    let registry = package.registry_type.as_str();
    // A hint is taken only when it names a launcher of that registry's packages: a
    // registry entry must not choose an arbitrary program for the gateway to run.
    let command = package
        .runtime_hint
        .clone()
        .filter(|hint| launchers(registry).contains(&hint.as_str()))
        .unwrap_or_else(|| default_launcher(registry).to_owned());
    let mut args: Vec<String> = match command.as_str() {
        "npx" => vec!["-y".into()],
        "docker" | "podman" => vec!["run".into(), "-i".into(), "--rm".into()],
        _ => Vec::new(),
    };
    if let Some(base) = custom_registry(package) {
        let option = match registry {
            "npm" => Some("--registry"),
            "pypi" => Some("--index-url"),
            "nuget" => Some("--source"),
            _ => None, // oci: the registry goes into the image reference instead
        };
        if let Some(option) = option {
            args.extend([option.to_owned(), base.to_owned()]);
        }
    }
    let mut env = BTreeMap::new();
    let container = registry == "oci" && matches!(command.as_str(), "docker" | "podman");
    for variable in &package.environment_variables {
        let missing_before = missing.len();
        fill(variable, "env", &mut env, missing);
        // A container sees only the variables named with -e; `-e NAME` without a value takes
        // it from docker's own environment, so secrets stay off the command line and a value
        // the admin fills in later reaches the container without editing the arguments.
        if container && (env.contains_key(&variable.name) || missing.len() > missing_before) {
            args.extend(["-e".to_owned(), variable.name.clone()]);
        }
    }
    args.extend(arguments(&package.runtime_arguments, missing));
    args.push(package_spec(package));
    if command == "dnx" {
        args.push("--yes".into());
    }
    args.extend(arguments(&package.package_arguments, missing));
    Launch {
        source: format!("package {registry}"),
        transport: "stdio",
        command: Some(command),
        args,
        env,
        ..Launch::default()
    }
}

/// The launcher the MCP ecosystem uses for a registry type when no `runtimeHint` says.
fn default_launcher(registry: &str) -> &'static str {
    match registry {
        "npm" => "npx",
        "pypi" => "uvx",
        "oci" => "docker",
        _ => "dnx",
    }
}

/// The launchers a `runtimeHint` may name for a registry type's packages.
fn launchers(registry: &str) -> &'static [&'static str] {
    match registry {
        "npm" => &["npx", "bunx", "pnpx"],
        "pypi" => &["uvx", "pipx"],
        "oci" => &["docker", "podman"],
        _ => &["dnx"],
    }
}

/// `registryBaseUrl` when it is not the registry type's public registry.
fn custom_registry(package: &Package) -> Option<&str> {
    let base = package.registry_base_url.as_deref()?;
    let host = url::Url::parse(base).ok()?.host_str()?.to_ascii_lowercase();
    let public: &[&str] = match package.registry_type.as_str() {
        "npm" => &["registry.npmjs.org", "registry.npmjs.com"],
        "pypi" => &["pypi.org"],
        "nuget" => &["api.nuget.org"],
        "oci" => &[
            "docker.io",
            "index.docker.io",
            "registry-1.docker.io",
            "registry.hub.docker.com",
        ],
        _ => &[],
    };
    (!public.contains(&host.as_str())).then_some(base)
}

/// How the launcher names the package at its version (`pkg@1`, `pkg==1`, `image:1`).
fn package_spec(package: &Package) -> String {
    let identifier = &package.identifier;
    match (package.registry_type.as_str(), &package.version) {
        ("oci", version) => image(package, version.as_deref()),
        ("pypi", Some(version)) => format!("{identifier}=={version}"),
        ("npm" | "nuget", Some(version)) => format!("{identifier}@{version}"),
        _ => identifier.clone(),
    }
}

/// An image reference: the custom registry's host if the identifier names none, and the
/// version as tag if the identifier has neither tag nor digest.
fn image(package: &Package, version: Option<&str>) -> String {
    let mut image = package.identifier.clone();
    let first = image.split('/').next().unwrap_or_default();
    let names_registry =
        image.contains('/') && (first.contains(['.', ':']) || first == "localhost");
    if !names_registry
        && let Some(base) = custom_registry(package)
        && let Ok(base) = url::Url::parse(base)
        && let Some(host) = base.host_str()
    {
        image = match base.port() {
            Some(port) => format!("{host}:{port}/{image}"),
            None => format!("{host}/{image}"),
        };
    }
    let last = image.rsplit('/').next().unwrap_or_default();
    match version {
        Some(version) if !image.contains('@') && !last.contains(':') => {
            format!("{image}:{version}")
        }
        _ => image,
    }
}

/// Command-line arguments: a positional is its value; a named one is its name and value,
/// or its name alone when it is a required switch (no value, nothing to type or pick).
/// Optional arguments without a value are left out; required ones are listed as missing.
fn arguments(list: &[Argument], missing: &mut Vec<String>) -> Vec<String> {
    let mut args = Vec::new();
    for argument in list {
        match argument {
            Argument::Positional { hint, input } => match value_of(input) {
                Some(value) => args.push(value),
                None if input.required => {
                    let label = hint
                        .as_deref()
                        .or(input.value.as_deref())
                        .unwrap_or("(positional)");
                    missing.push(format!("argument {label}"));
                }
                None => {}
            },
            Argument::Named { name, input } => match value_of(input) {
                Some(value) => args.extend([name.clone(), value]),
                None if !input.required => {}
                None if is_switch(input) => args.push(name.clone()),
                None => missing.push(match input.value.as_deref().filter(|v| !v.is_empty()) {
                    Some(template) => format!("argument {name} {template}"),
                    None => format!("argument {name}"),
                }),
            },
        }
    }
    args
}

/// A named argument that asks for nothing: no value, no default, not secret, nothing to
/// type or pick, and not a typed value (string, number, file path).
fn is_switch(input: &Input) -> bool {
    input.value.is_none()
        && input.default.is_none()
        && !input.secret
        && !input.prompts
        && input
            .format
            .as_deref()
            .is_none_or(|format| format == "boolean")
}

/// Puts a header's or environment variable's value into `into`, or lists it as missing.
fn fill(
    entry: &KeyValue,
    kind: &str,
    into: &mut BTreeMap<String, String>,
    missing: &mut Vec<String>,
) {
    match value_of(&entry.input) {
        Some(value) => {
            into.entry(entry.name.clone()).or_insert(value);
        }
        None if entry.input.required => missing.push(format!("{kind} {}", entry.name)),
        None => {}
    }
}

/// Checks the registration with mcpgw's own rules, so a candidate always registers.
fn registers(input: &ServerInput) -> Result<(), ImportError> {
    match input.clone().into_new_server(now()) {
        Ok(_) => Ok(()),
        Err(RegistryError::Invalid { field, message }) => {
            Err(ImportError::Unregistrable { field, message })
        }
        Err(other) => Err(ImportError::Unregistrable {
            field: "server".to_owned(),
            message: other.to_string(),
        }),
    }
}
