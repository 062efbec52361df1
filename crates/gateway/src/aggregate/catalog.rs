//! [`Catalog`]: the tools the aggregated endpoint offers, built from the registry, and
//! [`LiveCatalog`], which keeps it current as servers come and go.
//!
//! Only enabled servers whose last check was healthy contribute: a tool of a server that
//! is down would only fail when called. The catalog is rebuilt off the request path each
//! time the registry changes (registration, edit, toggle, removal, a check that changed
//! health or tools) and published only when what it offers changed, so subscribers are
//! told of real changes, not of every health check.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use mcpgw_policy::{Policy, Request, Scopes};
use mcpgw_registry::{
    Followed, LexicalIndex, RegistryError, RegistryService, Server, Tool, ToolDocument, document,
    follow, usable_servers,
};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::naming;

/// `_meta` key naming the server a tool comes from.
pub const META_SERVER: &str = "io.mcpgw/server";
/// `_meta` key holding the tool's name on its server.
pub const META_TOOL: &str = "io.mcpgw/tool";

/// One upstream tool as the aggregated endpoint offers it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExposedTool {
    /// Its name on the aggregated endpoint.
    pub name: String,
    /// The server it belongs to.
    pub server: Arc<Server>,
    /// The tool as the server described it.
    pub tool: Tool,
    /// A digest of what clients are shown of it, to tell cheaply whether a caller's list
    /// changed.
    pub digest: u64,
}

impl ExposedTool {
    /// The MCP tool object offered to clients: the server's own description, schemas and
    /// annotations under the aggregated name, with `_meta` naming where it comes from.
    pub fn to_json(&self) -> Value {
        let mut value = serde_json::to_value(&self.tool).unwrap_or_else(|_| json!({}));
        if let Value::Object(object) = &mut value {
            object.insert("name".into(), Value::from(self.name.as_str()));
            object.insert(
                "_meta".into(),
                json!({META_SERVER: self.server.path, META_TOOL: self.tool.name}),
            );
        }
        value
    }
}

/// The tools of every usable server, in a deterministic order: by server path, then in
/// the order the server lists them.
#[derive(Debug, Default)]
pub struct Catalog {
    servers: Vec<Arc<Server>>,
    tools: Vec<ExposedTool>,
    by_name: HashMap<String, usize>,
    /// The tools tokenised for `intelligent_tool_finder`; row `i` is `tools[i]`.
    search: LexicalIndex,
}

impl Catalog {
    /// Builds the catalog of `servers`; tools are named with `separator`, never as one of
    /// the `reserved` (built-in) names.
    pub fn build(servers: Vec<Server>, separator: &str, reserved: &[&str]) -> Catalog {
        let servers = usable_servers(servers);
        let pairs: Vec<(&str, &str)> = servers
            .iter()
            .flat_map(|server| {
                server
                    .tools
                    .iter()
                    .map(|tool| (server.path.as_str(), tool.name.as_str()))
            })
            .collect();
        let names = naming::assign(&pairs, separator, reserved);
        let tools: Vec<ExposedTool> = servers
            .iter()
            .flat_map(|server| server.tools.iter().map(move |tool| (server, tool)))
            .zip(names)
            .map(|((server, tool), name)| {
                let mut exposed = ExposedTool {
                    name,
                    server: Arc::clone(server),
                    tool: tool.clone(),
                    digest: 0,
                };
                let mut hasher = DefaultHasher::new();
                exposed.to_json().to_string().hash(&mut hasher);
                exposed.digest = hasher.finish();
                exposed
            })
            .collect();
        let by_name = tools
            .iter()
            .enumerate()
            .map(|(index, tool)| (tool.name.clone(), index))
            .collect();
        let documents: Vec<ToolDocument<'_>> = tools
            .iter()
            .map(|exposed| document(&exposed.server, &exposed.tool))
            .collect();
        let search = LexicalIndex::build(&documents);
        Catalog {
            servers,
            tools,
            by_name,
            search,
        }
    }

    /// The tools tokenised for search; row `i` is `tools()[i]`.
    pub fn search_index(&self) -> &LexicalIndex {
        &self.search
    }

    /// Every usable server, by path.
    pub fn servers(&self) -> &[Arc<Server>] {
        &self.servers
    }

    /// Every offered tool.
    pub fn tools(&self) -> &[ExposedTool] {
        &self.tools
    }

    /// The tool offered under `name`.
    pub fn find(&self, name: &str) -> Option<&ExposedTool> {
        self.by_name.get(name).map(|index| &self.tools[*index])
    }

    /// The tool `tool` of server `server`, by their own names.
    pub fn find_original(&self, server: &str, tool: &str) -> Option<&ExposedTool> {
        let server = server.trim_matches('/');
        self.tools
            .iter()
            .find(|exposed| exposed.server.path == server && exposed.tool.name == tool)
    }

    /// The tools a caller with `scopes` may call, in catalog order.
    pub fn visible<'a>(
        &'a self,
        policy: &'a Policy,
        scopes: &'a Scopes,
    ) -> impl Iterator<Item = &'a ExposedTool> + 'a {
        self.visible_rows(policy, scopes)
            .map(|(_, exposed)| exposed)
    }

    /// [`visible`](Self::visible), each with its position in [`tools`](Self::tools).
    pub fn visible_rows<'a>(
        &'a self,
        policy: &'a Policy,
        scopes: &'a Scopes,
    ) -> impl Iterator<Item = (usize, &'a ExposedTool)> + 'a {
        self.tools.iter().enumerate().filter(move |(_, exposed)| {
            policy
                .decide(
                    scopes,
                    &Request {
                        server: &exposed.server.path,
                        method: "tools/call",
                        target: Some(&exposed.tool.name),
                    },
                )
                .allowed
        })
    }

    /// Whether two catalogs offer the same tools from the same server definitions.
    fn offers_same(&self, other: &Catalog) -> bool {
        self.tools.len() == other.tools.len()
            && self.servers.len() == other.servers.len()
            && self
                .servers
                .iter()
                .zip(&other.servers)
                .all(|(a, b)| a.path == b.path && a.revision == b.revision)
            && self
                .tools
                .iter()
                .zip(&other.tools)
                .all(|(a, b)| a.name == b.name && a.tool == b.tool)
    }
}

/// The catalog as of the latest registry change, and a way to wait for the next one.
#[derive(Clone)]
pub struct LiveCatalog {
    current: Followed<Catalog>,
}

impl LiveCatalog {
    /// Loads the catalog now and follows the registry from then on (until the registry is
    /// dropped).
    pub async fn start(
        registry: RegistryService,
        separator: String,
        reserved: &'static [&'static str],
    ) -> Result<LiveCatalog, RegistryError> {
        let build = move |servers| Catalog::build(servers, &separator, reserved);
        let current = follow(registry, build, |a, b| !a.offers_same(b)).await?;
        Ok(LiveCatalog { current })
    }

    /// The catalog in force, without waiting (for change watchers).
    pub fn current(&self) -> Arc<Catalog> {
        self.current.current()
    }

    /// The catalog reflecting every registry change made before this call, waiting
    /// briefly for its rebuild (see [`Followed::fresh`]): what requests are answered from,
    /// so a server seen registered or healthy in the API is offered on the next request.
    pub async fn fresh(&self) -> Arc<Catalog> {
        self.current.fresh().await
    }

    /// A receiver told each time what the catalog offers changes.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Catalog>> {
        self.current.subscribe()
    }
}

#[cfg(test)]
#[path = "catalog_tests.rs"]
mod tests;
