//! The fixed-point step of a conductance-based layer: the hot loop of
//! inference on the microcontroller, and of the fixed backend everywhere.
//!
//! `Layer::update` ([`crate::neuron`]) is written once for every backend; for
//! [`Fx`] it calls this module's `update` instead: the same steps of the scenario
//! semantics (integrate and decay; theta, threshold, refractoriness) over
//! 32-bit integers, in formats chosen per quantity so that every product is
//! one 32 x 32 -> 64-bit multiply and nothing needs saturating. It is the
//! fixed backend's definition of the step (host and chip run this code);
//! it is checked against Brian 2 and the float reference
//! (tests/scenarios.rs, tests/equivalence.rs).
//!
//! # The membrane update
//! With `a = dt/tau_m`, `g = ge + gi` and the drive
//! `d = (v_rest - v) + ge (e_exc - v) + gi (e_inh - v)` (mV), the exact
//! update is `v' = v + m d` with `m = a phi(a (1 + g))`,
//! `phi(x) = (1 - e^-x)/x` (see [`crate::neuron`]). In integers:
//!
//! | quantity | format | range needed | how |
//! |---|---|---|---|
//! | v, E, ge, gi | Q11.20 (`i32`) | as stored | |
//! | x = a (1 + g) | Q11.20 | [0, 4) | `a` in times `1 + g` |
//! | phi(x) | Q1.31 | (0, 1] | 513-entry table, step 1/128, linear interpolation (error < 2.6e-6) |
//! | m = a phi | Q-2.34 | [0, 1/16) | one product, so `a < 1/16` |
//! | d | Q13.18 (exact 64-bit sum of Q40 products, shifted) | (-8192, 8192) mV | checked |
//! | m d | Q11.20 | | one product, rounded to nearest, but at least one step toward v_inf |
//!
//! The last rule is the one decays follow ([`Real::scale`]: round to
//! nearest, at least one step toward zero): without it v would stop where
//! m d < 1/2 step (10 steps from v_rest for tau_m = 10 ms) and never be
//! exactly at rest again. `|d| <= (1 + g) max|E - v|`: 8192 mV is g = 77
//! for Diehl & Cook's potentials, never reached in practice. A neuron off
//! this path (d out of range, g beyond the table, a negative conductance,
//! |v| >= 1024 mV) takes the generic formula of [`crate::neuron`] in
//! saturating Q11.20 instead; so does a whole layer with `a >= 1/16` or a
//! potential beyond +-1024 mV.
//!
//! # Skipping neurons at rest
//! A neuron at rest (v = v_rest, no conductance, not refractory, below
//! threshold) stays so until it gets input. [`LayerState::activity`] and
//! [`LayerState::active`] say which neurons may not be at rest; the step
//! processes only those ([`Activity::Listed`]), none ([`Activity::Rest`]) or
//! all ([`Activity::All`], in three passes: membrane, conductance decay,
//! threshold, loops small enough for the registers), and leaves the flags
//! exact for the next step. In Diehl & Cook's network the inhibitory layer
//! is mostly at rest; the excitatory one gets input every step.

use crate::layer::{Activity, CondParams, CondStep, LayerState};
use crate::num::{scale_q31, FX_FRAC};
use crate::{Fx, Real};

/// Fraction bits of the table argument step (1/128).
const PHI_STEP_BITS: u32 = 7;
/// Table entries: x in [0, 4] in steps of 1/128.
const PHI_N: usize = 4 << PHI_STEP_BITS;
/// phi(x) in Q1.31 at x = i/128, i = 0..=512, built at compile time
/// (phi(0) = 1 is stored as 1 - 2^-31).
const PHI_Q31: [i32; PHI_N + 1] = {
    let mut t = [0i32; PHI_N + 1];
    let mut i = 0;
    while i <= PHI_N {
        let x = i as f64 / (1u32 << PHI_STEP_BITS) as f64;
        let q = crate::num::const_phi(x) * 2_147_483_648.0 + 0.5;
        t[i] = if q >= 2_147_483_647.0 { i32::MAX } else { q as i32 };
        i += 1;
    }
    t
};
/// The interpolation table: for each interval, phi at its start and twice
/// its rise, so that one load fetches both and the interpolation is one
/// 32 x 16-bit multiply-accumulate (`lo + (slope * frac15) >> 16`, frac15
/// the position in the interval in 15 bits; Cortex-M4: SMLAWB).
static PHI_PAIRS: [(i32, i32); PHI_N] = {
    let mut t = [(0i32, 0i32); PHI_N];
    let mut i = 0;
    while i < PHI_N {
        t[i] = (PHI_Q31[i], 2 * (PHI_Q31[i + 1] - PHI_Q31[i]));
        i += 1;
    }
    t
};
/// Largest x the table covers (exclusive), in Q11.20.
const PHI_X_END: i32 = (PHI_N as i32) << (FX_FRAC - PHI_STEP_BITS);
/// Fraction bits of a in the product a g and a phi (a < 2^-4).
const A_FRAC: u32 = 35;
/// Fraction bits of m = a phi: a35 * phi31 >> 32.
const M_FRAC: u32 = A_FRAC + 31 - 32;
/// Fraction bits of the drive d: m34 * d18 >> 32 is Q20.
const D_FRAC: u32 = 32 + FX_FRAC - M_FRAC;
/// d = d40 >> D_SHIFT fits an `i32` iff the high word of d40 lies in
/// [-2^(D_SHIFT - 1), 2^(D_SHIFT - 1)), i.e. shifted right by D_SHIFT - 1
/// it is 0 or -1.
const D_SHIFT: u32 = 2 * FX_FRAC - D_FRAC;

