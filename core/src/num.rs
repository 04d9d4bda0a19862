//! The one numeric backend trait, [`Real`], and its three implementations:
//! [`f32`], [`f64`] (the float reference) and [`Fx`] (fixed point).
//!
//! Network code is written once against [`Real`]. Parameters are given in
//! domain units as `f64` and converted once, at construction, with
//! [`Real::from_f64`]; the hot loops use only `+ - *` and the few functions
//! of this trait.
//!
//! # The fixed-point format
//! [`Fx`] is Q11.20 in an `i32` ([`fixed::types::I12F20`]): range
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
//! [`Real::decay_interval`] and [`crate::decay::Decay`]. Decays round to
//! nearest but always move toward zero (see `Fx::scale`), so traces reach 0.

use core::fmt::Debug;
use core::ops::{Add, AddAssign, Mul, Neg, Sub, SubAssign};

use fixed::types::I12F20;

use crate::kernel::{CondKernel, CondParams, CondStep};
use crate::neuron::LayerState;

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
    /// A decay factor in [0, 1] (see [`crate::decay::Decay`]).
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
    /// ([`crate::kernel`] for [`Fx`]); the floats have none
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

macro_rules! float_real {
    ($t:ty, $name:literal, $phi:path, $phi_small:path, $small_end:expr, $exp:path, $pow:path, $lump:expr) => {
        impl Real for $t {
            type Factor = $t;
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const FACTOR_ONE: Self = 1.0;
            const NAME: &'static str = $name;
            const VECTORISES: bool = true;

            #[inline(always)]
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn in_range(x: f64) -> bool {
                x.is_finite() && (x as $t).is_finite()
            }
            #[inline(always)]
            fn div(self, rhs: Self) -> Self {
                self / rhs
            }
            fn decay_factor(x: f64) -> Self {
                libm::exp(-x) as $t
            }
            #[inline(always)]
            fn factor_mul(a: Self, b: Self) -> Self {
                a * b
            }
            #[inline(always)]
            fn scale(self, f: Self) -> Self {
                // Flush-to-zero: a decaying value that falls below the
                // smallest normal number becomes 0 instead of subnormal
                // (subnormal arithmetic is ~100x slower on x86 and a trace
                // of 1e-38 changes nothing). Branch-free, so loops vectorise.
                let y = self * f;
                if y.abs() < <$t>::MIN_POSITIVE {
                    0.0
                } else {
                    y
                }
            }
            fn decay_interval(dt_over_tau: f64) -> u32 {
                if $lump {
                    lumped_interval(dt_over_tau)
                } else {
                    1
                }
            }
            #[inline(always)]
            fn phi(x: Self) -> Self {
                $phi(x)
            }
            const PHI_SMALL_END: f64 = $small_end;
            #[inline(always)]
            fn phi_small(x: Self) -> Self {
                $phi_small(x)
            }
            #[inline(always)]
            fn exp_neg(x: Self) -> Self {
                $exp(-x)
            }
            type CondKernel = core::convert::Infallible;
            fn cond_kernel(_: &CondParams) -> Option<Self::CondKernel> {
                None
            }
            fn cond_update(
                k: &Self::CondKernel,
                _: &CondStep<Self>,
                _: &mut LayerState<'_, Self>,
                _: &dyn Fn(Self, Self, Self) -> Self,
            ) -> u32 {
                match *k {}
            }
            #[inline(always)]
            fn powf(x: Self, y: Self) -> Self {
                if x <= 0.0 {
                    if y == 0.0 {
                        1.0
                    } else {
                        0.0
                    }
                } else {
                    $pow(x, y)
                }
            }
        }
    };
}

// f64 decays every step (Brian 2's semantics, exact to 1e-16). f32 cannot:
// exp(-0.5 / 1e7) = 1 - 5e-8 is below its resolution near 1 (6e-8), and on
// a 40 mV theta the decrement (2e-6 mV) is half an ulp, so theta would decay
// 1.6 times too fast or not at all; f32 lumps slow decays like the fixed
// backend (see `lumped_interval`).
float_real!(f64, "f64", phi_f64, phi_f64, f64::INFINITY, libm::exp, libm::pow, false);
float_real!(f32, "f32", phi_f32, phi_f32_small, 1.0, libm::expf, libm::powf, true);

/// The smallest power of two k (at most 2^20) such that a decay of
/// `dt_over_tau` per step removes at least 2^-14 of a value over k steps:
/// then the k-step factor is known to 6e-8 / 6.1e-5 = 0.1 % of its
/// complement in f32 (8e-6 in Q1.31) and the product is many ulps above
/// rounding. 1 for every tau below 8192 steps (4 s at dt = 0.5 ms).
fn lumped_interval(dt_over_tau: f64) -> u32 {
    if !(dt_over_tau > 0.0) {
        return 1;
    }
    let mut k = 1u32;
    while k < MAX_DECAY_INTERVAL && -libm::expm1(-(k as f64) * dt_over_tau) < MIN_DECAY_PER_APPLICATION {
        k *= 2;
    }
    k
}

