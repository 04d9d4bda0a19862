//! When to split a network across cores, decided from measurements while it
//! runs.
//!
//! Shards ([`crate::sim::shards`]) exchange numbers every simulated step, so
//! they pay only while each has a core to itself: with one other busy
//! process on a 2-core machine, a 1,600-neuron presentation on two shards
//! took 40 times as long as on one (355 against 8.8 examples/s, `host-sim
//! bench --contend`, docs/results/speed.md). [`Adapt`] watches the cost of
//! every presentation (wall time per simulated step) and runs the next one
//! on all shards or on one, whichever is cheaper now:
//!
//! - It starts on one shard, which never collapses.
//! - On one shard it tries the split (a probe: one presentation that pays
//!   for the move, then four measured) only when the machine has had a
//!   core to spare lately ([`IdleMeter`]: idle and niced time in
//!   `/proc/stat`, where Linux has it) and enough presentations have
//!   passed: 16 at the start and after a probe that paid, twice as many
//!   after each that did not (up to 4,096), and never before the time since
//!   the last failed probe is 20 times what it cost (failed probes cost at
//!   most ~5 % of the run). The split stays if it was cheaper.
//! - Split, it compares the split cost (a moving average) with the last
//!   measured cost of one shard and falls back to one shard as soon as
//!   splitting is 10 % dearer. A busy core shows within a presentation.
//!
//! Which shard count a presentation runs on never changes its numbers
//! (the network moves between shard counts exactly, as a checkpoint does),
//! so the choice is free to follow the machine.

use std::time::{Duration, Instant};

/// Presentations on one shard before the first probe of the split, and
/// after a probe that paid.
const MIN_BACKOFF: u32 = 16;
/// Most presentations between two probes of the split.
const MAX_BACKOFF: u32 = 4096;
/// A failed probe is repeated only after this many times its cost.
const PROBE_COST_RATIO: u32 = 20;
/// Weight of the newest presentation in the moving averages.
const ALPHA: f64 = 0.3;
/// Presentations measured in a probe (after the first, which pays for
/// the move: fresh buffers, cold caches, and is not counted).
const PROBE_LEN: u32 = 4;
/// Split falls back to one shard when it costs more than this times one
/// shard's last measured cost (the margin keeps noise from moving it).
const HYSTERESIS: f64 = 1.1;

/// Where presentations run: on one shard or split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One shard, one thread.
    Whole,
    /// All shards, one thread each.
    Split,
}

/// The decision state (no clock or OS access: what it sees is passed in,
/// so the policy is tested on made-up costs).
#[derive(Debug, Clone)]
pub struct Adapt {
    mode: Mode,
    /// Moving average of ns per step, by mode (`None`: not measured).
    cost: [Option<f64>; 2],
    /// Presentations since the last switch.
    in_mode: u32,
    /// The current mode is a probe: decide after [`PROBE_LEN`].
    probing: bool,
    /// Presentations on one shard before the next probe of the split.
    backoff: u32,
    /// Wall time spent in the current mode.
    spent: Duration,
    /// Wall time since the last failed probe, and what it cost.
    since_failed: Duration,
    failed_cost: Duration,
    /// Presentations run split / in all.
    split_runs: u64,
    runs: u64,
    switches: u64,
}

fn slot(m: Mode) -> usize {
    match m {
        Mode::Whole => 0,
        Mode::Split => 1,
    }
}

impl Default for Adapt {
    fn default() -> Self {
        Self::new()
    }
}

impl Adapt {
    /// Starts on one shard (which never collapses) and probes the split
    /// as soon as a core is spare.
    pub fn new() -> Self {
        Adapt {
            mode: Mode::Whole,
            cost: [None, None],
            in_mode: 0,
            probing: false,
            backoff: MIN_BACKOFF,
            spent: Duration::ZERO,
            since_failed: Duration::ZERO,
            failed_cost: Duration::ZERO,
            split_runs: 0,
            runs: 0,
            switches: 0,
        }
    }

    /// Where the next presentation runs.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Share of presentations that ran split, and how often the mode changed.
    pub fn stats(&self) -> (f64, u64) {
        let share = if self.runs == 0 {
            0.0
        } else {
            self.split_runs as f64 / self.runs as f64
        };
        (share, self.switches)
    }