/// Potentials of the fast path (v, v_rest, e_exc, e_inh) lie in
/// (-1024, 1024) mV: Q11.20 of 1024.
const V_BOUND: i32 = 1 << 30;

/// Constants of the fixed-point conductance step of one layer, computed
/// once from its parameters (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CondKernel {
    /// 1 in Q11.20 (a field, not a constant, so that the leak term of the
    /// drive is one multiply-accumulate like the others).
    one: i32,
    /// a in.
    a35: i32,
    v_rest: i32,
    e_exc: i32,
    e_inh: i32,
    /// v_thresh - theta_offset, Q11.20.
    thresh: i32,
    /// Largest g = ge + gi of the fast path (x = a (1 + g) inside the
    /// table), Q11.20.
    g_max: i32,
}

impl CondKernel {
    /// The kernel for `p`, or `None` if the layer needs the generic loop
    /// (`a = dt/tau_m >= 1/16`, or v_rest, e_exc or e_inh beyond +-1024 mV).
    pub fn new(p: &CondParams) -> Option<Self> {
        let bound = V_BOUND as f64 / (1u32 << FX_FRAC) as f64;
        let potentials_ok = [p.v_rest, p.e_exc, p.e_inh].iter().all(|&e| e.abs() < bound);
        if !(p.a > 0.0 && p.a < 0.0625 && potentials_ok) {
            return None;
        }
        let x_end = PHI_X_END as f64 / (1u32 << FX_FRAC) as f64;
        let g_lim = (x_end / p.a - 1.0 - 1e-3).min(1023.0);
        let q20 = |x: f64| Fx::from_f64(x).to_bits();
        Some(CondKernel {
            one: 1 << FX_FRAC,
            a35: libm::round(p.a * (1u64 << A_FRAC) as f64) as i32,
            v_rest: q20(p.v_rest),
            e_exc: q20(p.e_exc),
            e_inh: q20(p.e_inh),
            thresh: q20(p.thresh),
            g_max: libm::floor(g_lim * (1u32 << FX_FRAC) as f64) as i32,
        })
    }

    /// Whether a neuron with conductances `ge`, `gi` is on the fast path:
    /// 0 <= ge, gi and g = ge + gi <= g_max (< 1024). Returns g.
    #[inline(always)]
    fn fast_g(&self, ge: i32, gi: i32) -> Option<i32> {
        let g = ge.wrapping_add(gi);
        if (ge | gi) >= 0 && g <= self.g_max {
            Some(g)
        } else {
            None
        }
    }

