//! `mcpgw-example-server`: runs one of the mcpgw example MCP servers as a process.
//!
//! ```text
//! mcpgw-example-server <currenttime|toolbox> [--stdio | --listen ADDR] [--stateless]
//! ```
//!
//! * `--stdio` (the default): newline-delimited JSON-RPC on stdin/stdout until stdin closes.
//! * `--listen ADDR`: Streamable HTTP at `http://ADDR/mcp`; prints exactly one line
//!   `listening on http://ADDR/mcp` (with the bound address, so port 0 works) and serves
//!   until SIGINT or SIGTERM.
//! * `--stateless`: with `--listen`, serve without sessions and answer with plain JSON
//!   where possible.
//!
//! Logs go to stderr only (filter with `RUST_LOG`, default `warn`).

use std::{
    io::{self, Write as _},
    net::{SocketAddr, ToSocketAddrs as _},
    process::ExitCode,
};

use mcpgw_example_servers::{ExampleServer, MCP_PATH, serve_http, serve_stdio};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

/// Parsed command line.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    server: ExampleServer,
    listen: Option<SocketAddr>,
    stateless: bool,
}

fn usage() -> String {
    let names: Vec<&str> = ExampleServer::ALL.iter().map(|s| s.name()).collect();
    format!(
        "usage: mcpgw-example-server <{}> [--stdio | --listen ADDR] [--stateless]",
        names.join("|")
    )
}

/// Parses the arguments after the program name. `Ok(None)` means `--help`.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Options>, String> {
    let mut server = None;
    let mut listen = None;
    let mut stdio = false;
    let mut stateless = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--stdio" => stdio = true,
            "--stateless" => stateless = true,
            "--listen" => {
                let value = args.next().ok_or("--listen needs an address")?;
                listen = Some(parse_addr(&value)?);
            }
            other if other.starts_with("--listen=") => {
                listen = Some(parse_addr(&other["--listen=".len()..])?);
            }
            other if other.starts_with('-') => return Err(format!("unknown option {other}")),
            name => {
                if server.is_some() {
                    return Err(format!("unexpected argument {name}"));
                }
                server = Some(
                    ExampleServer::from_name(name)
                        .ok_or_else(|| format!("unknown server {name:?}"))?,
                );
            }
        }
    }
    let server = server.ok_or("missing server name")?;
    if stdio && listen.is_some() {
        return Err("--stdio and --listen are mutually exclusive".to_owned());
    }
    if stateless && listen.is_none() {
        return Err("--stateless only applies to --listen".to_owned());
    }
    Ok(Some(Options {
        server,
        listen,
        stateless,
    }))
}

/// Parses `IP:PORT`, or resolves `HOST:PORT` (e.g. `localhost:0`) to its first address.
fn parse_addr(value: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = value.parse() {
        return Ok(addr);
    }
    value
        .to_socket_addrs()
        .map_err(|e| format!("invalid --listen address {value:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("--listen address {value:?} resolves to nothing"))
}

/// Cancels `token` on SIGINT or (on Unix) SIGTERM.
async fn cancel_on_signal(token: CancellationToken) {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    token.cancel();
}

async fn run(options: Options) -> io::Result<()> {
    let Some(addr) = options.listen else {
        return serve_stdio(options.server).await;
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    {
        let mut stdout = io::stdout().lock();
        writeln!(stdout, "listening on http://{local}{MCP_PATH}")?;
        stdout.flush()?;
    }
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    serve_http(options.server, listener, !options.stateless, shutdown).await
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .init();
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("mcpgw-example-server: {message}\n{}", usage());
            return ExitCode::from(2);
        }
    };
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mcpgw-example-server: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Options>, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_modes() {
        let o = parse(&["toolbox"]).unwrap().unwrap();
        assert_eq!(
            (o.server, o.listen, o.stateless),
            (ExampleServer::Toolbox, None, false)
        );
        let o = parse(&["currenttime", "--listen", "127.0.0.1:0", "--stateless"])
            .unwrap()
            .unwrap();
        assert_eq!(o.server, ExampleServer::CurrentTime);
        assert_eq!(o.listen, Some("127.0.0.1:0".parse().unwrap()));
        assert!(o.stateless);
        assert!(
            parse(&["toolbox", "--listen=[::1]:8080"])
                .unwrap()
                .is_some()
        );
        assert!(parse(&["--help"]).unwrap().is_none());
    }

    #[test]
    fn rejects_bad_args() {
        assert!(parse(&[]).is_err());
        assert!(parse(&["nope"]).is_err());
        assert!(parse(&["toolbox", "--listen"]).is_err());
        assert!(parse(&["toolbox", "--listen", "nowhere"]).is_err());
        assert!(parse(&["toolbox", "--stdio", "--listen", "127.0.0.1:0"]).is_err());
        assert!(parse(&["toolbox", "--stateless"]).is_err());
        assert!(parse(&["toolbox", "currenttime"]).is_err());
        assert!(parse(&["toolbox", "--bogus"]).is_err());
    }
}
