//! Rewrites the `endpoint` event of a legacy SSE stream while passing every other byte
//! through untouched.
//!
//! Until the endpoint event has been seen, bytes are buffered by event; the endpoint
//! event is replaced by the one the caller builds, and from then on frames are forwarded
//! as they come, without inspection.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use mcpgw_mcp::sse::SseDecoder;

/// Most bytes buffered while waiting for the endpoint event.
const MAX_PREAMBLE_BYTES: usize = 64 * 1024;

/// Builds the replacement endpoint URI from the upstream's; `None` refuses the stream.
pub type Rewrite = Box<dyn FnMut(&str) -> Option<String> + Send>;

/// Errors of the rewriting body.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    /// The upstream's endpoint was unusable (bad URI, other origin).
    #[error("the server announced an endpoint the gateway will not use")]
    RefusedEndpoint,
    /// No endpoint event within the first bytes.
    #[error("no endpoint event in the first {MAX_PREAMBLE_BYTES} bytes of the SSE stream")]
    NoEndpoint,
}

/// A body that rewrites the first `endpoint` event of the inner body.
pub struct EndpointRewriter<B> {
    inner: B,
    rewrite: Rewrite,
    buffer: BytesMut,
    done: bool,
}

impl<B> EndpointRewriter<B> {
    /// Wraps `inner`; `rewrite` maps the upstream endpoint to the client-facing one.
    pub fn new(inner: B, rewrite: Rewrite) -> Self {
        EndpointRewriter {
            inner,
            rewrite,
            buffer: BytesMut::new(),
            done: false,
        }
    }

    /// Moves complete events out of the buffer, rewriting the endpoint event.
    fn drain_events(&mut self) -> Result<Bytes, RewriteError> {
        let mut out = BytesMut::new();
        while let Some(end) = event_end(&self.buffer) {
            let block = self.buffer.split_to(end);
            let mut decoder = SseDecoder::new();
            let endpoint = decoder
                .feed(&block)
                .ok()
                .and_then(|events| events.into_iter().find(|event| event.kind() == "endpoint"));
            match endpoint {
                Some(event) => {
                    let rewritten =
                        (self.rewrite)(event.data.trim()).ok_or(RewriteError::RefusedEndpoint)?;
                    out.extend_from_slice(
                        format!("event: endpoint\ndata: {rewritten}\n\n").as_bytes(),
                    );
                    out.extend_from_slice(&self.buffer.split());
                    self.done = true;
                    break;
                }
                None => out.extend_from_slice(&block),
            }
        }
        if !self.done && self.buffer.len() > MAX_PREAMBLE_BYTES {
            return Err(RewriteError::NoEndpoint);
        }
        Ok(out.freeze())
    }
}

/// Index just past the blank line that ends the first event in `buffer`, if complete.
pub(crate) fn event_end(buffer: &[u8]) -> Option<usize> {
    let mut index = 0;
    let mut line_start = 0;
    while index < buffer.len() {
        let terminator = match buffer[index] {
            b'\n' => 1,
            b'\r' if index + 1 == buffer.len() => return None,
            b'\r' if buffer[index + 1] == b'\n' => 2,
            b'\r' => 1,
            _ => 0,
        };
        if terminator == 0 {
            index += 1;
            continue;
        }
        if index == line_start {
            return Some(index + terminator);
        }
        index += terminator;
        line_start = index;
    }
    None
}

impl<B> Body for EndpointRewriter<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        loop {
            let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) if this.done => {
                    return Poll::Ready(None);
                }
                Poll::Ready(None) => {
                    return Poll::Ready(Some(Err(Box::new(RewriteError::NoEndpoint))));
                }
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error.into()))),
                Poll::Ready(Some(Ok(frame))) => frame,
            };
            if this.done {
                return Poll::Ready(Some(Ok(frame)));
            }
            let Ok(data) = frame.into_data() else {
                continue;
            };
            this.buffer.extend_from_slice(&data);
            match this.drain_events() {
                Ok(out) if out.is_empty() => continue,
                Ok(out) => return Poll::Ready(Some(Ok(Frame::data(out)))),
                Err(error) => return Poll::Ready(Some(Err(Box::new(error)))),
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};

    fn body_of(chunks: &[&'static str]) -> impl Body<Data = Bytes, Error = std::io::Error> + Unpin {
        let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = chunks
            .iter()
            .map(|chunk| Ok(Frame::data(Bytes::from_static(chunk.as_bytes()))))
            .collect();
        StreamBody::new(futures::stream::iter(frames))
    }

    async fn collect(chunks: &[&'static str]) -> Result<String, String> {
        let rewriter = EndpointRewriter::new(
            body_of(chunks),
            Box::new(|endpoint: &str| {
                (!endpoint.contains("evil")).then(|| format!("/gw/messages?s={endpoint}"))
            }),
        );
        match rewriter.collect().await {
            Ok(collected) => Ok(String::from_utf8(collected.to_bytes().to_vec()).unwrap()),
            Err(error) => Err(error.to_string()),
        }
    }

    #[tokio::test]
    async fn rewrites_only_the_endpoint_event_across_chunk_boundaries() {
        let out = collect(&[
            ": hello\r\n\r\nevent: endp",
            "oint\r\ndata: /m?id=1\r\n\r\nevent: message\ndata: {}\n\n",
            "data: 2\n\n",
        ])
        .await;
        assert_eq!(
            out.unwrap(),
            ": hello\r\n\r\nevent: endpoint\ndata: /gw/messages?s=/m?id=1\n\nevent: message\ndata: {}\n\ndata: 2\n\n"
        );
    }

    #[tokio::test]
    async fn refuses_bad_endpoints_and_streams_without_one() {
        assert!(
            collect(&["event: endpoint\ndata: http://evil/\n\n"])
                .await
                .is_err()
        );
        assert!(collect(&["event: message\ndata: {}\n\n"]).await.is_err());
    }

    #[test]
    fn finds_event_ends_with_any_line_terminator() {
        assert_eq!(event_end(b"data: x\n\nrest"), Some(9));
        assert_eq!(event_end(b"data: x\r\n\r\n"), Some(11));
        assert_eq!(
            event_end(b"data: x\r\r"),
            None,
            "a final CR may still be followed by LF"
        );
        assert_eq!(event_end(b"data: x\r\rx"), Some(9));
        assert_eq!(event_end(b"data: x\n"), None);
    }
}
