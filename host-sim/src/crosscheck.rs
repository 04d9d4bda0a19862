//! The fixed-point network against the float reference: the same model and
//! the same input spike trains through both backends, and both backends
//! trained from one seed.

use std::time::Instant;

use anyhow::Result;
use serde::Serialize;
use stdp_core::{Fx, Real};

use crate::backend::Backend;
use crate::formats::mnist::Dataset;
use crate::formats::model::Model;
use crate::sim::dc::{classify, ExampleResult};
use crate::sim::train::{frozen_pass, sim_from_model, train, Tally, TrainOptions, PASS_TEST};

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

fn pearson(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = a.len() as f64;
    if a.is_empty() {
        return None;
    }
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa == 0.0 && sbb == 0.0 {
        return Some(1.0);
    }
    if saa == 0.0 || sbb == 0.0 {
        return Some(0.0);
    }
    Some(sab / (saa * sbb).sqrt())
}

/// Runs the cross-check of `model` (its stored assignments classify both).
pub fn crosscheck(model: &Model, train_set: &Dataset, test: &Dataset, o: &CrossOptions) -> Result<CrossReport> {
    let assignments = &model.meta.assignments;
    let float = sim_from_model::<f32>(model)?;
    let fixed = sim_from_model::<Fx>(model)?;
    // Every example's counts of both backends are compared, so this pass
    // keeps them all (frozen_pass), unlike a plain evaluation.
    let m = o.limit.min(test.len());
    let pass = |name: &str, results: &[ExampleResult], seconds: f64| {
        let t = results
            .iter()
            .enumerate()
            .fold(Tally::default(), |t, (i, r)| t.add(test.label(i), r, assignments));
        t.report(name, m, assignments, seconds)
    };
    let t0 = Instant::now();
    let resf = frozen_pass(&float, test, 0..m, o.seed, PASS_TEST, o.progress, "test");
    let rf = pass(<f32 as Real>::NAME, &resf, t0.elapsed().as_secs_f64());
    let t0 = Instant::now();
    let resx = frozen_pass(&fixed, test, 0..m, o.seed, PASS_TEST, o.progress, "test");
    let rx = pass(<Fx as Real>::NAME, &resx, t0.elapsed().as_secs_f64());
    let agree = resf
        .iter()
        .zip(&resx)
        .filter(|(a, b)| classify(&a.counts, assignments) == classify(&b.counts, assignments))
        .count();
    let identical = resf.iter().zip(&resx).filter(|(a, b)| a.counts == b.counts).count();
    let flat = |r: &[crate::sim::dc::ExampleResult]| -> Vec<f64> {
        r.iter().flat_map(|e| e.counts.iter().map(|&c| c as f64)).collect()
    };
    let (ff, fx) = (flat(&resf), flat(&resx));
    let n = model.meta.config.n_neurons;
    let mut per_neuron = Vec::new();
    for j in 0..n {
        let a: Vec<f64> = resf.iter().map(|e| e.counts[j] as f64).collect();
        let b: Vec<f64> = resx.iter().map(|e| e.counts[j] as f64).collect();
        if a.iter().chain(&b).any(|&x| x > 0.0) {
            if let Some(c) = pearson(&a, &b) {
                per_neuron.push(c);
            }
        }
    }

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
        spike_count_correlation: pearson(&ff, &fx).unwrap_or(0.0),
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
