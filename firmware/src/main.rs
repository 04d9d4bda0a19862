//! stdp-firmware: boots on a Cortex-M4F (QEMU `mps2-an386`), greets over
//! UART0, logs with defmt over semihosting and exits QEMU with a status code.

#![no_std]
#![no_main]

mod uart;

use cortex_m_rt::{entry, exception, ExceptionFrame};
use cortex_m_semihosting::debug::{self, ExitStatus};
use defmt_semihosting as _;
use embedded_io::Write as _;

use crate::uart::{Uart, UART0_BASE};

/// UART clock of mps2-an386 (25 MHz) / 115 200 baud. QEMU ignores the rate.
const BAUD_DIV: u32 = 25_000_000 / 115_200;

#[entry]
fn main() -> ! {
    // SAFETY: UART0_BASE is UART0 on mps2-an386 and this is the only handle
    // to it in the program.
    let mut uart = unsafe { Uart::new(UART0_BASE) };
    uart.enable(BAUD_DIV);

    if let Err(e) = uart
        .write_all(b"stdp-firmware ready\n")
        .and_then(|()| uart.flush())
    {
        defmt::error!("UART write failed: {}", e);
        exit(debug::EXIT_FAILURE);
    }
    defmt::info!("stdp-firmware ready");

    exit(debug::EXIT_SUCCESS)
}

/// Ends the QEMU run with `status` (needs `-semihosting-config enable=on`).
fn exit(status: ExitStatus) -> ! {
    debug::exit(status);
    // Only reached without a semihosting host (e.g. a real board without a probe).
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    defmt::error!("panic: {}", defmt::Display2Format(info));
    exit(debug::EXIT_FAILURE)
}

// SAFETY (of the `unsafe fn`s cortex-m-rt requires for these two): only the
// exception machinery calls them; they touch nothing but the logger and exit.
#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    defmt::error!(
        "HardFault at pc={=u32:#010x} lr={=u32:#010x}",
        frame.pc(),
        frame.lr()
    );
    exit(debug::EXIT_FAILURE)
}

#[exception]
unsafe fn DefaultHandler(irqn: i16) {
    defmt::error!("unexpected exception or interrupt {=i16}", irqn);
    exit(debug::EXIT_FAILURE)
}
