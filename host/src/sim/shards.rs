//! One network on several cores: the excitatory and inhibitory layers split
//! into contiguous neuron ranges (shards, [`stdp_core::shard`]), each
//! simulated by its own [`Sim`] on its own thread, in lockstep. The shards
//! exchange three kinds of numbers (spike counts for lateral inhibition, the
//! quiescence of the rest period, the spike total of the intensity retry)
//! through a [`Team`] of atomics, and nothing else: results are
//! bit-identical to one thread for any number of shards (tested in
//! `tests/shards.rs`).
//!
//! Cost: one exchange per simulated step (~0.1-0.3 us between two cores),
//! so splitting pays only where a step is long: measured on a 2-core
//! machine, from about 1,000 neurons on (see [`shards_for`]), and only
//! while every shard has a core: [`ShardedSim`] moves the network between
//! its shards and one shard as the machine lets it ([`crate::sim::adapt`]).

use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Result};
use stdp_core::shard::{shard_range, Collective};
use stdp_core::Real;

use crate::config::Config;
use crate::examples::Input;
use crate::sim::adapt::{Adapt, IdleMeter, Mode};
use crate::sim::dc::input_delays;
use crate::sim::dc::{ExampleResult, Rng, Sim};

/// Fewest neurons per shard: below this a step is too short for the
/// exchange to pay (measured: `host-sim bench`, docs/results/speed.md).
pub const MIN_NEURONS_PER_SHARD: usize = 512;

/// How many shards `threads` threads should split a layer of `n` neurons
/// into: as many as there are threads, but no more than this machine has
/// cores (shards wait for each other every step: one without a core of its
/// own stalls them all) and no shard under [`MIN_NEURONS_PER_SHARD`]
/// neurons; at least one.
pub fn shards_for(n: usize, threads: usize) -> usize {
    threads.min(available_threads()).min(n / MIN_NEURONS_PER_SHARD).max(1)
}

/// The number of threads of this machine.
pub fn available_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// How long a shard spins for the others in one exchange before it sleeps.
const SPIN_LIMIT: Duration = Duration::from_micros(500);

/// One slot per shard and parity, each on its own cache line.
#[repr(align(128))]
#[derive(Debug, Default)]
struct Slot(AtomicU64);

/// The exchange of one presentation among `n` shards.
///
/// Each `all_sum` of rank r (counted per member from 1) posts: writes
/// `(r << 32) | value` to the member's slot of parity r % 2; then collects: reads every member's slot of that parity
/// until it holds rank r. Two parities suffice: a member can overwrite its
/// parity-r slot (at rank r + 2) only after it has collected rank r + 1,
/// that is after every member has posted rank r + 1, hence has collected
/// rank r.
#[derive(Debug)]
pub struct Team {
    slots: Vec<Slot>,
    n: usize,
    /// A shard failed: the others stop waiting for it (and panic too).
    failed: AtomicBool,
}

impl Team {
    /// An exchange for `n` shards.
    pub fn new(n: usize) -> Self {
        Team {
            slots: (0..2 * n).map(|_| Slot::default()).collect(),
            n,
            failed: AtomicBool::new(false),
        }
    }
    /// Shard `me`'s side of it.
    pub fn member(&self, me: usize) -> Member<'_> {
        Member {
            team: self,
            me,
            rank: 0,
        }
    }
}

/// One shard's side of a [`Team`].
#[derive(Debug)]
pub struct Member<'a> {
    team: &'a Team,
    me: usize,
    rank: u32,
}

impl Collective for Member<'_> {
    fn all_sum(&mut self, x: u32) -> u32 {
        self.post(x);
        self.collect()
    }
}

