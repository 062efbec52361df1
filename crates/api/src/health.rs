//! `GET /health`: is the gateway up, and what does it see.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::AppState;

/// Answers 200 with version, uptime, database kind, how search ranks and servers by health
/// state, or 503 when the database does not answer.
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    // How tool search ranks: by words until an embedding model is loaded.
    let search = match state.semantic.get() {
        Some(index) => json!({"mode": "hybrid", "model": index.model()}),
        None => json!({"mode": "lexical", "model": null,
            "reason": "no embedding model is loaded (see `mcpgw model fetch`)"}),
    };
    let common = json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": state.started.elapsed().as_secs(),
        "database": state.registry.store_kind(),
        "search": search,
    });
    let summary = match state.registry.health_summary().await {
        Ok(summary) => summary,
        Err(error) => {
            let mut body = common;
            body["status"] = json!("unhealthy");
            body["reason"] = json!(error.to_string());
            return (StatusCode::SERVICE_UNAVAILABLE, Json(body));
        }
    };
    let mut body = common;
    body["status"] = json!("healthy");
    body["servers"] = json!(summary);
    (StatusCode::OK, Json(body))
}
