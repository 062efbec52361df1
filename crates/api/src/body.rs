//! Reading request bodies into domain input with precise errors: unparseable → 400,
//! parseable but wrong or unknown field → 422 naming the field.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header::CONTENT_TYPE};
use serde::de::DeserializeOwned;

use crate::ApiError;

/// Turns a failed body read (too large, aborted) into an API error.
pub fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        let status = rejection.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "payload_too_large"
        } else {
            "bad_request"
        };
        ApiError::new(status, code, rejection.body_text())
    })
}

/// True when the request says it carries an HTML form (and does not look like JSON sent
/// with curl's default `-d` content type).
pub fn is_form(headers: &HeaderMap, body: &[u8]) -> bool {
    let form = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    form && !body.trim_ascii_start().starts_with(b"{")
}

/// Parses a JSON body into `T`.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.trim_ascii().is_empty() {
        return Err(ApiError::bad_request(
            "request body is empty; expected a JSON object",
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|error| ApiError::bad_request(format!("malformed JSON: {error}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_request("expected a JSON object"));
    }
    serde_path_to_error::deserialize::<_, T>(value).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner().to_string();
        let field = unknown_field_name(&inner).unwrap_or(path);
        ApiError::invalid_field(&field, inner)
    })
}

/// Pulls `foo` out of serde's "unknown field `foo`, expected …".
fn unknown_field_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest.split('`').next()?.to_owned())
}

/// Parses an `application/x-www-form-urlencoded` body into name/value pairs.
///
/// Stricter than browsers' lenient decoding: a broken `%` escape or bytes that are not
/// UTF-8 after decoding are a 400, never a silently mangled value.
pub fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let malformed = |why: &str| ApiError::bad_request(format!("malformed form body: {why}"));
    let mut decoded = Vec::with_capacity(body.len());
    let mut bytes = body.iter().copied();
    while let Some(byte) = bytes.next() {
        match byte {
            b'%' => {
                let high = bytes.next().and_then(|b| (b as char).to_digit(16));
                let low = bytes.next().and_then(|b| (b as char).to_digit(16));
                let (Some(high), Some(low)) = (high, low) else {
                    return Err(malformed("'%' must be followed by two hex digits"));
                };
                decoded.push((high * 16 + low) as u8);
            }
            other => decoded.push(other),
        }
    }
    if std::str::from_utf8(&decoded).is_err() {
        return Err(malformed("not UTF-8"));
    }
    serde_urlencoded::from_bytes(body).map_err(|error| malformed(&error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcpgw_registry::ServerInput;

    #[test]
    fn syntax_errors_are_400_and_field_errors_are_422() {
        let bad = parse_json::<ServerInput>(b"{\"path\": ").unwrap_err();
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        let unknown = parse_json::<ServerInput>(br#"{"path":"x","colour":1}"#).unwrap_err();
        assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            unknown.message.starts_with("colour:"),
            "{}",
            unknown.message
        );
        let typed = parse_json::<ServerInput>(br#"{"path":"x","enabled":"yes"}"#).unwrap_err();
        assert!(typed.message.starts_with("enabled:"), "{}", typed.message);
        let array = parse_json::<ServerInput>(b"[1]").unwrap_err();
        assert_eq!(array.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn forms_decode_strictly() {
        let fields = parse_form(b"path=%2Fweather&tags=a%2C+b").unwrap();
        assert_eq!(fields[0], ("path".into(), "/weather".into()));
        assert_eq!(fields[1], ("tags".into(), "a, b".into()));
        assert!(parse_form(b"path=%zz").is_err());
        assert!(parse_form(b"path=%4").is_err());
        assert!(parse_form(b"path=%ff%fe").is_err());
    }
}
