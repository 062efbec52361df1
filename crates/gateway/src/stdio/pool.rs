//! The stdio supervisor: one process per registered stdio server, started on first use,
//! restarted with backoff when it dies, replaced when its definition changes, stopped when
//! the server is removed or disabled and when the gateway shuts down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::process::StdioProcess;
use crate::error::GatewayError;
use crate::table::{StdioSpec, Target};

/// A process that died sooner than this after starting counts as a crash loop.
const STABLE_AFTER: Duration = Duration::from_secs(10);
/// Longest wait between restarts of a crash-looping server.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long a process gets to stop on `SIGTERM` before `SIGKILL`.
const STOP_GRACE: Duration = Duration::from_secs(1);

/// A started server and what it answered to the gateway's own `initialize`.
pub struct Running {
    /// The process.
    pub process: StdioProcess,
    /// The `initialize` result, replayed to clients that initialize; `None` for servers
    /// that only speak the stateless protocol.
    pub initialize: Option<Value>,
}

#[derive(Default)]
struct SlotState {
    running: Option<Arc<Running>>,
    started_at: Option<Instant>,
    failures: u32,
    not_before: Option<Instant>,
}

struct Slot {
    spec: StdioSpec,
    state: tokio::sync::Mutex<SlotState>,
}

/// All stdio servers of this gateway.
#[derive(Default)]
pub struct StdioPool {
    slots: Mutex<HashMap<String, Arc<Slot>>>,
}

impl StdioPool {
    /// The running process of `target`, starting (or restarting) it if needed.
    pub async fn running(
        &self,
        target: &Target,
        timeout: Duration,
    ) -> Result<Arc<Running>, GatewayError> {
        let Some(spec) = &target.stdio else {
            return Err(upstream(target, "no command".into()));
        };
        let slot = self.slot(&target.path, spec);
        let mut state = slot.state.lock().await;
        if let Some(running) = &state.running {
            if running.process.is_alive() {
                return Ok(Arc::clone(running));
            }
            let quick = state
                .started_at
                .is_some_and(|at| at.elapsed() < STABLE_AFTER);
            state.failures = if quick { state.failures + 1 } else { 1 };
            let backoff = if quick {
                Duration::from_secs(1 << state.failures.min(5)).min(MAX_BACKOFF)
            } else {
                Duration::ZERO
            };
            state.not_before = Some(Instant::now() + backoff);
            state.running = None;
            tracing::warn!(server = %target.path, ?backoff, "stdio server died; restarting");
        }
        if let Some(not_before) = state.not_before
            && Instant::now() < not_before
        {
            let wait = not_before - Instant::now();
            return Err(upstream(
                target,
                format!("it crashed and restarts in {}s", wait.as_secs() + 1),
            ));
        }
        let process = StdioProcess::start(&target.path, &spec.command, &spec.args, &spec.env)
            .map_err(|reason| upstream(target, reason))?;
        let initialize = initialize(&process, timeout).await;
        let running = Arc::new(Running {
            process,
            initialize,
        });
        state.running = Some(Arc::clone(&running));
        state.started_at = Some(Instant::now());
        tracing::info!(server = %target.path, "stdio server started");
        Ok(running)
    }

    fn slot(&self, path: &str, spec: &StdioSpec) -> Arc<Slot> {
        let Ok(mut slots) = self.slots.lock() else {
            return Arc::new(Slot {
                spec: spec.clone(),
                state: Default::default(),
            });
        };
        match slots.get(path) {
            Some(slot) if slot.spec == *spec => Arc::clone(slot),
            _ => {
                // New, or its definition changed: the old process (if any) is dropped,
                // which stops its whole process group.
                let slot = Arc::new(Slot {
                    spec: spec.clone(),
                    state: Default::default(),
                });
                slots.insert(path.to_owned(), Arc::clone(&slot));
                slot
            }
        }
    }

    /// Stops the processes of servers that are gone, disabled, or defined differently.
    pub fn reconcile(&self, targets: &HashMap<String, Arc<Target>>) {
        if let Ok(mut slots) = self.slots.lock() {
            slots.retain(|path, slot| {
                targets.get(path).is_some_and(|target| {
                    target.enabled && target.stdio.as_ref() == Some(&slot.spec)
                })
            });
        }
    }

    /// Stops every process: `SIGTERM` to each group, `SIGKILL` after a grace period.
    pub async fn stop_all(&self) {
        let slots: Vec<Arc<Slot>> = self
            .slots
            .lock()
            .map(|mut slots| slots.drain().map(|(_, slot)| slot).collect())
            .unwrap_or_default();
        for slot in slots {
            if let Some(running) = slot.state.lock().await.running.take() {
                running.process.stop(STOP_GRACE).await;
            }
        }
    }
}

fn upstream(target: &Target, reason: String) -> GatewayError {
    GatewayError::Upstream {
        server: target.path.clone(),
        reason,
    }
}

/// The gateway's own handshake with a new process, so that many clients can share it;
/// `None` if the server refuses `initialize` (a stateless-only server).
async fn initialize(process: &StdioProcess, timeout: Duration) -> Option<Value> {
    let request = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": mcpgw_mcp::version::STATEFUL_LATEST,
        "capabilities": {},
        "clientInfo": {"name": "mcpgw", "version": env!("CARGO_PKG_VERSION")},
    }});
    let events = process.request(request).await.ok()?;
    let reply = tokio::time::timeout(timeout, events.response())
        .await
        .ok()
        .flatten()?;
    let result = reply.get("result")?.clone();
    let _ = process
        .notify(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
    Some(result)
}
