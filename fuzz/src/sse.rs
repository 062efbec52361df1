//! Helpers of `sse_parse`: feeding one stream to `mcpgw_mcp::sse::SseDecoder` in
//! different chunkings, and writing decoded events out again.

use mcpgw_mcp::sse::{SseDecoder, SseError, SseEvent};

/// Every event `stream` yields when fed in the chunks `sizes` cut it into (the last chunk
/// takes the rest; a size of 0 feeds an empty chunk), or the first error.
pub fn decode_in_chunks(
    stream: &[u8],
    sizes: impl Iterator<Item = usize>,
) -> Result<Vec<SseEvent>, SseError> {
    let mut decoder = SseDecoder::new();
    let mut events = Vec::new();
    let mut rest = stream;
    for size in sizes {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        events.extend(decoder.feed(chunk)?);
        rest = tail;
    }
    events.extend(decoder.feed(rest)?);
    Ok(events)
}

/// Chunk sizes from 0 to 16, drawn from a generator seeded with `seed` (xorshift: the
/// same input is always cut the same way, so a failure reproduces).
pub fn chunk_sizes(seed: u64) -> impl Iterator<Item = usize> {
    let mut state = seed | 1;
    std::iter::from_fn(move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        Some(usize::try_from(state % 17).unwrap_or(1))
    })
}

/// FNV-1a of `bytes`: the seed of an input's chunking.
pub fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `events` written as a server writes them (`id`, `event`, one `data` line per line of
/// the data, a blank line), with `terminator` ending every line.
pub fn write(events: &[SseEvent], terminator: &str) -> String {
    let mut out = String::new();
    for event in events {
        if let Some(id) = &event.id {
            out.push_str(&format!("id: {id}{terminator}"));
        }
        if let Some(kind) = &event.event {
            out.push_str(&format!("event: {kind}{terminator}"));
        }
        for line in event.data.split('\n') {
            out.push_str(&format!("data: {line}{terminator}"));
        }
        out.push_str(terminator);
    }
    out
}
