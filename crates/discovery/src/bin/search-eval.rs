//! `search-eval [--model-dir DIR] [--data DIR] [--sweep] [--misses]`: retrieval quality of
//! every ranking method on the evaluation set, as a markdown table (lexical only without a
//! model). With a model the table always has the held-out row (the share of meaning chosen
//! on one half of the queries, scored on the other); `--sweep` adds the variants the served
//! parameters were chosen among, `--misses` lists the queries hybrid misses at 5.
//!
//! `cargo run --release -p mcpgw-discovery --bin search-eval -- --model-dir
//! mcpgw-data/models/all-MiniLM-L6-v2`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use mcpgw_discovery::eval::{Options, evaluate, load, markdown};
use mcpgw_discovery::{Embedder, MiniLm};

/// Reads the arguments and runs; exit code 2 on a usage error.
fn main() -> ExitCode {
    let mut model_dir: Option<PathBuf> = None;
    let mut data = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/eval"));
    let mut options = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--sweep" => {
                options.sweep = true;
                continue;
            }
            "--misses" => {
                options.misses = true;
                continue;
            }
            _ => {}
        }
        match (arg.as_str(), args.next()) {
            ("--model-dir", Some(dir)) => model_dir = Some(dir.into()),
            ("--data", Some(dir)) => data = dir.into(),
            _ => {
                eprintln!("usage: search-eval [--model-dir DIR] [--data DIR] [--sweep] [--misses]");
                return ExitCode::from(2);
            }
        }
    }
    match run(model_dir, data, options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("search-eval: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Loads the data set and the model, evaluates, prints.
fn run(
    model_dir: Option<PathBuf>,
    data: PathBuf,
    options: Options,
) -> Result<(), mcpgw_discovery::DiscoveryError> {
    let set = load(&data)?;
    let model = model_dir.map(|dir| MiniLm::load(&dir)).transpose()?;
    let started = Instant::now();
    let report = evaluate(
        &set,
        model.as_ref().map(|model| model as &dyn Embedder),
        options,
    )?;
    println!(
        "{} tools of {} servers, {} queries; {:.1} s\n",
        set.documents().len(),
        set.servers.len(),
        set.queries.len(),
        started.elapsed().as_secs_f64()
    );
    print!("{}", markdown(&report.scores));
    if let [even, odd] = report.holdout_weights[..] {
        println!("\nheld out: w = {even} chosen on the even-numbered queries, {odd} on the odd");
    }
    if options.misses {
        println!("\nhybrid misses at 5 ({}):\n", report.misses.len());
        for miss in &report.misses {
            println!("{miss}");
        }
    }
    Ok(())
}
