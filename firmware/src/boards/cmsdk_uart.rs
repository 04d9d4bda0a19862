//! Driver for the Arm CMSDK APB UART (UART0 of mps2-an386 at
//! `0x4000_4000`), implementing the blocking `embedded_io` traits: sending
//! by polling; receiving either by polling ([`Uart`]) or by the receive
//! interrupt into a `heapless` SPSC queue ([`IrqUart`], what the firmware
//! uses): the interrupt handler moves each byte into the queue as it
//! arrives, so bytes keep coming in while the network computes, and the
//! serving loop takes them from the queue.

use core::cell::RefCell;
use core::ptr;
use core::sync::atomic::{AtomicBool, Ordering};

use critical_section::Mutex;
use heapless::spsc::{Consumer, Producer, Queue};
use static_cell::ConstStaticCell;

use embedded_io::{ErrorKind, ErrorType, Read, ReadReady, Write, WriteReady};

/// Base address of UART0 on mps2-an386.
pub const UART0_BASE: usize = 0x4000_4000;

// Register offsets in bytes.
const DATA: usize = 0x00;
const STATE: usize = 0x04;
const CTRL: usize = 0x08;
const INTCLEAR: usize = 0x0C;
const BAUDDIV: usize = 0x10;

// STATE bits. The overrun bits are write-one-to-clear.
const STATE_TX_FULL: u32 = 1 << 0;
const STATE_RX_FULL: u32 = 1 << 1;
const STATE_RX_OVERRUN: u32 = 1 << 3;

// CTRL bits.
const CTRL_TX_EN: u32 = 1 << 0;
const CTRL_RX_EN: u32 = 1 << 1;
const CTRL_RX_INT_EN: u32 = 1 << 3;

// INTSTATUS / INTCLEAR bits.
const INT_RX: u32 = 1 << 1;

/// The NVIC interrupt of UART0's receiver on mps2-an386 (QEMU's
/// `mps2.c`: UART n receives on IRQ 2n, sends on 2n + 1).
pub const UART0_RX_IRQ: u16 = 0;

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

/// Bytes the receive queue holds (its capacity is one less).
const QUEUE: usize = 2048;

/// The receiving half of the queue, the interrupt handler's.
type RxProducer = Producer<'static, u8, QUEUE>;

/// The receive queue between the interrupt handler (producer) and the
/// serving loop (consumer): taken once, by [`IrqUart::new`], which splits
/// it (a second take panics).
static RX_QUEUE: ConstStaticCell<Queue<u8, QUEUE>> = ConstStaticCell::new(Queue::new());
/// The producer half, handed to the interrupt handler once by
/// [`IrqUart::new`]. Only the handler borrows it afterwards, so the borrow
/// never fails; the critical section around it (`cpsid i` for the few
/// instructions of the handler) is what makes a `static` of it sound.
static RX_PRODUCER: Mutex<RefCell<Option<RxProducer>>> = Mutex::new(RefCell::new(None));
/// The UART lost bytes (its overrun flag): reported by the next read.
static RX_LOST: AtomicBool = AtomicBool::new(false);

/// UART0 with interrupt-driven reception; see the module docs.
pub struct IrqUart {
    uart: Uart,
    rx: Consumer<'static, u8, QUEUE>,
}

/// The NVIC number of UART0's receive interrupt.
#[derive(Clone, Copy)]
struct Uart0Rx;

// SAFETY: 0 is UART0's receive interrupt on mps2-an386 (`UART0_RX_IRQ`).
unsafe impl cortex_m::interrupt::InterruptNumber for Uart0Rx {
    fn number(self) -> u16 {
        UART0_RX_IRQ
    }
}

