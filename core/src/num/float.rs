//! The float backends, [`f32`] and [`f64`]: the reference, which
//! reproduces Brian 2 (see the Q-format table of [`crate::num`] for the
//! fixed one).

use super::{lumped_interval, Real};
use crate::layer::{CondParams, CondStep, LayerState};

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

#[cfg(test)]
mod tests {
    use super::*;
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
}