/// phi in f64, exactly (to rounding): the reference that matches Brian 2.
#[inline(always)]
fn phi_f64(x: f64) -> f64 {
    if x < 1e-6 {
        // Series 1 - x/2 + x^2/6: exact to rounding below 1e-6.
        1.0 - x * 0.5 + x * x * (1.0 / 6.0)
    } else {
        -libm::expm1(-x) / x
    }
}

/// phi in f32 without a call and with only a select, so the neuron loop
/// vectorises (the libm call per neuron per step was the largest cost of
/// training). On [0, 1]: the Taylor series to degree 9 (truncation error
/// < 1/11! = 2.5e-8, below f32's resolution). Above 1: (1 - e^-x)/x with
/// e^-x = 2^-n * e^(-y), y = (x log2(e) - n) ln 2 in [0, ln 2), e^(-y) by
/// its Taylor series to degree 9 (error < 7e-9). Relative error of the whole
/// (measured in the tests): < 3e-7, i.e. a few f32 ulps.
#[inline(always)]
fn phi_f32(x: f32) -> f32 {
    let x = x.max(0.0);
    let small = phi_f32_small(x);
    // Large x: e^-x through a power of two (exponent bits) and a series.
    let xe = x.clamp(1.0, 86.0);
    let t = xe * core::f32::consts::LOG2_E;
    let n = t as i32; // t > 0: truncation is floor
    let y = (t - n as f32) * core::f32::consts::LN_2;
    const E: [f32; 10] = [
        -1.0 / 362_880.0,
        1.0 / 40_320.0,
        -1.0 / 5_040.0,
        1.0 / 720.0,
        -1.0 / 120.0,
        1.0 / 24.0,
        -1.0 / 6.0,
        1.0 / 2.0,
        -1.0,
        1.0,
    ];
    let mut e = E[0];
    for &c in &E[1..] {
        e = e * y + c;
    }
    let e = e * f32::from_bits(((127 - n) as u32) << 23);
    let big = (1.0 - e) / x.max(1.0);
    if x <= 1.0 {
        small
    } else {
        big
    }
}

/// [`phi_f32`] for x <= 1 (its first branch, alone): the Taylor series to
/// degree 9, 1 - x (1/2 - x (1/6 - ...)). Bit for bit phi_f32 there.
#[inline(always)]
fn phi_f32_small(x: f32) -> f32 {
    let x = x.max(0.0);
    // 1/(k+1)! with alternating signs, highest degree first.
    const C: [f32; 10] = [
        -1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        -1.0 / 362_880.0,
        1.0 / 40_320.0,
        -1.0 / 5_040.0,
        1.0 / 720.0,
        -1.0 / 120.0,
        1.0 / 24.0,
        -1.0 / 6.0,
        1.0 / 2.0,
    ];
    let mut small = C[0];
    for &c in &C[1..] {
        small = small * x + c;
    }
    1.0 - x * small
}

/// Fixed-point scalar: Q11.20 in an `i32` (see the module documentation).
///
/// Arithmetic saturates at the ends of the range; products round to
/// nearest (ties up).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct Fx(pub I12F20);

/// Fraction bits of [`Fx`].
pub const FX_FRAC: u32 = 20;
/// Fraction bits of the fixed-point decay factor (Q1.31 in a `u32`).
pub const FACTOR_FRAC: u32 = 31;

/// Smallest relative decay per application that the fixed backend accepts
/// before it lumps steps together: 2^-14 (so a factor is known to
/// 4.7e-10 / 6.1e-5 = 8e-6 of its complement).
const MIN_DECAY_PER_APPLICATION: f64 = 1.0 / 16384.0;
/// The largest lumping interval (2^20 steps, 524 s at dt = 0.5 ms).
const MAX_DECAY_INTERVAL: u32 = 1 << 20;

impl Fx {
    /// The raw Q11.20 bits.
    #[inline(always)]
    pub const fn to_bits(self) -> i32 {
        self.0.to_bits()
    }
    /// From raw Q11.20 bits.
    #[inline(always)]
    pub const fn from_bits(b: i32) -> Self {
        Fx(I12F20::from_bits(b))
    }
    #[inline(always)]
    fn sat(x: i64) -> Self {
        Fx::from_bits(x.clamp(i32::MIN as i64, i32::MAX as i64) as i32)
    }
}

