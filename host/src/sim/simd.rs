//! Run-time choice of vector instructions for the simulation's hot loops.
//!
//! A default `cargo build --release` targets baseline x86-64 (SSE2: four
//! f32 lanes). The core's presentation and step are inlined whole
//! (stdp-core's `inline-hot` feature) into one copy per instruction set
//! below, each compiled with `#[target_feature]`, and the widest one the
//! CPU has is chosen at run time, so a user gets AVX2 or AVX-512 loops
//! without `-C target-cpu` flags.
//!
//! Every instruction set computes exactly the same numbers: Rust never contracts
//! `a * b + c` into a fused multiply-add, never reorders float sums, and
//! the loops are element-wise, so a wider vector only does more lanes of
//! the same operations (tested: `tests/simd.rs`, bit-identical training).
//!
//! `STDP_SIMD=portable|avx2|avx512` forces one (benchmarks, tests); one
//! the CPU does not have is refused with an error.

use std::sync::OnceLock;

use anyhow::{bail, Result};
use serde::Serialize;
use stdp_core::present::{present_shard, PresentBuffers, PresentOutput};
use stdp_core::present_events::{present_events_shard, EventInput, EventSource, EventsOutput};
use stdp_core::shard::Collective;
use stdp_core::Procedure;
use stdp_core::{Error, Network, QuantizedWeights, Real, State};

// The presentations' generator (`crate::sim::dc::Rng`), named from the core so
// that this module does not import the one that dispatches to it.
use stdp_core::rng::Xoshiro128pp as Rng;

/// An instruction set the hot loops are compiled for (ISA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Isa {
    /// The build's baseline (x86-64: SSE2; elsewhere whatever the target has).
    Portable,
    /// x86-64 AVX2 + FMA (8 f32 lanes); x86-64-v3.
    Avx2,
    /// x86-64 AVX-512 F/BW/DQ/VL (16 f32 lanes); x86-64-v4.
    Avx512,
}

impl Isa {
    /// Every instruction set, narrowest first.
    pub const ALL: [Isa; 3] = [Isa::Portable, Isa::Avx2, Isa::Avx512];

    /// Its name (as `STDP_SIMD` spells it).
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Whether this CPU can run it.
    pub fn supported(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::is_x86_feature_detected!("avx2")
                    && std::is_x86_feature_detected!("fma")
                    && std::is_x86_feature_detected!("bmi1")
                    && std::is_x86_feature_detected!("bmi2")
                    && std::is_x86_feature_detected!("lzcnt")
                    && std::is_x86_feature_detected!("popcnt")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                Isa::Avx2.supported()
                    && std::is_x86_feature_detected!("avx512f")
                    && std::is_x86_feature_detected!("avx512bw")
                    && std::is_x86_feature_detected!("avx512dq")
                    && std::is_x86_feature_detected!("avx512vl")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The widest instruction set this CPU supports.
    pub fn best() -> Isa {
        Isa::ALL
            .into_iter()
            .rev()
            .find(|p| p.supported())
            .unwrap_or(Isa::Portable)
    }

    /// The instruction sets this CPU supports, narrowest first.
    pub fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|p| p.supported()).collect()
    }

    /// The instruction set named `name`, if this CPU supports it.
    pub fn parse(name: &str) -> Result<Isa> {
        let Some(p) = Isa::ALL.into_iter().find(|p| p.name() == name) else {
            bail!("STDP_SIMD={name:?}: not a path; use one of portable, avx2, avx512");
        };
        if !p.supported() {
            let have: Vec<_> = Isa::available().iter().map(|p| p.name()).collect();
            bail!(
                "STDP_SIMD={name}: this CPU does not support it (it has: {})",
                have.join(", ")
            );
        }
        Ok(p)
    }

    /// `STDP_SIMD` if set (checked), else [`Isa::best`].
    pub fn from_env() -> Result<Isa> {
        match std::env::var("STDP_SIMD") {
            Ok(v) if !v.is_empty() => Isa::parse(&v),
            _ => Ok(Isa::best()),
        }
    }

    /// The instruction set of this process: [`Isa::from_env`], decided once. The
    /// binary checks `STDP_SIMD` at start-up (a bad value is an error
    /// there); a library user with a bad value gets [`Isa::best`].
    pub fn chosen() -> Isa {
        static CHOSEN: OnceLock<Isa> = OnceLock::new();
        *CHOSEN.get_or_init(|| Isa::from_env().unwrap_or_else(|_| Isa::best()))
    }
}

