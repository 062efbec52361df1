//! What the built-in tools do ([`super::builtin`] describes them).
//!
//! Registry tools take the same decisions as the REST API: a server the caller may not
//! list is answered as unknown, whatever the action; one it may list but not act on is
//! refused with the permission it lacks. Their failures are tool results with `isError`
//! (the model reads them and can correct itself), not protocol errors.

use mcpgw_policy::{Decision, Policy, Scopes, ServerRef, UiAction};
use mcpgw_registry::{Candidates, ToolDocument, document, find_tools};
use mcpgw_registry::{Server, ServerInput};
use serde_json::{Map, Value, json};

use super::builtin::Builtin;
use super::catalog::ExposedTool;
use super::invoke::{CallFailure, OnNotification};
use super::{Aggregator, Caller, Invocation};

/// Most results a finder query returns, whatever it asks for.
const MAX_RESULTS: u64 = 100;

/// A successful tool result carrying `value` as text (what most clients show the model)
/// and as structured content (an object, as the protocol requires).
pub(crate) fn tool_result(value: Value) -> Value {
    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
    let structured = if value.is_object() {
        value
    } else {
        json!({ "result": value })
    };
    json!({"content": [{"type": "text", "text": text}], "structuredContent": structured})
}

/// A failed tool result the model can read.
pub(crate) fn tool_error(message: impl Into<String>) -> Value {
    json!({"content": [{"type": "text", "text": message.into()}], "isError": true})
}

/// A server as the listing tools describe it, counting only the tools the caller may
/// call (as the REST API shows it): the count of the others is not the caller's business.
fn summary(caller: &Caller, server: &Server) -> Value {
    let filter = caller
        .policy
        .tool_filter(caller.scopes.clone(), &server.path);
    let tools = if filter.allows_everything() {
        server.tools.len()
    } else {
        server
            .tools
            .iter()
            .filter(|tool| filter.allows(&tool.name))
            .count()
    };
    json!({
        "service_path": format!("/{}", server.path),
        "service_name": server.name,
        "description": server.description,
        "tags": server.tags,
        "transport": server.transport.as_str(),
        "enabled": server.enabled,
        "health": server.health.status.as_str(),
        "health_reason": server.health.reason,
        "last_checked": server.health.last_checked,
        "era": server.health.era,
        "num_tools": tools,
    })
}

fn string_arg<'a>(arguments: &'a Map<String, Value>, name: &str) -> Result<&'a str, Value> {
    arguments
        .get(name)
        .and_then(Value::as_str)
        .filter(|value| !value.trim().is_empty())
        .ok_or_else(|| tool_error(format!("`{name}` is required and must be a string")))
}

fn count_arg(arguments: &Map<String, Value>, name: &str, default: u64) -> Result<usize, Value> {
    match arguments.get(name) {
        None | Some(Value::Null) => Ok(default as usize),
        Some(value) => value
            .as_u64()
            .filter(|count| (1..=MAX_RESULTS).contains(count))
            .map(|count| count as usize)
            .ok_or_else(|| {
                tool_error(format!(
                    "`{name}` must be an integer from 1 to {MAX_RESULTS}"
                ))
            }),
    }
}

impl Aggregator {
    /// Runs a built-in tool for `caller`; `Err` only for what is not a tool result.
    pub(crate) async fn run_builtin(
        &self,
        tool: Builtin,
        caller: &Caller,
        arguments: Map<String, Value>,
        progress_token: Option<Value>,
        on_notification: OnNotification<'_>,
    ) -> Result<Value, CallFailure> {
        let outcome = match tool {
            Builtin::Finder => self.find_tools(caller, &arguments).await,
            Builtin::Invoke => {
                return self
                    .invoke_by_name(caller, &arguments, progress_token, on_notification)
                    .await;
            }
            Builtin::ListServices => self.list_services(caller, false).await,
            Builtin::Healthcheck => self.list_services(caller, true).await,
            Builtin::ServiceTools => self.service_tools(caller, &arguments).await,
            Builtin::Refresh | Builtin::Toggle | Builtin::Remove => {
                self.manage(tool, caller, &arguments).await
            }
            Builtin::Register => self.register(caller, arguments).await,
        };
        Ok(outcome.unwrap_or_else(|error| error))
    }

