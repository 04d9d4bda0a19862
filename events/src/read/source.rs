//! The input's bytes, buffered, with the offset of the first one not yet consumed.

use std::io::{ErrorKind, Read};

/// A read buffer that grows only on request (up to the caller's bound) and
/// knows the input offset of its first unconsumed byte.
pub(crate) struct Source {
    inner: Box<dyn Read + Send>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    offset: u64,
    eof: bool,
}

impl Source {
    pub fn new(inner: Box<dyn Read + Send>) -> Self {
        Source {
            inner,
            buf: Vec::new(),
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
        }
    }

    /// Input offset of the first unconsumed byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The input has ended (nothing more than what is buffered).
    pub fn at_eof(&self) -> bool {
        self.eof
    }

    /// Bytes buffered and not consumed.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// At least `want` unconsumed bytes, or all that remain at the end of the input.
    pub fn fill(&mut self, want: usize) -> std::io::Result<&[u8]> {
        if self.end - self.start < want && !self.eof {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            while self.end < want {
                // Grow by at most one block beyond the bytes that arrived, so a
                // size field that asks for much more than the input holds
                // costs no more memory than the input.
                let room = (want - self.end).min(super::BLOCK);
                if self.buf.len() < self.end + room {
                    self.buf.resize(self.end + room, 0);
                }
                match self.inner.read(&mut self.buf[self.end..self.end + room]) {
                    Ok(0) => {
                        self.eof = true;
                        break;
                    }
                    Ok(n) => self.end += n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(&self.buf[self.start..self.end])
    }

    /// The unconsumed bytes buffered now.
    pub fn bytes(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks `n` buffered bytes as used.
    pub fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.end - self.start);
        self.start += n;
        self.offset += n as u64;
    }
}
