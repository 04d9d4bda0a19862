//! The parts of host-sim not yet in crates of their own.

// `!(x > 0.0)` is how parameters are checked on purpose: it also rejects NaN.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

#[cfg(feature = "hpo")]
pub mod hpo;
