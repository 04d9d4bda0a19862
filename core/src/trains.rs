//! Seeded spike-train generators on the simulation's time grid.
//!
//! Every generator works on the discrete time of the network
//! (scenario-format.md): step `k` covers `[k dt, (k + 1) dt)` ms, and a train
//! is a strictly increasing sequence of step numbers (so one input spikes at
//! most once per step). Rates are in Hz, times and durations in ms, `dt` in
//! ms; a time `t` maps to the step that contains it, `k = floor(t/dt + 0.001)`
//! (the scenario rule). A dead time or a burst's spacing of `d` ms is
//! `floor(d/dt + 0.001)` steps (the refractory rule of the neurons).
//!
//! Random trains are *Bernoulli processes*, the discrete-time Poisson
//! process that Brian's `PoissonGroup` and [`crate::poisson`] simulate: in
//! each step an input spikes with probability `p = rate * dt / 1000`,
//! independently of every other step. They are drawn event by event: the
//! gap to the next spike is geometric, `1 + floor(ln u / ln(1 - p))` with
//! `u` uniform in (0, 1] (24 random bits, IEEE `f32`, libm's `logf`), which
//! has exactly the law of one Bernoulli draw per step and costs one draw per
//! spike. The same seed gives the same train on the host and on the chip.
//!
//! Nothing here allocates. Single trains implement [`SpikeTrain`] (an
//! iterator of spike steps; [`Pending`] turns one into a per-step poll);
//! a [`CorrelatedGroup`] is polled step by step over a caller-owned buffer.
//!
//! | generator | law | mean rate |
//! |---|---|---|
//! | [`Regular`] | spike n at `phase + n * 1000/rate` ms | rate (Hz) |
//! | [`PoissonTrain::new`] | Bernoulli(p) per step | rate (Hz), exactly |
//! | [`PoissonTrain::with_dead_time`] | gap = max(D,1) - 1 + geometric | rate (Hz), exactly |
//! | [`Bursts`] | Poisson onsets with dead time, `n` spikes `I` steps apart | n * burst rate |
//! | [`RatePattern`] | Bernoulli with piecewise-constant p | each segment's rate |
//! | [`CorrelatedGroup`] | children of a shared mother train | rate, pairwise correlation c |

use rand_core::RngCore;

use crate::Error;

/// The step that contains time `t_ms` at time step `dt_ms`:
/// `floor(t/dt + 0.001)` (`None` if negative, not finite or beyond `u32`).
pub fn step_of(t_ms: f64, dt_ms: f64) -> Option<u32> {
    let k = libm::floor(t_ms / dt_ms + 0.001);
    if k >= 0.0 && k <= u32::MAX as f64 {
        Some(k as u32)
    } else {
        None
    }
}

/// A duration of `d_ms` as a number of steps, `floor(d/dt + 0.001)`
/// (the rule of the neurons' refractory period).
fn steps_of(d_ms: f64, dt_ms: f64) -> Result<u32, Error> {
    if !(d_ms >= 0.0 && d_ms.is_finite()) {
        return Err(Error::InvalidParameter("duration_ms"));
    }
    let k = libm::floor(d_ms / dt_ms + 0.001);
    if k > u32::MAX as f64 / 2.0 {
        return Err(Error::InvalidParameter("duration_ms"));
    }
    Ok(k as u32)
}

fn check_dt(dt_ms: f64) -> Result<(), Error> {
    if dt_ms > 0.0 && dt_ms.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidParameter("dt_ms"))
    }
}

fn check_rate(rate_hz: f64) -> Result<(), Error> {
    if rate_hz >= 0.0 && rate_hz.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidParameter("rate_hz"))
    }
}

/// A uniform number in (0, 1] from 24 random bits.
#[inline]
fn uniform<R: RngCore>(rng: &mut R) -> f32 {
    ((rng.next_u32() >> 8) + 1) as f32 * (1.0 / 16_777_216.0)
}

/// A Bernoulli(p) step process, drawn as geometric gaps.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Geometric {
    /// 1 / ln(1 - p); 0.0 for p = 0 (never), -0.0 for p = 1 (every step).
    inv_log: f32,
    /// p itself (probability of a spike per step).
    p: f64,
}

impl Geometric {
    fn new(p: f64) -> Self {
        let inv_log = if p <= 0.0 {
            0.0
        } else if p >= 1.0 {
            -0.0
        } else {
            1.0 / libm::log1pf(-(p as f32))
        };
        Geometric { inv_log, p }
    }

    fn never(&self) -> bool {
        self.p <= 0.0
    }

    /// Gap >= 1 to the next success (`u32::MAX` saturates; call only if `!never()`).
    #[inline]
    fn gap<R: RngCore>(&self, rng: &mut R) -> u32 {
        if self.p >= 1.0 {
            return 1;
        }
        let u = uniform(rng);
        // ln(u) <= 0 and inv_log < 0: the product is >= 0; `as` saturates.
        1u32.saturating_add((libm::logf(u) * self.inv_log) as u32)
    }
}

