//! Spiking neural networks with spike-timing-dependent plasticity, `no_std`,
//! allocation-free, written once over a numeric backend ([`Real`]) that is
//! either fixed point ([`Fx`], what the microcontroller runs) or float
//! ([`f32`], [`f64`]: the reference, which reproduces Brian 2).
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// `!(x > 0.0)` is how parameters are checked on purpose: it also rejects NaN.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod num;

pub use num::{Fx, Real};
pub mod crc;
pub mod decay;
pub mod error;
pub mod image;
pub mod kernel;
pub mod network;
pub mod neuron;
pub mod params;
pub mod poisson;
pub mod present;
pub mod protocol;
pub mod rng;
pub mod shard;
pub mod trains;

pub use error::Error;
pub use network::{FrozenStorage, Network, QuantizedWeights, State, StepOutput, Storage};
pub use params::{Inhibition, NetworkParams, NeuronModel, NeuronParams, Rule, StdpParams, TraceMode};
