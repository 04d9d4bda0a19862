//! Spiking neural networks with spike-timing-dependent plasticity, `no_std`,
//! allocation-free, written once over a numeric backend ([`Real`]) that is
//! either fixed point ([`Fx`], what the microcontroller runs) or float
//! ([`f32`], [`f64`]: the reference, which reproduces Brian 2).
//!
//! # Example
//!
//! Diehl & Cook's network with 16 inputs and 4 excitatory neurons in fixed
//! point, all its state in one `static` buffer (no heap anywhere), stepped
//! with input spikes while it learns:
//!
//! ```
//! use std::sync::Mutex;
//! use stdp_core::{Fx, Network, NetworkBuffers, NetworkParams, Real};
//!
//! // `NetworkBuffers::new` is a `const fn`: the buffers can be a `static` (on the
//! // chip without the Mutex, e.g. in a `static_cell` or a `#[entry]` local).
//! static BUFFERS: Mutex<NetworkBuffers<Fx, 16, 4>> = Mutex::new(NetworkBuffers::new());
//!
//! let net = Network::<Fx>::new(&NetworkParams::diehl_cook(16, 4))?;
//! let mut bufs = BUFFERS.lock().unwrap();
//! let mut s = bufs.state(&net)?; // a view sized for `net`
//! net.init_state(&mut s)?;
//! s.weights.fill(Fx::from_f64(0.5)); // weights[i * n + j]: input i -> neuron j
//!
//! let mut fired = [0u32; 4];
//! for step in 0..400 {
//!     // Inputs 0-3 spike every 4th step (500 Hz at dt = 0.5 ms).
//!     let inputs: &[u16] = if step % 4 == 0 { &[0, 1, 2, 3] } else { &[] };
//!     net.step(&mut s, inputs)?;
//!     for (j, &spiked) in s.exc.spiked.iter().enumerate() {
//!         fired[j] += spiked as u32;
//!     }
//! }
//! assert!(fired.iter().sum::<u32>() > 0, "the layer answered: {fired:?}");
//! // STDP moved the weights of the inputs that fired.
//! assert!(s.weights[0] != Fx::from_f64(0.5));
//! # Ok::<(), stdp_core::Error>(())
//! ```
//!
//! The same code on `f32` or `f64` is the float reference; for inference
//! with 8-bit weights left in flash see [`FrozenBuffers`] and
//! [`Network::step_quantized`]; for whole presentations (Poisson inputs,
//! rest, classification) see [`present`].
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
// `!(x > 0.0)` is how parameters are checked on purpose: it also rejects NaN.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod num;

pub use num::{Fx, Real};
pub mod crc;
pub(crate) mod decay;
pub mod error;
pub mod event;
pub mod image;
pub mod layer;
pub mod network;
pub mod neuron;
pub mod params;
pub mod poisson;
pub mod present;
pub mod present_events;
pub mod procedure;
pub mod rng;
#[cfg(feature = "serde")]
mod ser_de;
pub mod shard;
pub mod trains;

pub use error::Error;
pub use event::Event;
pub use layer::{Activity, LayerState};
pub use network::{FrozenBuffers, Network, NetworkBuffers, QuantizedWeights, State, StepOutput};
#[allow(deprecated)]
pub use network::{FrozenStorage, Storage};
pub use params::{
    Inhibition, InhibitionKind, NetworkParams, NeuronModel, NeuronParams, Rule, StdpParams, TraceMode, MAX_INPUTS,
    MAX_NEURONS,
};
pub use present_events::{EventLayout, EventSource};
pub use procedure::Procedure;
