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

#[cfg(target_os = "none")]
mod boards;

#[cfg(target_os = "none")]
mod device {
    use cortex_m_rt::{entry, exception, ExceptionFrame};
    use stdp_core::{FrozenStorage, Fx, Storage};
    use stdp_firmware::app::{serve, App, InputMemory, Link, Memory};
    use stdp_firmware::board::Board;
    use stdp_firmware::config::{
        BUILTIN_MODEL, LEARN_INPUTS, LEARN_NEURONS, MAX_INPUTS, MAX_NEURONS, RAM_KB, REPLAY_EVENTS, UPLOAD_BYTES,
    };

    use crate::boards;

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
    static mut REPLAY: [u64; REPLAY_EVENTS] = [0; REPLAY_EVENTS];
    static mut LINK: Link = Link::new();

    // `&mut *(&raw mut S)` makes each static's one reference without the
    // `static_mut_refs` lint that clippy's suggested `&mut S` triggers.
    #[allow(clippy::deref_addrof)]
    #[entry]
    fn main() -> ! {
        boards::paint_stack();
        let (board, mut uart) = boards::init();
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
                replay: &mut *(&raw mut REPLAY),
            };
            (mem, &mut *(&raw mut LINK))
        };
        let free_ram = board.free_ram();
        let mut app = App::new(mem, board);
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
        boards::fail()
    }

    // SAFETY (of the `unsafe fn`s cortex-m-rt requires for these two): only the
    // exception machinery calls them; they touch nothing but the logger and exit.
    #[exception]
    unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
        defmt::error!("HardFault at pc={=u32:#010x} lr={=u32:#010x}", frame.pc(), frame.lr());
        boards::fail()
    }

    /// The board's interrupts (QEMU: UART0's receiver), else a failure.
    #[exception]
    unsafe fn DefaultHandler(irqn: i16) {
        if boards::interrupt(irqn) {
            return;
        }
        defmt::error!("unexpected exception or interrupt {=i16}", irqn);
        boards::fail()
    }
}
