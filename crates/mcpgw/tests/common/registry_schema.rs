//! Validation of MCP Registry read API (`/v0.1`) responses against the published schemas:
//! `tests/data/registry/openapi.yaml` (OpenAPI 3.1, the registry's API description) and
//! `tests/data/registry/server.schema.json` (server.json 2025-12-11, draft-07). Both are
//! verbatim copies; `docs/registry-api-notes.md` explains them.
//!
//! - The OpenAPI schemas are checked under their own dialect (`jsonSchemaDialect`, JSON
//!   Schema 2020-12): the root of each schema is `{"$ref": "#/components/schemas/<Name>"}`
//!   beside the document's whole `components` object, so `#/components/schemas/...` refs
//!   resolve as they do in the document.
//! - server.json is a draft-07 resource registered under its `$id`; any ref to that URL
//!   resolves to the local copy and is evaluated under draft-07. Nothing is ever fetched:
//!   the retriever refuses every URL.
//! - `format` (`uri`, `date-time`, ...) is asserted, under both drafts.
//!
//! Only what the schemas say is checked, plus `metadata.count == servers.len()` for lists.

use std::path::Path;

use jsonschema::{Draft, Registry, Retrieve, Uri, Validator};
use serde_json::{Value, json};

/// The dialect OpenAPI 3.1 documents here use for their schemas.
const DIALECT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";
/// The `$schema` of server.json.
const DRAFT_07: &str = "http://json-schema.org/draft-07/schema#";

/// Validators for the registry API's response bodies and for server.json.
pub struct RegistrySchemas {
    server_list: Validator,
    server_response: Validator,
    server_json: Validator,
}

/// A retriever that never fetches: every schema must be in the registry already.
struct Offline;

impl Retrieve for Offline {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!(
            "registry_schema: refusing to fetch {uri}; add a local copy under \
             tests/data/registry and register it"
        )
        .into())
    }
}

impl RegistrySchemas {
    /// Reads `tests/data/registry/{openapi.yaml,server.schema.json}` and builds the
    /// validators. Panics when a file is missing or is not what this module expects.
    pub fn load() -> RegistrySchemas {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/registry");
        let openapi_text =
            std::fs::read_to_string(dir.join("openapi.yaml")).expect("read openapi.yaml");
        let openapi: Value =
            serde_yaml_ng::from_str(&openapi_text).expect("openapi.yaml is YAML for JSON");
        let server_text = std::fs::read_to_string(dir.join("server.schema.json"))
            .expect("read server.schema.json");
        let server_schema: Value =
            serde_json::from_str(&server_text).expect("server.schema.json is JSON");

        assert!(
            openapi["openapi"]
                .as_str()
                .is_some_and(|version| version.starts_with("3.1.")),
            "openapi.yaml is not OpenAPI 3.1: {}",
            openapi["openapi"]
        );
        // OpenAPI 3.1's default dialect (the OAS base dialect) is 2020-12 plus annotations.
        let dialect = openapi["jsonSchemaDialect"]
            .as_str()
            .unwrap_or(DIALECT_2020_12);
        assert_eq!(
            dialect.trim_end_matches('#'),
            DIALECT_2020_12,
            "unsupported jsonSchemaDialect"
        );
        assert_eq!(
            server_schema["$schema"], DRAFT_07,
            "server.schema.json is not draft-07"
        );
        let server_id = server_schema["$id"]
            .as_str()
            .expect("server.schema.json has an $id")
            .to_owned();

        // server.json, pinned to draft-07 whatever refers to it, under its $id.
        let registry = Registry::new()
            .retriever(Offline)
            .add(&server_id, Draft::Draft7.create_resource(server_schema))
            .expect("register server.schema.json")
            .prepare()
            .expect("prepare the schema registry");

        let components = openapi
            .get("components")
            .cloned()
            .expect("openapi.yaml has components");
        let openapi_validator = |name: &str| {
            assert!(
                components["schemas"].get(name).is_some(),
                "openapi.yaml has no components.schemas.{name}"
            );
            let schema = json!({
                "$schema": DIALECT_2020_12,
                "$ref": format!("#/components/schemas/{name}"),
                "components": components,
            });
            jsonschema::options()
                .with_draft(Draft::Draft202012)
                .should_validate_formats(true)
                .with_registry(&registry)
                .with_retriever(Offline)
                .build(&schema)
                .unwrap_or_else(|error| panic!("compile openapi.yaml {name}: {error}"))
        };
        let server_list = openapi_validator("ServerList");
        let server_response = openapi_validator("ServerResponse");
        let server_json = jsonschema::options()
            .with_draft(Draft::Draft7)
            .should_validate_formats(true)
            .with_registry(&registry)
            .with_retriever(Offline)
            .build(&json!({ "$ref": server_id }))
            .unwrap_or_else(|error| panic!("compile server.schema.json: {error}"));
        RegistrySchemas {
            server_list,
            server_response,
            server_json,
        }
    }

    /// Checks a `GET /v0.1/servers` (or `.../versions`) body against the OpenAPI
    /// `ServerList`, and that `metadata.count`, when present, counts `servers`.
    pub fn validate_server_list(&self, body: &Value) -> Result<(), String> {
        let mut errors = schema_errors(&self.server_list, body);
        // A count that is not a number at all is the schema's error, reported above.
        if let (Some(count), Some(servers)) = (
            body["metadata"]["count"].as_f64(),
            body["servers"].as_array(),
        ) && count != servers.len() as f64
        {
            errors.push(format!(
                "/metadata/count: {} is not the number of servers ({})",
                body["metadata"]["count"],
                servers.len()
            ));
        }
        report("ServerList", errors, body)
    }

    /// Checks a `GET /v0.1/servers/{name}/versions/{version}` body against the OpenAPI
    /// `ServerResponse`.
    pub fn validate_server_response(&self, body: &Value) -> Result<(), String> {
        report(
            "ServerResponse",
            schema_errors(&self.server_response, body),
            body,
        )
    }

    /// Checks a server.json document (e.g. a response's `server`) against
    /// server.schema.json 2025-12-11.
    pub fn validate_server_json(&self, server: &Value) -> Result<(), String> {
        report(
            "server.schema.json",
            schema_errors(&self.server_json, server),
            server,
        )
    }

    /// [`Self::validate_server_list`], panicking with every error and the body.
    pub fn check_server_list(&self, body: &Value) {
        if let Err(message) = self.validate_server_list(body) {
            panic!("{message}");
        }
    }

    /// [`Self::validate_server_response`], panicking with every error and the body.
    pub fn check_server_response(&self, body: &Value) {
        if let Err(message) = self.validate_server_response(body) {
            panic!("{message}");
        }
    }

    /// [`Self::validate_server_json`], panicking with every error and the document.
    pub fn check_server_json(&self, server: &Value) {
        if let Err(message) = self.validate_server_json(server) {
            panic!("{message}");
        }
    }
}

/// Every error of `instance` against `validator`: instance path, message, schema path.
fn schema_errors(validator: &Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|error| {
            let path = error.instance_path().as_str();
            format!(
                "{}: {error} (schema: {})",
                if path.is_empty() { "/" } else { path },
                error.schema_path()
            )
        })
        .collect()
}

fn report(what: &str, errors: Vec<String>, instance: &Value) -> Result<(), String> {
    if errors.is_empty() {
        return Ok(());
    }
    let pretty = serde_json::to_string_pretty(instance).unwrap_or_else(|_| instance.to_string());
    Err(format!(
        "not a valid {what} ({} error{}):\n  {}\nin:\n{pretty}",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" },
        errors.join("\n  ")
    ))
}
