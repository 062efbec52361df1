//! [`EmbeddingIndex`] with the real model and a real SQLite database: what it stores, what
//! a restart reads back, and how unused vectors are forgotten (not at once, so that a
//! server removed and registered again embeds nothing; and only after the grace period).

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use mcpgw_discovery::{EmbeddingIndex, MiniLm};
use mcpgw_registry::{EmbeddingStore, Health, HealthState, Server, Tool, Transport};

fn server(path: &str, description: &str, tools: &[(&str, &str)]) -> Server {
    Server {
        path: path.into(),
        name: path.into(),
        description: description.into(),
        transport: Transport::StreamableHttp,
        url: Some("http://127.0.0.1:1/mcp".into()),
        command: None,
        args: Vec::new(),
        env: Default::default(),
        headers: Default::default(),
        tags: vec!["demo".into()],
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
        tools: tools
            .iter()
            .map(|(name, description)| Tool {
                name: (*name).into(),
                title: None,
                description: Some((*description).into()),
                input_schema: serde_json::json!({"type": "object"}),
                output_schema: None,
                annotations: None,
            })
            .collect(),
        tools_updated_at: None,
        revision: 1,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn vectors_are_stored_read_back_and_forgotten_only_when_long_unused() {
    let Some(dir) = support::model_dir() else {
        return;
    };
    let model: Arc<MiniLm> = Arc::new(MiniLm::load(&dir).expect("model"));
    let scratch = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", scratch.path().join("mcpgw.db").display());
    let store: Arc<dyn EmbeddingStore> = Arc::new(mcpgw_store::connect(&url).await.unwrap());
    let clock = server(
        "clock",
        "Tells the time",
        &[("now", "Current time in a zone")],
    );
    let notes = server(
        "notes",
        "Keeps notes",
        &[("append", "Add a line to a note"), ("read", "Read a note")],
    );
    let both = [clock.clone(), notes.clone()];

    // Two texts per tool and one per server.
    let index = EmbeddingIndex::load(model.clone(), store.clone())
        .await
        .unwrap();
    assert!(index.refresh(&both).await);
    assert_eq!(stored(&store).await, 2 * 3 + 2);
    // A server removed: its vectors stay (it may come back) …
    assert!(index.refresh(std::slice::from_ref(&clock)).await);
    assert_eq!(stored(&store).await, 8);
    assert_eq!(index.known(), 8);
    drop(index);

    // … and a restart reads them all back.
    let index = EmbeddingIndex::load_pruning_after(model.clone(), store.clone(), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(index.known(), 8);
    assert!(index.refresh(&both).await);
    // Unused past the grace period (none here): forgotten in memory and in the database,
    // and nothing else is.
    assert!(index.refresh(std::slice::from_ref(&clock)).await);
    assert_eq!(stored(&store).await, 3);
    assert_eq!(index.known(), 3);
    // Registered again: embedded again, and stored.
    assert!(index.refresh(&both).await);
    assert_eq!(stored(&store).await, 8);
}

/// How many vectors the database holds for the model.
async fn stored(store: &Arc<dyn EmbeddingStore>) -> usize {
    store
        .load_embeddings(mcpgw_discovery::MODEL_ID)
        .await
        .unwrap()
        .len()
}
