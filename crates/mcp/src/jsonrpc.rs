//! Minimal JSON-RPC 2.0 helpers for building requests and reading responses.
//!
//! The gateway mostly forwards messages untouched; these helpers serve the places where
//! mcpgw itself is the client (health checks, tool discovery).

use serde_json::{Map, Value, json};

/// Builds a JSON-RPC request object.
pub fn request(id: u64, method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
}

/// Builds a JSON-RPC notification object (a message without an id).
pub fn notification(method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "method": method, "params": params })
}

/// A JSON-RPC error object received from a peer.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    /// The numeric error code.
    pub code: i64,
    /// The human-readable message.
    pub message: String,
    /// Optional structured data.
    pub data: Option<Value>,
}

/// What a single incoming JSON-RPC message is.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A response to one of our requests: its id and either a result or an error.
    Response {
        /// The id of the request it answers.
        id: Value,
        /// `Ok(result)` or `Err(error)`.
        outcome: Result<Value, RpcError>,
    },
    /// A request or notification sent to us by the peer (ignored by probes).
    PeerMessage {
        /// Its method name.
        method: String,
    },
}

/// Classifies one JSON value as a JSON-RPC message; `None` if it is not one.
pub fn classify(message: &Value) -> Option<Incoming> {
    let object = message.as_object()?;
    if let Some(method) = object.get("method").and_then(Value::as_str) {
        return Some(Incoming::PeerMessage {
            method: method.to_owned(),
        });
    }
    let id = object.get("id")?.clone();
    if let Some(result) = object.get("result") {
        return Some(Incoming::Response {
            id,
            outcome: Ok(result.clone()),
        });
    }
    let error = object.get("error")?.as_object()?;
    Some(Incoming::Response {
        id,
        outcome: Err(parse_error(error)),
    })
}

fn parse_error(error: &Map<String, Value>) -> RpcError {
    RpcError {
        code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
        message: error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        data: error.get("data").cloned(),
    }
}

/// Finds the response with the given id in a single message or a batch.
pub fn find_response(body: &Value, id: u64) -> Option<Result<Value, RpcError>> {
    let candidates: Vec<&Value> = match body {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    candidates
        .into_iter()
        .filter_map(classify)
        .find_map(|message| match message {
            Incoming::Response { id: got, outcome } if got.as_u64() == Some(id) => Some(outcome),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_results_errors_and_peer_messages() {
        let result = json!({"jsonrpc":"2.0","id":3,"result":{"ok":true}});
        assert_eq!(find_response(&result, 3), Some(Ok(json!({"ok": true}))));
        assert_eq!(find_response(&result, 4), None);

        let error = json!({"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"nope"}});
        let Some(Err(rpc)) = find_response(&error, 3) else {
            panic!("expected an error")
        };
        assert_eq!(rpc.code, -32601);
        assert_eq!(rpc.message, "nope");

        let ping = json!({"jsonrpc":"2.0","id":9,"method":"ping"});
        assert_eq!(
            classify(&ping),
            Some(Incoming::PeerMessage {
                method: "ping".into()
            })
        );
        assert_eq!(classify(&json!("garbage")), None);
    }

    #[test]
    fn finds_response_in_batch() {
        let batch = json!([
            {"jsonrpc":"2.0","method":"notifications/message","params":{}},
            {"jsonrpc":"2.0","id":7,"result":{}}
        ]);
        assert_eq!(find_response(&batch, 7), Some(Ok(json!({}))));
    }
}