/// A source of spike steps: each call gives the step of the next spike,
/// strictly after the previous one, or `None` when the train has ended.
pub trait SpikeTrain {
    /// The step of the next spike (strictly increasing), or `None`.
    fn next_spike<R: RngCore>(&mut self, rng: &mut R) -> Option<u32>;
}

/// A train with its next spike drawn ahead, polled step by step (for loops
/// that ask "who spikes at step k?", as the chip's main loop does).
#[derive(Debug, Clone)]
pub struct Pending<G> {
    train: G,
    next: Option<u32>,
}

impl<G: SpikeTrain> Pending<G> {
    /// Draws the first spike of `train`.
    pub fn new<R: RngCore>(mut train: G, rng: &mut R) -> Self {
        let next = train.next_spike(rng);
        Pending { train, next }
    }

    /// Whether the train spikes at `step` (call with increasing steps; a
    /// spike of a step that was skipped is delivered at the next call).
    pub fn fires<R: RngCore>(&mut self, step: u32, rng: &mut R) -> bool {
        match self.next {
            Some(k) if k <= step => {
                self.next = self.train.next_spike(rng);
                true
            }
            _ => false,
        }
    }

    /// The step of the next spike, if any.
    pub fn peek(&self) -> Option<u32> {
        self.next
    }
}

// ---------------------------------------------------------------------------

/// A regular (clock) train: spike `n` at `phase_ms + n * 1000 / rate_hz` ms,
/// each mapped to the step that contains it. Deterministic (the random
/// source is not used). With a period that is not a multiple of dt the
/// gaps alternate between the two neighbouring step counts, and the mean
/// rate is exactly `rate_hz`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Regular {
    phase_ms: f64,
    period_ms: f64,
    dt_ms: f64,
    n: u32,
    last: Option<u32>,
}

impl Regular {
    /// A clock of `rate_hz` (> 0 and at most one spike per step:
    /// `rate_hz <= 1000 / dt_ms`) starting at `phase_ms` (>= 0).
    pub fn new(rate_hz: f64, phase_ms: f64, dt_ms: f64) -> Result<Self, Error> {
        check_dt(dt_ms)?;
        if !(rate_hz > 0.0 && rate_hz.is_finite()) {
            return Err(Error::InvalidParameter("rate_hz"));
        }
        let period_ms = 1000.0 / rate_hz;
        if period_ms < dt_ms * (1.0 - 1e-9) {
            return Err(Error::InvalidParameter("rate_hz"));
        }
        if !(phase_ms >= 0.0 && phase_ms.is_finite()) {
            return Err(Error::InvalidParameter("phase_ms"));
        }
        Ok(Regular {
            phase_ms,
            period_ms,
            dt_ms,
            n: 0,
            last: None,
        })
    }

    /// The period (ms).
    pub fn period_ms(&self) -> f64 {
        self.period_ms
    }
}

impl SpikeTrain for Regular {
    fn next_spike<R: RngCore>(&mut self, _rng: &mut R) -> Option<u32> {
        loop {
            // Computed from n (not accumulated), so the phase never drifts.
            let t = self.phase_ms + self.n as f64 * self.period_ms;
            self.n = self.n.checked_add(1)?;
            let k = step_of(t, self.dt_ms)?;
            // A period within 1e-9 of dt could map two spikes to one step by
            // rounding: skip the duplicate rather than break monotonicity.
            if self.last.is_none_or(|l| k > l) {
                self.last = Some(k);
                return Some(k);
            }
        }
    }
}

// ---------------------------------------------------------------------------

/// A Poisson train (Bernoulli process on the step grid), optionally with a
/// dead time.
///
/// Without dead time each step spikes with probability `p = rate dt/1000`.
/// With a dead time of `D = floor(dead/dt + 0.001)` steps, an input that
/// spiked at step `k` cannot spike again before step `k + D` (the neurons'
/// refractory rule: gaps are >= max(D, 1) steps), and from there on it
/// spikes with a constant probability `p'` per step, chosen so that the
/// mean rate is still `rate_hz`: the mean gap `1000/(rate dt)` =
/// `max(D,1) - 1 + 1/p'`. The intervals are a shifted geometric law (the
/// discrete analogue of `dead + exponential`); their coefficient of
/// variation is `sqrt(1 - p') / (p' * mean gap)` < 1. The first spike comes
/// without a dead time, at the start step or later.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoissonTrain {
    geo: Geometric,
    /// Steps added to every gap after the first: max(D, 1) - 1.
    offset: u32,
    /// Step of the last spike, or the start step minus one before the first.
    last: Option<u32>,
    start: u32,
}

impl PoissonTrain {
    /// A homogeneous Poisson train of `rate_hz` (0 ..= 1000/dt) at `dt_ms`.
    pub fn new(rate_hz: f64, dt_ms: f64) -> Result<Self, Error> {
        Self::with_dead_time(rate_hz, 0.0, dt_ms)
    }

