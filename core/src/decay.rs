//! Exponential decay, integrated exactly: x <- x * exp(-dt/tau) per step.

use crate::{Error, Real};

/// An exponential decay with time constant tau at time step dt, computed
/// once per (tau, dt).
///
/// f64 applies `exp(-dt/tau)` every step. f32 and the fixed backend
/// do too for every tau below 8192 steps (4 s at dt = 0.5 ms); slower
/// decays (the adaptive threshold's tau_theta = 1e7 ms) are applied every
/// `interval` steps with the exact factor `exp(-interval*dt/tau)`, because a
/// per-step decay of 5e-8 is below the resolution of the product (see
/// [`crate::num`]). The deviation from a per-step decay is then at most
/// `x * 2^-14` (6e-3 mV on a 100 mV theta) and never accumulates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decay<T: Real> {
    /// exp(-dt/tau): the factor of one step.
    step_factor: T::Factor,
    /// exp(-interval*dt/tau): the factor applied every `interval` steps.
    factor: T::Factor,
    /// Steps between applications, a power of two (1 for float).
    interval: u32,
}

impl<T: Real> Decay<T> {
    /// A decay with time constant `tau_ms` (> 0, may be +inf for "no decay")
    /// at time step `dt_ms` (> 0). `name` names the parameter in errors.
    pub fn new(tau_ms: f64, dt_ms: f64, name: &'static str) -> Result<Self, Error> {
        if !(tau_ms > 0.0) {
            return Err(Error::InvalidParameter(name));
        }
        if !(dt_ms > 0.0 && dt_ms.is_finite()) {
            return Err(Error::InvalidParameter("dt_ms"));
        }
        let x = dt_ms / tau_ms;
        let interval = T::decay_interval(x);
        Ok(Decay {
            step_factor: T::decay_factor(x),
            factor: T::decay_factor(x * interval as f64),
            interval,
        })
    }

    /// No decay at all (factor 1).
    pub const fn none() -> Self {
        Decay {
            step_factor: T::FACTOR_ONE,
            factor: T::FACTOR_ONE,
            interval: 1,
        }
    }

    /// Whether the decay is applied at the end of step `step`'s update.
    #[inline(always)]
    pub fn due(&self, step: u32) -> bool {
        step & (self.interval - 1) == self.interval - 1
    }

    /// The factor to apply at a step where [`Decay::due`] holds.
    #[inline(always)]
    pub fn factor(&self) -> T::Factor {
        self.factor
    }

    /// Steps between applications (1 for the float backends).
    #[cfg(test)]
    pub fn interval(&self) -> u32 {
        self.interval
    }

    /// Applies the decay for step `step` (identity if not due; the loops
    /// apply [`Decay::factor`] where [`Decay::due`] holds).
    #[cfg(test)]
    pub fn apply(&self, x: T, step: u32) -> T {
        if self.due(step) {
            x.scale(self.factor)
        } else {
            x
        }
    }

    /// The total factor that steps `step .. step + n` apply (the applications
    /// that fall due in that range; for the float backends exp(-n dt/tau)).
    pub fn pow_over(&self, step: u32, n: u32) -> T::Factor {
        if self.interval == 1 {
            return self.pow(n);
        }
        // Due steps s have s % interval == interval - 1.
        let first = step | (self.interval - 1);
        let end = step as u64 + n as u64;
        let due = if (first as u64) < end {
            (end - first as u64 - 1) / self.interval as u64 + 1
        } else {
            0
        };
        let mut acc = T::FACTOR_ONE;
        for _ in 0..due {
            acc = T::factor_mul(acc, self.factor);
        }
        acc
    }

    /// exp(-n*dt/tau), by repeated squaring of the one-step factor (at most
    /// 64 products; exact to rounding for the floats, within ~2 log2(n)
    /// steps of Q1.31 for the fixed backend).
    pub fn pow(&self, mut n: u32) -> T::Factor {
        let mut base = self.step_factor;
        let mut acc = T::FACTOR_ONE;
        while n > 0 {
            if n & 1 == 1 {
                acc = T::factor_mul(acc, base);
            }
            base = T::factor_mul(base, base);
            n >>= 1;
        }
        acc
    }
}

