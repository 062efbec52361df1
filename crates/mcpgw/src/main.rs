//! The `mcpgw` binary: command-line parsing, logging, and dispatch to the subcommands.
//! All behaviour lives in the library crates; this crate wires them together.

mod admission;
mod app;
mod audit_cmd;
mod cli;
mod cli_server;
mod client;
mod client_config_cmd;
mod cluster;
mod config;
mod config_cluster;
mod config_file;
mod config_limits;
mod config_network;
mod config_reload;
mod config_scan;
mod config_server;
mod connect_cmd;
mod demo;
mod egress_probe_cmd;
mod egress_probe_user;
mod egress_users;
mod file_watch;
mod findings_cmd;
mod import_cmd;
mod model_cmd;
mod otel;
mod otel_metrics;
mod policy_cmd;
mod policy_file;
mod retention;
mod search_cmd;
mod secrets_cmd;
mod semantic;
mod serve;
mod serve_args;
mod server;
mod server_cmd;
mod session_directory;
mod signals;
mod stats_cmd;
mod table;
mod token_cmd;
mod user_cmd;
mod workers;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::cli::{Cli, Command, ExampleServerArgs, LogFormat};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Offline and synchronous: no runtime, and its own exit statuses.
    let log_format = cli.log_format;
    let cli = match cli.command {
        Command::Policy(command) => return policy_cmd::run(command),
        command => Cli {
            command,
            log_format,
        },
    };
    let default_level = match cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    };
    let filter =
        EnvFilter::try_from_env("MCPGW_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    let (provider, traces) = match otel::start() {
        Some((provider, layer)) => (Some(provider), Some(layer)),
        None => (None, None),
    };
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let subscriber = tracing_subscriber::registry().with(filter).with(traces);
    match log_format {
        LogFormat::Text => subscriber
            .with(logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())))
            .init(),
        // The spans a line was written in (the request's, with its id, first) on every
        // line, flattened for log pipelines.
        LogFormat::Json => subscriber
            .with(
                logs.json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(true),
            )
            .init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Server(command) => server_cmd::run(*command).await,
            Command::Token(command) => token_cmd::run(command).await,
            Command::Audit(args) => audit_cmd::run(args).await,
            Command::Search(args) => search_cmd::run(args).await,
            Command::Stats(args) => stats_cmd::run(args).await,
            Command::Secrets(command) => secrets_cmd::run(command),
            Command::ClientConfig(args) => client_config_cmd::run(args).await,
            Command::Connect(args) => connect_cmd::connect(args).await,
            Command::Connections(args) => connect_cmd::list(args).await,
            Command::Disconnect(args) => connect_cmd::disconnect(args).await,
            Command::Import(args) => import_cmd::run_import(*args).await,
            Command::Source(command) => import_cmd::run_source(*command).await,
            Command::User(command) => user_cmd::run(command).await,
            Command::Model(command) => model_cmd::run(command).await,
            Command::ExampleServer(args) => example_server(args).await,
            Command::EgressProbe(args) => egress_probe_cmd::run(args).await,
            Command::Policy(_) => Ok(()),
        }
    });
    drop(runtime);
    if let Some(provider) = provider {
        otel::stop(provider);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs an example server in the foreground.
async fn example_server(args: ExampleServerArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    use mcpgw_example_servers::{ExampleServer, serve_http, serve_stdio};
    use std::io::Write;

    let server = ExampleServer::from_name(&args.name).with_context(|| {
        format!(
            "unknown example server '{}': use currenttime or toolbox",
            args.name
        )
    })?;
    if args.stdio {
        return Ok(serve_stdio(server).await?);
    }
    let address = args.listen.context("give --stdio or --listen ADDRESS")?;
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!("listening on http://{}/mcp", listener.local_addr()?);
    std::io::stdout().flush()?;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let token = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        token.cancel();
    });
    Ok(serve_http(server, listener, !args.stateless, shutdown).await?)
}
