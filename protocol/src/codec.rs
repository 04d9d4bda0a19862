//! The payload's words and arrays, little-endian.

use crate::{FrameEncoder, ProtocolError};

pub(crate) fn le16(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}
pub(crate) fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}
pub(crate) fn le64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// A value of an array field, with its little-endian wire size.
pub trait Word: Copy {
    /// Bytes on the wire.
    const SIZE: usize;
    /// Reads one value from `b` (exactly `SIZE` bytes).
    fn read(b: &[u8]) -> Self;
    /// Appends the value to a frame.
    fn write(self, e: &mut FrameEncoder<'_>);
}

impl Word for u16 {
    const SIZE: usize = 2;
    fn read(b: &[u8]) -> Self {
        le16(b)
    }
    fn write(self, e: &mut FrameEncoder<'_>) {
        e.u16(self)
    }
}

impl Word for i32 {
    const SIZE: usize = 4;
    fn read(b: &[u8]) -> Self {
        le32(b) as i32
    }
    fn write(self, e: &mut FrameEncoder<'_>) {
        e.u32(self as u32)
    }
}

/// An input spike: input `input` spikes at step `step` of the presentation
/// (not a camera event, `stdp_core::Event`; this was `Event` before).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Spike {
    /// Input index (< n_inputs).
    pub input: u16,
    /// Step from the start of the presentation.
    pub step: u16,
}

impl Word for Spike {
    const SIZE: usize = 4;
    fn read(b: &[u8]) -> Self {
        Spike {
            input: le16(b),
            step: le16(&b[2..]),
        }
    }
    fn write(self, e: &mut FrameEncoder<'_>) {
        e.u16(self.input);
        e.u16(self.step);
    }
}

/// An array field: the raw little-endian bytes of a decoded frame, or
/// values to encode.
#[derive(Debug, Clone, Copy)]
pub enum Array<'a, T> {
    /// Little-endian bytes, a multiple of `T::SIZE` long.
    Le(&'a [u8]),
    /// Values.
    Values(&'a [T]),
}

impl<'a, T: Word> Array<'a, T> {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Array::Le(b) => b.len() / T::SIZE,
            Array::Values(v) => v.len(),
        }
    }
    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Value `i`.
    pub fn get(&self, i: usize) -> Option<T> {
        match self {
            Array::Le(b) => b.get(i * T::SIZE..(i + 1) * T::SIZE).map(T::read),
            Array::Values(v) => v.get(i).copied(),
        }
    }
    /// The values in order.
    pub fn iter(&self) -> impl Iterator<Item = T> + 'a {
        let a = *self;
        (0..a.len()).filter_map(move |i| a.get(i))
    }
    pub(crate) fn write(&self, e: &mut FrameEncoder<'_>) {
        match self {
            Array::Le(b) => e.put(&b[..b.len() / T::SIZE * T::SIZE]),
            Array::Values(v) => v.iter().for_each(|x| x.write(e)),
        }
    }
    pub(crate) fn parse(b: &'a [u8], code: u8) -> Result<Self, ProtocolError> {
        if !b.len().is_multiple_of(T::SIZE) {
            return Err(ProtocolError::BadLength {
                code,
                len: b.len() as u16,
            });
        }
        Ok(Array::Le(b))
    }
}

impl<T: Word + PartialEq> PartialEq for Array<'_, T> {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}