/// exp(-n dt/tau) for any n by table look-up: three tables of 64 entries
/// (f^a, f^(64 b), f^(4096 c)) cover n < 2^18 with two products; beyond,
/// repeated squaring, or 0 at once where f^(2^18) is already 0 (every
/// trace of tau up to ~1.5 s at dt 0.5 ms in f32): an input silent for
/// 2^18 steps (131 s, ~260 examples: MNIST's border pixels) is read at every
/// postsynaptic spike, and the squaring cost 10 times the look-up. Used
/// for the lazily decayed presynaptic traces, which are read for every
/// input at every postsynaptic spike.
/// Size: 192 factors (768 bytes for f32 and the fixed backend).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowTable<T: Real> {
    levels: [[T::Factor; 64]; 3],
    decay: Decay<T>,
    /// f^(2^18) when it is 0: then f^n is 0 for every n >= 2^18 (the
    /// squaring's factor for bit 18 and above is 0, and so is any product
    /// with it, in every backend).
    zero_tail: Option<T::Factor>,
}

impl<T: Real> PowTable<T> {
    /// The table of `decay`'s one-step factor.
    pub fn new(decay: &Decay<T>) -> Self {
        let mut levels = [[T::FACTOR_ONE; 64]; 3];
        for (l, level) in levels.iter_mut().enumerate() {
            for (i, f) in level.iter_mut().enumerate() {
                *f = decay.pow((i as u32) << (6 * l));
            }
        }
        let tail = decay.pow(1 << 18);
        // 0 is the one factor other than 1 that its own square leaves as it is.
        let zero_tail = (T::factor_mul(tail, tail) == tail && tail != T::FACTOR_ONE).then_some(tail);
        PowTable {
            levels,
            decay: *decay,
            zero_tail,
        }
    }

    /// Steps the tables cover: [`PowTable::near`] is [`PowTable::get`] below.
    pub const SPAN: u32 = 1 << 18;

    /// exp(-n dt/tau) for n < [`PowTable::SPAN`] (bit for bit
    /// [`PowTable::get`]; higher bits of n are ignored), without a branch,
    /// so that a loop over many n vectorises (gathers).
    #[inline(always)]
    pub fn near(&self, n: u32) -> T::Factor {
        let [a, b, c] = &self.levels;
        let f = T::factor_mul(a[(n & 63) as usize], b[((n >> 6) & 63) as usize]);
        T::factor_mul(f, c[((n >> 12) & 63) as usize])
    }

    /// The factor of every n >= [`PowTable::SPAN`], where it is 0.
    #[inline(always)]
    pub fn zero_tail(&self) -> Option<T::Factor> {
        self.zero_tail
    }

