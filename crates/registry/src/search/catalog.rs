//! [`SearchCatalog`]: the servers search looks at (enabled and healthy, by path) and their
//! tools tokenised, and [`LiveSearchCatalog`], which rebuilds it off the request path after
//! every registry change, so that a search reads no store and tokenises nothing.

use std::sync::Arc;

use super::{LexicalIndex, ToolDocument};
use crate::error::RegistryError;
use crate::follow::{Followed, follow};
use crate::model::{HealthState, Server, Tool};
use crate::service::RegistryService;

/// Usable servers and their tools, indexed for search.
#[derive(Debug, Default)]
pub struct SearchCatalog {
    servers: Vec<Arc<Server>>,
    /// Per server (same order), the row of its first tool.
    first_rows: Vec<usize>,
    index: LexicalIndex,
    /// The servers themselves as documents (row = position in `servers`): the name weighs
    /// as a tool's name, the description as a tool's, path and tags as server text.
    server_index: LexicalIndex,
}

impl SearchCatalog {
    /// The catalogue of `servers`' enabled, healthy ones; a tool's row is its position when
    /// servers are ordered by path and tools as their server lists them.
    pub fn build(servers: Vec<Server>) -> SearchCatalog {
        let servers = usable_servers(servers);
        let mut first_rows = Vec::with_capacity(servers.len());
        let mut documents = Vec::new();
        for server in &servers {
            first_rows.push(documents.len());
            documents.extend(server.tools.iter().map(|tool| document(server, tool)));
        }
        let index = LexicalIndex::build(&documents);
        let as_tools: Vec<Tool> = servers
            .iter()
            .map(|server| server_as_tool(server))
            .collect();
        let server_documents: Vec<ToolDocument<'_>> = servers
            .iter()
            .zip(&as_tools)
            .map(|(server, tool)| ToolDocument {
                server_path: &server.path,
                server_name: "",
                server_description: "",
                server_tags: &server.tags,
                tool,
            })
            .collect();
        let server_index = LexicalIndex::build(&server_documents);
        SearchCatalog {
            servers,
            first_rows,
            index,
            server_index,
        }
    }

    /// How well each of `servers` (positions in [`servers`](Self::servers)) matches `query`
    /// by its own words (name, description, path, tags), in `0..=1`, computed over those
    /// servers alone.
    pub fn server_scores(&self, query: &str, servers: &[usize]) -> Vec<f64> {
        self.server_index.score(query, servers).scores
    }

    /// The usable servers, by path.
    pub fn servers(&self) -> &[Arc<Server>] {
        &self.servers
    }

    /// The tools' index.
    pub fn index(&self) -> &LexicalIndex {
        &self.index
    }

    /// The row of tool `tool` (its position in its server's list) of `servers()[server]`.
    pub fn row(&self, server: usize, tool: usize) -> Option<usize> {
        let first = *self.first_rows.get(server)?;
        (tool < self.servers[server].tools.len()).then_some(first + tool)
    }

    /// Whether two catalogues hold the same servers at the same revisions with the same
    /// tools (a health check that changed nothing else is no news).
    fn differs(&self, other: &SearchCatalog) -> bool {
        self.servers.len() != other.servers.len()
            || self
                .servers
                .iter()
                .zip(&other.servers)
                .any(|(a, b)| a.path != b.path || a.revision != b.revision || a.tools != b.tools)
    }
}

/// The servers that can serve a call now (enabled, and healthy at the last check), by path:
/// what search and the aggregated endpoint offer.
pub fn usable_servers(servers: Vec<Server>) -> Vec<Arc<Server>> {
    let mut usable: Vec<Arc<Server>> = servers
        .into_iter()
        .filter(|server| server.enabled && server.health.status == HealthState::Healthy)
        .map(Arc::new)
        .collect();
    usable.sort_by(|a, b| a.path.cmp(&b.path));
    usable
}

/// A server read as one document: its name as a title, its description as one.
fn server_as_tool(server: &Server) -> Tool {
    Tool {
        name: String::new(),
        title: Some(server.name.clone()),
        description: Some(server.description.clone()),
        input_schema: serde_json::Value::Null,
        output_schema: None,
        annotations: None,
    }
}

/// The tool document of `tool` on `server`.
pub fn document<'a>(server: &'a Server, tool: &'a Tool) -> ToolDocument<'a> {
    ToolDocument {
        server_path: &server.path,
        server_name: &server.name,
        server_description: &server.description,
        server_tags: &server.tags,
        tool,
    }
}

/// The search catalogue as of the latest registry change.
#[derive(Clone)]
pub struct LiveSearchCatalog {
    current: Followed<SearchCatalog>,
}

impl LiveSearchCatalog {
    /// Builds the catalogue now and follows the registry from then on.
    pub async fn start(registry: RegistryService) -> Result<LiveSearchCatalog, RegistryError> {
        let current = follow(registry, SearchCatalog::build, SearchCatalog::differs).await?;
        Ok(LiveSearchCatalog { current })
    }

    /// The catalogue reflecting every registry change made before this call (see
    /// [`Followed::fresh`]).
    pub async fn fresh(&self) -> Arc<SearchCatalog> {
        self.current.fresh().await
    }
}