/// `x * f` for a factor `f < 1` in Q1.31 (the fixed backend's
/// [`Real::scale`]): rounds to nearest, but always moves at least one step
/// toward zero. Plain rounding would hold a value forever where
/// x (1 - f) < 1/2 step (a trace would stick at 20 steps for tau = 40 dt),
/// and plain truncation would bias every application by up to one step.
/// |result| <= |x|: no saturation needed.
#[inline(always)]
pub(crate) fn scale_q31(x: i32, f: u32) -> i32 {
    let p = x as i64 * (f as i32) as i64; // f < 2^31
    let q = ((p + (1 << (FACTOR_FRAC - 1))) >> FACTOR_FRAC) as i32;
    if q != x {
        q
    } else {
        one_toward_zero(x)
    }
}

/// `x` moved one step toward zero (the rare branch of [`scale_q31`]).
#[cold]
#[inline(never)]
fn one_toward_zero(x: i32) -> i32 {
    x - x.signum()
}

impl Debug for Fx {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Fx({})", self.0)
    }
}

impl Add for Fx {
    type Output = Fx;
    #[inline(always)]
    fn add(self, rhs: Fx) -> Fx {
        Fx(self.0.saturating_add(rhs.0))
    }
}
impl Sub for Fx {
    type Output = Fx;
    #[inline(always)]
    fn sub(self, rhs: Fx) -> Fx {
        Fx(self.0.saturating_sub(rhs.0))
    }
}
impl Mul for Fx {
    type Output = Fx;
    #[inline(always)]
    fn mul(self, rhs: Fx) -> Fx {
        let p = self.to_bits() as i64 * rhs.to_bits() as i64;
        Fx::sat((p + (1 << (FX_FRAC - 1))) >> FX_FRAC)
    }
}
impl Neg for Fx {
    type Output = Fx;
    #[inline(always)]
    fn neg(self) -> Fx {
        Fx(self.0.saturating_neg())
    }
}
impl AddAssign for Fx {
    #[inline(always)]
    fn add_assign(&mut self, rhs: Fx) {
        *self = *self + rhs;
    }
}
impl SubAssign for Fx {
    #[inline(always)]
    fn sub_assign(&mut self, rhs: Fx) {
        *self = *self - rhs;
    }
}

/// Linear-interpolation table of phi on [0, 8) in steps of 1/32, Q11.20.
/// Interpolation error <= h^2/8 * max|phi''| = (1/32)^2 / 8 / 3 < 4.1e-5.
const PHI_STEPS: usize = 256;
const PHI_SHIFT: u32 = FX_FRAC - 5; // table step 2^-5
static PHI_TABLE: [i32; PHI_STEPS + 1] = {
    let mut t = [0i32; PHI_STEPS + 1];
    let mut i = 0;
    while i <= PHI_STEPS {
        let x = i as f64 / 32.0;
        t[i] = (const_phi(x) * (1u32 << FX_FRAC) as f64 + 0.5) as i32;
        i += 1;
    }
    t
};

impl Real for Fx {
    type Factor = u32;
    const ZERO: Self = Fx::from_bits(0);
    const ONE: Self = Fx::from_bits(1 << FX_FRAC);
    const FACTOR_ONE: u32 = 1 << FACTOR_FRAC;
    const NAME: &'static str = "fixed";
    const VECTORISES: bool = false;

