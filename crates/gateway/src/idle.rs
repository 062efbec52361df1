//! A response body that fails when the upstream goes silent for too long, so a stalled
//! upstream cannot hold a client (and a connection) forever.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// Error yielded when no frame arrived within the idle timeout.
#[derive(Debug, thiserror::Error)]
#[error("upstream sent nothing for {0:?}")]
pub struct IdleTimeout(pub Duration);

/// Wraps a body with an idle deadline that restarts whenever the upstream makes us wait.
///
/// The timer is only touched when the inner body is not ready: a response that arrives
/// whole (the common small JSON answer) never arms a timer at all, and a busy stream re-arms
/// it once per wait, not once per frame.
pub struct IdleBody<B> {
    inner: B,
    timeout: Duration,
    /// Created on the first wait; `armed` says whether it counts the current one.
    deadline: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

impl<B> IdleBody<B> {
    /// Wraps `inner`.
    pub fn new(inner: B, timeout: Duration) -> Self {
        IdleBody {
            inner,
            timeout,
            deadline: None,
            armed: false,
        }
    }
}

impl<B> Body for IdleBody<B>
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
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.armed = false;
            return Poll::Ready(frame.map(|result| result.map_err(Into::into)));
        }
        let next = Instant::now() + this.timeout;
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(next)));
        if !this.armed {
            deadline.as_mut().reset(next);
            this.armed = true;
        }
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(IdleTimeout(this.timeout))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use http_body_util::{BodyExt, StreamBody};

    /// A body that yields `frames` frames `gap` apart, then ends or (if `stall`) hangs.
    fn paced(
        frames: usize,
        gap: Duration,
        stall: bool,
    ) -> impl Body<Data = Bytes, Error = std::io::Error> + Unpin {
        let stream = futures::stream::iter(0..frames)
            .then(move |index| async move {
                tokio::time::sleep(gap).await;
                Ok(Frame::data(Bytes::from(index.to_string())))
            })
            .chain(
                futures::stream::once(async move {
                    if stall {
                        std::future::pending::<()>().await;
                    }
                    Err(std::io::Error::other("end"))
                })
                .filter(|_| async { false }),
            );
        StreamBody::new(Box::pin(stream))
    }

    #[tokio::test]
    async fn a_stream_that_keeps_talking_is_never_cut() {
        // Each wait (30 ms) is shorter than the timeout; the total (300 ms) is longer.
        let body = IdleBody::new(
            paced(10, Duration::from_millis(30), false),
            Duration::from_millis(100),
        );
        let collected = body.collect().await.expect("no idle timeout");
        assert_eq!(collected.to_bytes(), Bytes::from("0123456789"));
    }

    #[tokio::test]
    async fn a_stream_that_stalls_after_a_frame_is_cut() {
        let mut body = IdleBody::new(paced(1, Duration::ZERO, true), Duration::from_millis(50));
        let first = body.frame().await.expect("a frame").expect("not an error");
        assert_eq!(first.into_data().ok(), Some(Bytes::from("0")));
        let started = Instant::now();
        let error = body
            .frame()
            .await
            .expect("an error, not the end")
            .expect_err("cut");
        assert!(error.is::<IdleTimeout>(), "{error}");
        assert!(started.elapsed() >= Duration::from_millis(50));
    }
}
