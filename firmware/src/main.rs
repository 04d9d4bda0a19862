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
    use static_cell::ConstStaticCell;
    use stdp_core::{FrozenBuffers, Fx, NetworkBuffers};
    use stdp_firmware::app::{serve, App, InputMemory, Link, Memory};
    use stdp_firmware::board::Board;
    use stdp_firmware::config::{
        BUILTIN_MODEL, LEARN_INPUTS, LEARN_NEURONS, MAX_INPUTS, MAX_NEURONS, RAM_KB, REPLAY_EVENTS, UPLOAD_BYTES,
    };

    use crate::boards;

    // All the firmware's memory, zero-initialised (.bss): nothing is on a
    // heap. Each cell hands out its one `&'static mut` once (`take`, in
    // `main`); a second take would panic, so no two references can exist.
    static SLOT_A: ConstStaticCell<[u8; UPLOAD_BYTES]> = ConstStaticCell::new([0; UPLOAD_BYTES]);
    static SLOT_B: ConstStaticCell<[u8; UPLOAD_BYTES]> = ConstStaticCell::new([0; UPLOAD_BYTES]);
    static FROZEN: ConstStaticCell<FrozenBuffers<Fx, MAX_NEURONS>> = ConstStaticCell::new(FrozenBuffers::new());
    static PLASTIC: ConstStaticCell<NetworkBuffers<Fx, LEARN_INPUTS, LEARN_NEURONS>> =
        ConstStaticCell::new(NetworkBuffers::new());
    static NEXT: ConstStaticCell<[u32; MAX_INPUTS]> = ConstStaticCell::new([0; MAX_INPUTS]);
    static INV_LOG: ConstStaticCell<[f32; MAX_INPUTS]> = ConstStaticCell::new([0.0; MAX_INPUTS]);
    static LINKS: ConstStaticCell<[u16; MAX_INPUTS]> = ConstStaticCell::new([0; MAX_INPUTS]);
    static RATES: ConstStaticCell<[f32; MAX_INPUTS]> = ConstStaticCell::new([0.0; MAX_INPUTS]);
    static SPIKES: ConstStaticCell<[u16; MAX_INPUTS]> = ConstStaticCell::new([0; MAX_INPUTS]);
    static PIXELS: ConstStaticCell<[u8; MAX_INPUTS]> = ConstStaticCell::new([0; MAX_INPUTS]);
    static COUNTS: ConstStaticCell<[u32; MAX_NEURONS]> = ConstStaticCell::new([0; MAX_NEURONS]);
    static REPLAY: ConstStaticCell<[u64; REPLAY_EVENTS]> = ConstStaticCell::new([0; REPLAY_EVENTS]);
    static LINK: ConstStaticCell<Link> = ConstStaticCell::new(Link::new());

    #[entry]
    fn main() -> ! {
        boards::paint_stack();
        let (board, mut uart) = boards::init();
        let mem = Memory {
            slots: [SLOT_A.take(), SLOT_B.take()],
            builtin: BUILTIN_MODEL,
            frozen: FROZEN.take(),
            plastic: if LEARN_NEURONS > 0 { Some(PLASTIC.take()) } else { None },
            inputs: InputMemory {
                next: NEXT.take(),
                inv_log: INV_LOG.take(),
                link: LINKS.take(),
                rates: RATES.take(),
                spikes: SPIKES.take(),
                pixels: PIXELS.take(),
            },
            counts: COUNTS.take(),
            replay: REPLAY.take(),
        };
        let link = LINK.take();
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