    /// A Poisson train of mean rate `rate_hz` with a dead time of
    /// `dead_time_ms` (see the type's documentation). The rate must leave
    /// room for the dead time: `1000/(rate dt) >= max(D, 1)` steps.
    pub fn with_dead_time(rate_hz: f64, dead_time_ms: f64, dt_ms: f64) -> Result<Self, Error> {
        check_dt(dt_ms)?;
        check_rate(rate_hz)?;
        let d = steps_of(dead_time_ms, dt_ms).map_err(|_| Error::InvalidParameter("dead_time_ms"))?;
        Self::from_steps(rate_hz * dt_ms * 1e-3, d)
    }

    /// Mean spikes per step `mean_p` (the rate times dt) and minimum gap
    /// `min_gap` steps.
    fn from_steps(mean_p: f64, min_gap: u32) -> Result<Self, Error> {
        let offset = min_gap.max(1) - 1;
        let p = if mean_p <= 0.0 {
            0.0
        } else {
            // Mean gap 1/mean_p = offset + 1/p.
            let rest = 1.0 / mean_p - offset as f64;
            if rest < 1.0 - 1e-9 {
                return Err(Error::InvalidParameter("rate_hz"));
            }
            (1.0 / rest).min(1.0)
        };
        Ok(PoissonTrain {
            geo: Geometric::new(p),
            offset,
            last: None,
            start: 0,
        })
    }

    /// The same train starting at step `start`: its first spike is at
    /// `start` or later.
    pub fn starting_at(mut self, start: u32) -> Self {
        self.start = start;
        self.last = None;
        self
    }

    /// Probability of a spike per step once the dead time is over.
    pub fn hazard(&self) -> f64 {
        self.geo.p
    }

    /// Dead time in steps beyond the one step every gap has (max(D,1) - 1).
    pub fn dead_steps(&self) -> u32 {
        self.offset
    }
}

impl SpikeTrain for PoissonTrain {
    fn next_spike<R: RngCore>(&mut self, rng: &mut R) -> Option<u32> {
        if self.geo.never() {
            return None;
        }
        let g = self.geo.gap(rng);
        let next = match self.last {
            // First spike: at start - 1 + g >= start.
            None => (self.start as u64 + g as u64 - 1).min(u32::MAX as u64) as u32,
            Some(l) => l.checked_add(self.offset)?.checked_add(g)?,
        };
        if next == u32::MAX {
            return None;
        }
        self.last = Some(next);
        Some(next)
    }
}

// ---------------------------------------------------------------------------

/// Bursts: onsets form a Poisson train with a dead time (so bursts never
/// overlap and the next burst starts at least one intra-burst interval after
/// the last spike of the previous one); each burst is `spikes` spikes
/// `interval` steps apart. Mean rate: `spikes * burst_rate_hz`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bursts {
    onsets: PoissonTrain,
    spikes: u32,
    interval: u32,
    onset: u32,
    /// Spikes of the current burst already given (spikes: none yet).
    given: u32,
}

impl Bursts {
    /// Bursts at `burst_rate_hz` (Hz, of bursts) of `spikes` (>= 1) spikes
    /// `intra_burst_ms` apart (>= dt). The burst rate must leave room for
    /// the bursts: `1000/(burst_rate dt) >= spikes * interval` steps.
    pub fn new(burst_rate_hz: f64, spikes: u32, intra_burst_ms: f64, dt_ms: f64) -> Result<Self, Error> {
        check_dt(dt_ms)?;
        check_rate(burst_rate_hz)?;
        if spikes == 0 {
            return Err(Error::InvalidParameter("spikes_per_burst"));
        }
        let interval = steps_of(intra_burst_ms, dt_ms).map_err(|_| Error::InvalidParameter("intra_burst_ms"))?;
        if interval == 0 {
            return Err(Error::InvalidParameter("intra_burst_ms"));
        }
        let span = spikes
            .checked_mul(interval)
            .ok_or(Error::InvalidParameter("spikes_per_burst"))?;
        let onsets = PoissonTrain::from_steps(burst_rate_hz * dt_ms * 1e-3, span)
            .map_err(|_| Error::InvalidParameter("burst_rate_hz"))?;
        Ok(Bursts {
            onsets,
            spikes,
            interval,
            onset: 0,
            given: spikes,
        })
    }

    /// Steps between the spikes of a burst.
    pub fn interval_steps(&self) -> u32 {
        self.interval
    }
}

impl SpikeTrain for Bursts {
    fn next_spike<R: RngCore>(&mut self, rng: &mut R) -> Option<u32> {
        if self.given >= self.spikes {
            self.onset = self.onsets.next_spike(rng)?;
            self.given = 0;
        }
        let k = self.onset.checked_add(self.given.checked_mul(self.interval)?)?;
        self.given += 1;
        Some(k)
    }
}

