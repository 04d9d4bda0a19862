//! The formats read, and why a header could not be opened: what the
//! detection (`detect`) and every format's reader share.

use crate::error::Fault;

/// The formats read (and those written: see `crate::write`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// N-MNIST / N-Caltech101 `.bin`: 40-bit events, no header.
    Nmnist,
    /// jAER AEDAT 2.0 (`#!AER-DAT2.0`): DVS128 addresses.
    Aedat2,
    /// iniVation AEDAT 4.0 (`#!AER-DAT4.0`): FlatBuffers packets, LZ4 / Zstd.
    Aedat4,
    /// Prophesee EVT 2.0 (`% evt 2.0` header, 32-bit words).
    Evt2,
    /// Prophesee EVT 3.0 (`% evt 3.0` header, 16-bit words).
    Evt3,
    /// Prophesee DAT (`%` header, type and size bytes, 8-byte CD events).
    Dat,
}

impl Format {
    /// Every format, in the order `events info` lists them.
    pub const ALL: [Format; 6] = [
        Format::Nmnist,
        Format::Aedat2,
        Format::Aedat4,
        Format::Evt2,
        Format::Evt3,
        Format::Dat,
    ];

    /// The short name used on the command line and in JSON (`reference.json`'s).
    pub fn name(self) -> &'static str {
        match self {
            Format::Nmnist => "nmnist",
            Format::Aedat2 => "aedat2",
            Format::Aedat4 => "aedat4",
            Format::Evt2 => "evt2",
            Format::Evt3 => "evt3",
            Format::Dat => "dat",
        }
    }

    /// A human description.
    pub fn describe(self) -> &'static str {
        match self {
            Format::Nmnist => "N-MNIST .bin (40-bit events)",
            Format::Aedat2 => "jAER AEDAT 2.0",
            Format::Aedat4 => "AEDAT 4.0",
            Format::Evt2 => "Prophesee EVT 2.0",
            Format::Evt3 => "Prophesee EVT 3.0",
            Format::Dat => "Prophesee DAT",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a header could not be opened.
pub(crate) enum OpenError {
    Io(std::io::Error),
    Fault(Fault),
}

impl From<std::io::Error> for OpenError {
    fn from(e: std::io::Error) -> Self {
        OpenError::Io(e)
    }
}

impl From<Fault> for OpenError {
    fn from(f: Fault) -> Self {
        OpenError::Fault(f)
    }
}
