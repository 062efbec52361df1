//! Measures (does not assert) semantic search on this machine: the embedder's load time,
//! time to embed one short query, and resident memory; start-up of the index with about
//! 1 000 tool embeddings already cached in an SQLite database (what a gateway restart
//! does before search is hybrid again); and the memory of a 10 000-tool catalogue (its
//! lexical index and its embedding matrix, two rows per tool and one per server). Tools are the evaluation set's
//! (`crates/discovery/eval/`), copied under other server names to reach the counts. Run
//! with a release build:
//!
//! ```sh
//! cargo run --release -p mcpgw-discovery --example measure -- <model-dir>
//! ```

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use mcpgw_discovery::eval::{DataSet, load};
use mcpgw_discovery::{Embedder, EmbeddingIndex, MiniLm};
use mcpgw_registry::{
    EmbeddingStore, Health, HealthState, SearchCatalog, Server, Transport, VectorIndex,
};

/// `VmRSS` and `VmHWM` (peak) of this process in MiB, from `/proc/self/status` (Linux).
fn memory() -> String {
    let mib = |name: &str| {
        status_kib(name).map_or_else(|| "?".to_owned(), |kib| format!("{:.0} MiB", kib / 1024.0))
    };
    format!("rss {}, peak {}", mib("VmRSS:"), mib("VmHWM:"))
}

/// A `/proc/self/status` field in KiB.
fn status_kib(name: &str) -> Option<f64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or("usage: measure <model-dir>")?;
    let data = load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("eval"))?;
    // First, while the process is small and its resident size means something.
    index_memory(&data);
    println!("before load: {}", memory());
    let started = Instant::now();
    let model = MiniLm::load(&dir)?;
    println!("load: {:?} ({})", started.elapsed(), memory());

    let query = "what time is it in Tokyo";
    let started = Instant::now();
    model.embed(&[query])?;
    println!("first query: {:?}", started.elapsed());
    let mut times = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        model.embed(&[query])?;
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "one short query ({} runs): p50 {:?}, p90 {:?}, p99 {:?} ({})",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        percentile(&times, 0.99),
        memory()
    );

    let description = "Get the current time in a given IANA timezone and convert it between \
                       zones; returns ISO 8601 with the UTC offset and the zone's name.";
    let texts: Vec<&str> = std::iter::repeat_n(description, 256).collect();
    let started = Instant::now();
    model.embed(&texts)?;
    let elapsed = started.elapsed();
    println!(
        "256 tool descriptions (~30 word pieces each): {elapsed:?}, {:.0} texts/s ({})",
        256.0 / elapsed.as_secs_f64(),
        memory()
    );
    drop(model);

    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(restart(&dir, &data))?;
    Ok(())
}

/// The evaluation set's servers `copies` times over (`github`, `github-1`, …), each copy a
/// different text to embed as its server name differs, healthy and enabled.
fn servers(data: &DataSet, copies: usize) -> Vec<Server> {
    let mut servers = Vec::new();
    for copy in 0..copies {
        for eval in &data.servers {
            let suffix = if copy == 0 {
                String::new()
            } else {
                format!("-{copy}")
            };
            servers.push(Server {
                path: format!("{}{suffix}", eval.server.path),
                name: format!("{}{suffix}", eval.server.name),
                description: eval.server.description.clone(),
                transport: Transport::StreamableHttp,
                url: Some("http://127.0.0.1:1/mcp".into()),
                command: None,
                args: Vec::new(),
                env: Default::default(),
                headers: Default::default(),
                tags: eval.server.tags.clone(),
                license: None,
                version: None,
                enabled: true,
                eager: false,
                egress: mcpgw_registry::Egress::None,
                created_at: Utc::now(),
                updated_at: Utc::now(),
                health: Health {
                    status: HealthState::Healthy,
                    ..Health::unknown()
                },
                server_info: None,
                tools: eval.tools.clone(),
                tools_updated_at: None,
                revision: 1,
            });
        }
    }
    servers
}

/// Embeds about 1 000 tools into a fresh SQLite database, then times what a restart does:
/// load the model, read the cached vectors, and build the table searches read.
async fn restart(dir: &Path, data: &DataSet) -> Result<(), Box<dyn std::error::Error>> {
    let servers = servers(data, 3);
    let tools: usize = servers.iter().map(|server| server.tools.len()).sum();
    let scratch = tempfile::tempdir()?;
    let url = format!("sqlite://{}", scratch.path().join("mcpgw.db").display());
    let store: Arc<dyn EmbeddingStore> = Arc::new(mcpgw_store::connect(&url).await?);

    let started = Instant::now();
    let index = EmbeddingIndex::load(Arc::new(MiniLm::load(dir)?), Arc::clone(&store)).await?;
    if !index.refresh(&servers).await {
        return Err("the first indexing failed".into());
    }
    println!(
        "first start, nothing cached: {tools} tools embedded and stored in {:?}",
        started.elapsed()
    );
    drop(index);

    let started = Instant::now();
    let model = MiniLm::load(dir)?;
    let loaded = started.elapsed();
    let index = EmbeddingIndex::load(Arc::new(model), store).await?;
    let read = started.elapsed();
    if !index.refresh(&servers).await {
        return Err("the second indexing failed".into());
    }
    println!(
        "restart with {} cached: search hybrid after {:?} (model {loaded:?}, cache read {:?}, \
         table {:?}; {})",
        index.known(),
        started.elapsed(),
        read - loaded,
        started.elapsed() - read,
        memory()
    );
    Ok(())
}

/// Resident memory of a 10 000-tool catalogue: its lexical index (with the servers) and
/// its embedding matrix (filled with arbitrary unit vectors: the size is what counts).
fn index_memory(data: &DataSet) {
    let servers = servers(data, 28);
    let tools: usize = servers.iter().map(|server| server.tools.len()).sum();
    let before = resident_kib();
    let catalog = SearchCatalog::build(servers);
    let with_catalog = resident_kib();
    // As served: two texts per tool and one per server.
    let mut matrix = VectorIndex::new(384);
    let row = vec![1.0 / 384f32.sqrt(); 384];
    for _ in 0..2 * tools + catalog.servers().len() {
        matrix.push(&row);
    }
    let with_matrix = resident_kib();
    println!(
        "{tools} tools: resident +{:.1} MiB for the servers' catalogue (its lexical index \
         {:.1} MiB of heap), +{:.1} MiB for the embedding matrix ({})",
        (with_catalog - before) / 1024.0,
        catalog.index().heap_bytes() as f64 / (1024.0 * 1024.0),
        (with_matrix - with_catalog) / 1024.0,
        memory()
    );
    drop((catalog, matrix));
}

/// `VmRSS` of this process in KiB.
fn resident_kib() -> f64 {
    status_kib("VmRSS:").unwrap_or(0.0)
}