// ---------------------------------------------------------------------------

/// One piece of a [`RatePattern`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateSegment {
    /// How long the rate holds (ms, >= 0).
    pub duration_ms: f64,
    /// The Poisson rate during the segment (Hz, 0 ..= 1000/dt).
    pub rate_hz: f64,
}

/// An inhomogeneous Poisson train with a piecewise-constant rate: the
/// segments follow each other from t = 0 (and start over after the last if
/// `repeat`). Segment boundaries fall on the steps that contain them. Exact:
/// when the drawn gap crosses a boundary, the draw restarts at the boundary
/// with the next rate (a Bernoulli process has no memory). Without `repeat`
/// the train ends with the last segment.
#[derive(Debug, Clone)]
pub struct RatePattern<'a> {
    segments: &'a [RateSegment],
    dt_ms: f64,
    repeat: bool,
    total_ms: f64,
    cycle: u32,
    seg: usize,
    seg_geo: Geometric,
    seg_end: u32,
    cursor: u32,
    silent: bool,
}

impl<'a> RatePattern<'a> {
    /// A pattern over `segments` (caller-owned) at `dt_ms`.
    pub fn new(segments: &'a [RateSegment], dt_ms: f64, repeat: bool) -> Result<Self, Error> {
        check_dt(dt_ms)?;
        let mut total_ms = 0.0;
        let mut silent = true;
        for s in segments {
            if !(s.duration_ms >= 0.0 && s.duration_ms.is_finite()) {
                return Err(Error::InvalidParameter("duration_ms"));
            }
            check_rate(s.rate_hz)?;
            if s.rate_hz * dt_ms * 1e-3 > 1.0 + 1e-12 {
                return Err(Error::InvalidParameter("rate_hz"));
            }
            total_ms += s.duration_ms;
            silent &= s.rate_hz == 0.0 || steps_of(s.duration_ms, dt_ms).unwrap_or(0) == 0;
        }
        if repeat && step_of(total_ms, dt_ms).unwrap_or(0) == 0 {
            silent = true;
        }
        let mut p = RatePattern {
            segments,
            dt_ms,
            repeat,
            total_ms,
            cycle: 0,
            seg: 0,
            seg_geo: Geometric::new(0.0),
            seg_end: 0,
            cursor: 0,
            silent,
        };
        p.enter(0);
        Ok(p)
    }

    /// The end step (exclusive) of segment `seg` of cycle `cycle`.
    fn end_of(&self, cycle: u32, seg: usize) -> u32 {
        let within: f64 = self.segments[..=seg].iter().map(|s| s.duration_ms).sum();
        step_of(cycle as f64 * self.total_ms + within, self.dt_ms).unwrap_or(u32::MAX)
    }

    fn enter(&mut self, seg: usize) {
        self.seg = seg;
        if let Some(s) = self.segments.get(seg) {
            self.seg_geo = Geometric::new(s.rate_hz * self.dt_ms * 1e-3);
            self.seg_end = self.end_of(self.cycle, seg);
        }
    }

    /// Moves to the next segment; false when the pattern is over.
    fn advance(&mut self) -> bool {
        if self.seg + 1 < self.segments.len() {
            self.enter(self.seg + 1);
            true
        } else if self.repeat && !self.silent {
            self.cycle = match self.cycle.checked_add(1) {
                Some(c) => c,
                None => return false,
            };
            self.enter(0);
            true
        } else {
            false
        }
    }

    /// The rate (Hz) in force at time `t_ms` (ms), for plots.
    pub fn rate_at(&self, t_ms: f64) -> f64 {
        let t = if self.repeat && self.total_ms > 0.0 {
            t_ms - libm::floor(t_ms / self.total_ms) * self.total_ms
        } else {
            t_ms
        };
        let mut acc = 0.0;
        for s in self.segments {
            acc += s.duration_ms;
            if t < acc {
                return s.rate_hz;
            }
        }
        0.0
    }
}

impl SpikeTrain for RatePattern<'_> {
    fn next_spike<R: RngCore>(&mut self, rng: &mut R) -> Option<u32> {
        if self.silent || self.segments.is_empty() {
            return None;
        }
        loop {
            if self.cursor >= self.seg_end {
                if !self.advance() {
                    return None;
                }
                continue;
            }
            if self.seg_geo.never() {
                self.cursor = self.seg_end;
                continue;
            }
            let k = self.cursor as u64 + self.seg_geo.gap(rng) as u64 - 1;
            if k < self.seg_end as u64 {
                let k = k as u32;
                self.cursor = k.checked_add(1)?;
                return Some(k);
            }
            self.cursor = self.seg_end;
        }
    }
}

// ---------------------------------------------------------------------------