    /// The membrane update `v + m d` of a neuron that is not held, or
    /// `None` off the fast path (see [`CondKernel::fast_g`]; |v| >= 1024 mV;
    /// a drive beyond 8192 mV).
    #[inline(always)]
    fn integrate(&self, v: i32, ge: i32, gi: i32) -> Option<i32> {
        let g = self.fast_g(ge, gi)?;
        // |v| < 1024 mV (and |E| < 1024 mV, see `new`): every E - v fits.
        if (v.wrapping_add(V_BOUND) as u32) >= 2 * V_BOUND as u32 {
            return None;
        }
        // x = a (1 + g) in Q11.20 (a35 * (1 + g)20 >> 35), inside the table.
        let x = ((self.a35 as i64 * (g + self.one) as i64) >> A_FRAC) as i32;
        let i = (x >> (FX_FRAC - PHI_STEP_BITS)) as usize & (PHI_N - 1);
        // The 13 fraction bits of x within its interval, as 15 bits.
        let frac15 = ((x & ((1 << (FX_FRAC - PHI_STEP_BITS)) - 1)) << (15 - (FX_FRAC - PHI_STEP_BITS))) as i16;
        let (lo, slope) = PHI_PAIRS[i];
        // (2 (hi - lo) 4 frac) >> 16 = ((hi - lo) frac) >> 13.
        let phi = lo + ((slope as i64 * frac15 as i64) >> 16) as i32;
        let m = ((self.a35 as i64 * phi as i64) >> 32) as i32;
        // d = 1 (v_rest - v) + ge (e_exc - v) + gi (e_inh - v) in Q40,
        // exact (|E - v| < 2^11 mV, ge, gi < 2^10: no overflow).
        let d40 = self.one as i64 * (self.v_rest - v) as i64
            + ge as i64 * (self.e_exc - v) as i64
            + gi as i64 * (self.e_inh - v) as i64;
        // Q18 (|d| < 8192 mV) or off the fast path.
        if ((((d40 >> 32) as i32) >> (D_SHIFT - 1)) + 1) as u32 > 1 {
            return None;
        }
        let d = (d40 >> D_SHIFT) as i32;
        // m34 * d18 >> 32 = (m d) in Q20, rounded; but at least one step
        // toward v_inf (as decays do), so that v reaches v_rest exactly
        // instead of stopping where m d < 1/2 step (10 steps away for
        // tau_m = 10 ms), and a neuron at rest can be skipped.
        let dv = ((m as i64 * d as i64 + (1 << 31)) >> 32) as i32;
        Some(v + if dv != 0 { dv } else { one_step(d) })
    }

    /// The membrane update of a neuron that is not held: the fast path, or
    /// `slow`, the generic formula, off it.
    #[inline(always)]
    fn membrane(&self, v: Fx, ge: Fx, gi: Fx, slow: &dyn Fn(Fx, Fx, Fx) -> Fx) -> Fx {
        match self.integrate(v.to_bits(), ge.to_bits(), gi.to_bits()) {
            Some(v1) => Fx::from_bits(v1),
            None => slow(v, ge, gi),
        }
    }
}

/// One step in the direction of `d` (the rare branch of `integrate`).
#[cold]
#[inline(never)]
fn one_step(d: i32) -> i32 {
    d.signum()
}

/// [`scale_q31`] (f < 1), for 0 <= x < 2^30 (every conductance in practice)
/// in one rounded high-word multiply: (2x f + 2^31) >> 32 = (x f + 2^30) >> 31.
#[inline(always)]
fn decay(x: i32, f: u32) -> i32 {
    if (x as u32) >= 1 << 30 {
        return scale_q31(x, f);
    }
    let q = (((x << 1) as i64 * (f as i32) as i64 + (1 << 31)) >> 32) as i32;
    if q != x {
        q
    } else {
        scale_q31(x, f) // moves one step toward zero (rare)
    }
}

/// Steps 1 and 2 of a conductance layer in fixed point: returns the number
/// of neurons that spiked; `s.spiked` says which. `slow(v, ge, gi)` is the
/// generic membrane update, for neurons off the fast path. The buffers must
/// have been checked (all of one length).
///
/// With [`Activity::All`] every neuron is processed, in three passes
/// (membrane, conductance decay, threshold: loops small enough for the
/// registers); with [`Activity::Listed`] only the neurons flagged active,
/// one at a time; with [`Activity::Rest`] none. Either way the step leaves
/// the flags and the activity exact for the next one.
#[inline(never)]
pub(crate) fn update(
    k: &CondKernel,
    c: &CondStep<u32>,
    s: &mut LayerState<'_, Fx>,
    slow: &dyn Fn(Fx, Fx, Fx) -> Fx,
) -> u32 {
    if c.theta_f != Fx::FACTOR_ONE {
        // Rarely due (tau_theta: every 2048 steps). A threshold that moved
        // may put a neuron at rest above it: process all.
        for t in s.theta.iter_mut() {
            *t = Fx::from_bits(scale_q31(t.to_bits(), c.theta_f));
        }
        *s.activity = Activity::All;
    }
    let (count, any) = match *s.activity {
        Activity::Rest => return 0,
        Activity::Listed => {
            let (count, any) = update_listed(k, c, s, slow);
            (count, Some(any))
        }
        Activity::All => update_all(k, c, s, slow),
    };
    *s.activity = match any {
        None => Activity::All,
        Some(true) => Activity::Listed,
        Some(false) => Activity::Rest,
    };
    count
}