    /// Records a presentation of the current mode (`wall` for `steps`
    /// steps) and decides where the next runs; `spare_core` says whether
    /// the machine has had a core to spare lately (`None`: unknown, treated
    /// as yes; asked only when a probe is otherwise due). Returns the new
    /// mode if it changes.
    pub fn observe(&mut self, wall: Duration, steps: u32, spare_core: impl FnOnce() -> Option<bool>) -> Option<Mode> {
        let c = wall.as_nanos() as f64 / f64::from(steps.max(1));
        let s = slot(self.mode);
        // The first presentation after a move pays for it: not counted.
        if self.in_mode > 0 || self.switches == 0 {
            self.cost[s] = Some(match (self.in_mode, self.cost[s]) {
                (1, _) | (_, None) => c,
                (_, Some(old)) => old + ALPHA * (c - old),
            });
        }
        self.in_mode += 1;
        self.spent += wall;
        self.since_failed += wall;
        self.runs += 1;
        if self.mode == Mode::Split {
            self.split_runs += 1;
        }
        let [whole, split] = self.cost;
        let next = match self.mode {
            Mode::Split if self.probing => {
                if self.in_mode <= PROBE_LEN {
                    return None;
                }
                self.probing = false;
                match (split, whole) {
                    (Some(sp), Some(w)) if sp < w => {
                        self.backoff = MIN_BACKOFF;
                        return None;
                    }
                    _ => {
                        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                        self.failed_cost = self.spent;
                        self.since_failed = Duration::ZERO;
                        Mode::Whole
                    }
                }
            }
            Mode::Split => match (split, whole) {
                (Some(sp), Some(w)) if sp > w * HYSTERESIS => Mode::Whole,
                _ => return None,
            },
            Mode::Whole => {
                let due = self.in_mode >= self.backoff
                    && self.since_failed >= self.failed_cost * PROBE_COST_RATIO
                    && spare_core().unwrap_or(true);
                if !due {
                    return None;
                }
                self.probing = true;
                Mode::Split
            }
        };
        self.mode = next;
        self.in_mode = 0;
        self.spent = Duration::ZERO;
        self.switches += 1;
        Some(next)
    }
}

/// Whether the machine has had a core to spare since the last reading:
/// idle, I/O wait and niced time (a niced process yields to ours) across
/// all cores, from `/proc/stat` (Linux; elsewhere `None`: unknown).
#[derive(Debug, Clone, Default)]
pub struct IdleMeter {
    last: Option<(Instant, u64, u64)>,
}

/// Shortest interval between two readings (the counters tick every 10 ms).
const METER_INTERVAL: Duration = Duration::from_millis(50);

impl IdleMeter {
    /// Takes a reading to compare the next one with.
    pub fn mark(&mut self) {
        if let Some((spare, total, _)) = read_proc_stat() {
            self.last = Some((Instant::now(), spare, total));
        }
    }

    /// At least half a core spare on average since the last reading
    /// (which this one replaces); `Some(false)` until 50 ms
    /// has passed since it, `None` where `/proc/stat` cannot be read.
    pub fn spare_core(&mut self) -> Option<bool> {
        let now = Instant::now();
        if let Some((t0, ..)) = self.last {
            if now.duration_since(t0) < METER_INTERVAL {
                return Some(false);
            }
        }
        let (spare, total, cores) = read_proc_stat()?;
        let Some((_, s0, t0)) = self.last.replace((now, spare, total)) else {
            return Some(false);
        };
        let (ds, dt) = (spare.saturating_sub(s0), total.saturating_sub(t0));
        if dt == 0 {
            return Some(false);
        }
        Some(ds as f64 / dt as f64 * cores as f64 >= 0.5)
    }
}

fn read_proc_stat() -> Option<(u64, u64, usize)> {
    parse_proc_stat(&std::fs::read_to_string("/proc/stat").ok()?)
}

