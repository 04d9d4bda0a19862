//! QEMU `mps2-an386`: UART0 (CMSDK), defmt over semihosting, SysTick as
//! the clock, and QEMU's exit code for failures.

use cortex_m::peripheral::{syst::SystClkSource, SYST};
use cortex_m_semihosting::debug;
use defmt_semihosting as _;

use stdp_firmware::board::Board;

pub use super::cmsdk_uart::{on_rx_interrupt, UART0_RX_IRQ};
use super::cmsdk_uart::{IrqUart, Uart, UART0_BASE};

/// UART clock of mps2-an386 (25 MHz) / 115 200 baud. QEMU ignores the rate.
const BAUD_DIV: u32 = 25_000_000 / 115_200;

/// The board, as the application sees it.
pub struct Qemu;

impl Board for Qemu {
    /// SysTick is a 24-bit counter.
    const TICK_MASK: u32 = 0x00FF_FFFF;
    /// Ticks, counting up (SysTick counts down).
    fn ticks(&self) -> u32 {
        Self::TICK_MASK - SYST::get_current()
    }
    fn free_ram(&self) -> u32 {
        super::free_ram()
    }
    fn stack_peak(&self) -> u32 {
        super::stack_peak()
    }
}

/// Starts SysTick (free-running at the core clock; under `-icount shift=0`
/// one tick is 40 instructions) and UART0, received by its interrupt.
pub fn init() -> (Qemu, IrqUart) {
    if let Some(mut p) = cortex_m::Peripherals::take() {
        p.SYST.set_clock_source(SystClkSource::Core);
        p.SYST.set_reload(Qemu::TICK_MASK);
        p.SYST.clear_current();
        p.SYST.enable_counter();
    }
    // SAFETY: UART0_BASE is UART0 on mps2-an386 and this is the only handle
    // to it in the program.
    let mut uart = unsafe { Uart::new(UART0_BASE) };
    uart.enable(BAUD_DIV);
    (Qemu, IrqUart::new(uart))
}

/// Ends the QEMU run with a failure (needs `-semihosting-config enable=on`).
pub fn fail() -> ! {
    debug::exit(debug::EXIT_FAILURE);
    // Only reached without a semihosting host.
    loop {
        cortex_m::asm::wfi();
    }
}

/// An interrupt other than the exceptions: UART0's receiver is handled,
/// any other is a failure (`false`).
pub fn interrupt(irqn: i16) -> bool {
    if irqn == UART0_RX_IRQ as i16 {
        on_rx_interrupt();
        return true;
    }
    false
}
