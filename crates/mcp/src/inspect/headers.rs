//! `Mcp-Method` / `Mcp-Name` must say exactly what the body says (2026-07-28).
//!
//! Routers and policies may read the headers; servers read the body. If the two could
//! differ, a caller could show the gateway one tool and call another, so any
//! disagreement is refused before routing or authorisation.

use base64::Engine;

use super::{InspectError, Inspected};

const SENTINEL_PREFIX: &str = "=?base64?";
const SENTINEL_SUFFIX: &str = "?=";

/// Checks the standard request headers against the inspected body. Absent headers are
/// fine (clients before 2026-07-28 do not send them); present ones must match.
pub fn check_headers(
    inspected: &Inspected<'_>,
    mcp_method: Option<&[u8]>,
    mcp_name: Option<&[u8]>,
) -> Result<(), InspectError> {
    if mcp_method.is_none() && mcp_name.is_none() {
        return Ok(());
    }
    let mismatch = |message: String| Err(InspectError::HeaderMismatch(message));
    let [message] = inspected.messages.as_slice() else {
        return mismatch("Mcp-Method and Mcp-Name cannot describe a batch".into());
    };
    if inspected.batch {
        return mismatch("Mcp-Method and Mcp-Name cannot describe a batch".into());
    }
    let body_method = message.method.as_deref();
    match (mcp_method, body_method) {
        (Some(header), Some(body)) => {
            let header = header_text("Mcp-Method", header)?;
            if header != body {
                return mismatch(format!(
                    "Mcp-Method header value '{header}' does not match body value '{body}'"
                ));
            }
        }
        (Some(_), None) => {
            return mismatch("Mcp-Method header on a message without a method".into());
        }
        (None, _) => return mismatch("Mcp-Name header without Mcp-Method".into()),
    }
    match (mcp_name, message.target.as_deref()) {
        (Some(header), Some(body)) => {
            let header = decode_name(header)?;
            if header != body {
                return mismatch(format!(
                    "Mcp-Name header value '{header}' does not match body value '{body}'"
                ));
            }
            Ok(())
        }
        (Some(_), None) => mismatch(format!(
            "Mcp-Name header on '{}', which has no name or uri",
            body_method.unwrap_or_default()
        )),
        (None, Some(_)) => mismatch(format!(
            "Mcp-Name header is required for '{}'",
            body_method.unwrap_or_default()
        )),
        (None, None) => Ok(()),
    }
}

fn header_text<'h>(name: &str, value: &'h [u8]) -> Result<&'h str, InspectError> {
    std::str::from_utf8(value)
        .ok()
        .filter(|text| text.bytes().all(|byte| (0x20..0x7f).contains(&byte)))
        .ok_or_else(|| {
            InspectError::HeaderMismatch(format!("{name} header contains invalid characters"))
        })
}

/// Decodes the `=?base64?…?=` sentinel form; plain values are used as they are.
fn decode_name(value: &[u8]) -> Result<String, InspectError> {
    let text = header_text("Mcp-Name", value)?;
    let Some(encoded) = text
        .strip_prefix(SENTINEL_PREFIX)
        .and_then(|rest| rest.strip_suffix(SENTINEL_SUFFIX))
    else {
        return Ok(text.to_owned());
    };
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| InspectError::HeaderMismatch("Mcp-Name header has invalid base64".into()))
}
