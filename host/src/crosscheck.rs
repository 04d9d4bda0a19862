//! The fixed-point network against the float reference: the same model and
//! the same input spike trains through both backends, and both backends
//! trained from one seed.

use std::time::Instant;

use anyhow::Result;
use rayon::prelude::*;
use serde::Serialize;
use stdp_core::{Fx, Real};

use crate::backend::Backend;
use crate::examples::{check_fits, Examples};
use crate::formats::model::Model;
use crate::sim::dc::{classify, example_rng, ExampleResult};
use crate::sim::train::{progress_bar, sim_from_model, train, Tally, TrainOptions, PASS_TEST};

/// Options of a cross-check.
#[derive(Debug, Clone)]
pub struct CrossOptions {
    /// Test examples.
    pub limit: usize,
    /// Examples to train both backends for (0: skip).
    pub train_examples: usize,
    /// Seed of the spike trains.
    pub seed: u64,
    /// Progress bars.
    pub progress: bool,
}

/// What the cross-check found.
#[derive(Debug, Clone, Serialize)]
pub struct CrossReport {
    /// Test examples compared.
    pub examples: usize,
    /// Fraction of examples with the same predicted class, in [0, 1].
    pub agreement: f64,
    /// Accuracy of the float (f32) backend, in [0, 1].
    pub accuracy_float: f64,
    /// Accuracy of the fixed backend, in [0, 1].
    pub accuracy_fixed: f64,
    /// Pearson correlation of all (example, neuron) spike counts.
    pub spike_count_correlation: f64,
    /// Mean over neurons (that fired in either backend) of the per-neuron
    /// correlation of spike counts across examples.
    pub mean_neuron_correlation: f64,
    /// Fraction of examples whose spike counts are identical in every neuron.
    pub identical_counts: f64,
    /// Examples both backends were trained for from one seed.
    pub train_examples: usize,
    /// Largest |w_float - w_fixed| after that training (weight units).
    pub max_weight_divergence: f64,
    /// Mean |w_float - w_fixed| (weight units).
    pub mean_weight_divergence: f64,
    /// Largest |theta_float - theta_fixed| (mV).
    pub max_theta_divergence: f64,
}

impl CrossReport {
    /// A few human lines.
    pub fn summary(&self) -> String {
        format!(
            "{} test examples: agreement {:.2} %, accuracy float {:.2} % / fixed {:.2} %\n\
             spike counts: correlation {:.4} (mean per neuron {:.4}), identical in {:.1} % of examples\n\
             after training both for {} examples: max |dw| {:.2e} (mean {:.2e}) weight units, max |dtheta| {:.2e} mV",
            self.examples,
            100.0 * self.agreement,
            100.0 * self.accuracy_float,
            100.0 * self.accuracy_fixed,
            self.spike_count_correlation,
            self.mean_neuron_correlation,
            100.0 * self.identical_counts,
            self.train_examples,
            self.max_weight_divergence,
            self.mean_weight_divergence,
            self.max_theta_divergence
        )
    }
}

/// Sums of two variables' values, squares and products, for Pearson's
/// correlation. Spike counts are whole numbers, so the sums are exact
/// integers: the same for any order of the examples and any thread count.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Moments {
    n: u64,
    a: u64,
    b: u64,
    aa: u64,
    bb: u64,
    ab: u64,
}

impl Moments {
    fn add(&mut self, a: u32, b: u32) {
        let (a, b) = (u64::from(a), u64::from(b));
        self.n += 1;
        self.a += a;
        self.b += b;
        self.aa += a * a;
        self.bb += b * b;
        self.ab += a * b;
    }

    fn merge(&mut self, o: &Moments) {
        self.n += o.n;
        self.a += o.a;
        self.b += o.b;
        self.aa += o.aa;
        self.bb += o.bb;
        self.ab += o.ab;
    }

