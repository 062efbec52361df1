//! An event stream with its tool lists filtered ([`ListFilter`]) as events pass through.
//!
//! Bytes are cut into whole events; an event that may hold a tool list is decoded,
//! filtered and written again as one `data` line (with its `id` and `event` fields);
//! every other event passes as it came.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use mcpgw_mcp::sse::SseDecoder;
use serde_json::Value;

use crate::list_filter::{ListFilter, MAX_FILTERED_BYTES};
use crate::sse_rewrite::event_end;

/// Errors of the filtering body.
#[derive(Debug, thiserror::Error)]
pub enum SseFilterError {
    /// One event grew past the limit without ending.
    #[error("an event of the server's stream exceeds {MAX_FILTERED_BYTES} bytes")]
    EventTooLarge,
}

/// A body whose events' tool lists are filtered.
pub struct SseFilter<B> {
    inner: B,
    filter: ListFilter,
    buffer: BytesMut,
}

impl<B> SseFilter<B> {
    /// Filters the events of `inner`.
    pub fn new(inner: B, filter: ListFilter) -> Self {
        SseFilter {
            inner,
            filter,
            buffer: BytesMut::new(),
        }
    }

    /// Moves the complete events out of the buffer, filtered.
    fn drain_events(&mut self) -> Result<Bytes, SseFilterError> {
        let mut out = BytesMut::new();
        while let Some(end) = event_end(&self.buffer) {
            let block = self.buffer.split_to(end);
            match self.filtered(&block) {
                Some(rewritten) => out.extend_from_slice(&rewritten),
                None => out.extend_from_slice(&block),
            }
        }
        if self.buffer.len() > MAX_FILTERED_BYTES {
            return Err(SseFilterError::EventTooLarge);
        }
        Ok(out.freeze())
    }

    /// The event written again, when filtering removed something from it. An event that
    /// may hold a tool list but cannot be read is replaced by an error: what the gateway
    /// cannot check, it does not pass on.
    fn filtered(&self, block: &[u8]) -> Option<Vec<u8>> {
        if !ListFilter::may_hold_tools(block) {
            return None;
        }
        let decoded = SseDecoder::new().feed(block).ok();
        let Some(event) = decoded.as_ref().and_then(|events| events.first()) else {
            return Some(unreadable_event());
        };
        if event.data.trim().is_empty() {
            return None;
        }
        let Ok(mut message) = serde_json::from_str::<Value>(&event.data) else {
            return Some(unreadable_event());
        };
        if !self.filter.message(&mut message) {
            return None;
        }
        let mut out = String::new();
        if let Some(id) = &event.id {
            out.push_str(&format!("id: {id}\n"));
        }
        if let Some(kind) = &event.event {
            out.push_str(&format!("event: {kind}\n"));
        }
        out.push_str(&format!("data: {message}\n\n"));
        Some(out.into_bytes())
    }
}

/// What replaces an event that may hold a tool list but cannot be read.
fn unreadable_event() -> Vec<u8> {
    let error = serde_json::json!({"jsonrpc": "2.0", "id": null, "error": {
        "code": crate::error::GATEWAY_ERROR,
        "message": "an event of the server's stream could not be checked and was withheld",
    }});
    format!("event: message\ndata: {error}\n\n").into_bytes()
}

impl<B> Body for SseFilter<B>
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
                // An unterminated last event is no event (clients discard it), and it has
                // not been filtered: it is dropped.
                Poll::Ready(None) => {
                    this.buffer.clear();
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error.into()))),
                Poll::Ready(Some(Ok(frame))) => frame,
            };
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
        self.buffer.is_empty() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}