    fn from_f64(x: f64) -> Self {
        // `as` saturates and maps NaN to 0.
        Fx::from_bits(libm::round(x * (1u32 << FX_FRAC) as f64) as i32)
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self.to_bits() as f64 / (1u32 << FX_FRAC) as f64
    }
    fn in_range(x: f64) -> bool {
        x.is_finite() && (-2048.0..2048.0).contains(&x)
    }
    fn div(self, rhs: Self) -> Self {
        if rhs.to_bits() == 0 {
            return if self.to_bits() >= 0 {
                Fx::from_bits(i32::MAX)
            } else {
                Fx::from_bits(i32::MIN)
            };
        }
        let n = (self.to_bits() as i64) << FX_FRAC;
        Fx::sat(n / rhs.to_bits() as i64)
    }
    fn decay_factor(x: f64) -> u32 {
        let f = libm::exp(-x.max(0.0));
        libm::round(f * (1u64 << FACTOR_FRAC) as f64) as u32
    }
    #[inline(always)]
    fn factor_mul(a: u32, b: u32) -> u32 {
        ((a as u64 * b as u64 + (1 << (FACTOR_FRAC - 1))) >> FACTOR_FRAC) as u32
    }
    #[inline(always)]
    fn scale(self, f: u32) -> Self {
        if f >= Self::FACTOR_ONE {
            return self; // exactly what the product gives, without it
        }
        Fx::from_bits(scale_q31(self.to_bits(), f))
    }
    fn decay_interval(dt_over_tau: f64) -> u32 {
        lumped_interval(dt_over_tau)
    }
    fn phi(x: Self) -> Self {
        let b = x.to_bits().max(0);
        let idx = (b >> PHI_SHIFT) as usize;
        match (PHI_TABLE.get(idx), PHI_TABLE.get(idx + 1)) {
            (Some(&lo), Some(&hi)) => {
                let frac = (b & ((1 << PHI_SHIFT) - 1)) as i64;
                let d = ((hi - lo) as i64 * frac + (1 << (PHI_SHIFT - 1))) >> PHI_SHIFT;
                Fx::from_bits(lo + d as i32)
            }
            // x >= 8: phi(x) = (1 - e^-x)/x = 1/x within e^-8 = 3.4e-4 of itself.
            _ => Fx::ONE.div(x),
        }
    }
    type CondKernel = CondKernel;
    fn cond_kernel(p: &CondParams) -> Option<CondKernel> {
        CondKernel::new(p)
    }
    fn cond_update(
        k: &CondKernel,
        c: &CondStep<u32>,
        s: &mut LayerState<'_, Self>,
        slow: &dyn Fn(Self, Self, Self) -> Self,
    ) -> u32 {
        crate::kernel::update(k, c, s, slow)
    }
    fn exp_neg(x: Self) -> Self {
        // Rare path (learning-rule weight dependence): libm in f64 is
        // deterministic IEEE arithmetic, so host and chip agree bit for bit.
        Fx::from_f64(libm::exp(-x.to_f64()))
    }
    fn powf(x: Self, y: Self) -> Self {
        if x.to_bits() <= 0 {
            if y.to_bits() == 0 {
                Fx::ONE
            } else {
                Fx::ZERO
            }
        } else {
            Fx::from_f64(libm::pow(x.to_f64(), y.to_f64()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_roundtrip_is_within_half_a_step() {
        for &x in &[-100.0, -65.0, -52.3, 0.0, 1e-4, 0.3, 1.0, 78.0, 2047.0] {
            let e = (Fx::from_f64(x).to_f64() - x).abs();
            assert!(e <= 0.5 / (1u32 << FX_FRAC) as f64, "{x}: {e}");
        }
    }

    #[test]
    fn fixed_saturates_instead_of_wrapping() {
        let big = Fx::from_f64(2000.0);
        assert_eq!((big + big).to_bits(), i32::MAX);
        assert_eq!((-big - big).to_bits(), i32::MIN);
        assert_eq!((big * big).to_bits(), i32::MAX);
        assert_eq!(Fx::from_f64(1e9).to_bits(), i32::MAX);
        assert_eq!(Fx::ONE.div(Fx::ZERO).to_bits(), i32::MAX);
    }

    #[test]
    fn fixed_product_rounds_to_nearest() {
        let a = Fx::from_f64(1e-4);
        let b = Fx::from_f64(0.37);
        let e = ((a * b).to_f64() - 1e-4 * 0.37).abs();
        assert!(e < 1.5 / (1u32 << FX_FRAC) as f64);
    }

    #[test]
    fn fixed_phi_is_within_stated_bound() {
        const MAX_ERROR: f64 = 4.2e-5;
        let mut x = 0.0;
        while x < 40.0 {
            let exact = f64::phi(x);
            let got = Fx::phi(Fx::from_f64(x)).to_f64();
            let bound = if x < 8.0 { MAX_ERROR } else { 3.5e-4 * exact };
            assert!((got - exact).abs() <= bound + 2e-6, "x={x} got={got} exact={exact}");
            x += 0.0137;
        }
    }

    #[test]
    fn f32_phi_is_within_a_few_ulps() {
        let mut x = 0.0f64;
        let mut worst = 0.0f64;
        while x < 120.0 {
            let exact = f64::phi(x);
            let got = f32::phi(x as f32) as f64;
            // Compare with phi at the f32-rounded argument.
            let exact_at = f64::phi((x as f32) as f64);
            worst = worst.max(((got - exact_at) / exact).abs());
            x += if x < 2.0 { 0.000_37 } else { 0.013 };
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
    }

    #[test]
    fn float_phi_matches_definition() {
        for &x in &[0.0, 1e-9, 1e-3, 0.005, 0.5, 3.0, 50.0] {
            // Direct formula where it is well conditioned, Taylor series where not.
            let direct = if x < 1e-3 {
                1.0 - x / 2.0 + x * x / 6.0 - x * x * x / 24.0
            } else {
                (1.0 - f64::exp(-x)) / x
            };
            assert!((f64::phi(x) - direct).abs() < 1e-12, "{x}");
        }
    }

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

    #[test]
    fn fixed_scale_decays_to_zero_and_is_exact_for_one() {
        let f = Fx::decay_factor(0.5 / 20.0);
        let mut x = Fx::ONE;
        for _ in 0..2000 {
            x = x.scale(f);
        }
        assert!(x.to_f64() < 1e-5);
        assert_eq!(Fx::from_f64(-65.0).scale(Fx::FACTOR_ONE), Fx::from_f64(-65.0));
    }
}
