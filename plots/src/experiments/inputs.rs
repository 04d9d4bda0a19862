//! Input spike trains on the host: the core's generators
//! ([`stdp_core::trains`]) collected into per-step schedules, and trains
//! read from a CSV file of `index,time_ms` lines.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use rand::rngs::SmallRng;
use rand::SeedableRng;
use stdp_core::trains::{
    step_of, Bursts, CorrelatedGroup, Correlation, PoissonTrain, RatePattern, RateSegment, Regular, SpikeTrain,
};

use super::TrainKind;

/// For each step, the inputs that spike in it (increasing index).
pub type Schedule = Vec<Vec<u16>>;

/// The random generator of the experiments' spike trains, from a seed
/// and a stream number (so that every input or group has its own stream).
pub fn rng(seed: u64, stream: u64) -> SmallRng {
    SmallRng::seed_from_u64(seed ^ stream.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// The steps (below `steps`) at which `train` spikes.
pub fn collect<G: SpikeTrain>(train: &mut G, rng: &mut SmallRng, steps: u32) -> Vec<u32> {
    let mut v = Vec::new();
    while let Some(k) = train.next_spike(rng) {
        if k >= steps {
            break;
        }
        v.push(k);
    }
    v
}

/// Adds `input`'s spike steps to a schedule of `steps` steps.
pub fn add_train(schedule: &mut Schedule, input: u16, spike_steps: &[u32]) {
    for &k in spike_steps {
        if let Some(slot) = schedule.get_mut(k as usize) {
            slot.push(input);
        }
    }
}

/// Sorts every step's inputs (the on_pre order of the network step).
pub fn finish(schedule: &mut Schedule) {
    for s in schedule.iter_mut() {
        s.sort_unstable();
        s.dedup();
    }
}

/// What [`make_trains`] draws: `n` inputs of `kind` at `rate_hz`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrainSpec {
    /// The kind of train.
    pub kind: TrainKind,
    /// Number of inputs.
    pub n: usize,
    /// Mean rate of every input (Hz).
    pub rate_hz: f64,
    /// Dead time of [`TrainKind::PoissonDead`] (ms).
    pub dead_time_ms: f64,
    /// Pairwise correlation of [`TrainKind::Correlated`].
    pub correlation: f64,
}

/// The trains of `spec` for `steps` steps of `dt_ms`. Input `i` is drawn
/// from its own stream (`seed`, `i`), the correlated group from one stream.
pub fn make_trains(spec: &TrainSpec, dt_ms: f64, steps: u32, seed: u64) -> Result<Schedule> {
    let TrainSpec {
        kind,
        n,
        rate_hz,
        dead_time_ms,
        correlation,
    } = *spec;
    let core = |e: stdp_core::Error| anyhow!("{e}");
    let mut sched: Schedule = vec![Vec::new(); steps as usize];
    if n > stdp_core::MAX_INPUTS {
        bail!("at most {} inputs", stdp_core::MAX_INPUTS);
    }
    if kind == TrainKind::Correlated {
        let mut r = rng(seed, 0);
        let mut buf = vec![0u32; n];
        let mut g =
            CorrelatedGroup::new(Correlation::Mixture, rate_hz, correlation, dt_ms, &mut buf, &mut r).map_err(core)?;
        let mut out = vec![0u16; n];
        for k in 0..steps {
            let m = g.spikes(k, &mut r, &mut out).map_err(core)?;
            sched[k as usize].extend_from_slice(&out[..m]);
        }
        return Ok(sched);
    }
    let segments = [
        RateSegment {
            duration_ms: 200.0,
            rate_hz: rate_hz / 4.0,
        },
        RateSegment {
            duration_ms: 200.0,
            rate_hz: 2.0 * rate_hz,
        },
    ];
    for i in 0..n {
        let mut r = rng(seed, i as u64);
        let s = match kind {
            TrainKind::Poisson => collect(&mut PoissonTrain::new(rate_hz, dt_ms).map_err(core)?, &mut r, steps),
            TrainKind::PoissonDead => collect(
                &mut PoissonTrain::with_dead_time(rate_hz, dead_time_ms, dt_ms).map_err(core)?,
                &mut r,
                steps,
            ),
            TrainKind::Regular => {
                let phase = 1000.0 / rate_hz * i as f64 / n as f64;
                collect(&mut Regular::new(rate_hz, phase, dt_ms).map_err(core)?, &mut r, steps)
            }
            TrainKind::Bursts => collect(
                &mut Bursts::new(rate_hz / 4.0, 4, 3.0, dt_ms).map_err(core)?,
                &mut r,
                steps,
            ),
            TrainKind::Pattern => collect(
                &mut RatePattern::new(&segments, dt_ms, true).map_err(core)?,
                &mut r,
                steps,
            ),
            TrainKind::Correlated => unreachable!("handled above"),
        };
        add_train(&mut sched, i as u16, &s);
    }
    finish(&mut sched);
    Ok(sched)
}

/// Parses CSV text of `index,time_ms` lines (one spike each; blank lines
/// and lines starting with `#` are skipped; a first line that is not a
/// spike is taken as a header). Every error names the line.
pub fn parse_spike_csv(text: &str) -> Result<Vec<(u32, f64)>> {
    let mut out = Vec::new();
    let mut first = true;
    for (no, line) in text.lines().enumerate() {
        let n = no + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != 2 {
            bail!(
                "line {n}: expected two fields `index,time_ms`, got {} in `{line}`",
                fields.len()
            );
        }
        let index = fields[0].parse::<u32>();
        let time = fields[1].parse::<f64>();
        let header = first && index.is_err() && time.is_err();
        first = false;
        if header {
            continue; // a header such as `index,time_ms`
        }
        let index = index.map_err(|_| anyhow!("line {n}: index `{}` is not a non-negative integer", fields[0]))?;
        let time = time.map_err(|_| anyhow!("line {n}: time `{}` is not a number (ms)", fields[1]))?;
        if !time.is_finite() || time < 0.0 {
            bail!("line {n}: time {time} ms must be finite and >= 0");
        }
        out.push((index, time));
    }
    Ok(out)
}

/// Reads a spike CSV file (see [`parse_spike_csv`]); errors name the file and line.
pub fn read_spike_csv(path: &Path) -> Result<Vec<(u32, f64)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_spike_csv(&text).with_context(|| format!("{}", path.display()))
}

