//! `passthrough`: the bare pass-through proxy, the floor of one extra hop
//! (see [`mcpgw_bench::passthrough`]). Prints `listening on http://ADDR` once it accepts.

use std::io::Write as _;
use std::net::SocketAddr;

use anyhow::Context as _;
use clap::Parser;
use http::Uri;
use tokio::net::TcpListener;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(about = "Forward every request to one upstream and stream the answer back, nothing else")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Upstream base URL, e.g. http://127.0.0.1:8080 (the client's path is kept).
    #[arg(long)]
    upstream: Uri,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let address = listener.local_addr().context("reading the bound address")?;
    println!("listening on http://{address}");
    std::io::stdout()
        .flush()
        .context("writing the listening line")?;
    mcpgw_bench::passthrough::serve(listener, &args.upstream).await
}