/// From `/proc/stat`: (idle + iowait + nice ticks, all ticks, cores).
pub fn parse_proc_stat(text: &str) -> Option<(u64, u64, usize)> {
    let mut lines = text.lines();
    let first = lines.next()?;
    let mut f = first.split_whitespace();
    if f.next()? != "cpu" {
        return None;
    }
    let v: Vec<u64> = f.map_while(|x| x.parse().ok()).collect();
    if v.len() < 5 {
        return None;
    }
    // user nice system idle iowait irq softirq steal (guest is in user).
    let total: u64 = v.iter().take(8).sum();
    let spare = v[1] + v[3] + v[4];
    let cores = text
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    Some((spare, total, cores.max(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Runs `n` presentations of 1,000 steps whose cost per mode is `cost`.
    fn run(a: &mut Adapt, n: usize, mut cost: impl FnMut(Mode) -> Duration, spare: Option<bool>) -> Vec<Mode> {
        (0..n)
            .map(|_| {
                let m = a.mode();
                a.observe(cost(m), 1000, || spare);
                m
            })
            .collect()
    }

    #[test]
    fn a_quiet_machine_splits_after_the_first_probe_and_stays() {
        let mut a = Adapt::new();
        let quiet = |m| if m == Mode::Split { 2 * MS } else { 3 * MS };
        let modes = run(&mut a, 200, quiet, Some(true));
        let whole: Vec<usize> = (0..200).filter(|&i| modes[i] == Mode::Whole).collect();
        assert_eq!(whole, (0..MIN_BACKOFF as usize).collect::<Vec<_>>());
        assert_eq!(a.stats().1, 1, "one move");
    }

    #[test]
    fn contention_falls_back_within_a_presentation_and_returns_when_it_ends() {
        let mut a = Adapt::new();
        run(
            &mut a,
            50,
            |m| if m == Mode::Split { 2 * MS } else { 3 * MS },
            Some(true),
        );
        assert_eq!(a.mode(), Mode::Split);
        // A busy core: split presentations take 40 times as long.
        let busy = |m| if m == Mode::Split { 80 * MS } else { 3 * MS };
        let modes = run(&mut a, 2000, busy, Some(false));
        assert_eq!(modes[0], Mode::Split);
        assert!(
            modes[1..].iter().all(|&m| m == Mode::Whole),
            "no probe while no core is spare"
        );
        // The core is free again: back to split within the backoff.
        let modes = run(
            &mut a,
            100,
            |m| if m == Mode::Split { 2 * MS } else { 3 * MS },
            Some(true),
        );
        let first_split = modes.iter().position(|&m| m == Mode::Split).expect("returns to split");
        assert!(first_split <= MIN_BACKOFF as usize, "{first_split}");
        assert!(modes[first_split..].iter().all(|&m| m == Mode::Split));
    }

    #[test]
    fn failed_probes_back_off_and_cost_little() {
        // The meter says a core is spare (e.g. a container's /proc/stat is
        // the host's) but splitting never pays.
        let mut a = Adapt::new();
        let cost = |m| if m == Mode::Split { 40 * MS } else { 3 * MS };
        let modes = run(&mut a, 20_000, cost, None);
        let split = modes.iter().filter(|&&m| m == Mode::Split).count();
        let time_split = split as f64 * 40.0;
        let time_total = time_split + (modes.len() - split) as f64 * 3.0;
        assert!(
            time_split / time_total < 0.06,
            "probes took {:.1} % of the time",
            100.0 * time_split / time_total
        );
        assert!(a.stats().1 > 4, "it keeps probing now and then");
    }

    #[test]
    fn no_spare_core_no_split() {
        let mut a = Adapt::new();
        let modes = run(
            &mut a,
            1000,
            |m| if m == Mode::Split { 2 * MS } else { 3 * MS },
            Some(false),
        );
        assert!(modes.iter().all(|&m| m == Mode::Whole));
    }

    #[test]
    fn noise_within_the_margin_does_not_move_it() {
        let mut a = Adapt::new();
        run(
            &mut a,
            30,
            |m| if m == Mode::Split { 2 * MS } else { 3 * MS },
            Some(true),
        );
        assert_eq!(a.mode(), Mode::Split);
        let switches = a.stats().1;
        // Split costs swing between 2.0 and 3.2 ms around one shard's 3.
        let mut k = 0;
        let modes = run(
            &mut a,
            500,
            |m| {
                k += 1;
                match m {
                    Mode::Split if k % 2 == 0 => 2 * MS,
                    Mode::Split => Duration::from_micros(3200),
                    Mode::Whole => 3 * MS,
                }
            },
            Some(true),
        );
        assert!(modes.iter().all(|&m| m == Mode::Split));
        assert_eq!(a.stats().1, switches);
    }

    #[test]
    fn proc_stat_is_read() {
        let text =
            "cpu  100 20 30 400 5 0 1 0 0 0\ncpu0 50 10 15 200 2 0 1 0 0 0\ncpu1 50 10 15 200 3 0 0 0 0 0\nintr 1\n";
        assert_eq!(parse_proc_stat(text), Some((425, 556, 2)));
        assert_eq!(parse_proc_stat("garbage"), None);
        assert_eq!(parse_proc_stat(""), None);
    }
}