    /// exp(-n dt/tau).
    #[inline(always)]
    pub fn get(&self, n: u32) -> T::Factor {
        if n < Self::SPAN {
            self.near(n)
        } else if let Some(zero) = self.zero_tail {
            zero
        } else {
            self.decay.pow(n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Fx;

    #[test]
    fn float_decay_is_exact_exponential() {
        let d = Decay::<f64>::new(20.0, 0.5, "tau").unwrap();
        assert_eq!(d.interval(), 1);
        assert!((d.apply(1.0, 0) - (-0.025f64).exp()).abs() < 1e-15);
        assert!((d.pow(40) - (-1.0f64).exp()).abs() < 1e-14);
    }

    #[test]
    fn the_table_equals_squaring_beyond_its_range() {
        fn check<T: Real>(tau: f64) {
            let d = Decay::<T>::new(tau, 0.5, "tau").unwrap();
            let t = PowTable::new(&d);
            // Beyond the three levels (inside, the table's two products
            // round differently from the squaring, by design).
            for n in [1 << 18, (1 << 18) + 1, (1 << 18) + 4097, 1 << 20, 3_000_000, u32::MAX] {
                assert_eq!(t.get(n), d.pow(n), "tau {tau}, n {n}");
            }
        }
        // Short traces are 0 beyond the table; long ones are not.
        for tau in [20.0, 40.0, 1_000.0, 1e6] {
            check::<f32>(tau);
            check::<f64>(tau);
            check::<Fx>(tau);
        }
        let short = PowTable::new(&Decay::<f32>::new(20.0, 0.5, "tau").unwrap());
        assert_eq!(short.get(1 << 19), 0.0);
        let long = PowTable::new(&Decay::<f32>::new(1e6, 0.5, "tau").unwrap());
        assert!(long.get(1 << 19) > 0.0);
    }

    #[test]
    fn non_positive_tau_is_an_error_naming_the_parameter() {
        assert_eq!(
            Decay::<f32>::new(0.0, 0.5, "tau_pre_ms"),
            Err(Error::InvalidParameter("tau_pre_ms"))
        );
        assert_eq!(Decay::<f32>::new(-3.0, 0.5, "x"), Err(Error::InvalidParameter("x")));
        assert_eq!(Decay::<f32>::new(f64::NAN, 0.5, "x"), Err(Error::InvalidParameter("x")));
        assert_eq!(Decay::<f32>::new(1.0, 0.0, "x"), Err(Error::InvalidParameter("dt_ms")));
    }

    #[test]
    fn fixed_theta_decay_follows_float_over_a_training_run() {
        // 60,000 examples of 500 ms at dt 0.5 ms: 6e7 steps, three tau_theta.
        let f = Decay::<f64>::new(1e7, 0.5, "tau_theta").unwrap();
        let x = Decay::<Fx>::new(1e7, 0.5, "tau_theta").unwrap();
        assert!(x.interval() > 1);
        let mut a = 100.0f64;
        let mut b = Fx::from_f64(100.0);
        for step in 0..60_000_000u32 {
            a = f.apply(a, step);
            b = x.apply(b, step);
        }
        assert!((a - 100.0 * (-3.0f64).exp()).abs() < 1e-6);
        // Bound: lumping (< x * 2^-13 = 6e-4 mV here) plus rounding (half a
        // step per application, about 30,000 applications: 0.014 mV at worst).
        assert!((b.to_f64() - a).abs() < 0.015, "{} vs {a}", b.to_f64());
    }

    #[test]
    fn pow_over_counts_the_due_applications() {
        let x = Decay::<Fx>::new(1e7, 0.5, "t").unwrap();
        let k = x.interval();
        let mut stepped = Fx::from_f64(50.0);
        for s in 100..100 + 3 * k + 7 {
            stepped = x.apply(stepped, s);
        }
        // One rounding of the product instead of three: within 2 steps of Q11.20.
        let closed = Fx::from_f64(50.0).scale(x.pow_over(100, 3 * k + 7));
        assert!(
            (closed.to_bits() - stepped.to_bits()).abs() <= 2,
            "{closed:?} {stepped:?}"
        );
        assert!(stepped < Fx::from_f64(50.0));
        assert_eq!(x.pow_over(0, k - 1), Fx::FACTOR_ONE);
        assert_ne!(x.pow_over(0, k), Fx::FACTOR_ONE);
    }

    #[test]
    fn pow_table_matches_repeated_squaring() {
        let f = Decay::<f64>::new(20.0, 0.5, "t").unwrap();
        let t = PowTable::new(&f);
        for n in [
            0u32,
            1,
            63,
            64,
            65,
            4095,
            4096,
            100_000,
            (1 << 18) - 1,
            1 << 18,
            u32::MAX,
        ] {
            assert!((t.get(n) - f.pow(n)).abs() <= 4.0 * f64::EPSILON * f.pow(n), "{n}");
        }
        let x = Decay::<Fx>::new(20.0, 0.5, "t").unwrap();
        let tx = PowTable::new(&x);
        for n in [0u32, 1, 63, 64, 65, 4095, 100_000] {
            assert!(tx.get(n).abs_diff(x.pow(n)) <= 4, "{n}");
        }
    }

    #[test]
    fn fixed_pow_matches_float() {
        let f = Decay::<f64>::new(20.0, 0.5, "t").unwrap();
        let x = Decay::<Fx>::new(20.0, 0.5, "t").unwrap();
        for n in [0u32, 1, 7, 40, 100, 1000, u32::MAX] {
            let e = (x.pow(n) as f64 / (1u64 << 31) as f64 - f.pow(n)).abs();
            assert!(e < 1e-8, "n={n}: {e}");
        }
    }
}