impl IrqUart {
    /// Takes over `uart` (already enabled): splits the queue, hands the
    /// producer to the interrupt handler, switches the receive interrupt
    /// on and unmasks it in the NVIC. Panics if called twice (the queue is
    /// taken once).
    pub fn new(mut uart: Uart) -> Self {
        let (p, c) = RX_QUEUE.take().split();
        critical_section::with(|cs| RX_PRODUCER.borrow_ref_mut(cs).replace(p));
        let ctrl = uart.read_reg(CTRL);
        uart.write_reg(CTRL, ctrl | CTRL_RX_INT_EN);
        // SAFETY: the handler (`on_rx_interrupt`) is ready: the producer is
        // set; unmasking cannot break a critical section (none is open).
        unsafe { cortex_m::peripheral::NVIC::unmask(Uart0Rx) };
        // Pended once, for a byte that came in between `Uart::enable` and
        // the line above: QEMU raises the interrupt when a byte arrives,
        // not when the interrupt is switched on, so that byte would
        // otherwise wait with no interrupt while the loop sleeps in `wfi`.
        cortex_m::peripheral::NVIC::pend(Uart0Rx);
        IrqUart { uart, rx: c }
    }
}

/// The receive interrupt: moves the received bytes into the queue. When the
/// queue is full it switches itself off and leaves the byte in the UART
/// (QEMU then holds the host's bytes back; a real UART would overrun); the
/// serving loop switches it on again once it has taken bytes.
///
/// The interrupt is cleared whatever happens (also before the producer is
/// handed over): QEMU's line is level-triggered, so an uncleared interrupt
/// would re-enter this handler forever and starve the serving loop.
pub fn on_rx_interrupt() {
    // SAFETY: UART0_BASE is UART0 on mps2-an386; the handler touches only
    // DATA, STATE, INTCLEAR and CTRL, and the serving loop changes CTRL
    // only with interrupts masked.
    let mut uart = unsafe { Uart::new(UART0_BASE) };
    // Cleared first: a byte arriving after the loop's last test raises it
    // again (cleared last, that byte would wait with no interrupt).
    uart.write_reg(INTCLEAR, INT_RX);
    if uart.take_overrun().is_err() {
        RX_LOST.store(true, Ordering::Relaxed);
    }
    critical_section::with(|cs| {
        let mut producer = RX_PRODUCER.borrow_ref_mut(cs);
        // Not handed over yet (cannot happen: `IrqUart::new` switches the
        // interrupt on after it): the byte waits in the UART.
        let Some(p) = producer.as_mut() else {
            return;
        };
        while uart.state() & STATE_RX_FULL != 0 {
            if !p.ready() {
                let ctrl = uart.read_reg(CTRL);
                uart.write_reg(CTRL, ctrl & !CTRL_RX_INT_EN);
                break;
            }
            // Only the low 8 bits of DATA hold the byte.
            let _ = p.enqueue(uart.read_reg(DATA) as u8);
        }
    });
}

impl ErrorType for IrqUart {
    type Error = Error;
}

impl Read for IrqUart {
    /// Waits (asleep: `wfi`) until the queue holds a byte, then returns
    /// the bytes it holds (up to `buf.len()`).
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Error> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if RX_LOST.swap(false, Ordering::Relaxed) {
                return Err(Error::Overrun);
            }
            if self.rx.ready() {
                break;
            }
            // Masked, so the interrupt cannot slip in between the test
            // and the sleep: `wfi` still wakes on it, and it runs when
            // the mask is lifted.
            cortex_m::interrupt::free(|_| {
                if !self.rx.ready() {
                    cortex_m::asm::wfi();
                }
            });
        }
        let mut n = 0;
        while n < buf.len() {
            match self.rx.dequeue() {
                Some(b) => buf[n] = b,
                None => break,
            }
            n += 1;
        }
        // Room again: the interrupt back on if it switched itself off, and
        // pended, for the byte it left in the UART (QEMU raises the
        // interrupt when a byte arrives, not when it is switched on).
        cortex_m::interrupt::free(|_| {
            let ctrl = self.uart.read_reg(CTRL);
            if ctrl & CTRL_RX_INT_EN == 0 {
                self.uart.write_reg(CTRL, ctrl | CTRL_RX_INT_EN);
                cortex_m::peripheral::NVIC::pend(Uart0Rx);
            }
        });
        Ok(n)
    }
}

impl Write for IrqUart {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Error> {
        self.uart.write(buf)
    }
    fn flush(&mut self) -> Result<(), Error> {
        self.uart.flush()
    }
}