    async fn find_tools(
        &self,
        caller: &Caller,
        arguments: &Map<String, Value>,
    ) -> Result<Value, Value> {
        let query = string_arg(arguments, "natural_language_query")?;
        let services = count_arg(arguments, "top_k_services", 3)?;
        let tools = count_arg(arguments, "top_n_tools", 1)?;
        let started = std::time::Instant::now();
        let catalog = self.catalog.fresh().await;
        let (rows, visible): (Vec<usize>, Vec<&ExposedTool>) =
            catalog.visible_rows(&caller.policy, &caller.scopes).unzip();
        let documents: Vec<ToolDocument<'_>> = visible
            .iter()
            .map(|exposed| document(&exposed.server, &exposed.tool))
            .collect();
        let candidates = Candidates {
            index: catalog.search_index(),
            documents: &documents,
            rows: &rows,
        };
        let semantic = self.semantic.get();
        let (hits, mode) =
            find_tools(query, &candidates, semantic.as_deref(), services, tools).await;
        mcpgw_telemetry::analytics::tool_search(
            "intelligent_tool_finder",
            mode.as_str(),
            query,
            hits.len(),
            (services, tools),
            started.elapsed(),
        );
        let found: Vec<Value> = hits
            .iter()
            .map(|hit| {
                let exposed = visible[hit.index];
                let parameters: Map<String, Value> = exposed
                    .tool
                    .input_schema
                    .get("properties")
                    .and_then(Value::as_object)
                    .map(|properties| {
                        properties
                            .iter()
                            .map(|(name, schema)| {
                                let text = schema.get("description").cloned().unwrap_or_default();
                                (name.clone(), text)
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                json!({
                    "tool_name": exposed.tool.name,
                    "aggregated_name": exposed.name,
                    "tool_parsed_description": {
                        "main": exposed.tool.description.clone().unwrap_or_default(),
                        "parameters": parameters,
                    },
                    "tool_schema": exposed.tool.input_schema,
                    "service_path": format!("/{}", exposed.server.path),
                    "service_name": exposed.server.name,
                    "overall_similarity_score": (hit.score * 10_000.0).round() / 10_000.0,
                })
            })
            .collect();
        Ok(tool_result(Value::Array(found)))
    }

    async fn invoke_by_name(
        &self,
        caller: &Caller,
        arguments: &Map<String, Value>,
        progress_token: Option<Value>,
        on_notification: OnNotification<'_>,
    ) -> Result<Value, CallFailure> {
        let (server, tool) = match (
            string_arg(arguments, "server_name"),
            string_arg(arguments, "tool_name"),
        ) {
            (Ok(server), Ok(tool)) => (server, tool),
            (Err(error), _) | (_, Err(error)) => return Ok(error),
        };
        let tool_arguments = match arguments.get("arguments") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(object)) => object.clone(),
            Some(_) => return Ok(tool_error("`arguments` must be an object")),
        };
        // A tool the caller may not call is as unknown as one that does not exist.
        let unknown = || {
            tool_error(format!(
                "no tool '{tool}' on a usable server '{}' (use intelligent_tool_finder or list_services)",
                server.trim_matches('/')
            ))
        };
        let catalog = self.catalog.fresh().await;
        let Some(exposed) = catalog.find_original(server, tool) else {
            return Ok(unknown());
        };
        // The call is recorded on its own, under the real server and tool.
        let invocation = Invocation {
            arguments: Some(tool_arguments),
            progress_token,
            ..Invocation::default()
        };
        match self
            .call_upstream(caller, exposed, invocation, on_notification)
            .await
        {
            Err(CallFailure::NotOffered(_)) => Ok(unknown()),
            // A request for more input cannot be answered through this tool: the client's
            // retry would be a call of invoke_mcp_tool, not of the tool that asked.
            Ok(result)
                if result
                    .get("resultType")
                    .and_then(Value::as_str)
                    .is_some_and(|kind| kind != "complete") =>
            {
                Ok(tool_error(format!(
                    "'{tool}' asked for input from the user, which invoke_mcp_tool cannot relay; \
                     call it by its aggregated name ({}) instead",
                    exposed.name
                )))
            }
            other => other,
        }
    }

    /// The registry's servers the caller may list.
    async fn listable(&self, caller: &Caller) -> Result<Vec<Server>, Value> {
        let servers = self
            .registry
            .list()
            .await
            .map_err(|error| tool_error(error.to_string()))?;
        Ok(servers
            .into_iter()
            .filter(|server| decide(caller, UiAction::List, Some(server)).allowed)
            .collect())
    }

    async fn list_services(&self, caller: &Caller, by_path: bool) -> Result<Value, Value> {
        let servers = self.listable(caller).await?;
        let value = if by_path {
            Value::Object(
                servers
                    .iter()
                    .map(|server| (format!("/{}", server.path), summary(caller, server)))
                    .collect(),
            )
        } else {
            Value::Array(
                servers
                    .iter()
                    .map(|server| summary(caller, server))
                    .collect(),
            )
        };
        Ok(tool_result(value))
    }

    /// The server named by `service_path`, if the caller may take `action` on it.
    async fn server_for(
        &self,
        caller: &Caller,
        arguments: &Map<String, Value>,
        action: UiAction,
    ) -> Result<Server, Value> {
        let path = string_arg(arguments, "service_path")?;
        let unknown = || tool_error(format!("no server '{}'", path.trim_matches('/')));
        let server = self.registry.get(path).await.map_err(|_| unknown())?;
        let listing = decide(caller, UiAction::List, Some(&server));
        if !listing.allowed {
            self.record_ui(caller, action, Some(&server.path), &listing);
            return Err(unknown());
        }
        let decision = decide(caller, action, Some(&server));
        self.record_ui(caller, action, Some(&server.path), &decision);
        if !decision.allowed {
            return Err(tool_error(format!(
                "you may not do this to '{}': it needs the {} permission",
                server.path,
                action.permission()
            )));
        }
        Ok(server)
    }

    async fn service_tools(
        &self,
        caller: &Caller,
        arguments: &Map<String, Value>,
    ) -> Result<Value, Value> {
        let server = self.server_for(caller, arguments, UiAction::List).await?;
        let filter = caller
            .policy
            .tool_filter(caller.scopes.clone(), &server.path);
        let catalog = self.catalog.fresh().await;
        let tools: Vec<Value> = server
            .tools
            .iter()
            .filter(|tool| filter.allows(&tool.name))
            .map(|tool| {
                let mut value = serde_json::to_value(tool).unwrap_or_default();
                if let Some(exposed) = catalog.find_original(&server.path, &tool.name) {
                    value["aggregated_name"] = Value::from(exposed.name.as_str());
                }
                value
            })
            .collect();
        Ok(tool_result(
            json!({"service_path": format!("/{}", server.path), "tools": tools}),
        ))
    }

    async fn manage(
        &self,
        tool: Builtin,
        caller: &Caller,
        arguments: &Map<String, Value>,
    ) -> Result<Value, Value> {
        let action = match tool {
            Builtin::Refresh => UiAction::HealthCheck,
            Builtin::Toggle => UiAction::Toggle,
            _ => UiAction::Modify,
        };
        let server = self.server_for(caller, arguments, action).await?;
        let failed = |error: mcpgw_registry::RegistryError| tool_error(error.to_string());
        let changed = match tool {
            Builtin::Refresh => self.registry.refresh(&server.path).await.map_err(failed)?,
            Builtin::Toggle => {
                let enabled = match arguments.get("enabled") {
                    None | Some(Value::Null) => !server.enabled,
                    Some(Value::Bool(enabled)) => *enabled,
                    Some(_) => return Err(tool_error("`enabled` must be true or false")),
                };
                self.registry
                    .set_enabled(&server.path, enabled)
                    .await
                    .map_err(failed)?
            }
            _ => {
                self.registry.remove(&server.path).await.map_err(failed)?;
                return Ok(tool_result(json!({"removed": format!("/{}", server.path)})));
            }
        };
        Ok(tool_result(summary(caller, &changed)))
    }

    async fn register(
        &self,
        caller: &Caller,
        mut arguments: Map<String, Value>,
    ) -> Result<Value, Value> {
        let decision = decide(caller, UiAction::Register, None);
        self.record_ui(caller, UiAction::Register, None, &decision);
        if !decision.allowed {
            return Err(tool_error(
                "you may not register servers: it needs the register_service permission",
            ));
        }
        // The Python registry's form names.
        if let Some(name) = arguments.remove("server_name") {
            arguments.entry("name").or_insert(name);
        }
        for ignored in ["num_tools", "num_stars", "is_python"] {
            arguments.remove(ignored);
        }
        let input: ServerInput = serde_json::from_value(Value::Object(arguments))
            .map_err(|error| tool_error(format!("invalid server: {error}")))?;
        let server = self
            .registry
            .register(input)
            .await
            .map_err(|error| tool_error(error.to_string()))?;
        Ok(tool_result(summary(caller, &server)))
    }
}

impl Aggregator {
    /// Puts a registry decision in the audit trail, as the REST API does: the method is
    /// the permission asked for, a decision about no server has server `*`.
    fn record_ui(
        &self,
        caller: &Caller,
        action: UiAction,
        server: Option<&str>,
        decision: &Decision,
    ) {
        crate::audit::record_messages(
            self.gateway.audit(),
            &caller.principal,
            server.unwrap_or("*"),
            vec![crate::authorize::MessageDecision {
                method: action.permission().to_owned(),
                target: None,
                id: None,
                decision: decision.clone(),
            }],
        );
    }
}

/// The registry decision on `action` about `server` (or about none).
fn decide(caller: &Caller, action: UiAction, server: Option<&Server>) -> Decision {
    decide_with(&caller.policy, &caller.scopes, action, server)
}

fn decide_with(
    policy: &Policy,
    scopes: &Scopes,
    action: UiAction,
    server: Option<&Server>,
) -> Decision {
    let server = server.map(|server| ServerRef {
        path: &server.path,
        name: &server.name,
    });
    policy.decide_ui(scopes, action, server)
}
