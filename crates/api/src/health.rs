//! `GET /health`: is the gateway up, and what does it see; `GET /livez` and `GET /readyz`
//! for orchestrators and load balancers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

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

/// Longest wait for the database in a readiness probe: a probe must answer in time even
/// when the database does not.
const READY_PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether this replica wants new traffic: not once it is draining (after SIGTERM).
/// Cheap to clone; clones share the state.
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// From now on `/readyz` answers 503, so that load balancers send traffic elsewhere.
    pub fn drain(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether [`Readiness::drain`] was called.
    pub fn draining(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// `GET /livez`: the process serves HTTP (restart it if not). Touches nothing else, so
/// that a database outage never gets every replica restarted at once.
pub async fn live() -> Json<Value> {
    Json(json!({"status": "alive"}))
}

/// `GET /readyz`: 200 while this replica should get traffic, 503 once it is draining.
/// The database's state is reported but does not decide: in an outage every replica still
/// serves the servers it knows from memory, and taking all of them out of the load
/// balancer at once would turn a degraded gateway into no gateway.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    if state.readiness.draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "draining"})),
        );
    }
    let database = match tokio::time::timeout(READY_PING_TIMEOUT, state.registry.ping()).await {
        Ok(Ok(())) => json!({"status": "ok"}),
        Ok(Err(error)) => json!({"status": "unavailable", "reason": error.to_string()}),
        Err(_) => json!({"status": "unavailable",
            "reason": format!("no answer within {READY_PING_TIMEOUT:?}")}),
    };
    (
        StatusCode::OK,
        Json(json!({"status": "ready", "database": database})),
    )
}
