//! Reading a JSON document from another service without trusting its size: the body is
//! read chunk by chunk and refused past a limit, so an endless or huge answer costs at most
//! that much memory. Shared by issuer discovery, key sets and the egress client.

use serde::de::DeserializeOwned;

/// `response`'s body (from `url`) as JSON, read up to `max` bytes.
pub(crate) async fn read_json<T: DeserializeOwned>(
    mut response: reqwest::Response,
    url: &str,
    max: usize,
) -> Result<T, String> {
    if response
        .content_length()
        .is_some_and(|length| length > max as u64)
    {
        return Err(format!("{url}: larger than {max} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| format!("{url}: {error}"))?
    {
        if body.len() + chunk.len() > max {
            return Err(format!("{url}: larger than {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|error| format!("{url}: not the expected JSON: {error}"))
}

/// A request failure with its innermost cause: reqwest's own text names only the URL, and
/// the cause is what says why (refused, a TLS error, a connection the SSRF guard refused).
pub(crate) fn transport_error(error: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    if std::ptr::addr_eq(cause, error) {
        error.to_string()
    } else {
        format!("{error}: {cause}")
    }
}
