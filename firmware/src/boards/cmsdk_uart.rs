//! Polling driver for the Arm CMSDK APB UART (UART0 of mps2-an386 at
//! `0x4000_4000`), implementing the blocking `embedded_io` traits.

use core::ptr;

use embedded_io::{ErrorKind, ErrorType, Read, ReadReady, Write, WriteReady};

/// Base address of UART0 on mps2-an386.
pub const UART0_BASE: usize = 0x4000_4000;

// Register offsets in bytes.
const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const BAUDDIV: usize = 0x10;

// STATE bits. The overrun bits are write-one-to-clear.
const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const STATE_RX_OVERRUN: u32 = 1 << 3;

// CTRL bits.
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;

/// The smallest baud divisor the UART accepts.
pub const MIN_BAUD_DIV: u32 = 16;

/// A UART error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, defmt::Format)]
#[non_exhaustive]
pub enum Error {
    /// A received byte was lost because the receive buffer was full.
    Overrun,
}

impl embedded_io::Error for Error {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Other
    }
}

/// One CMSDK APB UART, used by polling (no interrupts).
pub struct Uart {
    base: usize,
}

impl Uart {
    /// Wraps the UART whose register block starts at `base`.
    ///
    /// # Safety
    ///
    /// `base` must be the address of a CMSDK APB UART register block, and no
    /// other code may access that block while the returned value lives.
    pub const unsafe fn new(base: usize) -> Self {
        Self { base }
    }

    /// Sets the baud divisor (UART clock / baud rate, at least
    /// [`MIN_BAUD_DIV`]) and enables the transmitter and receiver.
    ///
    /// Until this is called, writes are dropped and received bytes wait.
    pub fn enable(&mut self, baud_div: u32) {
        self.write_reg(BAUDDIV, baud_div.max(MIN_BAUD_DIV));
        self.write_reg(CTRL, CTRL_TX_EN | CTRL_RX_EN);
    }

    fn state(&self) -> u32 {
        self.read_reg(STATE)
    }

    fn read_reg(&self, offset: usize) -> u32 {
        // SAFETY: `new`'s contract makes `base + offset` a register of a UART
        // we own; the block is word-aligned and volatile access is required.
        unsafe { ptr::read_volatile((self.base + offset) as *const u32) }
    }

    fn write_reg(&mut self, offset: usize, value: u32) {
        // SAFETY: as in `read_reg`; `&mut self` serialises writes.
        unsafe { ptr::write_volatile((self.base + offset) as *mut u32, value) }
    }

    /// Reports and clears a receive overrun.
    fn take_overrun(&mut self) -> Result<(), Error> {
        if self.state() & STATE_RX_OVERRUN != 0 {
            self.write_reg(STATE, STATE_RX_OVERRUN);
            return Err(Error::Overrun);
        }
        Ok(())
    }
}

impl ErrorType for Uart {
    type Error = Error;
}

impl ReadReady for Uart {
    fn read_ready(&mut self) -> Result<bool, Error> {
        self.take_overrun()?;
        Ok(self.state() & STATE_RX_FULL != 0)
    }
}

impl WriteReady for Uart {
    fn write_ready(&mut self) -> Result<bool, Error> {
        Ok(self.state() & STATE_TX_FULL == 0)
    }
}

impl Read for Uart {
    /// Blocks until at least one byte arrives, then returns the bytes that
    /// are available without waiting (the UART buffers one).
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        while !self.read_ready()? {}
        let mut n = 0;
        while n < buf.len() && self.read_ready()? {
            // Only the low 8 bits of DATA hold the byte.
            buf[n] = self.read_reg(DATA) as u8;
            n += 1;
        }
        Ok(n)
    }
}

impl Write for Uart {
    /// Blocks until the first byte is accepted, then queues as many more as
    /// fit without waiting.
    fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        while !self.write_ready()? {}
        let mut n = 0;
        while n < buf.len() && self.write_ready()? {
            self.write_reg(DATA, u32::from(buf[n]));
            n += 1;
        }
        Ok(n)
    }

    /// Waits until the transmit buffer has room again. The UART has no
    /// "shift register empty" flag, so the last byte may still be on the wire.
    fn flush(&mut self) -> Result<(), Error> {
        while !self.write_ready()? {}
        Ok(())
    }
}
