//! A second reading of a JSON-RPC body, for `jsonrpc_inspect`: what
//! `mcpgw_mcp::inspect::inspect` must say about it, worked out from the document
//! `serde_json` parses, with none of the inspector's shortcuts (raw values, borrowed
//! strings, the streaming duplicate-key pass).
//!
//! Routing, authorisation and the `Mcp-Method`/`Mcp-Name` check all trust the inspector;
//! the upstream server reads the body with an ordinary JSON parser. Whatever the two
//! readings disagree on (a method, a tool name, which messages a batch holds) is a way
//! to show the gateway one request and the server another.

use serde_json::{Map, Value};

/// What one message of a body must be reported as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// `"request"`, `"notification"` or `"response"`.
    pub kind: &'static str,
    /// The id, as a parsed JSON value.
    pub id: Option<Value>,
    /// The method.
    pub method: Option<String>,
    /// `params.name` of `tools/call`/`prompts/get`, `params.uri` of `resources/read`.
    pub target: Option<String>,
    /// `params._meta["io.modelcontextprotocol/protocolVersion"]`, when a string.
    pub protocol_version: Option<String>,
    /// `params`, unless absent or `null`.
    pub params: Option<Value>,
    /// `params.clientInfo`, else `params._meta["io.modelcontextprotocol/clientInfo"]`,
    /// kept only when it is an object.
    pub client: Option<Value>,
    /// `_meta.traceparent`, `_meta.tracestate`, `_meta.baggage`, when strings.
    pub trace: [Option<String>; 3],
}

/// The trace keys of `_meta`, in the order of [`Expected::trace`].
pub const TRACE_KEYS: [&str; 3] = ["traceparent", "tracestate", "baggage"];

/// The messages `document` (a whole body) must be reported as, and whether it is a
/// batch; `None` when the inspector must refuse it.
pub fn expected(document: &Value) -> Option<(Vec<Expected>, bool)> {
    match document {
        Value::Array(items) if items.is_empty() => None,
        Value::Array(items) => Some((items.iter().map(message).collect::<Option<_>>()?, true)),
        single => Some((vec![message(single)?], false)),
    }
}

/// A field that is present and not `null` (the inspector reads `null` as absent for
/// every field but `id` and `method`, where it is an error).
fn field<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key).filter(|value| !value.is_null())
}

fn message(value: &Value) -> Option<Expected> {
    let object = value.as_object()?;
    if object.get("jsonrpc")?.as_str()? != "2.0" {
        return None;
    }
    let id = object.get("id").cloned();
    if let Some(id) = &id
        && !(id.is_string() || id.is_number())
    {
        return None;
    }
    let has_outcome = field(object, "result").is_some() || field(object, "error").is_some();
    let Some(method) = object.get("method") else {
        // A response: an id and exactly one of result and error.
        let exactly_one = field(object, "result").is_some() != field(object, "error").is_some();
        return (id.is_some() && exactly_one).then_some(Expected {
            kind: "response",
            id,
            method: None,
            target: None,
            protocol_version: None,
            params: None,
            client: None,
            trace: [None, None, None],
        });
    };
    let method = method.as_str()?.to_owned();
    if has_outcome {
        return None;
    }
    let params = field(object, "params");
    let params_object = match params {
        Some(Value::Object(params)) => Some(params),
        Some(_) => return None,
        None => None,
    };
    let param = |key: &str| params_object.and_then(|params| field(params, key));
    let target = match method.as_str() {
        "tools/call" | "prompts/get" => Some(param("name")?.as_str()?.to_owned()),
        "resources/read" => Some(param("uri")?.as_str()?.to_owned()),
        _ => None,
    };
    let meta = param("_meta").and_then(Value::as_object);
    let meta_string = |key: &str| {
        meta.and_then(|meta| meta.get(key))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let client = param("clientInfo")
        .or_else(|| meta.and_then(|meta| field(meta, "io.modelcontextprotocol/clientInfo")))
        .filter(|client| client.is_object())
        .cloned();
    Some(Expected {
        kind: if id.is_some() {
            "request"
        } else {
            "notification"
        },
        id,
        target,
        protocol_version: meta_string("io.modelcontextprotocol/protocolVersion"),
        params: params.cloned(),
        client,
        trace: TRACE_KEYS.map(meta_string),
        method: Some(method),
    })
}

/// Whether a JSON text has an object with two equal keys (after unescaping), anywhere.
/// Written against `serde_json`'s streaming API differently from the inspector's pass:
/// it parses into a `Vec` of entries per object and compares them afterwards.
pub fn has_duplicate_keys(body: &[u8]) -> bool {
    #[derive(Debug)]
    struct Entries(bool);
    impl<'de> serde::Deserialize<'de> for Entries {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(EntriesVisitor)
        }
    }
    struct EntriesVisitor;
    impl<'de> serde::de::Visitor<'de> for EntriesVisitor {
        type Value = Entries;
        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("JSON")
        }
        fn visit_bool<E>(self, _: bool) -> Result<Entries, E> {
            Ok(Entries(false))
        }
        fn visit_i64<E>(self, _: i64) -> Result<Entries, E> {
            Ok(Entries(false))
        }
        fn visit_u64<E>(self, _: u64) -> Result<Entries, E> {
            Ok(Entries(false))
        }
        fn visit_f64<E>(self, _: f64) -> Result<Entries, E> {
            Ok(Entries(false))
        }
        fn visit_str<E>(self, _: &str) -> Result<Entries, E> {
            Ok(Entries(false))
        }
        fn visit_unit<E>(self) -> Result<Entries, E> {
            Ok(Entries(false))
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Entries, A::Error> {
            let mut found = false;
            while let Some(Entries(inner)) = seq.next_element()? {
                found |= inner;
            }
            Ok(Entries(found))
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
            let mut keys: Vec<String> = Vec::new();
            let mut found = false;
            while let Some((key, Entries(inner))) = map.next_entry::<String, Entries>()? {
                keys.push(key);
                found |= inner;
            }
            keys.sort();
            Ok(Entries(
                found || keys.windows(2).any(|pair| pair[0] == pair[1]),
            ))
        }
    }
    serde_json::from_slice::<Entries>(body).is_ok_and(|Entries(found)| found)
}
