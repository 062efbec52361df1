//! `WebSocket /ws/health_status`, kept for the Python registry's clients: on connect, and
//! then whenever it changes, one text message mapping each server the caller may see to
//! `{"status", "last_checked_iso", "num_tools"}`, keyed by `/{path}` as the Python
//! registry keys it. Its statuses: `healthy`, `unhealthy: <reason>`, `auth-required`,
//! `checking` (not checked yet) and `disabled`.
//!
//! The caller authenticates like any protected route (bearer or session cookie). A
//! handshake from another site's page is refused: browsers send cookies with WebSocket
//! handshakes and do not apply CORS to them.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use mcpgw_auth::Principal;
use mcpgw_auth::session::origin::{Provenance, provenance};
use mcpgw_auth::session::{Session, cookie};
use serde_json::{Map, Value, json};

use crate::ui::live::{Credential, Follow};
use crate::ui::rows::LiveHealth;
use crate::{ApiError, AppState};

/// `GET /ws/health_status` (upgraded to a WebSocket).
pub async fn upgrade(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    session: Option<Extension<Session>>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    if provenance(&headers, state.public_origin.as_deref()) == Provenance::CrossOrigin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "cross-site WebSocket refused: a page of another site cannot follow the registry \
             with your session",
        ));
    }
    // The credential is checked again before every update: the stream ends with it.
    let session_cookie = session.and(cookie::find(&headers, cookie::SESSION_COOKIE));
    let follow = Follow::new(state, principal, Credential::of(&headers, session_cookie));
    Ok(upgrade.on_upgrade(move |socket| serve(socket, follow)))
}

/// Sends the health as it changes until either side ends. The follower runs in its own
/// task, so that messages from the client (the Python UI sends `ping`) never interrupt
/// it; they are read and dropped, and protocol pings are answered by the WebSocket layer.
async fn serve(mut socket: WebSocket, mut follow: Follow) {
    let (updates, mut received) = tokio::sync::mpsc::channel::<Vec<LiveHealth>>(1);
    let follower = tokio::spawn(async move {
        while let Some(servers) = follow.next().await {
            if updates.send(servers).await.is_err() {
                break;
            }
        }
    });
    loop {
        tokio::select! {
            servers = received.recv() => {
                let Some(servers) = servers else { break };
                let text = python_shape(&servers).to_string();
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    follower.abort();
    let _ = socket.send(Message::Close(None)).await;
}

/// The Python registry's message: `{"/path": {"status", "last_checked_iso", "num_tools"}}`.
fn python_shape(servers: &[LiveHealth]) -> Value {
    let map: Map<String, Value> = servers
        .iter()
        .map(|server| {
            let status = match server.health {
                "unhealthy" if !server.reason.is_empty() => format!("unhealthy: {}", server.reason),
                "unknown" => "checking".to_owned(),
                other => other.to_owned(),
            };
            let checked = (!server.last_checked.is_empty()).then_some(&server.last_checked);
            (
                format!("/{}", server.path),
                json!({
                    "status": status,
                    "last_checked_iso": checked,
                    "num_tools": server.num_tools,
                }),
            )
        })
        .collect();
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_has_the_python_registrys_shape() {
        let server = |path: &str, health: &'static str, reason: &str, checked: &str| LiveHealth {
            path: path.to_owned(),
            enabled: health != "disabled",
            health,
            reason: reason.to_owned(),
            last_checked: checked.to_owned(),
            last_checked_text: String::new(),
            num_tools: 3,
        };
        let message = python_shape(&[
            server("a", "healthy", "", "2026-12-02T10:00:00+00:00"),
            server(
                "b",
                "unhealthy",
                "connection refused",
                "2026-12-02T10:00:00+00:00",
            ),
            server("c", "unknown", "", ""),
        ]);
        assert_eq!(message["/a"]["status"], "healthy");
        assert_eq!(message["/a"]["num_tools"], 3);
        assert_eq!(message["/b"]["status"], "unhealthy: connection refused");
        assert_eq!(message["/c"]["status"], "checking");
        assert_eq!(message["/c"]["last_checked_iso"], Value::Null);
    }
}
