//! Arithmetic the emulator's output depends on, written out so that it is
//! the same on every machine: IEEE-754 `+ - * /` and `sqrt` are exact to
//! the rounding everywhere, but `f64::ln`, `exp`, `cos` come from the
//! platform's libm and may differ in the last bit between systems, which
//! would make a threshold crossing (and so an event) differ. Nothing here
//! calls libm, and nothing uses fused multiply-add.

use stdp_core::rng::Xoshiro128pp;

/// ln 2.
const LN2_F64: f64 = core::f64::consts::LN_2;
const LN2_F32: f32 = core::f32::consts::LN_2;

/// Natural logarithm of a positive, normal `x` (f64), portable: `x = m 2^e`
/// with `m` in [1/√2, √2), `ln m = 2 atanh(s)`, `s = (m - 1)/(m + 1)`,
/// `|s| <= 0.172`, summed to `s^23` (relative error below 1e-15).
pub(crate) fn ln(x: f64) -> f64 {
    debug_assert!(x > 0.0 && x.is_normal(), "ln of {x}");
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    if m > core::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut sum = 0.0;
    let mut k = 23.0;
    while k > 1.0 {
        sum = (sum + 1.0 / k) * s2;
        k -= 2.0;
    }
    2.0 * s * (1.0 + sum) + e as f64 * LN2_F64
}

/// Natural logarithm of a positive, normal `x` (f32), fast and portable,
/// for the pixel loop (no division, no branch: the compiler vectorises it):
/// `x = m 2^e` with `m` in [1, 2), `ln m` by a polynomial of degree 6 in
/// `m - 1.5` (near-minimax, fitted by iteratively reweighted least squares;
/// absolute error below 2e-6, against contrast thresholds of ~0.1-1).
#[inline(always)]
pub(crate) fn ln_fast(x: f32) -> f32 {
    const C: [f32; 7] = [
        0.405_465_48,
        0.666_683_7,
        -0.222_259_23,
        0.098_231_47,
        -0.048_781_51,
        0.030_449_25,
        -0.017_807_488,
    ];
    let bits = x.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    let u = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000) - 1.5;
    let p = C[0] + u * (C[1] + u * (C[2] + u * (C[3] + u * (C[4] + u * (C[5] + u * C[6])))));
    p + e as f32 * LN2_F32
}

/// A uniform draw in [0, 1) with 24 bits (f32).
#[inline]
pub(crate) fn uniform_f32(r: &mut Xoshiro128pp) -> f32 {
    use rand_core::RngCore;
    (r.next_u32() >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// A uniform draw in (0, 1] with 32 bits (f64): never 0, so its log is finite.
#[inline]
pub(crate) fn uniform_open(r: &mut Xoshiro128pp) -> f64 {
    use rand_core::RngCore;
    (f64::from(r.next_u32()) + 1.0) * (1.0 / 4_294_967_296.0)
}

/// A standard normal draw (Marsaglia's polar method, with the portable [`ln`]).
pub(crate) fn normal(r: &mut Xoshiro128pp) -> f64 {
    loop {
        let u = 2.0 * uniform_open(r) - 1.0;
        let v = 2.0 * uniform_open(r) - 1.0;
        let s = u * u + v * v;
        if s > 0.0 && s < 1.0 {
            return u * (-2.0 * ln(s) / s).sqrt();
        }
    }
}

/// An exponential draw of mean 1.
#[inline]
pub(crate) fn exponential(r: &mut Xoshiro128pp) -> f64 {
    -ln(uniform_open(r))
}

/// exp(x) for the few values the emulator's setup needs (the leak's
/// log-normal spread), portable: `x = k ln2 + y`, `|y| <= ln2/2`, Taylor
/// series of `e^y` to `y^16`, times `2^k`.
pub(crate) fn exp(x: f64) -> f64 {
    if x < -700.0 {
        return 0.0;
    }
    let x = x.min(700.0);
    let k = (x / LN2_F64 + if x >= 0.0 { 0.5 } else { -0.5 }) as i64;
    let y = x - k as f64 * LN2_F64;
    let mut term = 1.0;
    let mut sum = 1.0;
    let mut n = 1.0;
    while n <= 16.0 {
        term *= y / n;
        sum += term;
        n += 1.0;
    }
    sum * f64::from_bits(((k + 1023) as u64) << 52)
}

/// The minimum-jerk position profile (Flash & Hogan 1985): the fraction of a
/// movement done at `tau` in [0, 1] of its duration, `10 tau^3 - 15 tau^4 + 6 tau^5`,
/// bell-shaped velocity, zero velocity and acceleration at both ends.
pub(crate) fn min_jerk(tau: f64) -> f64 {
    let tau = tau.clamp(0.0, 1.0);
    tau * tau * tau * (10.0 + tau * (-15.0 + 6.0 * tau))
}

/// The trapezoidal velocity profile of a motor (a pan-tilt unit): the
/// fraction of a movement done at `tau` in [0, 1] of its duration, with
/// constant acceleration over the first `accel` of the duration, constant
/// speed, and constant deceleration over the last `decel` (`accel + decel <= 1`;
/// both 0.5: a triangle).
pub(crate) fn trapezoid(tau: f64, accel: f64, decel: f64) -> f64 {
    let tau = tau.clamp(0.0, 1.0);
    let v = 1.0 / (1.0 - 0.5 * (accel + decel));
    if tau < accel {
        v * tau * tau / (2.0 * accel)
    } else if tau <= 1.0 - decel {
        v * (tau - 0.5 * accel)
    } else {
        1.0 - v * (1.0 - tau) * (1.0 - tau) / (2.0 * decel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portable_log_and_exp_match_libm_closely() {
        for &x in &[1e-9, 0.001, 0.3, 0.5, 0.7, 1.0, 1.4, 2.0, 10.0, 12345.678] {
            assert!((ln(x) - x.ln()).abs() < 1e-14 * x.ln().abs().max(1.0), "ln {x}");
            let xf = x as f32;
            if (1e-6..=100.0).contains(&xf) {
                assert!(
                    (ln_fast(xf) - xf.ln()).abs() < 4e-6,
                    "ln_fast {x}: {} {}",
                    ln_fast(xf),
                    xf.ln()
                );
            }
        }
        for &x in &[-20.0, -1.0, -0.3, 0.0, 0.2, 1.0, 5.5, 30.0] {
            let want: f64 = f64::exp(x);
            assert!((exp(x) - want).abs() <= 1e-14 * want, "exp {x}");
        }
        assert_eq!(min_jerk(0.0), 0.0);
        assert_eq!(min_jerk(1.0), 1.0);
        assert!((min_jerk(0.5) - 0.5).abs() < 1e-12);
        for (a, d) in [(0.5, 0.5), (0.2, 0.4), (0.0, 0.0), (0.0, 1.0)] {
            assert_eq!(trapezoid(0.0, a, d), 0.0);
            assert!((trapezoid(1.0, a, d) - 1.0).abs() < 1e-12);
            // Continuous and non-decreasing.
            let mut last = 0.0;
            for i in 1..=1000 {
                let s = trapezoid(i as f64 / 1000.0, a, d);
                assert!(s >= last - 1e-12 && s - last < 0.003, "{a} {d} {i}: {last} -> {s}");
                last = s;
            }
        }
        assert!((trapezoid(0.5, 0.5, 0.5) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn normal_draws_have_unit_spread() {
        let mut r = Xoshiro128pp::seed_from_u64(3);
        let n = 20_000;
        let xs: Vec<f64> = (0..n).map(|_| normal(&mut r)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.03 && (var - 1.0).abs() < 0.05, "{mean} {var}");
    }
}
