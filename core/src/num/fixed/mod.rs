//! The fixed backend, [`Fx`]: Q11.20 in an `i32` (the format table is
//! in [`crate::num`]), its Q1.31 decay factors and its own conductance
//! step ([`kernel`]): what the microcontroller runs.

use core::fmt::Debug;
use core::ops::{Add, AddAssign, Mul, Neg, Sub, SubAssign};

use fixed::types::I12F20;

use super::{const_phi, lumped_interval, Real};
use crate::layer::{CondParams, CondStep, LayerState};

pub(crate) mod kernel;
use kernel::CondKernel;

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
        kernel::update(k, c, s, slow)
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