/// [`update`] of every neuron; returns (spikes, whether any neuron is
/// left active) and sets every `active` flag, or returns `None` instead of
/// the flag if more than half of the neurons were not at rest (a busy
/// layer, such as one that gets input every step: flags would not pay).
fn update_all(
    k: &CondKernel,
    c: &CondStep<u32>,
    s: &mut LayerState<'_, Fx>,
    slow: &dyn Fn(Fx, Fx, Fx) -> Fx,
) -> (u32, Option<bool>) {
    let n = s.v.len();
    let (v, ge, gi, theta, refractory, spiked) = (
        &mut s.v[..n],
        &mut s.ge[..n],
        &mut s.gi[..n],
        &s.theta[..n],
        &mut s.refractory[..n],
        &mut s.spiked[..n],
    );
    // Pass 1: membrane (neurons at rest without conductance, and held
    // ones, stay as they are).
    let mut busy = 0;
    for (((v, ge), gi), &r) in v.iter_mut().zip(ge.iter()).zip(gi.iter()).zip(refractory.iter()) {
        let (v0, ge0, gi0) = (v.to_bits(), ge.to_bits(), gi.to_bits());
        if (ge0 | gi0) == 0 && v0 == k.v_rest {
            continue;
        }
        busy += 1;
        if r > c.hold_above {
            continue;
        }
        *v = k.membrane(*v, *ge, *gi, slow);
    }
    // Pass 2: conductances decay; threshold and refractory counters.
    let mut count = 0;
    for (((((&v, ge), gi), th), r), spiked) in v
        .iter()
        .zip(ge.iter_mut())
        .zip(gi.iter_mut())
        .zip(theta.iter())
        .zip(refractory.iter_mut())
        .zip(spiked.iter_mut())
    {
        decay_both(c, ge, gi);
        if threshold(k, c, v, *th, r, spiked) {
            count += 1;
        }
    }
    if 2 * busy > n {
        return (count, None);
    }
    // Pass 4 (a layer mostly at rest): which neurons are not at rest now.
    // A neuron at rest after this step is a fixed point of the next one:
    // its threshold test has just been made at v = v_rest.
    let mut any = false;
    for (((((&v, &ge), &gi), &r), &spiked), a) in v
        .iter()
        .zip(ge.iter())
        .zip(gi.iter())
        .zip(refractory.iter())
        .zip(spiked.iter())
        .zip(s.active.iter_mut())
    {
        *a = (ge.to_bits() | gi.to_bits()) != 0 || v.to_bits() != k.v_rest || r != 0 || spiked;
        any |= *a;
    }
    (count, Some(any))
}

/// [`update`] of the neurons flagged active, each in one go; returns
/// (spikes, whether any neuron is left active).
fn update_listed(
    k: &CondKernel,
    c: &CondStep<u32>,
    s: &mut LayerState<'_, Fx>,
    slow: &dyn Fn(Fx, Fx, Fx) -> Fx,
) -> (u32, bool) {
    let n = s.v.len();
    let (v, ge, gi, theta, refractory, spiked, active) = (
        &mut s.v[..n],
        &mut s.ge[..n],
        &mut s.gi[..n],
        &s.theta[..n],
        &mut s.refractory[..n],
        &mut s.spiked[..n],
        &mut s.active[..n],
    );
    let mut count = 0;
    let mut any = false;
    for j in 0..n {
        if !active[j] {
            continue;
        }
        let rest = (ge[j].to_bits() | gi[j].to_bits()) == 0 && v[j].to_bits() == k.v_rest;
        let was_refractory = refractory[j] != 0;
        if !rest {
            if refractory[j] <= c.hold_above {
                v[j] = k.membrane(v[j], ge[j], gi[j], slow);
            }
            decay_both(c, &mut ge[j], &mut gi[j]);
        }
        let spike = threshold(k, c, v[j], theta[j], &mut refractory[j], &mut spiked[j]);
        if spike {
            count += 1;
        }
        // A neuron that was not at rest stays listed one more step (it may
        // have just come to rest; the next step finds out).
        let still = !rest || spike || was_refractory;
        active[j] = still;
        any |= still;
    }
    (count, any)
}

/// The conductance decays of one neuron (those due at this step).
#[inline(always)]
fn decay_both(c: &CondStep<u32>, ge: &mut Fx, gi: &mut Fx) {
    let (ge0, gi0) = (ge.to_bits(), gi.to_bits());
    if ge0 != 0 && c.ge_f != Fx::FACTOR_ONE {
        *ge = Fx::from_bits(decay(ge0, c.ge_f));
    }
    if gi0 != 0 && c.gi_f != Fx::FACTOR_ONE {
        *gi = Fx::from_bits(decay(gi0, c.gi_f));
    }
}

