//! The entries of a registry document, in whatever shape a registry or a file holds them.

use serde_json::Value;

use super::{ImportError, Obj, invalid, join};

/// The `_meta` key under which mcpgw puts its own view of a server.
pub const GATEWAY_META: &str = "io.mcpgw/gateway";

/// The `_meta` key under which the official registry puts its lifecycle data.
const OFFICIAL_META: &str = "io.modelcontextprotocol.registry/official";

/// What an element of a document must look like; repeated in every shape error.
const EXPECTED: &str = "expected a server.json (an object with a name), \
    a ServerResponse {server, _meta} or a ServerList {servers, metadata}";

/// One `server.json` found in a document, with the registry's status of it when the
/// document said (a ServerResponse's `_meta`), so callers can skip deleted entries.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The `server.json` itself, unchecked; [`candidate`] checks and converts it.
    pub server: Value,
    /// `_meta["io.modelcontextprotocol.registry/official"].status` (`active`, `deprecated`,
    /// `deleted`), if the document gave one.
    pub status: Option<String>,
    /// `_meta[...official].isLatest`, if the document gave it.
    pub is_latest: Option<bool>,
    /// Where the registry that served it had imported it from, when that registry is an
    /// mcpgw (`_meta["io.mcpgw/gateway"].importedFrom`): a synchronisation does not take
    /// such entries, or two gateways federating with each other would import each other's
    /// imports back and forth forever.
    pub imported_from: Option<String>,
}

/// Every server.json in a document: a bare server.json, a ServerResponse `{server, _meta}`,
/// a ServerList `{servers: [ServerResponse...], metadata}`, or a JSON array of either.
///
/// Only the shape is checked here (so one odd entry is reported by its index, like
/// `servers[3].server: must be an object`); the content of each entry is checked by
/// [`candidate`], so a caller can import the good entries and report the bad ones.
pub fn documents(bytes: &[u8]) -> Result<Vec<Entry>, ImportError> {
    // Files saved by Windows editors often start with a byte order mark JSON forbids.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let value: Value = serde_json::from_slice(bytes).map_err(ImportError::NotJson)?;
    match value {
        Value::Array(items) => entries(items, ""),
        Value::Object(mut object) if object.contains_key("servers") => {
            match object.remove("servers") {
                Some(Value::Array(items)) => entries(items, "servers"),
                _ => Err(invalid("servers", "must be an array of ServerResponse")),
            }
        }
        other => Ok(vec![entry(other, "")?]),
    }
}

/// The elements of an array, each reported by its index when malformed.
fn entries(items: Vec<Value>, at: &str) -> Result<Vec<Entry>, ImportError> {
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| entry(item, &format!("{at}[{index}]")))
        .collect()
}

/// One element: a ServerResponse (recognised by its `server` object) or a bare server.json.
fn entry(value: Value, at: &str) -> Result<Entry, ImportError> {
    let here = if at.is_empty() { "document" } else { at };
    let Value::Object(mut object) = value else {
        return Err(invalid(here, EXPECTED));
    };
    if let Some(server) = object.remove("server") {
        if !server.is_object() {
            return Err(invalid(
                join(at, "server"),
                "must be an object (a server.json)",
            ));
        }
        let meta = object.get("_meta");
        let (status, is_latest) = official(meta, &join(at, "_meta"))?;
        return Ok(Entry {
            server,
            status,
            is_latest,
            imported_from: imported_from(meta),
        });
    }
    if !object.contains_key("name") {
        return Err(invalid(here, EXPECTED));
    }
    Ok(Entry {
        server: Value::Object(object),
        status: None,
        is_latest: None,
        imported_from: None,
    })
}

/// The official registry's status and latest flag from a ServerResponse's `_meta`.
fn official(meta: Option<&Value>, at: &str) -> Result<(Option<String>, Option<bool>), ImportError> {
    let Some(meta) = meta.filter(|meta| !meta.is_null()) else {
        return Ok((None, None));
    };
    let meta = Obj::of(meta, at.to_owned())?;
    let Some(official) = meta.object(OFFICIAL_META)? else {
        return Ok((None, None));
    };
    let is_latest = match official.get("isLatest") {
        None => None,
        Some(Value::Bool(flag)) => Some(*flag),
        Some(_) => return Err(invalid(official.path("isLatest"), "must be a boolean")),
    };
    Ok((official.str("status")?, is_latest))
}

/// `_meta["io.mcpgw/gateway"].importedFrom.source`, if the entry says (anything else there
/// is ignored: it is another gateway's view, not part of the entry).
fn imported_from(meta: Option<&Value>) -> Option<String> {
    meta?
        .get(GATEWAY_META)?
        .get("importedFrom")?
        .get("source")?
        .as_str()
        .map(str::to_owned)
}
