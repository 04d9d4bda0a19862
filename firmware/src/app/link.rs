//! The UART side: bytes in, frames reassembled, replies out.

use embedded_io::{Read, Write};
use stdp_protocol::{FrameReader, MAX_BODY, MAX_ENCODED, MAX_FRAME, MAX_PAYLOAD};

use super::App;
use crate::board::Board;

/// Frame reassembly and the buffers to decode and reply.
pub struct Link {
    pub(super) reader: FrameReader<MAX_ENCODED>,
    pub(super) body: [u8; MAX_BODY],
    pub(super) out: [u8; MAX_FRAME],
    /// The event batch being presented (a copy of its payload: the next
    /// frame is decoded into `body` while its events are still read).
    pub(super) batch: [u8; MAX_PAYLOAD],
}

impl Link {
    /// Empty buffers; `const`, so it can initialise a `static`.
    pub const fn new() -> Self {
        Link {
            reader: FrameReader::new(),
            body: [0; MAX_BODY],
            out: [0; MAX_FRAME],
            batch: [0; MAX_PAYLOAD],
        }
    }

    /// Takes one received byte; at the end of a frame, returns the reply to send.
    pub fn feed<B: Board, const N: usize, const LI: usize, const LN: usize>(
        &mut self,
        app: &mut App<'_, B, N, LI, LN>,
        byte: u8,
    ) -> Option<&[u8]> {
        let n = match self.reader.push(byte)? {
            Ok(frame) => app.handle(frame, &mut self.body, &mut self.out),
            Err(e) => app.refuse(e, &mut self.out),
        };
        Some(&self.out[..n])
    }

    /// Bytes were lost (a UART overrun): the frame being received is dropped.
    pub fn lose(&mut self) {
        self.reader.lose();
    }
}

impl Default for Link {
    fn default() -> Self {
        Self::new()
    }
}

/// The UART's input ended (only a host test's UART ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

/// Why no byte came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RxError {
    /// Bytes were lost (an overrun): the frame being received is dropped.
    Lost,
    /// The input ended.
    Closed,
}

/// A UART read one byte at a time through a small buffer, and written
/// reply by reply.
pub struct Rx<'u, U> {
    uart: &'u mut U,
    buf: [u8; 64],
    at: usize,
    len: usize,
}

impl<'u, U: Read + Write> Rx<'u, U> {
    /// Reads and writes `uart`.
    pub fn new(uart: &'u mut U) -> Self {
        Rx {
            uart,
            buf: [0; 64],
            at: 0,
            len: 0,
        }
    }

    /// Whether the next [`Rx::byte`] is already here (else it waits).
    pub(super) fn buffered(&self) -> bool {
        self.at < self.len
    }

    /// The next byte, waiting for it.
    pub(super) fn byte(&mut self) -> Result<u8, RxError> {
        if self.at == self.len {
            match self.uart.read(&mut self.buf) {
                Ok(0) => return Err(RxError::Closed),
                Ok(n) => (self.at, self.len) = (0, n),
                Err(_) => return Err(RxError::Lost),
            }
        }
        let b = self.buf[self.at];
        self.at += 1;
        Ok(b)
    }

    /// Sends a reply. A write error drops it (the host times out and asks again).
    pub(super) fn send(&mut self, bytes: &[u8]) {
        let _ = self.uart.write_all(bytes).and_then(|()| self.uart.flush());
    }
}

/// Serves requests from `uart` forever. A read error drops the frame being
/// received (it is answered with an error at its end); a write error drops
/// the reply (the host times out and asks again).
pub fn serve<U: Read + Write, B: Board, const N: usize, const LI: usize, const LN: usize>(
    app: &mut App<'_, B, N, LI, LN>,
    link: &mut Link,
    uart: &mut U,
) -> ! {
    let mut rx = Rx::new(uart);
    loop {
        let _ = serve_frame(app, link, &mut rx);
    }
}

/// Reads bytes until a frame ends and answers it; when it began a
/// recording (`EventsBegin`), streams the recording to its `EventsEnd` and
/// answers that too. `Err(Closed)` when the input ended (host tests).
pub fn serve_frame<U: Read + Write, B: Board, const N: usize, const LI: usize, const LN: usize>(
    app: &mut App<'_, B, N, LI, LN>,
    link: &mut Link,
    rx: &mut Rx<'_, U>,
) -> Result<(), Closed> {
    loop {
        let b = match rx.byte() {
            Ok(b) => b,
            Err(RxError::Lost) => {
                link.lose();
                continue;
            }
            Err(RxError::Closed) => return Err(Closed),
        };
        if let Some(reply) = link.feed(app, b) {
            rx.send(reply);
            if let Some(independent) = app.recording.take() {
                app.record(link, rx, independent)?;
            }
            return Ok(());
        }
    }
}
