//! The figures of a trained model (`host-sim plot`), from the plain-data
//! plotting functions of [`crate`].

use std::path::Path;

use anyhow::{Context, Result};
use stdp_core::poisson::{Poisson, PoissonState};

use crate::FieldShape;
use stdp_host::examples::{check_fits, Examples, Input};
use stdp_host::formats::model::Model;
use stdp_host::sim::dc::example_rng;
use stdp_host::sim::train::{evaluate, sim_from_model};

/// Input spikes as (t ms, input index), and per frame the inputs that spiked in it.
pub type Encoding = (Vec<(f64, u32)>, Vec<Vec<u16>>);

/// Poisson encoding of a digit's `pixels` at `intensity` (rate = pixel / 8 * intensity
/// Hz) for `duration_ms` at `dt_ms`: the input spikes as (t ms, input), and
/// the inputs that spiked in each window of `frame_ms`.
pub fn encode(
    pixels: &[u8],
    intensity: f32,
    dt_ms: f64,
    duration_ms: f64,
    frame_ms: f64,
    seed: u64,
) -> Result<Encoding> {
    let n = pixels.len();
    let (mut next, mut inv_log, mut link) = (vec![0u32; n], vec![0f32; n], vec![0u16; n]);
    let mut src = Poisson::new(PoissonState {
        next: &mut next,
        inv_log: &mut inv_log,
        link: &mut link,
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let rates: Vec<f32> = pixels.iter().map(|&p| p as f32 / 8.0 * intensity).collect();
    let mut rng = example_rng(seed, 0, 0);
    src.set_rates(&rates, dt_ms as f32, 0, &mut rng)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let steps = (duration_ms / dt_ms).round() as u32;
    let per_frame = ((frame_ms / dt_ms).round() as u32).max(1);
    let mut out = vec![0u16; n];
    let (mut spikes, mut frames) = (Vec::new(), Vec::new());
    for k in 0..steps {
        if k % per_frame == 0 {
            frames.push(Vec::new());
        }
        let m = src.spikes(k, &mut rng, &mut out).map_err(|e| anyhow::anyhow!("{e}"))?;
        for &i in &out[..m] {
            spikes.push((k as f64 * dt_ms, i as u32));
            if let Some(f) = frames.last_mut() {
                f.push(i);
            }
        }
    }
    Ok((spikes, frames))
}

/// Draws every figure of `model` into `out`: receptive fields (an event
/// model's as ON/OFF pairs), theta distribution, training curves; with
/// `test` also the confusion matrix of its first `limit` examples and the
/// input of example `digit` (a digit's Poisson encoding as a GIF and a
/// raster; a recording's events as a raster).
pub fn plot_model(
    model: &Model,
    out: &Path,
    test: Option<&dyn Examples>,
    limit: usize,
    digit: usize,
) -> Result<Vec<String>> {
    std::fs::create_dir_all(out)?;
    let cfg = &model.meta.config;
    let mut written = Vec::new();
    let w: Vec<f32> = model.weights.iter().map(|&x| x as f32).collect();
    let labels = (!model.meta.assignments.is_empty()).then_some(model.meta.assignments.as_slice());
    let shape = match cfg.input.layout()? {
        None => FieldShape::square(cfg.n_inputs)?,
        Some(l) => FieldShape {
            width: l.columns() as u32,
            height: l.rows() as u32,
            panels: l.channels() as u32,
        },
    };
    crate::receptive_fields_shaped(&w, shape, cfg.n_neurons, labels, &out.join("receptive_fields"))?;
    written.push("receptive_fields".to_string());
    let theta: Vec<f32> = model.theta.iter().map(|&x| x as f32).collect();
    crate::histogram(&theta, 30, "adaptive threshold theta", "theta (mV)", &out.join("theta"))?;
    written.push("theta".to_string());
    let h = &model.meta.history;
    let acc: Vec<(f64, f64)> = h
        .iter()
        .filter_map(|p| p.running_accuracy.map(|a| (p.examples as f64, 100.0 * a)))
        .collect();
    let spk: Vec<(f64, f64)> = h.iter().map(|p| (p.examples as f64, p.spikes_per_example)).collect();
    if !acc.is_empty() {
        crate::curves(
            "running accuracy during training",
            "examples",
            &[("accuracy (last window)", &acc)],
            "accuracy (%)",
            &out.join("accuracy_curve"),
        )?;
        written.push("accuracy_curve".to_string());
    }
    if !spk.is_empty() {
        crate::curves(
            "excitatory spikes per example",
            "examples",
            &[("spikes / example", &spk)],
            "spikes",
            &out.join("spikes_curve"),
        )?;
        written.push("spikes_curve".to_string());
    }
    if let Some(test) = test {
        check_fits(&cfg.input, test.kind())?;
        stdp_host::with_backend!(model.backend(), T => {
            let sim = sim_from_model::<T>(model)?;
            let r = evaluate(&sim, &model.meta.assignments, test, limit, 1, false)?;
            crate::confusion_matrix(&r.confusion, &out.join("confusion"))?;
        });
        written.push("confusion".to_string());
        let i = digit.min(test.len().saturating_sub(1));
        match test.input(i, 1, 0)? {
            Input::Pixels(pixels) => {
                let (spikes, frames) = encode(pixels, cfg.intensity, cfg.dt_ms, cfg.present_ms, 10.0, 1)?;
                crate::encoding_gif(pixels, &frames, 10.0, &out.join("encoding.gif"))?;
                crate::raster(
                    &spikes,
                    cfg.n_inputs as u32,
                    cfg.present_ms,
                    "input spikes of one digit",
                    &out.join("input_raster"),
                )?;
                written.push("encoding.gif".to_string());
            }
            Input::Events(events) => {
                // The events the presentation delivers: from the first
                // event for present_ms, each on its input.
                let layout = cfg.input.layout()?.context("an event model has an event layout")?;
                let t0 = events.first().map_or(0, |e| e.t);
                let spikes: Vec<(f64, u32)> = events
                    .iter()
                    .map(|e| ((e.t - t0) as f64 / 1000.0, layout.input(e)))
                    .take_while(|(t, _)| *t < cfg.present_ms)
                    .filter_map(|(t, i)| i.map(|i| (t, u32::from(i))))
                    .collect();
                crate::raster(
                    &spikes,
                    cfg.n_inputs as u32,
                    cfg.present_ms,
                    "input spikes of one recording (its events)",
                    &out.join("input_raster"),
                )?;
            }
        }
        written.push("input_raster".to_string());
    }
    Ok(written)
}