    /// Pearson's r (1 if both variables are constant, 0 if one is; None
    /// without values).
    fn pearson(&self) -> Option<f64> {
        if self.n == 0 {
            return None;
        }
        // n^2 times the (co)variances, exact in i128.
        let n = i128::from(self.n);
        let (a, b) = (i128::from(self.a), i128::from(self.b));
        let saa = n * i128::from(self.aa) - a * a;
        let sbb = n * i128::from(self.bb) - b * b;
        let sab = n * i128::from(self.ab) - a * b;
        Some(match (saa == 0, sbb == 0) {
            (true, true) => 1.0,
            (true, false) | (false, true) => 0.0,
            _ => sab as f64 / ((saa as f64) * (sbb as f64)).sqrt(),
        })
    }
}

/// The two backends' responses to the test digits, folded in digit by
/// digit (nothing per digit is kept: O(neurons) memory at any size).
#[derive(Debug, Clone)]
struct Comparison {
    float: Tally,
    fixed: Tally,
    agree: u64,
    identical: u64,
    all: Moments,
    per_neuron: Vec<Moments>,
}

impl Comparison {
    fn new(n: usize) -> Self {
        Comparison {
            float: Tally::default(),
            fixed: Tally::default(),
            agree: 0,
            identical: 0,
            all: Moments::default(),
            per_neuron: vec![Moments::default(); n],
        }
    }

    fn add(mut self, label: u8, f: &ExampleResult, x: &ExampleResult, assignments: &[u8]) -> Self {
        self.float = self.float.add(label, f, assignments);
        self.fixed = self.fixed.add(label, x, assignments);
        self.agree += u64::from(classify(&f.counts, assignments) == classify(&x.counts, assignments));
        self.identical += u64::from(f.counts == x.counts);
        for ((m, &a), &b) in self.per_neuron.iter_mut().zip(&f.counts).zip(&x.counts) {
            m.add(a, b);
            self.all.add(a, b);
        }
        self
    }

    fn merge(mut self, o: Comparison) -> Self {
        self.float = self.float.merge(o.float);
        self.fixed = self.fixed.merge(o.fixed);
        self.agree += o.agree;
        self.identical += o.identical;
        self.all.merge(&o.all);
        for (m, p) in self.per_neuron.iter_mut().zip(&o.per_neuron) {
            m.merge(p);
        }
        self
    }
}

