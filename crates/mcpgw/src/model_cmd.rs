//! `mcpgw model fetch`: puts the embedding model in the data directory, offline afterwards.

use anyhow::Context;
use mcpgw_discovery::{ModelSource, fetch_model};

use crate::cli::{ModelCommand, ModelFetchArgs};

/// Runs a `model` subcommand.
pub async fn run(command: ModelCommand) -> anyhow::Result<()> {
    match command {
        ModelCommand::Fetch(args) => fetch(args).await,
    }
}

async fn fetch(args: ModelFetchArgs) -> anyhow::Result<()> {
    let sources = if args.sources.is_empty() {
        ModelSource::defaults()
    } else {
        args.sources
    };
    let report = fetch_model(&args.data_dir, &sources, args.force)
        .await
        .context("cannot fetch the embedding model")?;
    for failure in &report.failures {
        eprintln!("note: {failure}");
    }
    match report.source {
        Some(source) => println!(
            "installed all-MiniLM-L6-v2 from {source} in {} (checksums verified)",
            report.dir.display()
        ),
        None => println!(
            "all-MiniLM-L6-v2 is already in {} (checksums verified; --force fetches it again)",
            report.dir.display()
        ),
    }
    Ok(())
}
