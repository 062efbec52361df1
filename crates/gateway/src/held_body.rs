//! A response body that keeps something alive for as long as the client reads it: a
//! metrics gauge or a place under a cap (event streams), a connection's count of requests
//! in flight (every HTTP/2 answer). The guard is dropped with the body, which happens
//! when it has been sent or its client goes away.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http::Response;
use http::header::CONTENT_TYPE;

/// Whether `response` is an event stream (by its content type, whatever its status).
pub fn is_event_stream_response<B>(response: &Response<B>) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"text/event-stream"))
}

/// `response` with `guard()` kept until its body is dropped when it is an event stream;
/// any other answer unchanged (and `guard` never called).
pub fn hold_while_streaming<G: Send + Unpin + 'static>(
    response: Response<Body>,
    guard: impl FnOnce() -> G,
) -> Response<Body> {
    if !is_event_stream_response(&response) {
        return response;
    }
    hold_until_sent(response, guard())
}

/// `response` with `guard` kept until its body is dropped: sent whole, or abandoned by
/// its client.
pub fn hold_until_sent<G: Send + Unpin + 'static>(
    response: Response<Body>,
    guard: G,
) -> Response<Body> {
    response.map(|inner| {
        Body::new(HeldBody {
            inner,
            _guard: guard,
        })
    })
}

/// A body and what it keeps alive.
struct HeldBody<G> {
    inner: Body,
    _guard: G,
}

impl<G: Send + Unpin + 'static> http_body::Body for HeldBody<G> {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut Pin::into_inner(self).inner).poll_frame(context)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