impl Member<'_> {
    /// Passes `x` on: the first half of an `all_sum`.
    fn post(&mut self, x: u32) {
        self.rank = self.rank.wrapping_add(1);
        let base = (self.rank as usize & 1) * self.team.n;
        self.team.slots[base + self.me]
            .0
            .store(((self.rank as u64) << 32) | x as u64, Ordering::Release);
    }

    /// Waits for every member's value of this rank: the second half.
    fn collect(&mut self) -> u32 {
        let (rank, n) = (self.rank, self.team.n);
        let base = (rank as usize & 1) * n;
        let mut sum = 0u32;
        let mut since: Option<Instant> = None;
        for k in 0..n {
            let slot = &self.team.slots[base + k].0;
            let mut spins = 0u32;
            loop {
                let v = slot.load(Ordering::Acquire);
                if (v >> 32) as u32 == rank {
                    sum = sum.wrapping_add(v as u32);
                    break;
                }
                spins = spins.wrapping_add(1);
                if !spins.is_multiple_of(256) {
                    std::hint::spin_loop();
                    continue;
                }
                if self.team.failed.load(Ordering::Relaxed) {
                    panic!("another shard of this network failed");
                }
                // Spin (a shard a few microseconds late is the usual case),
                // never yield: `sched_yield` hands this core to any other
                // runnable process for a whole time slice, niced or not,
                // every step. A shard that stays away this long has lost its
                // core: sleep, and let the adaptive split (see
                // [`ShardedSim`]) move the network onto one shard.
                let now = Instant::now();
                if now.duration_since(*since.get_or_insert(now)) > SPIN_LIMIT {
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
        }
        sum
    }
}

/// A network split into shards, one thread each (one shard: no threads).
///
/// Made with more than one shard it is adaptive by default: each
/// presentation runs split or on one shard, whichever is cheaper on the
/// machine as it is ([`Adapt`]); the numbers are the same either way.
#[derive(Debug, Clone)]
pub struct ShardedSim<T: Real> {
    /// The whole network's configuration.
    pub cfg: Config,
    shards: Vec<Sim<T>>,
    ranges: Vec<Range<usize>>,
    /// Shards when split.
    split: usize,
    /// The policy (`None`: fixed at `split` shards).
    adapt: Option<Adapt>,
    meter: IdleMeter,
    pool: Workers,
}

/// The threads that run shards 1.. (shard 0 runs on the caller's), kept
/// from one presentation to the next: a thread started per presentation
/// cost ~120 us at 1,600 neurons (its start and its cold caches), 7 % of
/// a presentation. A clone of the network starts threads of its own.
#[derive(Debug, Default)]
struct Workers(Option<rayon::ThreadPool>);

impl Clone for Workers {
    fn clone(&self) -> Self {
        Workers(None)
    }
}

impl Workers {
    /// A pool of `n` threads (made anew if it had another size).
    fn get(&mut self, n: usize) -> &rayon::ThreadPool {
        if self.0.as_ref().map(rayon::ThreadPool::current_num_threads) != Some(n) {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .thread_name(|k| format!("shard {}", k + 1))
                .build()
                .unwrap_or_else(|e| panic!("cannot start the shards' threads: {e}"));
            self.0 = Some(pool);
        }
        self.0.as_ref().expect("just made")
    }
}

impl<T: Real> ShardedSim<T> {
    /// The network of [`Sim::new`] split into `shards` shards (at most one
    /// per neuron).
    ///
    /// With more than one shard it is adaptive ([`Adapt`]): it starts on
    /// one shard and splits when that pays; [`ShardedSim::set_adaptive`]
    /// turns this off.
    ///
    /// `STDP_SPLIT=always` in the environment splits every presentation
    /// (tests of the split path, benchmarks); `adaptive` or unset is the
    /// default; anything else is an error.
    pub fn new(cfg: &Config, weights: &[f64], theta: Option<&[f64]>, shards: usize) -> Result<Self> {
        let count = shards.clamp(1, cfg.n_neurons.max(1));
        let adaptive = match std::env::var("STDP_SPLIT").as_deref() {
            Err(_) | Ok("adaptive") => true,
            Ok("always") => false,
            Ok(other) => bail!("STDP_SPLIT={other}: use adaptive (the default) or always"),
        };
        if !adaptive {
            return Self::fixed(cfg, weights, theta, count);
        }
        let mut sim = Self::fixed(cfg, weights, theta, 1)?;
        sim.split = count;
        if count > 1 {
            sim.adapt = Some(Adapt::new());
            sim.meter.mark();
        }
        Ok(sim)
    }

    /// [`ShardedSim::new`] without the adaptive split.
    fn fixed(cfg: &Config, weights: &[f64], theta: Option<&[f64]>, shards: usize) -> Result<Self> {
        cfg.check()?;
        let (ni, n) = (cfg.n_inputs, cfg.n_neurons);
        if weights.len() != ni * n {
            bail!("weights: {} values, need {}", weights.len(), ni * n);
        }
        if let Some(t) = theta {
            if t.len() != n {
                bail!("theta: {} values, need {n}", t.len());
            }
        }
        let count = shards.clamp(1, n);
        let ranges: Vec<_> = (0..count).map(|k| shard_range(n, count, k)).collect();
        let mut sims = Vec::with_capacity(count);
        for r in &ranges {
            let sub = Config {
                n_neurons: r.len(),
                ..*cfg
            };
            let w: Vec<f64> = weights
                .chunks_exact(n)
                .flat_map(|row| row[r.clone()].iter().copied())
                .collect();
            let th = theta.map(|t| &t[r.clone()]);
            sims.push(Sim::new(&sub, &w, th)?);
        }
        let delays = input_delays(cfg);
        if !delays.is_empty() {
            for (sim, r) in sims.iter_mut().zip(&ranges) {
                let d = delays
                    .chunks_exact(n)
                    .flat_map(|row| row[r.clone()].iter().copied())
                    .collect();
                sim.st.set_delays(d);
            }
        }
        Ok(ShardedSim {
            cfg: *cfg,
            shards: sims,
            split: count,
            ranges,
            adapt: None,
            meter: IdleMeter::default(),
            pool: Workers::default(),
        })
    }

    /// Number of shards the next presentation runs on (threads it uses).
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// Number of shards when split (what it was made with).
    pub fn split_shards(&self) -> usize {
        self.split
    }

    /// Turns the adaptive split on (from one shard, as [`ShardedSim::new`])
    /// or off (every presentation on all the shards it was made with, or
    /// on those [`ShardedSim::reshard`] moves it to).
    pub fn set_adaptive(&mut self, on: bool) -> Result<()> {
        self.adapt = (on && self.split > 1).then(Adapt::new);
        self.meter.mark();
        self.reshard(if self.adapt.is_some() { 1 } else { self.split })
    }

    /// Share of presentations that ran split and how often the adaptive
    /// split changed (`None`: not adaptive).
    pub fn adapt_stats(&self) -> Option<(f64, u64)> {
        self.adapt.as_ref().map(Adapt::stats)
    }

    /// Moves the network onto `count` shards (at most one per neuron),
    /// exactly: weights, theta, every dynamic variable and the step
    /// counters, as a checkpoint carries them.
    pub fn reshard(&mut self, count: usize) -> Result<()> {
        let count = count.clamp(1, self.cfg.n_neurons);
        if count == self.shards.len() {
            return Ok(());
        }
        let (values, ints) = (self.dynamic_values(), self.dynamic_ints());
        let (post_step, isa) = (self.shards[0].st.post_step, self.shards[0].isa);
        let next = Self::fixed(&self.cfg, &self.weights_f64(), Some(&self.theta_f64()), count)?;
        self.shards = next.shards;
        self.ranges = next.ranges;
        ensure!(
            self.restore_dynamic(&values, &ints),
            "resharding: the state does not fit"
        );
        for s in &mut self.shards {
            s.st.post_step = post_step;
            s.isa = isa;
        }
        Ok(())
    }

    /// The shards' simulations, in neuron order.
    pub fn parts(&self) -> &[Sim<T>] {
        &self.shards
    }

    /// Presents one digit ([`Sim::present`]) with every shard on its own
    /// thread; `rng` ends where one network's would.
    pub fn present(&mut self, pixels: &[u8], rng: &mut Rng, learn: bool, independent: bool) -> ExampleResult {
        self.present_example(&Input::Pixels(pixels), rng, learn, independent)
    }

    /// Presents one example's input, a digit or a recording
    /// ([`Sim::present_input`]), with every shard on its own thread (each
    /// reads the same events).
    pub fn present_example(
        &mut self,
        input: &Input<'_>,
        rng: &mut Rng,
        learn: bool,
        independent: bool,
    ) -> ExampleResult {
        if self.adapt.is_none() {
            return self.present_here(input, rng, learn, independent);
        }
        let (t0, step0) = (Instant::now(), self.shards[0].st.step);
        let r = self.present_here(input, rng, learn, independent);
        let steps = self.shards[0].st.step.wrapping_sub(step0);
        let meter = &mut self.meter;
        let next = self
            .adapt
            .as_mut()
            .and_then(|a| a.observe(t0.elapsed(), steps, || meter.spare_core()));
        if let Some(mode) = next {
            if mode == Mode::Whole {
                self.meter.mark();
            }
            let count = if mode == Mode::Whole { 1 } else { self.split };
            // Sizes that trained a presentation cannot fail to move.
            if let Err(e) = self.reshard(count) {
                panic!("{e:#}");
            }
        }
        r
    }

    /// One presentation on the shards of the moment.
    fn present_here(&mut self, input: &Input<'_>, rng: &mut Rng, learn: bool, independent: bool) -> ExampleResult {
        if self.shards.len() == 1 {
            return self.shards[0].present_example(input, rng, learn, independent);
        }
        let team = Team::new(self.shards.len());
        let start = rng.clone();
        let mut results: Vec<Option<(ExampleResult, Rng)>> = vec![None; self.shards.len()];
        let workers = self.shards.len() - 1;
        let pool = self.pool.get(workers);
        pool.in_place_scope(|scope| {
            let (first, rest) = self.shards.split_first_mut().expect("at least one shard");
            let (r0, r_rest) = results.split_first_mut().expect("one result per shard");
            for (k, (sim, out)) in rest.iter_mut().zip(r_rest.iter_mut()).enumerate() {
                let (team, mut rng) = (&team, start.clone());
                scope.spawn(move |_| {
                    let r = run(sim, input, &mut rng, learn, independent, &mut team.member(k + 1));
                    *out = Some((r, rng));
                });
            }
            let mut rng0 = start.clone();
            let r = run(first, input, &mut rng0, learn, independent, &mut team.member(0));
            *r0 = Some((r, rng0));
        });
        let mut merged = ExampleResult::default();
        for (k, r) in results.into_iter().enumerate() {
            let (r, end) = r.expect("every shard ran");
            if k == 0 {
                merged.retries = r.retries;
                merged.input_spikes = r.input_spikes;
                *rng = end;
            }
            merged.counts.extend_from_slice(&r.counts);
        }
        merged
    }

    /// Weights as f64, row-major by input (as [`Sim::weights_f64`]).
    pub fn weights_f64(&self) -> Vec<f64> {
        let ni = self.cfg.n_inputs;
        let mut out = Vec::with_capacity(ni * self.cfg.n_neurons);
        for i in 0..ni {
            for (sim, r) in self.shards.iter().zip(&self.ranges) {
                out.extend(
                    sim.st.weights[i * r.len()..(i + 1) * r.len()]
                        .iter()
                        .map(|w| w.to_f64()),
                );
            }
        }
        out
    }

    /// theta (mV) as f64.
    pub fn theta_f64(&self) -> Vec<f64> {
        self.shards.iter().flat_map(|s| s.theta_f64()).collect()
    }

    /// [`crate::sim::owned::OwnedState::dynamic_values`] of the whole network.
    pub fn dynamic_values(&self) -> Vec<f64> {
        let parts: Vec<Vec<f64>> = self.shards.iter().map(|s| s.st.dynamic_values()).collect();
        let (ni, inh) = (self.cfg.n_inputs, self.has_inh());
        let mut out = parts[0][..ni].to_vec();
        // Then 5 per-neuron groups (x_post1, x_post2, v, ge, gi) and, with
        // the inhibitory layer, 4 more (v, ge, gi, theta).
        let groups = 5 + if inh { 4 } else { 0 };
        for g in 0..groups {
            for (p, r) in parts.iter().zip(&self.ranges) {
                out.extend_from_slice(&p[ni + g * r.len()..ni + (g + 1) * r.len()]);
            }
        }
        out
    }

    /// [`crate::sim::owned::OwnedState::dynamic_ints`] of the whole network.
    pub fn dynamic_ints(&self) -> Vec<u32> {
        let parts: Vec<Vec<u32>> = self.shards.iter().map(|s| s.st.dynamic_ints()).collect();
        // Per input: pre_last, and with delays pre_hist (the same in every shard).
        let ni = self.per_input_ints();
        let mut out = parts[0][..ni].to_vec();
        let groups = 1 + usize::from(self.has_inh());
        for g in 0..groups {
            for (p, r) in parts.iter().zip(&self.ranges) {
                out.extend_from_slice(&p[ni + g * r.len()..ni + (g + 1) * r.len()]);
            }
        }
        out.push(*parts[0].last().expect("the step"));
        out
    }

    /// Restores what [`ShardedSim::dynamic_values`] and
    /// [`ShardedSim::dynamic_ints`] saved; false if the lengths do not fit.
    pub fn restore_dynamic(&mut self, values: &[f64], ints: &[u32]) -> bool {
        let (ni, n, inh) = (self.cfg.n_inputs, self.cfg.n_neurons, self.has_inh());
        let pi = self.per_input_ints();
        let (vg, ig) = (5 + if inh { 4 } else { 0 }, 1 + usize::from(inh));
        if values.len() != ni + vg * n || ints.len() != pi + ig * n + 1 {
            return false;
        }
        let mut ok = true;
        for (sim, r) in self.shards.iter_mut().zip(&self.ranges) {
            let mut v = values[..ni].to_vec();
            for g in 0..vg {
                v.extend_from_slice(&values[ni + g * n + r.start..ni + g * n + r.end]);
            }
            let mut k = ints[..pi].to_vec();
            for g in 0..ig {
                k.extend_from_slice(&ints[pi + g * n + r.start..pi + g * n + r.end]);
            }
            k.push(ints[ints.len() - 1]);
            ok &= sim.st.restore_dynamic(&v, &k);
        }
        ok
    }

    /// The same network as one [`Sim`] (weights, theta and step counter;
    /// the dynamic state at rest), e.g. for frozen passes.
    pub fn whole(&self) -> Result<Sim<T>> {
        let mut sim = Sim::new(&self.cfg, &self.weights_f64(), Some(&self.theta_f64()))?;
        sim.st.step = self.shards[0].st.step;
        sim.st.post_step = sim.st.step;
        Ok(sim)
    }

    fn per_input_ints(&self) -> usize {
        self.cfg.n_inputs * (1 + usize::from(!self.shards[0].st.pre_hist.is_empty()))
    }

    fn has_inh(&self) -> bool {
        self.shards[0].net.has_inhibitory_layer()
    }
}

/// One shard's presentation. The buffers were sized by this network and
/// the digit by the data set's checks, so it cannot fail; a failure would
/// be a bug and panics (as [`Sim::present`]).
fn run<T: Real>(
    sim: &mut Sim<T>,
    input: &Input<'_>,
    rng: &mut Rng,
    learn: bool,
    independent: bool,
    c: &mut Member<'_>,
) -> ExampleResult {
    match sim.present_input(input, rng, learn, independent, None, c) {
        Ok(r) => r,
        Err(e) => {
            c.team.failed.store(true, Ordering::Relaxed);
            panic!("{e:#}")
        }
    }
}
