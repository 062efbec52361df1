//! Incremental decoding of `text/event-stream` bodies (server-sent events).
//!
//! Bytes arrive in arbitrary chunks from the network; [`SseDecoder`] buffers partial lines
//! and yields whole events, following the WHATWG event-stream parsing rules that matter
//! for MCP: `event`, `data` (multi-line joined with `\n`), `id`, comments, and any of
//! `\n`, `\r\n` or `\r` as line terminator.

/// One dispatched server-sent event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field; `None` means the default type `message`.
    pub event: Option<String>,
    /// The joined `data:` lines.
    pub data: String,
    /// The `id:` field, if the event carried one.
    pub id: Option<String>,
}

impl SseEvent {
    /// The event type, defaulting to `message` as the spec says.
    pub fn kind(&self) -> &str {
        self.event.as_deref().unwrap_or("message")
    }
}

/// Upper bound on a single buffered line, so a peer cannot make us buffer without end.
pub const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;
/// Upper bound on the joined `data` of one event: bounding lines alone is not enough, as a
/// peer could send endless short `data:` lines that all join into one pending event.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// Why a peer's event stream was refused: it tried to make us buffer without end.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SseError {
    /// A line longer than [`MAX_LINE_BYTES`].
    #[error("server-sent event line longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong,
    /// An event whose data is larger than [`MAX_EVENT_BYTES`].
    #[error("server-sent event larger than {MAX_EVENT_BYTES} bytes")]
    EventTooLarge,
}

/// Stateful decoder: feed it chunks, collect events.
#[derive(Debug, Default)]
pub struct SseDecoder {
    buffer: Vec<u8>,
    pending: SseEvent,
    has_data: bool,
    skip_leading_lf: bool,
}

impl SseDecoder {
    /// Creates an empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds a chunk and returns every event completed by it.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        let mut events = Vec::new();
        for &byte in chunk {
            if self.skip_leading_lf {
                self.skip_leading_lf = false;
                if byte == b'\n' {
                    continue;
                }
            }
            match byte {
                b'\n' | b'\r' => {
                    self.skip_leading_lf = byte == b'\r';
                    let line = std::mem::take(&mut self.buffer);
                    if let Some(event) = self.process_line(&line)? {
                        events.push(event);
                    }
                }
                other => {
                    if self.buffer.len() >= MAX_LINE_BYTES {
                        return Err(SseError::LineTooLong);
                    }
                    self.buffer.push(other);
                }
            }
        }
        Ok(events)
    }

    fn process_line(&mut self, line: &[u8]) -> Result<Option<SseEvent>, SseError> {
        if line.is_empty() {
            let event = std::mem::take(&mut self.pending);
            let dispatch = std::mem::take(&mut self.has_data);
            return Ok(dispatch.then_some(event));
        }
        if line[0] == b':' {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (text.as_ref(), ""),
        };
        match field {
            "event" => self.pending.event = Some(value.to_owned()),
            "data" => {
                let separator = usize::from(self.has_data);
                if self.pending.data.len() + separator + value.len() > MAX_EVENT_BYTES {
                    return Err(SseError::EventTooLarge);
                }
                if self.has_data {
                    self.pending.data.push('\n');
                }
                self.pending.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.pending.id = Some(value.to_owned()),
            _ => {}
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_events_split_across_chunks() {
        let mut decoder = SseDecoder::new();
        assert!(decoder.feed(b"event: endpoint\nda").unwrap().is_empty());
        let events = decoder.feed(b"ta: /messages?id=1\n\n").unwrap();
        assert_eq!(
            events,
            vec![SseEvent {
                event: Some("endpoint".into()),
                data: "/messages?id=1".into(),
                id: None
            }]
        );
    }

    #[test]
    fn handles_crlf_comments_multiline_and_ids() {
        let mut decoder = SseDecoder::new();
        let events = decoder
            .feed(b": keepalive\r\n\r\nid: 7\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n")
            .unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data, "{\"a\":\n1}");
        assert_eq!(events[0].id.as_deref(), Some("7"));
        assert_eq!(events[0].kind(), "message");
    }

    #[test]
    fn endless_short_data_lines_are_refused_once_the_event_is_too_large() {
        let mut decoder = SseDecoder::new();
        let line = format!("data: {}\n", "x".repeat(1023));
        let chunk = line.repeat(1024);
        let mut fed = 0;
        let error = loop {
            match decoder.feed(chunk.as_bytes()) {
                Ok(events) => assert!(events.is_empty()),
                Err(error) => break error,
            }
            fed += chunk.len();
            assert!(fed <= 2 * MAX_EVENT_BYTES, "decoder kept buffering");
        };
        assert_eq!(error, SseError::EventTooLarge);
    }

    #[test]
    fn an_event_just_under_the_limit_is_dispatched() {
        let mut decoder = SseDecoder::new();
        let half = "y".repeat(MAX_EVENT_BYTES / 2 - 1);
        let stream = format!("data: {half}\ndata: {half}\n\n");
        let events = decoder.feed(stream.as_bytes()).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data.len(), MAX_EVENT_BYTES - 1);
    }

    #[test]
    fn lone_carriage_returns_terminate_lines() {
        let mut decoder = SseDecoder::new();
        let events = decoder.feed(b"data: x\r\rdata: y\r").unwrap();
        assert_eq!(events.len(), 1);
        let events = decoder.feed(b"\r\n").unwrap();
        assert_eq!(events[0].data, "y");
    }
}
