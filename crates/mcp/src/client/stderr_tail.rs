//! The end of what a stdio server writes to stderr, kept to explain why it failed.
//!
//! The pipe is drained for as long as the process keeps it open, whatever it writes
//! (binary, invalid UTF-8, megabytes of logs): a reader that stopped early would leave the
//! server blocked on a full pipe or killed by `SIGPIPE`. Only the last bytes are kept.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::task::JoinHandle;

/// How much of the process's stderr is kept.
const TAIL_BYTES: usize = 2048;
/// Size of one read from the pipe.
const CHUNK_BYTES: usize = 4096;

/// A background reader of a process's stderr and the tail it kept.
#[derive(Debug)]
pub(crate) struct StderrTail {
    tail: Arc<Mutex<Vec<u8>>>,
    reader: JoinHandle<()>,
}

impl StderrTail {
    /// Starts draining `stderr` in a background task.
    pub(crate) fn start(mut stderr: impl AsyncRead + Unpin + Send + 'static) -> StderrTail {
        let tail = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&tail);
        let reader = tokio::spawn(async move {
            let mut chunk = vec![0u8; CHUNK_BYTES];
            loop {
                match stderr.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(read) => keep_tail(&kept, &chunk[..read]),
                }
            }
        });
        StderrTail { tail, reader }
    }

    /// Waits up to `grace` for the process to close stderr, so that what it wrote just
    /// before dying (usually the explanation) has been read.
    pub(crate) async fn settle(&mut self, grace: Duration) {
        if !self.reader.is_finished() {
            let _ = tokio::time::timeout(grace, &mut self.reader).await;
        }
    }

    /// The last non-empty line kept, decoded leniently.
    pub(crate) fn last_line(&self) -> String {
        let tail = self.tail.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&tail)
            .trim()
            .lines()
            .last()
            .unwrap_or("")
            .to_owned()
    }

    /// Stops the reader (the pipe closes with it).
    pub(crate) fn stop(&self) {
        self.reader.abort();
    }
}

impl Drop for StderrTail {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Appends `bytes`, keeping only the last [`TAIL_BYTES`].
fn keep_tail(tail: &Mutex<Vec<u8>>, bytes: &[u8]) {
    let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
    let bytes = &bytes[bytes.len().saturating_sub(TAIL_BYTES)..];
    let overflow = (tail.len() + bytes.len()).saturating_sub(TAIL_BYTES);
    tail.drain(..overflow);
    tail.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_draining_past_invalid_utf8_and_keeps_only_the_tail() {
        let (mut writer, reader) = tokio::io::duplex(64);
        let mut tail = StderrTail::start(reader);
        let writing = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            writer.write_all(b"\xff\xfe not text\n").await.unwrap();
            // Far more than the duplex buffer: this only finishes if the reader drains.
            for _ in 0..1000 {
                writer.write_all(&[b'x'; 100]).await.unwrap();
                writer.write_all(b"\n").await.unwrap();
            }
            writer.write_all(b"the last words\n").await.unwrap();
        });
        tokio::time::timeout(Duration::from_secs(10), writing)
            .await
            .expect("the reader stopped draining")
            .unwrap();
        tail.settle(Duration::from_secs(10)).await;
        assert_eq!(tail.last_line(), "the last words");
        assert!(tail.tail.lock().unwrap().len() <= TAIL_BYTES);
    }

    #[test]
    fn a_chunk_larger_than_the_tail_keeps_its_end() {
        let tail = Mutex::new(b"old".to_vec());
        let mut big = vec![b'a'; TAIL_BYTES * 2];
        big.extend_from_slice(b"end");
        keep_tail(&tail, &big);
        let kept = tail.lock().unwrap();
        assert_eq!(kept.len(), TAIL_BYTES);
        assert!(kept.ends_with(b"aend"));
    }
}