/// How the children of a [`CorrelatedGroup`] share their mother train.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Correlation {
    /// Multiple interaction process (Kuhn, Aertsen & Rotter 2003): every
    /// child spike is a copy of a mother spike. Mother Bernoulli(p/q) per
    /// step, each child keeps each mother spike with probability
    /// `q = c + p (1 - c)` (= c in continuous time). Synchronous events
    /// of Binomial(n, q) children.
    Mip,
    /// Thinning plus independent spikes: mother Bernoulli(p) per step; each
    /// child keeps each mother spike with probability
    /// `q = sqrt(c) / (1 - p (1 - sqrt c))` (= sqrt(c) in continuous time)
    /// and also spikes on its own with probability
    /// `p_i = p (1 - q) / (1 - q p)` per step (one spike if both).
    Mixture,
}

/// A group of `n` inputs (children) of one rate whose spike trains are
/// correlated through a hidden mother train (see [`Correlation`]).
///
/// Each child is a Bernoulli process of exactly `p = rate dt/1000` per step,
/// and for both constructions the Pearson correlation coefficient between
/// two children's spike indicators in a step is exactly `c`; as steps are
/// independent, so is the correlation of their spike counts in any window
/// (1 ms, 10 ms, a whole run). Spikes of different steps are uncorrelated
/// (zero-lag synchrony only). `c = 0` gives independent trains, `c = 1`
/// identical ones.
///
/// Cost per step: O(n) (every child's next independent spike is checked).
#[derive(Debug)]
pub struct CorrelatedGroup<'a> {
    /// Next independent spike of each child (`u32::MAX`: never).
    next: &'a mut [u32],
    mother: Geometric,
    mother_next: u32,
    /// Keep a mother spike if `next_u32 < keep` (keep = q * 2^32).
    keep: u64,
    indep: Geometric,
    kind: Correlation,
    p: f64,
    c: f64,
}

impl<'a> CorrelatedGroup<'a> {
    /// `next.len()` children (<= 65,535) of `rate_hz` with pairwise
    /// correlation `c` in [0, 1], at `dt_ms`; the first spikes can come at
    /// step 0.
    pub fn new<R: RngCore>(
        kind: Correlation,
        rate_hz: f64,
        c: f64,
        dt_ms: f64,
        next: &'a mut [u32],
        rng: &mut R,
    ) -> Result<Self, Error> {
        check_dt(dt_ms)?;
        check_rate(rate_hz)?;
        if next.len() >= u16::MAX as usize {
            return Err(Error::BufferSize("correlated group"));
        }
        if !(0.0..=1.0).contains(&c) {
            return Err(Error::InvalidParameter("correlation"));
        }
        let p = rate_hz * dt_ms * 1e-3;
        if p > 1.0 {
            return Err(Error::InvalidParameter("rate_hz"));
        }
        let (p_mother, q, p_indep) = match kind {
            Correlation::Mip => {
                let q = c + p * (1.0 - c);
                let pm = if q > 0.0 { (p / q).min(1.0) } else { 0.0 };
                (pm, q, 0.0)
            }
            Correlation::Mixture => {
                let s = libm::sqrt(c);
                let q = s / (1.0 - p * (1.0 - s));
                let pi = if q * p < 1.0 {
                    p * (1.0 - q) / (1.0 - q * p)
                } else {
                    0.0
                };
                (p, q, pi.max(0.0))
            }
        };
        let mut g = CorrelatedGroup {
            next,
            mother: Geometric::new(p_mother),
            mother_next: u32::MAX,
            keep: libm::round(q.clamp(0.0, 1.0) * 4_294_967_296.0) as u64,
            indep: Geometric::new(p_indep),
            kind,
            p,
            c,
        };
        if !g.mother.never() {
            g.mother_next = g.mother.gap(rng) - 1;
        }
        for i in 0..g.next.len() {
            g.next[i] = if g.indep.never() {
                u32::MAX
            } else {
                g.indep.gap(rng) - 1
            };
        }
        Ok(g)
    }

    /// Number of children.
    pub fn len(&self) -> usize {
        self.next.len()
    }

    /// Whether the group has no children.
    pub fn is_empty(&self) -> bool {
        self.next.is_empty()
    }

    /// The construction.
    pub fn kind(&self) -> Correlation {
        self.kind
    }

    /// Spike probability per step of each child (rate * dt / 1000).
    pub fn p(&self) -> f64 {
        self.p
    }

    /// The pairwise correlation coefficient of the children.
    pub fn correlation(&self) -> f64 {
        self.c
    }

