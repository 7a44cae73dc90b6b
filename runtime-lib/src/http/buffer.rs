//! The byte buffer between socket reads and the decoders.
//!
//! Consumed bytes are skipped by an offset rather than shifted out one message at a time, so
//! decoding many pipelined messages from one read costs no repeated memmove; the front is
//! compacted only when it is at least half of the buffer, which keeps appends amortised O(1).

#[derive(Debug, Default)]
pub(crate) struct ReadBuffer {
    bytes: Vec<u8>,
    start: usize,
}

impl ReadBuffer {
    pub(crate) fn push(&mut self, data: &[u8]) {
        if self.start > 0 && self.start * 2 >= self.bytes.len() {
            self.bytes.drain(..self.start);
            self.start = 0;
        }
        self.bytes.extend_from_slice(data);
    }

    /// The bytes not yet consumed.
    pub(crate) fn pending(&self) -> &[u8] {
        self.bytes.get(self.start..).unwrap_or_default()
    }

    pub(crate) fn len(&self) -> usize {
        self.bytes.len().saturating_sub(self.start)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn consume(&mut self, count: usize) {
        self.start = self.start.saturating_add(count).min(self.bytes.len());
        if self.start == self.bytes.len() {
            self.bytes.clear();
            self.start = 0;
        }
    }

    /// Drops everything, including the allocation: used once a connection is known to be dead.
    pub(crate) fn discard(&mut self) {
        self.bytes = Vec::new();
        self.start = 0;
    }

    /// Drops the empty lines a peer may send between messages (RFC 9112 §2.2); a lone
    /// trailing `\r` is kept because its `\n` may be in the next read.
    pub(crate) fn skip_empty_lines(&mut self) {
        loop {
            let pending = self.pending();
            if pending.starts_with(b"\r\n") {
                self.consume(2);
            } else if pending.starts_with(b"\n") {
                self.consume(1);
            } else {
                return;
            }
        }
    }
}
