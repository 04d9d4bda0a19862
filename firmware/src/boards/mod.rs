//! The boards. Each one gives `init()` (its clock and UART, and the
//! [`Board`](stdp_firmware::board::Board) the application sees), and
//! `fail()` (what a panic or fault ends in); what every Cortex-M board
//! shares, the RAM left by the statics and the stack measurement, is here.
//!
//! - `qemu`: QEMU `mps2-an386` (feature `qemu`, the default), with the
//!   CMSDK UART driver of `cmsdk_uart`;
//! - `nrf52840`: the nRF52840-DK (feature `nrf52840`).

use core::ptr::{addr_of, read_volatile, write_volatile};

#[cfg(feature = "qemu")]
mod cmsdk_uart;
#[cfg(feature = "qemu")]
mod qemu;
#[cfg(feature = "qemu")]
pub use qemu::{fail, init, interrupt};

#[cfg(all(feature = "nrf52840", not(feature = "qemu")))]
mod nrf52840;
#[cfg(all(feature = "nrf52840", not(feature = "qemu")))]
pub use nrf52840::{fail, init, interrupt};

extern "C" {
    // From cortex-m-rt's link.x: the end of the statics and the top of the stack.
    static __sheap: u32;
    static _stack_start: u32;
}

const PAINT: u32 = 0x5AFE_C0DE;

fn heap_start() -> usize {
    // Only the symbol's address is taken; it is never read.
    addr_of!(__sheap) as usize
}

fn stack_top() -> usize {
    addr_of!(_stack_start) as usize
}

/// RAM left by the statics (bytes): the stack lives in it.
pub fn free_ram() -> u32 {
    (stack_top() - heap_start()) as u32
}

/// Fills the unused stack with a pattern, to measure the peak later.
/// Called first thing in `main`.
pub fn paint_stack() {
    let sp = cortex_m::register::msp::read() as usize;
    let mut a = heap_start();
    while a + 256 < sp {
        // SAFETY: [__sheap, sp - 256) is RAM that nothing uses yet (the
        // stack is above it and grows down to it only later).
        unsafe { write_volatile(a as *mut u32, PAINT) };
        a += 4;
    }
}

/// Stack used so far: from the top down to the deepest overwritten word.
pub fn stack_peak() -> u32 {
    let (mut a, top) = (heap_start(), stack_top());
    // SAFETY: reads words of RAM between the statics and the stack top.
    while a < top && unsafe { read_volatile(a as *const u32) } == PAINT {
        a += 4;
    }
    (top - a) as u32
}
