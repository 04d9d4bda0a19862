//! The one numeric backend trait, [`Real`], and its three implementations:
//! [`f32`], [`f64`] (the float reference) and [`Fx`] (fixed point).
//!
//! Network code is written once against [`Real`]. Parameters are given in
//! domain units as `f64` and converted once, at construction, with
//! [`Real::from_f64`]; the hot loops use only `+ - *` and the few functions
//! of this trait.
//!
//! # The fixed-point format
//! [`Fx`] is Q11.20 in an `i32` ([`::fixed::types::I12F20`]): range
//! [-2048, 2048), step 2^-20 ≈ 9.54e-7. Every quantity of the network uses it:
//!
//! | quantity | unit | typical range | step |
//! |---|---|---|---|
//! | membrane potential, thresholds, theta | mV | [-100, 200] | 9.54e-7 mV |
//! | conductances ge, gi | 1 (relative to the leak) | [0, 2048) | 9.54e-7 |
//! | weights | weight units, [0, w_max] | [0, 1] | 9.54e-7 |
//! | traces | 1 | [0, 1] (additive: small multiples) | 9.54e-7 |
//!
//! Why 20 fraction bits: nu_pre = 1e-4 is 105 steps (0.5 % rounding), so
//! depression by nu_pre times a trace of 0.01 is still one step; with 16
//! fraction bits nu_pre itself would be off by 7 %. Why 11 integer bits:
//! theta grows to ~100-200 mV over a Diehl & Cook training run and the
//! inhibitory conductance of a winner-take-all step can reach several
//! hundred; Q7.24 would overflow both. Arithmetic saturates instead of
//! wrapping, and products round to nearest.
//!
//! Multiplicative decay factors exp(-dt/tau) have their own, finer type
//! ([`Real::Factor`]): for [`Fx`] a `u32` in Q1.31 (step 4.7e-10), so that a
//! decay of 1e-4 per step is still known to 5e-6 of itself. Decays too slow
//! for even that (tau_theta = 1e7 ms: 5e-8 per step, which would change a
//! 100 mV theta by 5 steps of Q11.20 per step, with a rounding error of 10 %
//! of the decay) are applied every k steps with the exact k-step factor; see
//! [`Real::decay_interval`] and `Decay` (`decay.rs`). Decays round to
//! nearest but always move toward zero (see `Fx::scale`), so traces reach 0.

use core::fmt::Debug;
use core::ops::{Add, AddAssign, Mul, Neg, Sub, SubAssign};

use crate::layer::{CondParams, CondStep, LayerState};

pub(crate) mod fixed;
mod float;

pub(crate) use fixed::scale_q31;
pub use fixed::{Fx, FACTOR_FRAC, FX_FRAC};