/// The schedule of `spikes` (index, time ms) over `steps` steps of `dt_ms`
/// (scenario rule: step floor(t/dt + 0.001); spikes at or after the end
/// are dropped). An index >= `n_inputs` or two spikes of one input in one
/// step are errors.
pub fn schedule_from_spikes(spikes: &[(u32, f64)], n_inputs: usize, dt_ms: f64, steps: u32) -> Result<Schedule> {
    let mut sched: Schedule = vec![Vec::new(); steps as usize];
    let mut seen = std::collections::HashMap::new();
    for (s, &(i, t)) in spikes.iter().enumerate() {
        if i as usize >= n_inputs {
            bail!(
                "spike {} (input {i} at {t} ms): input index beyond the {n_inputs} inputs",
                s + 1
            );
        }
        let k = step_of(t, dt_ms).ok_or_else(|| anyhow!("spike {} at {t} ms: time out of range", s + 1))?;
        if let Some(t0) = seen.insert((i, k), t) {
            bail!(
                "spike {} (input {i} at {t} ms): input {i} already spikes in step {k} (at {t0} ms)",
                s + 1
            );
        }
        if k < steps {
            sched[k as usize].push(i as u16);
        }
    }
    finish(&mut sched);
    Ok(sched)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_accepts_header_comments_and_blank_lines() {
        let v = parse_spike_csv("index,time_ms\n# c\n\n0, 1.5\n3,10\n").unwrap();
        assert_eq!(v, [(0, 1.5), (3, 10.0)]);
    }

    #[test]
    fn csv_errors_name_the_line() {
        let e = |t: &str| parse_spike_csv(t).unwrap_err().to_string();
        assert_eq!(
            e("0,1\n1;2\n"),
            "line 2: expected two fields `index,time_ms`, got 1 in `1;2`"
        );
        assert_eq!(e("0,1\n-1,2\n"), "line 2: index `-1` is not a non-negative integer");
        assert_eq!(e("0,1\n1,abc\n"), "line 2: time `abc` is not a number (ms)");
        assert_eq!(e("0,-3\n"), "line 1: time -3 ms must be finite and >= 0");
    }

    #[test]
    fn schedule_maps_times_to_steps_and_rejects_doubles() {
        let s = schedule_from_spikes(&[(1, 10.3), (0, 10.0), (0, 30.25)], 2, 0.5, 100).unwrap();
        assert_eq!(s[20], vec![0, 1]);
        assert_eq!(s[60], vec![0]);
        assert!(schedule_from_spikes(&[(0, 10.0), (0, 10.2)], 1, 0.5, 100).is_err());
        assert!(schedule_from_spikes(&[(2, 1.0)], 2, 0.5, 100).is_err());
    }
}
