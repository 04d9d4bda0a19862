//! The animated Poisson encoding of a digit (GIF).

use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::render::{anchored, create_parent, ensure_font, font, Bitmap};

// ---------------------------------------------------------------------------
// 6. Encoding GIF

/// Pixels per input pixel in the GIF panels.
const GIF_SCALE: u32 = 10;
/// Frames of afterglow after a spike; brightness halves each frame.
const GIF_AFTERGLOW: usize = 4;
const GIF_SIZE: (u32, u32) = (720, 420);
/// Top-left corners of the digit panel and the spike panel.
const GIF_LEFT_PANEL: (i32, i32) = (60, 90);
const GIF_RIGHT_PANEL: (i32, i32) = (380, 90);
/// Colour of a pixel that spiked in the current window.
pub const GIF_SPIKE_COLOR: RGBColor = RGBColor(255, 225, 40);

/// Brightness in [0, 1] of each input in frame `f`: 1 if it spiked in that
/// window, else 2^-k for its most recent spike k frames ago (within the afterglow).
fn glow(frames: &[Vec<u16>], f: usize, n_inputs: usize) -> Vec<f64> {
    let mut level = vec![0.0f64; n_inputs];
    for k in (0..=GIF_AFTERGLOW.min(f)).rev() {
        let bright = 0.5f64.powi(k as i32);
        for &i in &frames[f - k] {
            level[usize::from(i)] = bright;
        }
    }
    level
}

fn panel(side: u32, color: impl Fn(usize) -> RGBColor) -> Vec<u8> {
    let px = side * GIF_SCALE;
    let mut buf = vec![0u8; (px * px * 3) as usize];
    for y in 0..px {
        for x in 0..px {
            let i = ((y / GIF_SCALE) * side + x / GIF_SCALE) as usize;
            let RGBColor(r, g, b) = color(i);
            let k = ((y * px + x) * 3) as usize;
            buf[k..k + 3].copy_from_slice(&[r, g, b]);
        }
    }
    buf
}

/// An animated GIF of a digit's Poisson spike encoding.
///
/// `pixels` are the 28x28 digit's (0 = background). `frames[f]` lists the input
/// indices that spiked in the window `[f * frame_ms, (f + 1) * frame_ms)`.
/// Left panel: the digit. Right panel: the 28x28 inputs, lit where they
/// spiked in the current window, with an afterglow of the previous four
/// frames (halving each frame) over a faint copy of the digit. One GIF frame
/// per window, shown for ten times its simulated duration (clamped to
/// 40 ms..1 s), looping forever; the window's time is in the title.
pub fn encoding_gif(pixels: &[u8], frames: &[Vec<u16>], frame_ms: f64, path: &Path) -> Result<()> {
    const SIDE: u32 = 28;
    let n_inputs = (SIDE * SIDE) as usize;
    ensure!(
        pixels.len() == n_inputs,
        "expected a 28x28 digit, got {} pixels",
        pixels.len()
    );
    ensure!(!frames.is_empty(), "no frames to animate");
    ensure!(
        frame_ms > 0.0 && frame_ms.is_finite(),
        "frame_ms must be positive, got {frame_ms}"
    );
    for (f, frame) in frames.iter().enumerate() {
        if let Some(&i) = frame.iter().find(|&&i| usize::from(i) >= n_inputs) {
            bail!("frame {f} has input index {i}, beyond {n_inputs}");
        }
    }
    ensure_font()?;
    create_parent(path)?;
    let delay_ms = (frame_ms * 10.0).clamp(40.0, 1000.0).round() as u32;
    let gif = BitMapBackend::gif(path, GIF_SIZE, delay_ms).with_context(|| format!("creating {}", path.display()))?;
    let root = Bitmap(gif).into_drawing_area();

    let digit = panel(SIDE, |i| {
        let v = pixels[i];
        RGBColor(v, v, v)
    });
    let panel_px = SIDE * GIF_SCALE;
    let mut total = 0usize;
    for (f, frame) in frames.iter().enumerate() {
        total += frame.len();
        root.fill(&WHITE)?;
        let t0 = f as f64 * frame_ms;
        let title = format!("Poisson spike encoding: t = {t0:.0} to {:.0} ms", t0 + frame_ms);
        root.draw(&Text::new(
            title,
            (GIF_SIZE.0 as i32 / 2, 28),
            anchored(font(24.0), HPos::Center, VPos::Center),
        ))?;
        let sub = anchored(font(15.0), HPos::Center, VPos::Bottom);
        let centre = |p: (i32, i32)| p.0 + panel_px as i32 / 2;
        root.draw(&Text::new(
            "input digit",
            (centre(GIF_LEFT_PANEL), GIF_LEFT_PANEL.1 - 8),
            sub.clone(),
        ))?;
        root.draw(&Text::new(
            "input spikes (with afterglow)",
            (centre(GIF_RIGHT_PANEL), GIF_RIGHT_PANEL.1 - 8),
            sub.clone(),
        ))?;
        root.draw(
            &BitMapElement::with_owned_buffer(GIF_LEFT_PANEL, (panel_px, panel_px), digit.clone())
                .context("digit panel buffer has the wrong size")?,
        )?;
        let level = glow(frames, f, n_inputs);
        let spikes = panel(SIDE, |i| {
            // Dark background with a faint digit, so spikes can be matched to strokes.
            let base = 18.0 + f64::from(pixels[i]) * 50.0 / 255.0;
            let l = level[i];
            let mix = |hi: u8| (base + (f64::from(hi) - base) * l).round() as u8;
            RGBColor(mix(GIF_SPIKE_COLOR.0), mix(GIF_SPIKE_COLOR.1), mix(GIF_SPIKE_COLOR.2))
        });
        root.draw(
            &BitMapElement::with_owned_buffer(GIF_RIGHT_PANEL, (panel_px, panel_px), spikes)
                .context("spike panel buffer has the wrong size")?,
        )?;
        let caption = format!(
            "{} spikes in this {frame_ms:.0} ms window, {total} so far (frame {} of {})",
            frame.len(),
            f + 1,
            frames.len()
        );
        root.draw(&Text::new(
            caption,
            (GIF_SIZE.0 as i32 / 2, GIF_LEFT_PANEL.1 + panel_px as i32 + 22),
            anchored(font(16.0), HPos::Center, VPos::Center),
        ))?;
        root.present()
            .with_context(|| format!("writing frame {f} of {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glow_halves_per_frame_and_a_new_spike_wins() {
        let frames = vec![vec![0, 1], vec![1], vec![], vec![], vec![], vec![]];
        let l = glow(&frames, 1, 784);
        assert_eq!((l[0], l[1], l[2]), (0.5, 1.0, 0.0));
        assert_eq!(glow(&frames, 5, 784)[1], 0.0625);
        assert_eq!(glow(&frames, 5, 784)[0], 0.0);
    }
}
