//! nRF52840-DK: UART0 on the pins of the J-Link's virtual COM port
//! (P0.06 TX, P0.08 RX, 115200 8N1, no flow control), defmt over RTT, the
//! DWT cycle counter as the clock (64 MHz), and a reset after a failure.
//!
//! The UART is the legacy (non-DMA) UART0 peripheral, used by polling: its
//! 6-byte receive FIFO bridges the time the application needs between two
//! bytes, which EasyDMA's one-byte transfers (the HAL's `Uarte`) would not.
//! The HAL sets up the clocks and pins.

use core::convert::Infallible;

use cortex_m::peripheral::DWT;
use defmt_rtt as _;
use embedded_io::{ErrorType, Read, ReadReady, Write, WriteReady};
use nrf52840_hal as hal;

use hal::gpio::Level;
use hal::pac::UART0;
use stdp_firmware::board::Board;

/// The board, as the application sees it.
pub struct Nrf52840;

impl Board for Nrf52840 {
    /// The cycle counter is 32 bits wide.
    const TICK_MASK: u32 = u32::MAX;
    /// CPU cycles.
    fn ticks(&self) -> u32 {
        DWT::cycle_count()
    }
    fn free_ram(&self) -> u32 {
        super::free_ram()
    }
    fn stack_peak(&self) -> u32 {
        super::stack_peak()
    }
}

/// GPIO numbers of the DK's virtual COM port.
const TXD_PIN: u32 = 6;
const RXD_PIN: u32 = 8;

/// Polling driver for UART0, implementing the blocking `embedded_io`
/// traits; the flag says a byte is being sent.
pub struct Uart(UART0, bool);

/// Starts the crystal oscillator (for an exact baud rate), the cycle
/// counter and UART0.
pub fn init() -> (Nrf52840, Uart) {
    let (Some(mut cp), Some(p)) = (cortex_m::Peripherals::take(), hal::pac::Peripherals::take()) else {
        fail()
    };
    cp.DCB.enable_trace();
    cp.DWT.enable_cycle_counter();
    let _clocks = hal::clocks::Clocks::new(p.CLOCK).enable_ext_hfosc();
    let port0 = hal::gpio::p0::Parts::new(p.P0);
    let _tx = port0.p0_06.into_push_pull_output(Level::High);
    let _rx = port0.p0_08.into_floating_input();
    let u = p.UART0;
    // SAFETY (all `bits` writes): the values are GPIO numbers of port 0 and
    // the documented task trigger value 1.
    u.psel.txd.write(|w| unsafe { w.bits(TXD_PIN) });
    u.psel.rxd.write(|w| unsafe { w.bits(RXD_PIN) });
    u.psel.cts.write(|w| unsafe { w.bits(0xFFFF_FFFF) });
    u.psel.rts.write(|w| unsafe { w.bits(0xFFFF_FFFF) });
    u.baudrate.write(|w| w.baudrate().baud115200());
    u.config.write(|w| w.hwfc().disabled().parity().excluded());
    u.enable.write(|w| w.enable().enabled());
    u.events_txdrdy.reset();
    u.tasks_starttx.write(|w| unsafe { w.bits(1) });
    u.tasks_startrx.write(|w| unsafe { w.bits(1) });
    (Nrf52840, Uart(u, false))
}

/// Resets the chip (after the panic or fault has been logged over RTT).
pub fn fail() -> ! {
    cortex_m::peripheral::SCB::sys_reset()
}

impl ErrorType for Uart {
    type Error = Infallible;
}

impl Uart {
    /// Waits until the byte being sent (if any) has left.
    fn wait_sent(&mut self) {
        if self.1 {
            while self.0.events_txdrdy.read().bits() == 0 {
                core::hint::spin_loop();
            }
            self.0.events_txdrdy.reset();
            self.1 = false;
        }
    }
}

impl ReadReady for Uart {
    fn read_ready(&mut self) -> Result<bool, Infallible> {
        Ok(self.0.events_rxdrdy.read().bits() != 0)
    }
}

impl WriteReady for Uart {
    fn write_ready(&mut self) -> Result<bool, Infallible> {
        Ok(!self.1 || self.0.events_txdrdy.read().bits() != 0)
    }
}

impl Read for Uart {
    /// Blocks until a byte arrives, then returns the bytes already in the FIFO.
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        if buf.is_empty() {
            return Ok(0);
        }
        while !self.read_ready()? {
            core::hint::spin_loop();
        }
        let mut n = 0;
        while n < buf.len() && self.read_ready()? {
            // Clear the event before reading RXD, as the reference manual says.
            self.0.events_rxdrdy.reset();
            buf[n] = self.0.rxd.read().bits() as u8;
            n += 1;
        }
        Ok(n)
    }
}

impl Write for Uart {
    /// Sends one byte (after the previous one has left).
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        let Some(&b) = buf.first() else { return Ok(0) };
        self.wait_sent();
        // SAFETY: TXD takes any byte.
        self.0.txd.write(|w| unsafe { w.bits(u32::from(b)) });
        self.1 = true;
        Ok(1)
    }

    fn flush(&mut self) -> Result<(), Infallible> {
        self.wait_sent();
        Ok(())
    }
}

/// An interrupt other than the exceptions: none is used (the UART is
/// polled), so any is a failure (`false`).
pub fn interrupt(_irqn: i16) -> bool {
    false
}
