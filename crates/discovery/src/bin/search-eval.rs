//! `search-eval [--model-dir DIR] [--data DIR]`: retrieval quality of every ranking method
//! on the evaluation set, as a markdown table (lexical only without a model).
//!
//! `cargo run --release -p mcpgw-discovery --bin search-eval -- --model-dir
//! mcpgw-data/models/all-MiniLM-L6-v2`

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use mcpgw_discovery::eval::{evaluate, load, markdown};
use mcpgw_discovery::{Embedder, MiniLm};

fn main() -> ExitCode {
    let mut model_dir: Option<PathBuf> = None;
    let mut data = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/eval"));
    let mut sweep = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--sweep" {
            sweep = true;
            continue;
        }
        match (arg.as_str(), args.next()) {
            ("--model-dir", Some(dir)) => model_dir = Some(dir.into()),
            ("--data", Some(dir)) => data = dir.into(),
            _ => {
                eprintln!("usage: search-eval [--model-dir DIR] [--data DIR] [--sweep]");
                return ExitCode::from(2);
            }
        }
    }
    match run(model_dir, data, sweep) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("search-eval: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(
    model_dir: Option<PathBuf>,
    data: PathBuf,
    sweep: bool,
) -> Result<(), mcpgw_discovery::DiscoveryError> {
    let set = load(&data)?;
    let model = model_dir.map(|dir| MiniLm::load(&dir)).transpose()?;
    let started = Instant::now();
    let results = evaluate(
        &set,
        model.as_ref().map(|model| model as &dyn Embedder),
        sweep,
    )?;
    println!(
        "{} tools of {} servers, {} queries; {:.1} s\n",
        set.documents().len(),
        set.servers.len(),
        set.queries.len(),
        started.elapsed().as_secs_f64()
    );
    print!("{}", markdown(&results));
    Ok(())
}
