//! Reading HTTP response bodies from an upstream that may be hostile: every read is bounded,
//! whatever the `Content-Length` says or does not say (chunked bodies have none).

use futures::StreamExt;

use super::ProbeError;

/// Reads a whole body, failing as soon as it grows past `limit` bytes.
pub(crate) async fn read_limited(
    response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, ProbeError> {
    // A declared length over the limit is refused before anything is read.
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|error| ProbeError::from_transport(&error))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads at most `limit` bytes of a body and drops the rest; for error details, where a
/// truncated or failed read still says enough.
pub(crate) async fn read_prefix(response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut prefix = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(Ok(chunk)) = stream.next().await {
        let room = limit - prefix.len();
        prefix.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if prefix.len() >= limit {
            break;
        }
    }
    prefix
}

fn too_large() -> ProbeError {
    ProbeError::Protocol("response body too large".into())
}
