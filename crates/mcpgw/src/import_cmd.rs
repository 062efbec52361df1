//! `mcpgw import` (servers from a registry or a file) and `mcpgw source add|list|remove|sync`
//! (peer registries synchronised on an interval), through the gateway's API.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use crate::cli::Remote;
use crate::client::{ApiClient, path_segment};
use crate::table::{print_rows, text};

/// `mcpgw import`: servers from a registry (`--registry`) or a file (`--file`).
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Where to reach the gateway.
    #[command(flatten)]
    pub remote: Remote,
    /// A registry's base URL (the official one, another mcpgw, any `/v0.1` registry).
    #[arg(long, conflicts_with = "file", required_unless_present = "file")]
    pub registry: Option<String>,
    /// A server.json, or a list of them (a registry's answer, or an array).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// The registry's bearer token, if it wants one.
    #[arg(long, env = "MCPGW_REGISTRY_TOKEN", hide_env_values = true)]
    pub registry_token: Option<String>,
    /// Only the registry's servers matching this.
    #[arg(long)]
    pub search: Option<String>,
    /// A server to import, by its name there (repeatable).
    #[arg(long = "name")]
    pub names: Vec<String>,
    /// Import every server the registry lists (with --search: every match).
    #[arg(long, conflicts_with_all = ["names", "select"])]
    pub all: bool,
    /// Show what the registry offers and choose by number.
    #[arg(long, conflicts_with = "names")]
    pub select: bool,
    /// Show what would happen; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Replace local edits of servers imported before.
    #[arg(long)]
    pub overwrite: bool,
}

/// `mcpgw source …`
#[derive(Debug, Subcommand)]
pub enum SourceCommand {
    /// Add a peer registry, synchronised now and then on an interval.
    Add {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
        /// Its local name.
        name: String,
        /// Its base URL.
        #[arg(value_name = "URL")]
        registry_url: String,
        /// Its bearer token, if it wants one.
        #[arg(long, env = "MCPGW_REGISTRY_TOKEN", hide_env_values = true)]
        registry_token: Option<String>,
        /// Only its servers matching this.
        #[arg(long)]
        search: Option<String>,
        /// Seconds between synchronisations [default: 3600].
        #[arg(long)]
        interval: Option<u64>,
    },
    /// List the sources and how their last synchronisation went.
    List {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
    },
    /// Stop synchronising a source (what it imported stays).
    Remove {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
        /// Its name.
        name: String,
    },
    /// Synchronise a source now.
    Sync {
        /// Where to reach the gateway.
        #[command(flatten)]
        remote: Remote,
        /// Its name.
        name: String,
    },
}

/// Runs `mcpgw import`.
pub async fn run_import(args: ImportArgs) -> anyhow::Result<()> {
    let client = ApiClient::new(&args.remote)?;
    let mut body = json!({ "dry_run": args.dry_run, "overwrite": args.overwrite });
    match (&args.registry, &args.file) {
        (Some(url), _) => {
            body["registry"] = json!(url);
            if let Some(token) = &args.registry_token {
                body["token"] = json!(token);
            }
            if let Some(search) = &args.search {
                body["search"] = json!(search);
            }
        }
        (None, Some(file)) => {
            let text =
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let document: Value = serde_json::from_slice(&text)
                .with_context(|| format!("{} is not JSON", file.display()))?;
            body["document"] = document;
        }
        (None, None) => bail!("say where from: --registry URL or --file PATH"),
    }
    if !args.names.is_empty() {
        body["names"] = json!(args.names);
    } else if args.all || args.select {
        body["all"] = json!(true);
    } else if args.file.is_none() {
        bail!("say which servers: --name NAME (repeatable), --all, or --select to choose");
    }
    if args.select {
        let mut preview = body.clone();
        preview["dry_run"] = json!(true);
        let report = client
            .call(Method::POST, "/api/import", Some(&preview))
            .await?;
        let names = choose(&report)?;
        if names.is_empty() {
            println!("nothing chosen; nothing imported");
            return Ok(());
        }
        body["names"] = json!(names);
        body.as_object_mut().map(|object| object.remove("all"));
    }
    let report = client
        .call(Method::POST, "/api/import", Some(&body))
        .await?;
    print_report(&args.remote, &report)
}

/// Shows the entries of a planned import, numbered, and reads which to import.
fn choose(report: &Value) -> anyhow::Result<Vec<String>> {
    let items = report["items"].as_array().cloned().unwrap_or_default();
    let rows: Vec<Vec<String>> = items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            vec![
                (index + 1).to_string(),
                text(&item["name"]),
                text(&item["version"]),
                text(&item["action"]),
                text(&item["using"]),
                text(&item["detail"]),
            ]
        })
        .collect();
    print_rows(
        &["#", "NAME", "VERSION", "WOULD BE", "USING", "NOTE"],
        &rows,
    );
    print!("import which? (e.g. 1,3-5 or all; empty for none): ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let picked = parse_choice(line.trim(), items.len())?;
    Ok(picked
        .into_iter()
        .map(|index| text(&items[index]["name"]))
        .collect())
}