/// A numeric backend: the scalar type every state variable, weight and
/// parameter of a network is stored in.
pub trait Real:
    Copy
    + Debug
    + Default
    + PartialEq
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + Send
    + Sync
    + 'static
{
    /// A decay factor in [0, 1] (see `Decay` (`decay.rs`)).
    type Factor: Copy + Debug + PartialEq + Send + Sync + 'static;

    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// The factor 1 (no decay).
    const FACTOR_ONE: Self::Factor;
    /// Short name of the backend ("f32", "f64", "fixed").
    const NAME: &'static str;
    /// Whether loops over this type vectorise (the floats on the host):
    /// then the network's loops stay branch-free. Otherwise (the fixed
    /// backend, on a microcontroller) they skip work whose result is known
    /// exactly, such as a neuron at rest; the numbers are the same either way.
    const VECTORISES: bool;

    /// Converts from a domain value; saturates at the range of the type.
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64` (exact for every backend).
    fn to_f64(self) -> f64;
    /// Whether `x` lies inside the representable range (no saturation).
    fn in_range(x: f64) -> bool;
    /// Division; division by zero saturates (fixed) or gives inf (float).
    fn div(self, rhs: Self) -> Self;

    /// The factor `exp(-x)` for `x >= 0` (x = elapsed time / tau).
    fn decay_factor(x: f64) -> Self::Factor;
    /// Product of two factors.
    fn factor_mul(a: Self::Factor, b: Self::Factor) -> Self::Factor;
    /// `self * f`.
    fn scale(self, f: Self::Factor) -> Self;
    /// Every how many steps a decay of `dt_over_tau` per step is applied
    /// (a power of two; 1 for f64, so it decays every step exactly as the
    /// scenario semantics say; f32 and the fixed backend lump decays too
    /// slow for their resolution, such as tau_theta = 1e7 ms).
    fn decay_interval(dt_over_tau: f64) -> u32;

    /// phi(x) = (1 - exp(-x)) / x for x >= 0, phi(0) = 1 (used by the
    /// conductance-based membrane update, see [`crate::neuron`]).
    fn phi(x: Self) -> Self;
    /// Where [`Real::phi_small`] ends: for x in [0, this] it equals
    /// [`Real::phi`] bit for bit (infinite: it is `phi` everywhere).
    const PHI_SMALL_END: f64 = f64::INFINITY;
    /// phi on [0, [`Real::PHI_SMALL_END`]] only, cheaper where phi
    /// evaluates several branches (f32); the float neuron loops use it when
    /// no neuron of the layer is beyond that range.
    #[inline(always)]
    fn phi_small(x: Self) -> Self {
        Self::phi(x)
    }
    /// exp(-x).
    fn exp_neg(x: Self) -> Self;
    /// x^y for x >= 0 (for x <= 0: 1 if y = 0, else 0).
    fn powf(x: Self, y: Self) -> Self;

    /// Constants of this backend's own step of a conductance-based layer
    /// (for [`Fx`] its integer kernel, `num/fixed/kernel.rs`); the floats have none
    /// ([`core::convert::Infallible`]) and use the generic loops, which
    /// vectorise.
    type CondKernel: Copy + Debug + Send + Sync + 'static;
    /// This backend's kernel for a layer with parameters `p`, or `None`
    /// for the generic loops.
    fn cond_kernel(p: &CondParams) -> Option<Self::CondKernel>;
    /// Steps 1 and 2 of a conductance layer with the kernel (see
    /// `Layer::update` ([`crate::neuron`])); `slow` is the generic membrane
    /// update, for neurons outside the kernel's range.
    fn cond_update(
        k: &Self::CondKernel,
        c: &CondStep<Self::Factor>,
        s: &mut LayerState<'_, Self>,
        slow: &dyn Fn(Self, Self, Self) -> Self,
    ) -> u32;

    /// The larger of two values.
    #[inline(always)]
    fn max(self, other: Self) -> Self {
        if self > other {
            self
        } else {
            other
        }
    }
    /// The smaller of two values.
    #[inline(always)]
    fn min(self, other: Self) -> Self {
        if self < other {
            self
        } else {
            other
        }
    }
    /// `self` clamped to [lo, hi].
    #[inline(always)]
    fn clamp_to(self, lo: Self, hi: Self) -> Self {
        self.max(lo).min(hi)
    }
}

/// exp(-x) for x >= 0, by Taylor series after range reduction; usable in
/// `const` context (builds the fixed-point phi table at compile time).
const fn const_exp_neg(x: f64) -> f64 {
    // exp(-x) = exp(-x/256)^256; Taylor to the 10th power on [0, 1/32].
    let y = x / 256.0;
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut k = 1;
    while k <= 10 {
        term = term * (-y) / (k as f64);
        sum += term;
        k += 1;
    }
    let mut i = 0;
    while i < 8 {
        sum *= sum;
        i += 1;
    }
    sum
}

pub(crate) const fn const_phi(x: f64) -> f64 {
    if x < 1e-9 {
        1.0
    } else {
        (1.0 - const_exp_neg(x)) / x
    }
}

/// Smallest relative decay per application that the fixed backend accepts
/// before it lumps steps together: 2^-14 (so a factor is known to
/// 4.7e-10 / 6.1e-5 = 8e-6 of its complement).
const MIN_DECAY_PER_APPLICATION: f64 = 1.0 / 16384.0;
/// The largest lumping interval (2^20 steps, 524 s at dt = 0.5 ms).
const MAX_DECAY_INTERVAL: u32 = 1 << 20;

/// The smallest power of two k (at most 2^20) such that a decay of
/// `dt_over_tau` per step removes at least 2^-14 of a value over k steps:
/// then the k-step factor is known to 6e-8 / 6.1e-5 = 0.1 % of its
/// complement in f32 (8e-6 in Q1.31) and the product is many ulps above
/// rounding. 1 for every tau below 8192 steps (4 s at dt = 0.5 ms).
pub(crate) fn lumped_interval(dt_over_tau: f64) -> u32 {
    if !(dt_over_tau > 0.0) {
        return 1;
    }
    let mut k = 1u32;
    while k < MAX_DECAY_INTERVAL && -libm::expm1(-(k as f64) * dt_over_tau) < MIN_DECAY_PER_APPLICATION {
        k *= 2;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn const_exp_matches_libm() {
        for i in 0..100 {
            let x = i as f64 * 0.1;
            assert!((const_exp_neg(x) - libm::exp(-x)).abs() < 1e-13, "{x}");
        }
    }

    #[test]
    fn slow_decays_are_lumped_for_f32_and_fixed_not_f64() {
        let x = 0.5 / 1e7;
        assert_eq!(f64::decay_interval(x), 1);
        assert_eq!(f32::decay_interval(x), Fx::decay_interval(x));
        assert_eq!(f32::decay_interval(0.5 / 20.0), 1);
        let k = Fx::decay_interval(x);
        assert!(k.is_power_of_two() && k > 1);
        assert!(-libm::expm1(-(k as f64) * x) >= MIN_DECAY_PER_APPLICATION);
        assert!(-libm::expm1(-((k / 2) as f64) * x) < MIN_DECAY_PER_APPLICATION);
        assert_eq!(Fx::decay_interval(0.5 / 20.0), 1);
    }
}
