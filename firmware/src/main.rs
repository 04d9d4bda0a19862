//! stdp-firmware: the trained network behind the UART protocol
//! (protocol/PROTOCOL.md). The application is board-independent (`stdp_firmware::app`);
//! this binary gives it static memory and a board: QEMU `mps2-an386`
//! (feature `qemu`, the default) or the nRF52840-DK (feature `nrf52840`).

#![cfg_attr(target_os = "none", no_std, no_main)]

/// On the host the binary is only a stub, so `cargo check` works anywhere.
#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("stdp-firmware runs on thumbv7em-none-eabihf: `cargo build --release` in firmware/");
}

#[cfg(all(target_os = "none", feature = "qemu", feature = "nrf52840"))]
compile_error!("choose one board: feature `qemu` or `nrf52840` (with --no-default-features)");

#[cfg(all(target_os = "none", feature = "qemu"))]
#[path = "board_qemu.rs"]
mod board;

#[cfg(all(target_os = "none", feature = "nrf52840", not(feature = "qemu")))]
#[path = "board_nrf52840.rs"]
mod board;

#[cfg(all(target_os = "none", feature = "qemu"))]
mod uart;

#[cfg(target_os = "none")]
mod device {
    use core::ptr::{addr_of, read_volatile, write_volatile};

    use cortex_m_rt::{entry, exception, ExceptionFrame};
    use stdp_core::{FrozenStorage, Fx, Storage};
    use stdp_firmware::app::{serve, App, Board, InputMemory, Link, Memory};
    use stdp_firmware::config::{
        BUILTIN_MODEL, LEARN_INPUTS, LEARN_NEURONS, MAX_INPUTS, MAX_NEURONS, RAM_KB, UPLOAD_BYTES,
    };

    use crate::board;

    // All the firmware's memory, zero-initialised (.bss): nothing is on a heap.
    static mut SLOT_A: [u8; UPLOAD_BYTES] = [0; UPLOAD_BYTES];
    static mut SLOT_B: [u8; UPLOAD_BYTES] = [0; UPLOAD_BYTES];
    static mut FROZEN: FrozenStorage<Fx, MAX_NEURONS> = FrozenStorage::new();
    static mut PLASTIC: Storage<Fx, LEARN_INPUTS, LEARN_NEURONS> = Storage::new();
    static mut NEXT: [u32; MAX_INPUTS] = [0; MAX_INPUTS];
    static mut INV_LOG: [f32; MAX_INPUTS] = [0.0; MAX_INPUTS];
    static mut LINKS: [u16; MAX_INPUTS] = [0; MAX_INPUTS];
    static mut RATES: [f32; MAX_INPUTS] = [0.0; MAX_INPUTS];
    static mut SPIKES: [u16; MAX_INPUTS] = [0; MAX_INPUTS];
    static mut PIXELS: [u8; MAX_INPUTS] = [0; MAX_INPUTS];
    static mut COUNTS: [u32; MAX_NEURONS] = [0; MAX_NEURONS];
    static mut LINK: Link = Link::new();

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

    /// Fills the unused stack with a pattern, to measure the peak later.
    fn paint_stack() {
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
    fn stack_peak() -> u32 {
        let (mut a, top) = (heap_start(), stack_top());
        // SAFETY: reads words of RAM between the statics and the stack top.
        while a < top && unsafe { read_volatile(a as *const u32) } == PAINT {
            a += 4;
        }
        (top - a) as u32
    }

    // `&mut *(&raw mut S)` makes each static's one reference without the
    // `static_mut_refs` lint that clippy's suggested `&mut S` triggers.
    #[allow(clippy::deref_addrof)]
    #[entry]
    fn main() -> ! {
        paint_stack();
        let mut uart = board::init();
        // SAFETY: `main` runs once and nothing else names these statics, so
        // each of these references is the only one for the rest of the program.
        let (mem, link) = unsafe {
            let mem = Memory {
                slots: [&mut *(&raw mut SLOT_A), &mut *(&raw mut SLOT_B)],
                builtin: BUILTIN_MODEL,
                frozen: &mut *(&raw mut FROZEN),
                plastic: if LEARN_NEURONS > 0 {
                    Some(&mut *(&raw mut PLASTIC))
                } else {
                    None
                },
                inputs: InputMemory {
                    next: &mut *(&raw mut NEXT),
                    inv_log: &mut *(&raw mut INV_LOG),
                    link: &mut *(&raw mut LINKS),
                    rates: &mut *(&raw mut RATES),
                    spikes: &mut *(&raw mut SPIKES),
                    pixels: &mut *(&raw mut PIXELS),
                },
                counts: &mut *(&raw mut COUNTS),
            };
            (mem, &mut *(&raw mut LINK))
        };
        let free_ram = (stack_top() - heap_start()) as u32;
        let mut app = App::new(
            mem,
            Board {
                free_ram,
                stack_peak,
                ticks: board::ticks,
                tick_mask: board::TICK_MASK,
            },
        );
        let (ni, n) = app.shape();
        defmt::info!(
            "stdp-firmware ready: model {=usize} x {=usize}, {=u32} of {=usize} KiB RAM free",
            ni,
            n,
            free_ram / 1024,
            RAM_KB
        );
        serve(&mut app, link, &mut uart)
    }

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo) -> ! {
        defmt::error!("panic: {}", defmt::Display2Format(info));
        board::fail()
    }

    // SAFETY (of the `unsafe fn`s cortex-m-rt requires for these two): only the
    // exception machinery calls them; they touch nothing but the logger and exit.
    #[exception]
    unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
        defmt::error!("HardFault at pc={=u32:#010x} lr={=u32:#010x}", frame.pc(), frame.lr());
        board::fail()
    }

    #[exception]
    unsafe fn DefaultHandler(irqn: i16) {
        defmt::error!("unexpected exception or interrupt {=i16}", irqn);
        board::fail()
    }
}
