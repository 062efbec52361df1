//! `serve --demo`: start the example MCP servers and register them.

use anyhow::Context;
use mcpgw_example_servers::{ExampleServer, serve_http};
use mcpgw_registry::{RegistryError, RegistryService, ServerInput, TagsInput};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Starts each example server over Streamable HTTP on a free loopback port, plus the
/// toolbox over stdio (run by this same binary), and registers them under their names.
/// Existing entries from an earlier demo run are updated to the new ports.
pub async fn start(registry: &RegistryService, shutdown: CancellationToken) -> anyhow::Result<()> {
    for server in ExampleServer::ALL {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot bind a port for a demo server")?;
        let url = format!("http://{}/mcp", listener.local_addr()?);
        let token = shutdown.clone();
        tokio::spawn(async move {
            if let Err(error) = serve_http(server, listener, true, token).await {
                tracing::error!(server = server.name(), %error, "demo server stopped");
            }
        });
        let input = ServerInput {
            description: Some(server.description().to_owned()),
            transport: Some("streamable-http".into()),
            url: Some(url),
            ..demo_input(server.name())
        };
        upsert(registry, input).await?;
    }

    let executable = std::env::current_exe().context("cannot find the mcpgw executable")?;
    let toolbox = ExampleServer::Toolbox;
    let input = ServerInput {
        name: Some(format!("{} (stdio)", toolbox.name())),
        description: Some(format!(
            "{} Started by the gateway over stdio.",
            toolbox.description()
        )),
        transport: Some("stdio".into()),
        command: Some(executable.display().to_string()),
        args: Some(vec![
            "example-server".into(),
            toolbox.name().into(),
            "--stdio".into(),
        ]),
        ..demo_input(&format!("{}-stdio", toolbox.name()))
    };
    upsert(registry, input).await
}

fn demo_input(path: &str) -> ServerInput {
    ServerInput {
        path: Some(path.to_owned()),
        name: Some(path.to_owned()),
        tags: Some(TagsInput::List(vec!["demo".into()])),
        license: Some("Apache-2.0".into()),
        enabled: Some(true),
        ..ServerInput::default()
    }
}

async fn upsert(registry: &RegistryService, input: ServerInput) -> anyhow::Result<()> {
    let path = input.path.clone().unwrap_or_default();
    match registry.register(input.clone()).await {
        Ok(_) => Ok(()),
        Err(RegistryError::Conflict(_)) => {
            registry
                .update(&path, input)
                .await
                .with_context(|| format!("cannot update demo server {path}"))?;
            Ok(())
        }
        Err(error) => Err(error).with_context(|| format!("cannot register demo server {path}")),
    }
}
