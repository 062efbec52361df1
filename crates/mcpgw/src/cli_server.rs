//! The `mcpgw server …` commands' arguments (registering and managing servers through a
//! running gateway's API).

use clap::{Args, Subcommand};

use crate::cli::Remote;

/// `mcpgw server …`
#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Register a server.
    Add {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
        /// The server's fields.
        #[command(flatten)]
        fields: ServerFields,
        /// Path (URL segment) of the new server.
        path: String,
        /// Arguments of a stdio command, after `--`.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// List servers.
    List {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
    },
    /// Show one server with its tools.
    Show {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
        /// Server path.
        path: String,
    },
    /// Change fields of a server (only those given).
    Update {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
        /// The fields to change.
        #[command(flatten)]
        fields: ServerFields,
        /// Server path.
        path: String,
        /// New arguments of a stdio command, after `--`.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Enable a server.
    Enable {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
        /// Server path.
        path: String,
    },
    /// Disable a server.
    Disable {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
        /// Server path.
        path: String,
    },
    /// Check a server now and update its tools.
    Refresh {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
        /// Server path.
        path: String,
    },
    /// Remove a server.
    Remove {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
        /// Server path.
        path: String,
    },
    /// Show what the tool-poisoning scan found in a server's tools.
    Findings {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
        /// Server path.
        path: String,
    },
    /// Approve a server's tools as they are now (admins): re-enables a server the scan
    /// disabled; any later change of its tools disables it again.
    Approve {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
        /// Server path.
        path: String,
        /// Approve only if the tools are still those of the findings you read (their
        /// `tools digest`, as `server findings` prints it).
        #[arg(long)]
        tools_digest: Option<String>,
    },
    /// Scan a server's tools again now.
    Rescan {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
        /// Server path.
        path: String,
    },
}

/// Fields of a server settable from the command line.
#[derive(Debug, Args, Default)]
pub struct ServerFields {
    /// Display name.
    #[arg(long)]
    pub name: Option<String>,
    /// Description.
    #[arg(long)]
    pub description: Option<String>,
    /// streamable-http, sse or stdio.
    #[arg(long)]
    pub transport: Option<String>,
    /// The server's own URL (HTTP transports); `--url` is the gateway's.
    #[arg(long, visible_alias = "proxy-pass-url", value_name = "URL")]
    pub upstream: Option<String>,
    /// Program to run (stdio); its arguments follow `--`.
    #[arg(long)]
    pub command: Option<String>,
    /// Environment variable for the command, KEY=VALUE (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Header to add upstream, NAME=VALUE (repeatable).
    #[arg(long = "header", value_name = "NAME=VALUE")]
    pub headers: Vec<String>,
    /// Tag (repeatable).
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Licence.
    #[arg(long)]
    pub license: Option<String>,
    /// Version.
    #[arg(long = "server-version")]
    pub version: Option<String>,
    /// Register disabled.
    #[arg(long)]
    pub disabled: bool,
    /// Start this stdio server with the gateway instead of on first use
    /// (`--eager=false` to undo).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub eager: Option<bool>,
}
