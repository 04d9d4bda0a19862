//! The UART side: bytes in, frames reassembled, replies out.

use embedded_io::{Read, Write};
use stdp_protocol::{FrameReader, MAX_BODY, MAX_ENCODED, MAX_FRAME};

use super::App;
use crate::board::Board;

/// Frame reassembly and the buffers to decode and reply.
pub struct Link {
    reader: FrameReader<MAX_ENCODED>,
    body: [u8; MAX_BODY],
    out: [u8; MAX_FRAME],
}

impl Link {
    /// Empty buffers; `const`, so it can initialise a `static`.
    pub const fn new() -> Self {
        Link {
            reader: FrameReader::new(),
            body: [0; MAX_BODY],
            out: [0; MAX_FRAME],
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

/// Serves requests from `uart` forever. A read error drops the frame being
/// received (it is answered with an error at its end); a write error drops
/// the reply (the host times out and asks again).
pub fn serve<U: Read + Write, B: Board, const N: usize, const LI: usize, const LN: usize>(
    app: &mut App<'_, B, N, LI, LN>,
    link: &mut Link,
    uart: &mut U,
) -> ! {
    let mut buf = [0u8; 64];
    loop {
        match uart.read(&mut buf) {
            Ok(n) => {
                for &b in &buf[..n] {
                    if let Some(reply) = link.feed(app, b) {
                        let _ = uart.write_all(reply).and_then(|()| uart.flush());
                    }
                }
            }
            Err(_) => link.lose(),
        }
    }
}