    /// Writes the children that spike at `step` (increasing index, 0-based
    /// within the group) to `out` (length >= the number of children) and
    /// returns how many. Call it for increasing steps; a spike due at a
    /// skipped step is delivered at the next call.
    pub fn spikes<R: RngCore>(&mut self, step: u32, rng: &mut R, out: &mut [u16]) -> Result<usize, Error> {
        if out.len() < self.next.len() {
            return Err(Error::BufferSize("spike output"));
        }
        let mother = self.mother_next <= step && self.mother_next != u32::MAX;
        if mother {
            self.mother_next = step.saturating_add(self.mother.gap(rng));
        }
        let mut count = 0;
        for (i, next) in self.next.iter_mut().enumerate() {
            let kept = mother && (rng.next_u32() as u64) < self.keep;
            let own = *next <= step && *next != u32::MAX;
            if own {
                *next = step.saturating_add(self.indep.gap(rng));
            }
            if kept || own {
                out[count] = i as u16;
                count += 1;
            }
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    //! Statistical bounds: a count of a Bernoulli process over N steps has
    //! mean N p and variance N p (1 - p); a renewal process's count over T
    //! has variance ~ (T / mean gap) CV^2. Every bound is 4 standard
    //! deviations (a false failure once in ~16,000 runs per check; the
    //! seeds are fixed, so the tests are deterministic).
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;
    use std::vec::Vec;

    const DT: f64 = 0.5;

    fn collect<G: SpikeTrain>(g: &mut G, rng: &mut SmallRng, until: u32) -> Vec<u32> {
        let mut v = Vec::new();
        while let Some(k) = g.next_spike(rng) {
            if k >= until {
                break;
            }
            v.push(k);
        }
        v
    }

    fn within_sigma(count: f64, mean: f64, var: f64, sigmas: f64) -> bool {
        (count - mean).abs() <= sigmas * var.sqrt().max(1.0)
    }

    #[test]
    fn regular_train_spikes_on_the_clock() {
        let mut rng = SmallRng::seed_from_u64(1);
        // 40 Hz = 25 ms = 50 steps, from 3 ms (step 6).
        let mut r = Regular::new(40.0, 3.0, DT).unwrap();
        let s = collect(&mut r, &mut rng, 400);
        assert_eq!(s, [6, 56, 106, 156, 206, 256, 306, 356]);
        // 300 Hz at dt 0.5: period 6.67 steps, gaps 6 or 7, mean exact.
        let mut r = Regular::new(300.0, 0.0, DT).unwrap();
        let s = collect(&mut r, &mut rng, 2_000_000);
        assert!(s.windows(2).all(|w| (6..=7).contains(&(w[1] - w[0]))));
        assert_eq!(s.len(), 300_000);
        assert!(Regular::new(2001.0, 0.0, DT).is_err());
        assert!(Regular::new(2000.0, 0.0, DT).is_ok());
        assert!(Regular::new(0.0, 0.0, DT).is_err());
    }

    #[test]
    fn poisson_rate_is_within_four_sigma_and_gaps_are_geometric() {
        let mut rng = SmallRng::seed_from_u64(2);
        let steps = 4_000_000u32; // 2000 s
        for rate in [1.0, 20.0, 150.0] {
            let mut g = PoissonTrain::new(rate, DT).unwrap();
            let s = collect(&mut g, &mut rng, steps);
            let p = rate * DT * 1e-3;
            let n = steps as f64;
            assert!(
                within_sigma(s.len() as f64, n * p, n * p * (1.0 - p), 4.0),
                "{rate} Hz: {} spikes",
                s.len()
            );
            // P(gap = 1) = p.
            if rate >= 20.0 {
                let gaps = s.len() - 1;
                let ones = s.windows(2).filter(|w| w[1] - w[0] == 1).count();
                let sd = (p * (1.0 - p) / gaps as f64).sqrt();
                assert!((ones as f64 / gaps as f64 - p).abs() < 4.0 * sd, "{rate} Hz");
            }
        }
        let mut g = PoissonTrain::new(0.0, DT).unwrap();
        assert_eq!(g.next_spike(&mut rng), None);
        let mut g = PoissonTrain::new(2000.0, DT).unwrap().starting_at(10);
        assert_eq!(collect(&mut g, &mut rng, 15), [10, 11, 12, 13, 14]);
        assert!(PoissonTrain::new(2001.0, DT).is_err());
        assert!(PoissonTrain::new(f64::NAN, DT).is_err());
    }

    #[test]
    fn dead_time_is_respected_and_the_rate_kept() {
        let mut rng = SmallRng::seed_from_u64(3);
        let steps = 4_000_000u32;
        // 50 Hz with 5 ms dead time: D = 10 steps, mean gap 40 steps.
        let mut g = PoissonTrain::with_dead_time(50.0, 5.0, DT).unwrap();
        assert_eq!(g.dead_steps(), 9);
        let s = collect(&mut g, &mut rng, steps);
        let min_gap = s.windows(2).map(|w| w[1] - w[0]).min().unwrap();
        assert_eq!(min_gap, 10, "gaps >= D and the bound is reached");
        let mean_gap = 40.0;
        let p = g.hazard();
        assert!((p - 1.0 / 31.0).abs() < 1e-12);
        let cv2 = (1.0 - p) / (p * p) / (mean_gap * mean_gap);
        let n_mean = steps as f64 / mean_gap;
        assert!(
            within_sigma(s.len() as f64, n_mean, n_mean * cv2, 4.0),
            "{} spikes, expected {n_mean}",
            s.len()
        );
        // The intervals are more regular than Poisson: measured CV ~ sqrt(cv2).
        let gaps: Vec<f64> = s.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
        let m = gaps.iter().sum::<f64>() / gaps.len() as f64;
        let var = gaps.iter().map(|g| (g - m) * (g - m)).sum::<f64>() / gaps.len() as f64;
        assert!((var.sqrt() / m - cv2.sqrt()).abs() < 0.02, "CV {}", var.sqrt() / m);
        // No room for the dead time: 250 Hz is a 4 ms mean gap < 5 ms.
        assert!(PoissonTrain::with_dead_time(250.0, 5.0, DT).is_err());
        assert!(PoissonTrain::with_dead_time(200.0, 5.0, DT).is_ok());
    }

    #[test]
    fn bursts_have_their_shape_and_rate() {
        let mut rng = SmallRng::seed_from_u64(4);
        let steps = 4_000_000u32;
        // 4 Hz bursts of 5 spikes 3 ms (6 steps) apart: 20 Hz.
        let mut b = Bursts::new(4.0, 5, 3.0, DT).unwrap();
        let s = collect(&mut b, &mut rng, steps);
        let whole = s.len() / 5 * 5;
        for burst in s[..whole].chunks(5) {
            assert!(burst.windows(2).all(|w| w[1] - w[0] == 6));
        }
        for pair in s[..whole].chunks(5).collect::<Vec<_>>().windows(2) {
            assert!(pair[1][0] >= pair[0][4] + 6, "bursts do not overlap");
        }
        // Onsets: renewal with mean gap 500 steps, offset 29, p = 1/471.
        let bursts = (s.len() as f64 / 5.0).round();
        let p = 1.0 / 471.0;
        let cv2 = (1.0 - p) / (p * p) / (500.0 * 500.0);
        let mean = steps as f64 / 500.0;
        assert!(within_sigma(bursts, mean, mean * cv2, 4.0), "{bursts} bursts");
        assert!(Bursts::new(4.0, 0, 3.0, DT).is_err());
        assert!(Bursts::new(4.0, 5, 0.1, DT).is_err());
        assert!(
            Bursts::new(100.0, 5, 3.0, DT).is_err(),
            "bursts of 15 ms cannot come every 10 ms"
        );
    }

    #[test]
    fn rate_pattern_follows_its_segments() {
        let mut rng = SmallRng::seed_from_u64(5);
        let segs = [
            RateSegment {
                duration_ms: 250.0,
                rate_hz: 10.0,
            },
            RateSegment {
                duration_ms: 100.0,
                rate_hz: 0.0,
            },
            RateSegment {
                duration_ms: 150.25,
                rate_hz: 80.0,
            },
        ];
        let mut g = RatePattern::new(&segs, DT, true).unwrap();
        let cycles = 4000u32;
        // The cycle is 500.25 ms: boundaries move by half a step per cycle.
        let s = collect(&mut g, &mut rng, step_of(cycles as f64 * 500.25, DT).unwrap());
        // Classify each spike by the segment whose steps contain it.
        let (mut n, mut steps_in) = ([0u64; 3], [0u64; 3]);
        let mut it = s.iter().peekable();
        for c in 0..cycles {
            let t0 = c as f64 * 500.25;
            let b = [0.0, 250.0, 350.0, 500.25].map(|x| step_of(t0 + x, DT).unwrap());
            for seg in 0..3 {
                steps_in[seg] += (b[seg + 1] - b[seg]) as u64;
                while it.next_if(|&&k| k < b[seg + 1]).is_some() {
                    n[seg] += 1;
                }
            }
        }
        let silent = n[1];
        assert_eq!(silent, 0);
        for (k, rate) in [(0, 10.0), (2, 80.0)] {
            let p = rate * DT * 1e-3;
            let m = steps_in[k] as f64 * p;
            assert!(
                within_sigma(n[k] as f64, m, m * (1.0 - p), 4.0),
                "segment {k}: {} vs {m}",
                n[k]
            );
        }
        assert_eq!(g.rate_at(260.0), 0.0);
        assert_eq!(g.rate_at(500.25 + 10.0), 10.0);
        // Without repeat the train ends with the pattern.
        let mut g = RatePattern::new(&segs, DT, false).unwrap();
        let s = collect(&mut g, &mut rng, u32::MAX);
        assert!(s.last().is_some_and(|&k| k < 1001));
        // All silent, repeating: ends at once instead of looping forever.
        let quiet = [RateSegment {
            duration_ms: 10.0,
            rate_hz: 0.0,
        }];
        assert_eq!(RatePattern::new(&quiet, DT, true).unwrap().next_spike(&mut rng), None);
    }

    /// Per-step indicators of `n` children over `steps` steps.
    fn group_counts(kind: Correlation, rate: f64, c: f64, n: usize, steps: u32, seed: u64) -> Vec<Vec<bool>> {
        let mut rng = SmallRng::seed_from_u64(seed);
        let mut buf = vec![0u32; n];
        let mut g = CorrelatedGroup::new(kind, rate, c, DT, &mut buf, &mut rng).unwrap();
        let mut out = vec![0u16; n];
        let mut x = vec![vec![false; steps as usize]; n];
        for k in 0..steps {
            let m = g.spikes(k, &mut rng, &mut out).unwrap();
            assert!(out[..m].windows(2).all(|w| w[0] < w[1]));
            for &i in &out[..m] {
                x[i as usize][k as usize] = true;
            }
        }
        x
    }

    /// Pearson correlation of two spike-count series in bins of `bin` steps.
    fn pearson(a: &[bool], b: &[bool], bin: usize) -> f64 {
        let counts =
            |x: &[bool]| -> Vec<f64> { x.chunks(bin).map(|c| c.iter().filter(|&&s| s).count() as f64).collect() };
        let (a, b) = (counts(a), counts(b));
        let n = a.len() as f64;
        let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
        let cov = a.iter().zip(&b).map(|(x, y)| (x - ma) * (y - mb)).sum::<f64>() / n;
        let va = a.iter().map(|x| (x - ma) * (x - ma)).sum::<f64>() / n;
        let vb = b.iter().map(|y| (y - mb) * (y - mb)).sum::<f64>() / n;
        cov / (va * vb).sqrt()
    }

    #[test]
    fn correlated_groups_have_their_rate_and_correlation() {
        // 20 Hz, 1000 s, 6 children (15 pairs). The estimate of c from one
        // pair has a standard error of ~0.004 at c = 0.2 (about 4,000
        // coincident spikes); the bound 0.02 on the mean over pairs is > 5 SE.
        let steps = 2_000_000u32;
        let n = 6;
        for kind in [Correlation::Mip, Correlation::Mixture] {
            for (c, seed) in [(0.0, 11), (0.2, 12), (0.5, 13), (1.0, 14)] {
                let x = group_counts(kind, 20.0, c, n, steps, seed);
                let p = 20.0 * DT * 1e-3;
                for xi in &x {
                    let k = xi.iter().filter(|&&s| s).count() as f64;
                    let m = steps as f64 * p;
                    assert!(within_sigma(k, m, m * (1.0 - p), 4.0), "{kind:?} c={c}: {k} vs {m}");
                }
                for bin in [1usize, 20] {
                    let mut sum = 0.0;
                    let mut pairs = 0;
                    for i in 0..n {
                        for j in i + 1..n {
                            sum += pearson(&x[i], &x[j], bin);
                            pairs += 1;
                        }
                    }
                    let r = sum / pairs as f64;
                    assert!((r - c).abs() < 0.02, "{kind:?} c={c} bin={bin}: measured {r}");
                }
            }
        }
    }

    #[test]
    fn same_seed_same_trains_other_seed_other_trains() {
        let run = |seed| {
            let mut rng = SmallRng::seed_from_u64(seed);
            let mut v = collect(
                &mut PoissonTrain::with_dead_time(30.0, 2.0, DT).unwrap(),
                &mut rng,
                100_000,
            );
            v.extend(collect(&mut Bursts::new(3.0, 3, 2.0, DT).unwrap(), &mut rng, 100_000));
            let x = group_counts(Correlation::Mixture, 20.0, 0.3, 3, 20_000, seed);
            (v, x)
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7).0, run(8).0);
    }

    #[test]
    fn pending_polls_a_train_step_by_step() {
        let mut rng = SmallRng::seed_from_u64(9);
        let mut p = Pending::new(Regular::new(100.0, 0.0, DT).unwrap(), &mut rng);
        let fired: Vec<u32> = (0..100).filter(|&k| p.fires(k, &mut rng)).collect();
        assert_eq!(fired, [0, 20, 40, 60, 80]);
        assert_eq!(p.peek(), Some(100));
    }

    #[test]
    fn bad_parameters_are_errors() {
        let mut rng = SmallRng::seed_from_u64(1);
        let mut buf = [0u32; 2];
        assert_eq!(
            CorrelatedGroup::new(Correlation::Mip, 20.0, 1.5, DT, &mut buf, &mut rng).err(),
            Some(Error::InvalidParameter("correlation"))
        );
        let mut g = CorrelatedGroup::new(Correlation::Mip, 20.0, 0.5, DT, &mut buf, &mut rng).unwrap();
        assert_eq!(
            g.spikes(0, &mut rng, &mut [0u16; 1]),
            Err(Error::BufferSize("spike output"))
        );
        assert!(PoissonTrain::new(10.0, 0.0).is_err());
        assert!(PoissonTrain::with_dead_time(10.0, -1.0, DT).is_err());
        let bad = [RateSegment {
            duration_ms: -1.0,
            rate_hz: 1.0,
        }];
        assert!(RatePattern::new(&bad, DT, false).is_err());
    }
}
