//! QEMU `mps2-an386`: UART0 (CMSDK), defmt over semihosting, SysTick as
//! the clock, and QEMU's exit code for failures.

use cortex_m::peripheral::{syst::SystClkSource, SYST};
use cortex_m_semihosting::debug;
use defmt_semihosting as _;

use crate::uart::{Uart, UART0_BASE};

/// UART clock of mps2-an386 (25 MHz) / 115 200 baud. QEMU ignores the rate.
const BAUD_DIV: u32 = 25_000_000 / 115_200;

/// SysTick is a 24-bit counter.
pub const TICK_MASK: u32 = 0x00FF_FFFF;

/// Starts SysTick (free-running at the core clock; under `-icount shift=0`
/// one tick is 40 instructions) and UART0.
pub fn init() -> Uart {
    if let Some(mut p) = cortex_m::Peripherals::take() {
        p.SYST.set_clock_source(SystClkSource::Core);
        p.SYST.set_reload(TICK_MASK);
        p.SYST.clear_current();
        p.SYST.enable_counter();
    }
    // SAFETY: UART0_BASE is UART0 on mps2-an386 and this is the only handle
    // to it in the program.
    let mut uart = unsafe { Uart::new(UART0_BASE) };
    uart.enable(BAUD_DIV);
    uart
}

/// Ticks, counting up (SysTick counts down).
pub fn ticks() -> u32 {
    TICK_MASK - SYST::get_current()
}

/// Ends the QEMU run with a failure (needs `-semihosting-config enable=on`).
pub fn fail() -> ! {
    debug::exit(debug::EXIT_FAILURE);
    // Only reached without a semihosting host.
    loop {
        cortex_m::asm::wfi();
    }
}
