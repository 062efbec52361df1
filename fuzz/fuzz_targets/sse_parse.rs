//! Fuzz target: arbitrary bytes as a server's `text/event-stream` body.
//!
//! `mcpgw_mcp::sse::SseDecoder` reads the streams of every upstream server (Streamable
//! HTTP responses, legacy HTTP+SSE sessions), and the gateway's stream rewriting decodes
//! single events with it; the bytes arrive cut wherever the network cut them. So, beyond
//! never panicking:
//! - the events do not depend on the chunking: all at once, byte by byte and in
//!   pseudo-random chunks (seeded by the input) give the same events or the same error;
//! - an event is what the spec allows: `event` and `id` hold no line break, `id` no NUL,
//!   `data` no carriage return;
//! - writing the events out again (as a server would, with `\n` or `\r\n` line ends) and
//!   decoding that gives the same events.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mcpgw_fuzz::sse::{chunk_sizes, decode_in_chunks, fnv, write};

fuzz_target!(|stream: &[u8]| {
    let whole = decode_in_chunks(stream, std::iter::empty());
    let bytewise = decode_in_chunks(stream, std::iter::repeat(1));
    assert_eq!(whole, bytewise, "whole vs byte by byte");
    let chunked = decode_in_chunks(stream, chunk_sizes(fnv(stream)));
    assert_eq!(whole, chunked, "whole vs chunked");
    let Ok(events) = whole else {
        return;
    };
    for event in &events {
        for field in [event.event.as_deref(), event.id.as_deref()]
            .into_iter()
            .flatten()
        {
            assert!(!field.contains(['\n', '\r']), "line break in {event:?}");
        }
        assert!(!event.id.as_deref().unwrap_or_default().contains('\0'));
        assert!(!event.data.contains('\r'), "carriage return in {event:?}");
        assert!(!event.kind().is_empty() || event.event.as_deref() == Some(""));
    }
    for terminator in ["\n", "\r\n", "\r"] {
        let written = write(&events, terminator);
        let again = decode_in_chunks(written.as_bytes(), std::iter::empty());
        assert_eq!(again.as_ref(), Ok(&events), "round trip via {written:?}");
    }
});
