//! The board-independent part of the firmware: the application state
//! machine behind the UART protocol ([`app`]) and the build-time
//! configuration ([`config`]). It builds for the chip and for the host,
//! where it is unit-tested.
#![cfg_attr(not(test), no_std)]
#![deny(missing_docs)]

pub mod app;
pub mod board;

/// Capacities and the built-in model, set at build time (see build.rs).
pub mod config {
    include!(concat!(env!("OUT_DIR"), "/config.rs"));
}
