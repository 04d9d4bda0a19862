//! What the application needs from a board: a clock and two memory
//! figures. Each board of the binary (`src/boards/`) implements it; host
//! tests use [`NoBoard`].

/// The board as the application sees it.
pub trait Board {
    /// The clock's significant bits: durations are taken modulo
    /// `TICK_MASK + 1` (SysTick: 24 bits; the cycle counter: 32).
    const TICK_MASK: u32;
    /// A free-running clock (ticks), counting up.
    fn ticks(&self) -> u32;
    /// RAM left by the static buffers (bytes; the stack lives in it).
    fn free_ram(&self) -> u32;
    /// Most stack used since boot (bytes).
    fn stack_peak(&self) -> u32;
}

/// No clock, no stack measurement: host tests.
#[derive(Debug, Clone, Copy)]
pub struct NoBoard {
    /// What [`Board::free_ram`] reports.
    pub free_ram: u32,
}

impl Board for NoBoard {
    const TICK_MASK: u32 = 0;
    fn ticks(&self) -> u32 {
        0
    }
    fn free_ram(&self) -> u32 {
        self.free_ram
    }
    fn stack_peak(&self) -> u32 {
        0
    }
}
