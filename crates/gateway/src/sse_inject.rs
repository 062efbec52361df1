//! A relayed event stream into which the gateway can put events of its own: the answers
//! it gives a legacy (2024-11-05) client itself, such as a refusal of a posted message.
//!
//! Legacy clients read every answer from their stream, never from the POST that carried
//! the request, so a refusal that only went back on the POST would leave them waiting.
//! Injected events go in only between two of the upstream's events, never inside one.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use serde_json::Value;
use tokio::sync::mpsc;

/// How many injected messages may wait for the client to read.
pub const INJECT_QUEUE: usize = 16;

/// The upstream's stream, with the gateway's own messages put in between its events.
pub struct Injected<B> {
    inner: B,
    extra: mpsc::Receiver<Value>,
    /// The bytes passed on so far end an event: something may go in now.
    at_boundary: bool,
}

impl<B> Injected<B> {
    /// Relays `inner`, adding the messages that arrive on `extra` as `message` events.
    /// Nothing is added before the inner stream's first complete event.
    pub fn new(inner: B, extra: mpsc::Receiver<Value>) -> Self {
        Injected {
            inner,
            extra,
            at_boundary: false,
        }
    }
}

/// Whether `data` ends an SSE event (a blank line, in any of its spellings).
fn ends_event(data: &[u8]) -> bool {
    data.ends_with(b"\n\n") || data.ends_with(b"\r\n\r\n") || data.ends_with(b"\r\r")
}

impl<B> Body for Injected<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.at_boundary
            && let Poll::Ready(Some(message)) = this.extra.poll_recv(cx)
        {
            let event = Bytes::from(format!("event: message\ndata: {message}\n\n"));
            return Poll::Ready(Some(Ok(Frame::data(event))));
        }
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
            && !data.is_empty()
        {
            this.at_boundary = ends_event(data);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use http_body_util::StreamBody;

    fn chunks(parts: &[&'static str]) -> impl Body<Data = Bytes, Error = std::io::Error> + Unpin {
        let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = parts
            .iter()
            .map(|part| Ok(Frame::data(Bytes::from_static(part.as_bytes()))))
            .collect();
        StreamBody::new(futures::stream::iter(frames))
    }

    #[tokio::test]
    async fn messages_go_in_between_events_never_inside_one() {
        let (sender, receiver) = mpsc::channel(4);
        sender.try_send(serde_json::json!({"id": 1})).unwrap();
        let body = Injected::new(
            chunks(&["event: endpoint\ndata: /x\n\n", "data: {\"a\"", ":1}\n\n"]),
            receiver,
        );
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            "event: endpoint\ndata: /x\n\nevent: message\ndata: {\"id\":1}\n\ndata: {\"a\":1}\n\n"
        );
    }

    #[tokio::test]
    async fn nothing_goes_in_before_the_first_event_ends() {
        let (sender, receiver) = mpsc::channel(4);
        sender.try_send(serde_json::json!({"id": 2})).unwrap();
        let body = Injected::new(chunks(&["event: endpoint\n", "data: /x\n\n"]), receiver);
        let bytes = body.collect().await.unwrap().to_bytes();
        assert_eq!(
            std::str::from_utf8(&bytes).unwrap(),
            "event: endpoint\ndata: /x\n\nevent: message\ndata: {\"id\":2}\n\n"
        );
    }
}