/// Step 2 for one neuron: the threshold test unless refractory, and the
/// refractory counter; returns whether it spiked.
#[inline(always)]
fn threshold(k: &CondKernel, c: &CondStep<u32>, v: Fx, theta: Fx, r: &mut u32, spiked: &mut bool) -> bool {
    let above = |v: Fx| v.to_bits() > k.thresh.saturating_add(theta.to_bits());
    if *r == 0 {
        // The common case: not refractory (spiked was already false, or is
        // cleared here).
        let spike = above(v);
        *spiked = spike;
        if spike {
            *r = c.refractory_steps;
        }
        spike
    } else {
        let left = *r - 1;
        let spike = left == 0 && above(v);
        *spiked = spike;
        *r = if spike { c.refractory_steps } else { left };
        spike
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decay_is_exactly_the_backends_scale() {
        let factors = [
            1u32,
            7,
            1 << 30,
            (1 << 30) + 1,
            1_302_514_674,
            2_000_000_000,
            (1 << 31) - 1,
        ];
        let mut x: i64 = 0;
        while x < 1 << 30 {
            for &f in &factors {
                assert_eq!(decay(x as i32, f), scale_q31(x as i32, f), "x {x} f {f}");
            }
            x = x * 3 / 2 + 1;
        }
        // Outside [0, 2^30) too (the slow branch).
        for &x in &[-5, -(1 << 20), 1 << 30, i32::MAX] {
            assert_eq!(decay(x, 1_302_514_674), scale_q31(x, 1_302_514_674));
        }
    }

    #[test]
    fn phi_interpolation_is_within_its_bound() {
        let k = CondKernel::new(&CondParams {
            a: 0.005,
            v_rest: -65.0,
            e_exc: 0.0,
            e_inh: -100.0,
            thresh: -72.0,
        })
        .unwrap();
        // phi(a (1 + g)) against f64, over the table's whole range: the
        // interpolation error (h^2/8 max|phi''| = 2.6e-6) plus x rounded
        // down to Q11.20 (1e-6 times |phi'| <= 1/2).
        let mut g = 0.0;
        while g < 790.0 {
            let gi = Fx::from_f64(g).to_bits();
            let x = ((k.a35 as i64 * (gi + k.one) as i64) >> A_FRAC) as i32;
            let i = (x >> (FX_FRAC - PHI_STEP_BITS)) as usize;
            let frac15 = ((x & ((1 << (FX_FRAC - PHI_STEP_BITS)) - 1)) << 2) as i16;
            let (lo, slope) = PHI_PAIRS[i];
            let phi = (lo + ((slope as i64 * frac15 as i64) >> 16) as i32) as f64 / 2_147_483_648.0;
            let exact = f64::phi(0.005 * (1.0 + Fx::from_bits(gi).to_f64()));
            assert!((phi - exact).abs() < 3.1e-6, "g {g}: {phi} vs {exact}");
            g += 0.37;
        }
    }

    #[test]
    fn membrane_update_matches_exponential_euler() {
        let p = CondParams {
            a: 0.005,
            v_rest: -65.0,
            e_exc: 0.0,
            e_inh: -100.0,
            thresh: -72.0,
        };
        let k = CondKernel::new(&p).unwrap();
        for &(v, ge, gi) in &[
            (-65.0, 0.3, 0.0),
            (-60.0, 2.0, 17.0),
            (-100.0, 0.0, 0.0),
            (-52.0, 40.0, 30.0),
        ] {
            let q = |x: f64| Fx::from_f64(x).to_bits();
            let got = Fx::from_bits(k.integrate(q(v), q(ge), q(gi)).unwrap()).to_f64();
            let g: f64 = 1.0 + ge + gi;
            let v_inf = (p.v_rest + ge * p.e_exc + gi * p.e_inh) / g;
            let exact = v_inf + (v - v_inf) * (-p.a * g).exp();
            assert!(
                (got - exact).abs() < 2e-5 * (1.0 + (exact - v).abs()),
                "{v} {ge} {gi}: {got} vs {exact}"
            );
        }
        // Off the fast path: a drive beyond 8192 mV, a negative conductance.
        assert_eq!(
            k.integrate(Fx::from_f64(-65.0).to_bits(), Fx::from_f64(500.0).to_bits(), 0),
            None
        );
        assert_eq!(k.integrate(0, -1, 0), None);
        assert!(CondKernel::new(&CondParams { a: 0.1, ..p }).is_none());
    }
}
