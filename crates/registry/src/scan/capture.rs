//! Reading a child process's output with a bound on memory: a scanner that prints without
//! end cannot make the gateway hold it all, and is never blocked on a full pipe either
//! (what is not kept is still read and dropped, so it runs to its end or its timeout).

use tokio::io::{AsyncRead, AsyncReadExt};

/// Which part of an output is kept when it is longer than the bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// The beginning (the JSON report: over the bound it is refused anyway).
    Head,
    /// The end (stderr: the last line says why it failed).
    Tail,
}

/// What was read.
#[derive(Debug, Default)]
pub(crate) struct Captured {
    /// At most the bound's worth of bytes.
    pub bytes: Vec<u8>,
    /// More than the bound was written.
    pub overflowed: bool,
}

/// Reads `reader` to its end, keeping at most `limit` bytes as `keep` says.
pub(crate) async fn capture(
    reader: Option<impl AsyncRead + Unpin>,
    limit: usize,
    keep: Keep,
) -> std::io::Result<Captured> {
    let mut captured = Captured::default();
    let Some(mut reader) = reader else {
        return Ok(captured);
    };
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let count = reader.read(&mut chunk).await?;
        if count == 0 {
            return Ok(captured);
        }
        let read = &chunk[..count];
        match keep {
            Keep::Head => {
                let room = limit.saturating_sub(captured.bytes.len());
                captured.bytes.extend_from_slice(&read[..room.min(count)]);
                captured.overflowed |= count > room;
            }
            Keep::Tail => {
                captured.bytes.extend_from_slice(read);
                if captured.bytes.len() > limit {
                    let excess = captured.bytes.len() - limit;
                    captured.bytes.drain(..excess);
                    captured.overflowed = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn heads_and_tails_are_bounded_and_the_rest_is_drained() {
        let text: Vec<u8> = (0..100_000u32).map(|n| b'a' + (n % 26) as u8).collect();
        let head = capture(Some(text.as_slice()), 1000, Keep::Head)
            .await
            .unwrap();
        assert_eq!(
            (head.bytes.as_slice(), head.overflowed),
            (&text[..1000], true)
        );
        let tail = capture(Some(text.as_slice()), 1000, Keep::Tail)
            .await
            .unwrap();
        assert_eq!(
            (tail.bytes.as_slice(), tail.overflowed),
            (&text[99_000..], true)
        );
        let short = capture(Some(&b"short"[..]), 1000, Keep::Head)
            .await
            .unwrap();
        assert_eq!(
            (short.bytes.as_slice(), short.overflowed),
            (&b"short"[..], false)
        );
        let none = capture(None::<&[u8]>, 10, Keep::Tail).await.unwrap();
        assert!(none.bytes.is_empty() && !none.overflowed);
    }
}