/// Reads `1,3-5` (1-based, within `count`) or `all` into 0-based indexes.
fn parse_choice(text: &str, count: usize) -> anyhow::Result<Vec<usize>> {
    if text.eq_ignore_ascii_case("all") {
        return Ok((0..count).collect());
    }
    let mut picked = Vec::new();
    for part in text
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
    {
        let (from, to) = match part.split_once('-') {
            Some((from, to)) => (from.trim(), to.trim()),
            None => (part, part),
        };
        let (Ok(from), Ok(to)) = (from.parse::<usize>(), to.parse::<usize>()) else {
            bail!("'{part}' is not a number or a range like 3-5");
        };
        if from == 0 || to > count || from > to {
            bail!("'{part}' is outside 1-{count}");
        }
        picked.extend(from - 1..to);
    }
    picked.sort_unstable();
    picked.dedup();
    Ok(picked)
}

/// Prints an import or synchronisation report.
fn print_report(remote: &Remote, report: &Value) -> anyhow::Result<()> {
    if remote.json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    let items = report["items"].as_array().cloned().unwrap_or_default();
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|item| {
            let missing: Vec<String> = item["missing"]
                .as_array()
                .map(|list| list.iter().map(text).collect())
                .unwrap_or_default();
            let note = match (text(&item["detail"]), missing.is_empty()) {
                (detail, true) => detail,
                (_, false) => format!("to fill in: {}", missing.join(", ")),
            };
            vec![
                text(&item["action"]),
                text(&item["name"]),
                text(&item["version"]),
                text(&item["path"]),
                text(&item["using"]),
                note,
            ]
        })
        .collect();
    print_rows(
        &["ACTION", "NAME", "VERSION", "PATH", "USING", "NOTE"],
        &rows,
    );
    let mut counts: Vec<(String, usize)> = Vec::new();
    for item in &items {
        let action = text(&item["action"]);
        match counts.iter_mut().find(|(known, _)| *known == action) {
            Some((_, count)) => *count += 1,
            None => counts.push((action, 1)),
        }
    }
    let summary: Vec<String> = counts
        .iter()
        .map(|(action, count)| format!("{count} {action}"))
        .collect();
    let prefix = if report["dry_run"] == true {
        "would be: "
    } else {
        ""
    };
    println!("{prefix}{}", summary.join(", "));
    if items.iter().any(|item| item["action"] == "created") && report["dry_run"] != true {
        println!("imported servers start disabled: review them, then `mcpgw server enable PATH`");
    }
    Ok(())
}

/// Runs one `source` subcommand.
pub async fn run_source(command: SourceCommand) -> anyhow::Result<()> {
    match command {
        SourceCommand::Add {
            remote,
            name,
            registry_url,
            registry_token,
            search,
            interval,
        } => {
            let body = json!({ "name": name, "url": registry_url, "token": registry_token,
                               "search": search, "interval_secs": interval });
            let added = ApiClient::new(&remote)?
                .call(Method::POST, "/api/sources", Some(&body))
                .await?;
            print_report(&remote, &added["report"])
        }
        SourceCommand::List { remote } => {
            let listing = ApiClient::new(&remote)?
                .call(Method::GET, "/api/sources", None)
                .await?;
            if remote.json {
                println!("{}", serde_json::to_string_pretty(&listing)?);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = listing["sources"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .map(|source| {
                    let last = &source["last_result"];
                    let outcome = match last.get("error") {
                        Some(error) => format!("failed: {}", text(error)),
                        None => format!("{} entries", last["items"].as_array().map_or(0, Vec::len)),
                    };
                    vec![
                        text(&source["name"]),
                        text(&source["url"]),
                        text(&source["interval_secs"]),
                        text(&source["last_sync_at"]),
                        outcome,
                    ]
                })
                .collect();
            print_rows(&["NAME", "URL", "EVERY (S)", "LAST SYNC", "OUTCOME"], &rows);
            Ok(())
        }
        SourceCommand::Remove { remote, name } => {
            let url = format!("/api/sources/{}", path_segment(&name));
            ApiClient::new(&remote)?
                .call(Method::DELETE, &url, None)
                .await?;
            println!("removed source {name} (the servers it imported stay)");
            Ok(())
        }
        SourceCommand::Sync { remote, name } => {
            let url = format!("/api/sources/{}/sync", path_segment(&name));
            let report = ApiClient::new(&remote)?
                .call(Method::POST, &url, None)
                .await?;
            print_report(&remote, &report)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_choice;

    #[test]
    fn choices_are_numbers_and_ranges() {
        assert_eq!(parse_choice("1,3-4", 5).unwrap(), [0, 2, 3]);
        assert_eq!(parse_choice("all", 3).unwrap(), [0, 1, 2]);
        assert_eq!(parse_choice("2, 2", 3).unwrap(), [1]);
        assert!(parse_choice("", 3).unwrap().is_empty());
        assert!(parse_choice("0", 3).is_err());
        assert!(parse_choice("4", 3).is_err());
        assert!(parse_choice("x", 3).is_err());
    }
}
