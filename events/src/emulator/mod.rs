//! The DVS emulator (being written).
