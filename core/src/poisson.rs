//! Poisson spike sources, event-driven.
//!
//! A Poisson input of rate r at time step dt spikes in each step with
//! probability p = r dt (Brian's `PoissonGroup`). Instead of one Bernoulli
//! draw per input per step, each input draws the gap to its next spike from
//! the geometric distribution, `gap = 1 + floor(ln(u) / ln(1 - p))`, which
//! has exactly the same law, and waits in a calendar queue of 64 buckets
//! (bucket = step mod 64). A step costs O(spikes + inputs due in its
//! bucket), not O(inputs).
//!
//! Randomness comes from any `rand_core::RngCore`; the arithmetic is
//! IEEE `f32` with libm's `logf`, so a seeded source gives the same trains
//! on the host and on a Cortex-M4F.

use rand_core::RngCore;

use crate::Error;

const BUCKETS: usize = 64;
const NONE: u16 = u16::MAX;
/// `next` of an input that never spikes.
const NEVER: u32 = u32::MAX;

/// Buffers of a [`Poisson`] source with `n` inputs (n <= 65,535), caller-owned.
#[derive(Debug)]
pub struct PoissonState<'a> {
    /// Step of each input's next spike (`u32::MAX`: never).
    pub next: &'a mut [u32],
    /// 1 / ln(1 - p) of each input (0: silent; -0.0: p = 1, every step).
    pub inv_log: &'a mut [f32],
    /// Next input in the same bucket.
    pub link: &'a mut [u16],
}

/// An event-driven Poisson source over caller-owned buffers.
#[derive(Debug)]
pub struct Poisson<'a> {
    s: PoissonState<'a>,
    head: [u16; BUCKETS],
}

impl<'a> Poisson<'a> {
    /// A silent source over `s` (all three buffers of one length <= 65,535).
    pub fn new(s: PoissonState<'a>) -> Result<Self, Error> {
        let n = s.next.len();
        if n >= NONE as usize || s.inv_log.len() != n || s.link.len() != n {
            return Err(Error::BufferSize("poisson"));
        }
        let mut p = Poisson {
            s,
            head: [NONE; BUCKETS],
        };
        p.silence();
        Ok(p)
    }

    /// Number of inputs.
    pub fn len(&self) -> usize {
        self.s.next.len()
    }

    /// Whether there are no inputs.
    pub fn is_empty(&self) -> bool {
        self.s.next.is_empty()
    }

    /// Stops every input.
    pub fn silence(&mut self) {
        self.s.next.fill(NEVER);
        self.s.inv_log.fill(0.0);
        self.head = [NONE; BUCKETS];
    }

    /// Sets the rates (Hz, >= 0, one per input) for time step `dt_ms`; the
    /// first spikes can come at step `start`. On error nothing changes.
    pub fn set_rates<R: RngCore>(
        &mut self,
        rates_hz: &[f32],
        dt_ms: f32,
        start: u32,
        rng: &mut R,
    ) -> Result<(), Error> {
        if rates_hz.len() != self.len() {
            return Err(Error::BufferSize("rates"));
        }
        if !(dt_ms > 0.0 && dt_ms.is_finite()) {
            return Err(Error::InvalidParameter("dt_ms"));
        }
        if rates_hz.iter().any(|r| !(*r >= 0.0 && r.is_finite())) {
            return Err(Error::InvalidParameter("rate"));
        }
        self.silence();
        for (i, &r) in rates_hz.iter().enumerate() {
            let p = r * dt_ms * 1e-3;
            if p <= 0.0 {
                continue;
            }
            self.s.inv_log[i] = if p >= 1.0 { -0.0 } else { 1.0 / libm::log1pf(-p) };
            let next = start.saturating_sub(1).saturating_add(self.gap(i, rng));
            let next = if start == 0 { next - 1 } else { next };
            self.insert(i, next);
        }
        Ok(())
    }

    /// Writes the inputs that spike at step `step`, in increasing index
    /// order, to `out` (length >= the number of inputs) and returns how
    /// many. Call it for every step in order.
    pub fn spikes<R: RngCore>(&mut self, step: u32, rng: &mut R, out: &mut [u16]) -> Result<usize, Error> {
        if out.len() < self.len() {
            return Err(Error::BufferSize("spike output"));
        }
        let b = step as usize % BUCKETS;
        let mut cur = core::mem::replace(&mut self.head[b], NONE);
        let mut count = 0;
        while cur != NONE {
            let i = cur as usize;
            cur = self.s.link[i];
            let next = self.s.next[i];
            if next <= step {
                // A step that was skipped counts as this one.
                out[count] = i as u16;
                count += 1;
                let next = step.saturating_add(self.gap(i, rng));
                self.insert(i, next);
            } else {
                self.insert(i, next);
            }
        }
        // The bucket list is in no particular order: sort (a few elements).
        let spikes = &mut out[..count];
        for a in 1..spikes.len() {
            let mut b = a;
            while b > 0 && spikes[b - 1] > spikes[b] {
                spikes.swap(b - 1, b);
                b -= 1;
            }
        }
        Ok(count)
    }

    /// Geometric gap >= 1 to input `i`'s next spike.
    fn gap<R: RngCore>(&self, i: usize, rng: &mut R) -> u32 {
        let inv = self.s.inv_log[i];
        if inv == 0.0 {
            return 1; // p = 1 (stored as -0.0)
        }
        // u uniform in (0, 1], 24 bits.
        let u = ((rng.next_u32() >> 8) + 1) as f32 * (1.0 / 16_777_216.0);
        // ln(u) <= 0 and inv < 0: the product is >= 0; `as` saturates.
        1u32.saturating_add((libm::logf(u) * inv) as u32)
    }

