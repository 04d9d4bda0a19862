//! The sampler: random for the first trials, then TPE.
//!
//! TPE comes from the [`tpe`] crate (0.3) rather than our own code: the
//! estimator's details (bandwidths, the prior component, the EI candidates)
//! are easy to get subtly wrong and hard to test. `tpe` is by Takeru Ohta
//! (sile), who also wrote kurobako, the black-box optimisation benchmark
//! used by Optuna; it is small, maintained, depends on `rand` alone, and
//! makes Optuna's choices: independent per parameter, 24 EI candidates, a
//! prior component in each Parzen mixture, a histogram estimator for
//! categorical parameters, the best 10 % (rounded up) as the good trials
//! (Optuna's split up to 250 trials). Each parameter gets its own
//! optimizer, fed with every finished trial, like Optuna's default TPE.
//!
//! The loss of a trial (lower is better, as `tpe` minimises):
//! `-accuracy` for a complete trial, and `1 - last intermediate accuracy`
//! for a pruned one, so every pruned trial ranks below every complete one
//! (the running accuracy of training is not the same measure as the
//! validation accuracy) and among themselves by how far they got.

use anyhow::{anyhow, Result};
use rand_tpe::rngs::Xoshiro256PlusPlus;
use rand_tpe::{RngExt, SeedableRng};

use super::space::{Kind, Params, Space};

/// A finished trial as the sampler sees it.
#[derive(Debug, Clone)]
pub struct Observation {
    /// Its parameters.
    pub params: Params,
    /// Its loss (lower is better).
    pub loss: f64,
}

/// Random search for `startup_trials` trials, TPE after.
#[derive(Debug, Clone, Copy)]
pub struct TpeSampler {
    /// Finished trials before TPE takes over (Optuna: 10).
    pub startup_trials: usize,
}

impl Default for TpeSampler {
    fn default() -> Self {
        TpeSampler { startup_trials: 10 }
    }
}

/// SplitMix64: the seed of trial `number`'s sampling from the study's seed.
fn trial_seed(seed: u64, number: u64) -> u64 {
    let mut z = seed ^ 0x6870_6f5f_7470_6521 ^ number.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl TpeSampler {
    /// The parameters of trial `number`, given the finished trials. A
    /// function of `(seed, number, history)` only, so a study run by one
    /// worker is reproducible.
    pub fn sample(&self, space: &Space, history: &[Observation], seed: u64, number: u64) -> Result<Params> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(trial_seed(seed, number));
        let mut out = Params::new();
        for (name, spec) in &space.params {
            let kind = spec.kind()?;
            let (lo, hi) = kind.internal_range();
            let x = if history.len() < self.startup_trials {
                rng.random_range(lo..hi)
            } else {
                let range = tpe::range(lo, hi).map_err(|e| anyhow!("parameter '{name}': {e}"))?;
                let builder = match kind {
                    Kind::Categorical(_) => tpe::histogram_estimator(),
                    _ => tpe::parzen_estimator(),
                };
                let mut opt = tpe::TpeOptimizer::new(builder, range);
                // `tell` wants the half-open [lo, hi).
                let top = hi - (hi - lo) * 1e-12;
                for o in history {
                    if let Some(x) = o.params.get(name).and_then(|v| kind.internal(v)) {
                        if o.loss.is_finite() {
                            opt.tell(x.clamp(lo, top), o.loss)
                                .map_err(|e| anyhow!("parameter '{name}': {e}"))?;
                        }
                    }
                }
                opt.ask(&mut rng).map_err(|e| anyhow!("parameter '{name}': {e}"))?
            };
            out.insert(name.clone(), kind.value(x));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::ParamSpec;

    fn space() -> Space {
        let mut s = Space::default();
        s.params.insert("nu_post".into(), ParamSpec::float(1e-4, 1e-1, true));
        s.params.insert("intensity".into(), ParamSpec::float(1.0, 4.0, false));
        s
    }

    #[test]
    fn sampling_is_a_function_of_seed_number_and_history() {
        let s = space();
        let t = TpeSampler { startup_trials: 2 };
        assert_eq!(t.sample(&s, &[], 1, 0).unwrap(), t.sample(&s, &[], 1, 0).unwrap());
        assert_ne!(t.sample(&s, &[], 1, 0).unwrap(), t.sample(&s, &[], 1, 1).unwrap());
        assert_ne!(t.sample(&s, &[], 1, 0).unwrap(), t.sample(&s, &[], 2, 0).unwrap());
    }

    #[test]
    fn samples_stay_inside_the_space() {
        let s = space();
        let t = TpeSampler { startup_trials: 3 };
        let mut history = Vec::new();
        for n in 0..40 {
            let p = t.sample(&s, &history, 7, n).unwrap();
            let nu = p["nu_post"].as_f64().unwrap();
            let i = p["intensity"].as_f64().unwrap();
            assert!((1e-4..=1e-1).contains(&nu) && (1.0..=4.0).contains(&i), "{p:?}");
            history.push(Observation {
                loss: (nu.log10() + 2.0).powi(2) + (i - 3.0).powi(2),
                params: p,
            });
        }
    }

    #[test]
    fn tpe_concentrates_on_the_good_region() {
        // Loss minimal at intensity 3.5: after random startup, TPE's samples
        // must be closer to it on average than the random ones were.
        let mut s = Space::default();
        s.params.insert("intensity".into(), ParamSpec::float(1.0, 4.0, false));
        let t = TpeSampler { startup_trials: 10 };
        let mut history = Vec::new();
        let mut dist = Vec::new();
        for n in 0..60 {
            let p = t.sample(&s, &history, 3, n).unwrap();
            let i = p["intensity"].as_f64().unwrap();
            dist.push((i - 3.5).abs());
            history.push(Observation {
                loss: (i - 3.5).abs(),
                params: p,
            });
        }
        let random = dist[..10].iter().sum::<f64>() / 10.0;
        let tpe = dist[30..].iter().sum::<f64>() / 30.0;
        assert!(tpe < 0.5 * random, "random {random}, tpe {tpe}");
    }
}