impl std::fmt::Display for Isa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// [`stdp_core::present::present_shard`] compiled for `isa` (an
/// instruction set this CPU lacks runs the portable code instead).
#[allow(clippy::too_many_arguments)]
pub fn present_on<T: Real, C: Collective + ?Sized>(
    isa: Isa,
    net: &mut Network<T>,
    s: &mut State<'_, T>,
    weights: Option<&QuantizedWeights<'_, T>>,
    pixels: &[u8],
    p: &Procedure,
    learn: bool,
    independent: bool,
    b: &mut PresentBuffers<'_>,
    rng: &mut Rng,
    counts: &mut [u32],
    c: &mut C,
) -> Result<PresentOutput, Error> {
    #[cfg(target_arch = "x86_64")]
    if isa.supported() {
        match isa {
            // SAFETY: the CPU has every feature these functions are
            // compiled with (checked by `supported` just above).
            Isa::Avx512 => {
                return unsafe {
                    x86::present_avx512(net, s, weights, pixels, p, learn, independent, b, rng, counts, c)
                }
            }
            // SAFETY: as above.
            Isa::Avx2 => {
                return unsafe { x86::present_avx2(net, s, weights, pixels, p, learn, independent, b, rng, counts, c) }
            }
            Isa::Portable => {}
        }
    }
    let _ = isa;
    present_shard(net, s, weights, pixels, p, learn, independent, b, rng, counts, c)
}

/// [`stdp_core::present_events::present_events_shard`] compiled for
/// `isa` (as [`present_on`]).
#[allow(clippy::too_many_arguments)]
pub fn present_events_on<T: Real, S: EventSource + ?Sized, C: Collective + ?Sized>(
    isa: Isa,
    net: &mut Network<T>,
    s: &mut State<'_, T>,
    weights: Option<&QuantizedWeights<'_, T>>,
    src: &mut S,
    input: &EventInput,
    p: &Procedure,
    learn: bool,
    independent: bool,
    spikes: &mut [u16],
    counts: &mut [u32],
    c: &mut C,
) -> Result<EventsOutput, Error> {
    #[cfg(target_arch = "x86_64")]
    if isa.supported() {
        match isa {
            // SAFETY: the CPU has every feature these functions are
            // compiled with (checked by `supported` just above).
            Isa::Avx512 => {
                return unsafe {
                    x86::events_avx512(net, s, weights, src, input, p, learn, independent, spikes, counts, c)
                }
            }
            // SAFETY: as above.
            Isa::Avx2 => {
                return unsafe {
                    x86::events_avx2(net, s, weights, src, input, p, learn, independent, spikes, counts, c)
                }
            }
            Isa::Portable => {}
        }
    }
    let _ = isa;
    present_events_shard(net, s, weights, src, input, p, learn, independent, spikes, counts, c)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;

    macro_rules! variant {
        ($name:ident, $features:literal) => {
            /// `present`, with every loop compiled for these features.
            #[target_feature(enable = $features)]
            #[allow(clippy::too_many_arguments)]
            pub(super) fn $name<T: Real, C: Collective + ?Sized>(
                net: &mut Network<T>,
                s: &mut State<'_, T>,
                weights: Option<&QuantizedWeights<'_, T>>,
                pixels: &[u8],
                p: &Procedure,
                learn: bool,
                independent: bool,
                b: &mut PresentBuffers<'_>,
                rng: &mut Rng,
                counts: &mut [u32],
                c: &mut C,
            ) -> Result<PresentOutput, Error> {
                present_shard(net, s, weights, pixels, p, learn, independent, b, rng, counts, c)
            }
        };
    }

    macro_rules! events_variant {
        ($name:ident, $features:literal) => {
            /// `present_events_shard`, with every loop compiled for these features.
            #[target_feature(enable = $features)]
            #[allow(clippy::too_many_arguments)]
            pub(super) fn $name<T: Real, S: EventSource + ?Sized, C: Collective + ?Sized>(
                net: &mut Network<T>,
                s: &mut State<'_, T>,
                weights: Option<&QuantizedWeights<'_, T>>,
                src: &mut S,
                input: &EventInput,
                p: &Procedure,
                learn: bool,
                independent: bool,
                spikes: &mut [u16],
                counts: &mut [u32],
                c: &mut C,
            ) -> Result<EventsOutput, Error> {
                present_events_shard(
                    net,
                    s,
                    weights,
                    src,
                    input,
                    p,
                    learn,
                    independent,
                    spikes,
                    counts,
                    c,
                )
            }
        };
    }

    events_variant!(events_avx2, "avx2,fma,bmi1,bmi2,lzcnt,popcnt");
    events_variant!(
        events_avx512,
        "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi1,bmi2,lzcnt,popcnt"
    );

    variant!(present_avx2, "avx2,fma,bmi1,bmi2,lzcnt,popcnt");
    variant!(
        present_avx512,
        "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi1,bmi2,lzcnt,popcnt"
    );
}
