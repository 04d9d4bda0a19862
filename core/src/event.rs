//! One event of an event camera (a DVS, DAVIS, ATIS or Prophesee sensor):
//! the type every reader produces, every transform takes, the wire codec
//! (`stdp-protocol`) carries to the chip and the network's event input
//! consumes.

/// A change of brightness at one pixel.
///
/// - `t`: time in microseconds (µs), u64: the recording's own clock (a
///   camera's timestamps need not start at 0); range [0, 2^64) µs, step 1 µs.
/// - `x`, `y`: the pixel's column and row, 0-based, `y` growing downward as
///   every camera and file format here lays out its pixels; range [0, 65,535].
/// - `on`: the polarity, `true` for ON (the log intensity rose by a
///   contrast threshold), `false` for OFF (it fell). Files and tonic write it
///   as `p` = 1 / 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Event {
    /// Time in microseconds.
    pub t: u64,
    /// Column, 0-based.
    pub x: u16,
    /// Row, 0-based, growing downward.
    pub y: u16,
    /// Polarity: `true` = ON (brighter), `false` = OFF (darker).
    pub on: bool,
}

impl Event {
    /// An event at `t` µs, pixel (`x`, `y`), polarity `on`.
    pub const fn new(t: u64, x: u16, y: u16, on: bool) -> Self {
        Event { t, x, y, on }
    }

    /// The polarity as tonic and the files write it: 1 = ON, 0 = OFF.
    pub const fn p(&self) -> u8 {
        self.on as u8
    }
}
