//! Embedding parity: [`MiniLm`] against vectors made by sentence-transformers on the same
//! files (`reference/make_reference.py` → `reference/minilm_reference.json`).

mod support;

use std::path::Path;

use mcpgw_discovery::{DIMENSIONS, DiscoveryError, Embedder, MiniLm, PINNED_SHA256};
use serde_json::Value;

/// Lowest cosine similarity accepted between our vector and the reference's.
const MIN_COSINE: f32 = 0.999;

fn reference() -> (Vec<String>, Vec<Vec<f32>>, Value) {
    let json: Value =
        serde_json::from_str(include_str!("reference/minilm_reference.json")).expect("JSON");
    let mut texts = Vec::new();
    let mut vectors = Vec::new();
    for sentence in json["sentences"].as_array().expect("sentences") {
        texts.push(sentence["text"].as_str().expect("text").to_owned());
        vectors.push(
            sentence["vector"]
                .as_array()
                .expect("vector")
                .iter()
                .map(|x| x.as_f64().expect("number") as f32)
                .collect(),
        );
    }
    (texts, vectors, json)
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}

/// Asserts every vector matches its reference; returns the lowest cosine.
fn assert_parity(label: &str, texts: &[String], ours: &[Vec<f32>], theirs: &[Vec<f32>]) -> f32 {
    assert_eq!(ours.len(), theirs.len());
    let mut lowest = f32::MAX;
    for ((text, a), b) in texts.iter().zip(ours).zip(theirs) {
        assert_eq!(a.len(), DIMENSIONS);
        let norm = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(
            (norm - 1.0).abs() < 1e-4,
            "{label}: norm {norm} for {text:?}"
        );
        let similarity = cosine(a, b);
        let shown: String = text.chars().take(50).collect();
        eprintln!(
            "{label}: cosine {similarity:.7} (1 - cos = {:.1e}) for {shown:?}",
            1.0 - similarity
        );
        assert!(
            similarity >= MIN_COSINE,
            "{label}: cosine {similarity} < {MIN_COSINE} for {text:?}"
        );
        lowest = lowest.min(similarity);
    }
    lowest
}

#[test]
fn vectors_match_sentence_transformers() {
    let Some(dir) = support::model_dir() else {
        return;
    };
    let (texts, expected, json) = reference();
    assert!(texts.len() >= 6);
    // The reference was made from exactly the files the pinned checksums name.
    for (name, sha256) in PINNED_SHA256 {
        assert_eq!(json["model_sha256"][name], sha256, "{name}");
    }
    assert_eq!(json["max_seq_length"], 256);
    assert!(
        json["sentences"]
            .as_array()
            .expect("sentences")
            .iter()
            .any(|s| s["tokens_untruncated"].as_u64().unwrap_or(0) > 256),
        "one sentence must be longer than 256 word pieces to check truncation"
    );
    let started = std::time::Instant::now();
    let model = MiniLm::load(&dir).expect("load");
    eprintln!("load: {:?}", started.elapsed());
    assert_eq!(model.dimensions(), DIMENSIONS);
    assert_eq!(model.model_id(), "sentence-transformers/all-MiniLM-L6-v2");
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();

    // Batches of mixed lengths (padding and its mask exercised).
    let model = model.with_batch_size(4);
    let started = std::time::Instant::now();
    let batched = model.embed(&refs).expect("embed");
    eprintln!(
        "{} texts in batches of 4: {:?}",
        refs.len(),
        started.elapsed()
    );
    let lowest = assert_parity("batched", &texts, &batched, &expected);

    // One at a time: no padding at all.
    let model = model.with_batch_size(1);
    let single = model.embed(&refs).expect("embed");
    let lowest = lowest.min(assert_parity("single", &texts, &single, &expected));

    // All in one batch.
    let model = model.with_batch_size(64);
    let whole = model.embed(&refs).expect("embed");
    let lowest = lowest.min(assert_parity("one batch", &texts, &whole, &expected));
    eprintln!("lowest cosine: {lowest:.7}");

    assert!(model.embed(&[]).expect("embed nothing").is_empty());
}

#[test]
fn similar_texts_are_closer_than_unrelated_ones() {
    let Some(dir) = support::model_dir() else {
        return;
    };
    let model = MiniLm::load(&dir).expect("load");
    let vectors = model
        .embed(&[
            "what time is it in Tokyo",
            "Get the current time in a given timezone",
            "Create a pull request on GitHub",
        ])
        .expect("embed");
    assert!(cosine(&vectors[0], &vectors[1]) > cosine(&vectors[0], &vectors[2]) + 0.2);
}

#[test]
fn a_directory_without_the_files_is_refused_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let error = MiniLm::load(dir.path()).expect_err("no files");
    assert!(
        matches!(error, DiscoveryError::MissingFile { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("model.safetensors"), "{error}");
}

#[test]
fn a_config_of_another_shape_is_refused() {
    let Some(model) = support::model_dir() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["model.safetensors", "tokenizer.json"] {
        std::os::unix::fs::symlink(model.join(name), dir.path().join(name)).expect("link");
    }
    let config = std::fs::read_to_string(model.join("config.json")).expect("config");
    let config = config.replace("\"hidden_size\": 384", "\"hidden_size\": 768");
    std::fs::write(dir.path().join("config.json"), config).expect("write");
    let error = MiniLm::load(Path::new(dir.path())).expect_err("wrong shape");
    assert!(error.to_string().contains("hidden_size is 768"), "{error}");
}
