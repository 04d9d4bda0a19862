//! `encoding`: how an MNIST digit becomes spike trains. Pixel `i` of
//! value `p` (0..255) drives input `i` as a Poisson train of
//! `p / 8 * intensity` Hz (Diehl & Cook: intensity 2, so at most 63.75 Hz)
//! for 350 ms, drawn by the same source the training uses
//! ([`crate::figures::encode`]). Writes the raster of the 784 inputs, the
//! animated GIF (10 ms per frame) and the spikes as CSV; the summary
//! compares the spike count with its expectation `sum(rate) * duration`.

use std::fmt::Write as _;

use anyhow::{bail, Context, Result};

use super::{write_csv, ExperimentOptions};
use crate::figures::encode;
use stdp_host::formats::mnist;

/// Frame length of the GIF (ms).
pub const FRAME_MS: f64 = 10.0;

/// Expected number of spikes of a digit's `pixels` at `intensity` over `duration_ms`
/// at `dt_ms` (each step spikes with p = rate dt / 1000, capped at 1).
pub fn expected_spikes(pixels: &[u8], intensity: f32, dt_ms: f64, duration_ms: f64) -> f64 {
    let steps = (duration_ms / dt_ms).round();
    pixels
        .iter()
        .map(|&p| (p as f64 / 8.0 * intensity as f64 * dt_ms * 1e-3).min(1.0) * steps)
        .sum()
}

/// Runs the experiment (see [`super::ExperimentOptions`]); returns the summary.
pub fn run(a: &ExperimentOptions) -> Result<String> {
    let Some(dir) = &a.data else {
        bail!("experiment encoding needs --data DIR (the MNIST IDX files, e.g. ../shared/data/mnist)");
    };
    let (_, test) = mnist::load_dir(dir).with_context(|| format!("loading MNIST from {}", dir.display()))?;
    if a.digit >= test.len() {
        bail!("--digit {} is beyond the {} test digits", a.digit, test.len());
    }
    if !(a.intensity > 0.0 && a.intensity.is_finite()) {
        bail!("--intensity must be > 0 (got {})", a.intensity);
    }
    let duration = a.duration.unwrap_or(350.0);
    let pixels = test.digit(a.digit);
    let label = test.label(a.digit);
    let (spikes, frames) = encode(pixels, a.intensity, a.dt, duration, FRAME_MS, a.seed)?;
    let out = &a.out;
    crate::encoding_gif(pixels, &frames, FRAME_MS, &out.join("encoding.gif"))?;
    crate::raster(
        &spikes,
        pixels.len() as u32,
        duration,
        &format!(
            "Digit {label} (test #{}) as Poisson trains, intensity {}: 784 inputs",
            a.digit, a.intensity
        ),
        &out.join("encoding_raster"),
    )?;
    write_csv(
        &out.join("encoding_spikes.csv"),
        &["time_ms", "input"],
        spikes.iter().map(|&(t, i)| vec![t, i as f64]),
    )?;
    let expected = expected_spikes(pixels, a.intensity, a.dt, duration);
    let active = pixels.iter().filter(|&&p| p > 0).count();
    let max_rate = pixels.iter().copied().max().unwrap_or(0) as f64 / 8.0 * a.intensity as f64;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "experiment encoding: test digit #{} (label {label}), intensity {} (rate = pixel / 8 * intensity Hz, max {max_rate:.2} Hz), {duration} ms at dt = {} ms, seed {}",
        a.digit, a.intensity, a.dt, a.seed
    );
    let _ = writeln!(
        s,
        "{} spikes from {active} non-zero pixels of 784; expected {expected:.1} (+- {:.1}, one sd)",
        spikes.len(),
        expected.sqrt()
    );
    let _ = writeln!(
        s,
        "files: encoding.gif ({} frames of {FRAME_MS} ms), encoding_raster.png/svg, encoding_spikes.csv",
        frames.len()
    );
    Ok(s)
}