/// Runs the cross-check of `model` (its stored assignments classify both).
pub fn crosscheck(
    model: &Model,
    train_set: &dyn Examples,
    test: &dyn Examples,
    o: &CrossOptions,
) -> Result<CrossReport> {
    check_fits(&model.meta.config.input, test.kind())?;
    let assignments = &model.meta.assignments;
    let float = sim_from_model::<f32>(model)?;
    let fixed = sim_from_model::<Fx>(model)?;
    let n = model.meta.config.n_neurons;
    let m = o.limit.min(test.len());
    let t0 = Instant::now();
    let bar = progress_bar(o.progress, m as u64, "f32 + fixed");
    let c = (0..m)
        .into_par_iter()
        .with_min_len(32)
        .map_init(
            || (float.clone(), fixed.clone()),
            |(f, x), i| -> Result<_> {
                // The same input for both: one spike-train stream (or one
                // recording) per digit. An unreadable recording ends the
                // pass with its error.
                let input = test.input(i, o.seed, PASS_TEST)?;
                let rf = f.present_example(&input, &mut example_rng(o.seed, PASS_TEST, i as u64), false, true);
                let rx = x.present_example(&input, &mut example_rng(o.seed, PASS_TEST, i as u64), false, true);
                bar.inc(1);
                Ok((i, rf, rx))
            },
        )
        .try_fold(
            || Comparison::new(n),
            |c, r| r.map(|(i, f, x)| c.add(test.label(i), &f, &x, assignments)),
        )
        .try_reduce(|| Comparison::new(n), |a, b| Ok(Comparison::merge(a, b)))?;
    bar.finish_and_clear();
    let seconds = t0.elapsed().as_secs_f64();
    let rf = c.float.report(<f32 as Real>::NAME, m, assignments, seconds);
    let rx = c.fixed.report(<Fx as Real>::NAME, m, assignments, seconds);
    // Neurons that fired in either backend.
    let per_neuron: Vec<f64> = c
        .per_neuron
        .iter()
        .filter(|p| p.a + p.b > 0)
        .filter_map(Moments::pearson)
        .collect();
    let (agree, identical) = (c.agree, c.identical);

    let (mut max_dw, mut mean_dw, mut max_dt) = (0.0f64, 0.0f64, 0.0f64);
    if o.train_examples > 0 {
        let mut opts = TrainOptions {
            backend: Backend::F32,
            epochs: 1,
            limit: Some(o.train_examples),
            seed: model.meta.seed,
            window: o.train_examples as u64,
            assign_examples: 0,
            checkpoint_every: None,
            checkpoint: std::path::PathBuf::new(),
            resume: false,
            progress: o.progress,
            threads: 1,
        };
        let mf = train(&model.meta.config, &opts, train_set)?;
        opts.backend = Backend::Fixed;
        let mx = train(&model.meta.config, &opts, train_set)?;
        for (a, b) in mf.weights.iter().zip(&mx.weights) {
            max_dw = max_dw.max((a - b).abs());
            mean_dw += (a - b).abs();
        }
        mean_dw /= mf.weights.len().max(1) as f64;
        for (a, b) in mf.theta.iter().zip(&mx.theta) {
            max_dt = max_dt.max((a - b).abs());
        }
    }
    Ok(CrossReport {
        examples: m,
        agreement: if m > 0 { agree as f64 / m as f64 } else { 0.0 },
        accuracy_float: rf.accuracy,
        accuracy_fixed: rx.accuracy,
        spike_count_correlation: c.all.pearson().unwrap_or(0.0),
        mean_neuron_correlation: if per_neuron.is_empty() {
            0.0
        } else {
            per_neuron.iter().sum::<f64>() / per_neuron.len() as f64
        },
        identical_counts: if m > 0 { identical as f64 / m as f64 } else { 0.0 },
        train_examples: o.train_examples,
        max_weight_divergence: max_dw,
        mean_weight_divergence: mean_dw,
        max_theta_divergence: max_dt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(a: &[u32], b: &[u32]) -> Moments {
        let mut m = Moments::default();
        for (&x, &y) in a.iter().zip(b) {
            m.add(x, y);
        }
        m
    }

    /// Pearson's r the textbook way: centred, in f64.
    fn two_pass(a: &[u32], b: &[u32]) -> f64 {
        let n = a.len() as f64;
        let ma = a.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
        let mb = b.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
        let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
        for (&x, &y) in a.iter().zip(b) {
            let (x, y) = (f64::from(x) - ma, f64::from(y) - mb);
            ab += x * y;
            aa += x * x;
            bb += y * y;
        }
        ab / (aa * bb).sqrt()
    }

    #[test]
    fn exact_moments_give_pearsons_r_for_any_grouping() {
        let a = [0, 3, 1, 7, 2, 2, 9, 0, 41];
        let b = [1, 3, 0, 6, 2, 3, 8, 0, 40];
        let m = moments(&a, &b);
        assert!((m.pearson().unwrap() - two_pass(&a, &b)).abs() < 1e-12);
        let mut split = moments(&a[..4], &b[..4]);
        split.merge(&moments(&a[4..], &b[4..]));
        assert_eq!(split, m, "the sums are exact: grouping changes nothing");
        assert_eq!(moments(&[2, 2], &[5, 5]).pearson(), Some(1.0), "both constant");
        assert_eq!(moments(&[2, 2], &[1, 5]).pearson(), Some(0.0), "one constant");
        assert_eq!(Moments::default().pearson(), None);
        let anti = moments(&[0, 1, 2], &[2, 1, 0]).pearson().unwrap();
        assert!((anti + 1.0).abs() < 1e-15, "{anti}");
    }
}
