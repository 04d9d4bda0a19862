//! The error type of every fallible call in this crate.

/// Why a call into the core failed. Nothing in the core panics: every
/// invalid parameter, buffer or input gives one of these instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// A parameter is outside its valid range (the name says which).
    InvalidParameter(&'static str),
    /// A parameter is valid but outside the backend's representable range.
    NotRepresentable(&'static str),
    /// A state buffer has the wrong length for the network (the name says which).
    BufferSize(&'static str),
    /// The network or train needs more room than the buffers' capacity.
    Capacity,
    /// An input spike names an input index at or beyond the input count.
    InputOutOfRange(u32),
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::InvalidParameter(p) => write!(f, "invalid value for parameter `{p}`"),
            Error::NotRepresentable(p) => {
                write!(f, "parameter `{p}` is outside the fixed-point range [-2048, 2048)")
            }
            Error::BufferSize(b) => write!(f, "state buffer `{b}` has the wrong length"),
            Error::Capacity => write!(f, "the network does not fit the buffers' capacity"),
            Error::InputOutOfRange(i) => write!(f, "input index {i} is out of range"),
        }
    }
}

impl core::error::Error for Error {}