    fn insert(&mut self, i: usize, next: u32) {
        self.s.next[i] = next;
        if next == NEVER {
            return;
        }
        let b = next as usize % BUCKETS;
        self.s.link[i] = self.head[b];
        self.head[b] = i as u16;
    }
}

/// Statically allocatable buffers for a Poisson source of `IN` inputs.
#[derive(Debug)]
pub struct PoissonBuffers<const IN: usize> {
    next: [u32; IN],
    inv_log: [f32; IN],
    link: [u16; IN],
}

impl<const IN: usize> PoissonBuffers<IN> {
    /// Zeroed buffers; `const`, so they can initialise a `static`.
    pub const fn new() -> Self {
        PoissonBuffers {
            next: [NEVER; IN],
            inv_log: [0.0; IN],
            link: [NONE; IN],
        }
    }
    /// A source over the first `n` inputs.
    pub fn source(&mut self, n: usize) -> Result<Poisson<'_>, Error> {
        if n > IN {
            return Err(Error::Capacity);
        }
        Poisson::new(PoissonState {
            next: &mut self.next[..n],
            inv_log: &mut self.inv_log[..n],
            link: &mut self.link[..n],
        })
    }
}

impl<const IN: usize> Default for PoissonBuffers<IN> {
    fn default() -> Self {
        Self::new()
    }
}

/// The former name of [`PoissonBuffers`].
#[deprecated(since = "0.1.0", note = "renamed `PoissonBuffers`")]
pub type PoissonStorage<const IN: usize> = PoissonBuffers<IN>;

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    fn counts(rates: &[f32], steps: u32, seed: u64) -> ([u32; 8], u32) {
        let mut st = PoissonBuffers::<8>::new();
        let mut src = st.source(rates.len()).unwrap();
        let mut rng = SmallRng::seed_from_u64(seed);
        src.set_rates(rates, 0.5, 0, &mut rng).unwrap();
        let mut out = [0u16; 8];
        let mut c = [0u32; 8];
        let mut max_per_step = 0;
        for k in 0..steps {
            let m = src.spikes(k, &mut rng, &mut out).unwrap();
            assert!(out[..m].windows(2).all(|w| w[0] < w[1]), "sorted, no duplicates");
            max_per_step = max_per_step.max(m as u32);
            for &i in &out[..m] {
                c[i as usize] += 1;
            }
        }
        (c, max_per_step)
    }

    #[test]
    fn rates_match_within_four_sigma() {
        let rates = [0.0, 1.0, 10.0, 63.75, 200.0, 1000.0, 2000.0, 5000.0];
        let steps = 2_000_000; // 1000 s
        let (c, _) = counts(&rates, steps, 7);
        for (i, &r) in rates.iter().enumerate() {
            let p = (r as f64 * 0.5e-3).min(1.0);
            let mean = p * steps as f64;
            let sd = (mean * (1.0 - p)).sqrt().max(1.0);
            assert!((c[i] as f64 - mean).abs() <= 4.0 * sd, "input {i}: {} vs {mean}", c[i]);
        }
    }

    #[test]
    fn same_seed_same_train() {
        assert_eq!(
            counts(&[10.0, 20.0, 30.0], 10_000, 3),
            counts(&[10.0, 20.0, 30.0], 10_000, 3)
        );
        assert_ne!(
            counts(&[10.0, 20.0, 30.0], 10_000, 3).0,
            counts(&[10.0, 20.0, 30.0], 10_000, 4).0
        );
    }

    #[test]
    fn gaps_are_geometric() {
        // P(gap = 1) = p for a Bernoulli process: check on a 100 Hz input.
        let mut st = PoissonBuffers::<1>::new();
        let mut src = st.source(1).unwrap();
        let mut rng = SmallRng::seed_from_u64(1);
        src.set_rates(&[100.0], 0.5, 0, &mut rng).unwrap();
        let mut out = [0u16; 1];
        let (mut last, mut ones, mut gaps) = (None, 0u32, 0u32);
        for k in 0..4_000_000u32 {
            if src.spikes(k, &mut rng, &mut out).unwrap() == 1 {
                if let Some(l) = last {
                    gaps += 1;
                    ones += (k - l == 1) as u32;
                }
                last = Some(k);
            }
        }
        let frac = ones as f64 / gaps as f64;
        let sd = (0.05 * 0.95 / gaps as f64).sqrt();
        assert!((frac - 0.05).abs() < 4.0 * sd, "{frac}");
    }

    #[test]
    fn bad_rates_and_buffers_are_errors() {
        let mut st = PoissonBuffers::<2>::new();
        let mut rng = SmallRng::seed_from_u64(1);
        let mut src = st.source(2).unwrap();
        assert_eq!(src.set_rates(&[1.0], 0.5, 0, &mut rng), Err(Error::BufferSize("rates")));
        assert_eq!(
            src.set_rates(&[1.0, f32::NAN], 0.5, 0, &mut rng),
            Err(Error::InvalidParameter("rate"))
        );
        assert_eq!(
            src.set_rates(&[1.0, -1.0], 0.5, 0, &mut rng),
            Err(Error::InvalidParameter("rate"))
        );
        assert_eq!(
            src.spikes(0, &mut rng, &mut [0u16; 1]),
            Err(Error::BufferSize("spike output"))
        );
        assert!(st.source(3).is_err());
    }
}
