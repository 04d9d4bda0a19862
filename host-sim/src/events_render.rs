//! `events render`: pictures of a recording. A `.gif` is an animation of
//! time bins (ON and OFF in two colours on a dark background, one frame per
//! bin); a `.png` is count images over equal time slices (N-MNIST's three
//! saccades by default) beside the event-rate histogram.
//!
//! Both stream the file twice: once for its time span (the bins to draw),
//! once through the transforms and the count frames (`FrameAccumulator`),
//! so memory is a chunk of events and the frames of counts being drawn (one
//! for the GIF, the panels for the PNG), whatever the recording's length.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Result};
use stdp_events::stats::{summarise, Summary};
use stdp_events::transform::{Compose, Denoise, Downsample, Frame, FrameAccumulator, RefractoryPeriod, Transform};
use stdp_events::{Event, Format, Reader, Sensor};
use stdp_plots::events::{self as draw, group, CountPanel, EventGif, RateHistogram, MAX_PANELS};

/// `events render` arguments.
#[derive(clap::Args)]
pub struct RenderArgs {
    /// The recording (format detected from its content; a headerless file named *.bin is N-MNIST).
    pub file: PathBuf,
    /// Output: .gif (an animation of time bins) or .png (count images beside the event-rate
    /// histogram; an .svg of it is written beside the .png).
    #[arg(long)]
    pub out: PathBuf,
    /// GIF: each frame's time bin, ms [default: 10].
    #[arg(long)]
    pub bin_ms: Option<f64>,
    /// GIF: the most frames to draw; a recording that needs more is refused (pass a larger
    /// --bin-ms) [default: 1000].
    #[arg(long)]
    pub max_frames: Option<u64>,
    /// GIF: how long each frame shows, ms [default: ten times the bin, 20 to 1,000 ms].
    #[arg(long)]
    pub delay_ms: Option<u32>,
    /// PNG: how many count images, over equal time slices [default: 3; for N-MNIST its three
    /// saccades, 0-100, 100-200 and 200-300 ms].
    #[arg(long)]
    pub panels: Option<usize>,
    /// PNG: each count image's time slice, ms, the first starting at a multiple of it
    /// [default: the recording's span divided by --panels; 100 for N-MNIST].
    #[arg(long)]
    pub panel_ms: Option<f64>,
    /// Image pixels per sensor pixel [default: a small sensor scaled up to about 480 pixels
    /// for the GIF, 320 for each count image].
    #[arg(long)]
    pub scale: Option<u32>,
    /// Sensor pixels per drawn pixel, each way (the Downsample transform; counts add up)
    /// [default: 1, or what brings a large sensor near the sizes above].
    #[arg(long)]
    pub downsample: Option<u16>,
    /// Drop events without an event at a neighbouring pixel less than this many µs before
    /// (tonic's Denoise, the background-activity filter).
    #[arg(long)]
    pub denoise_us: Option<u64>,
    /// Drop events less than this many µs after their pixel's last kept event (RefractoryPeriod).
    #[arg(long)]
    pub refractory_us: Option<u64>,
}

/// What `--out` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gif,
    Png,
}

impl Kind {
    fn of(out: &Path) -> Result<Kind> {
        let ext = out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("gif") => Ok(Kind::Gif),
            Some("png") => Ok(Kind::Png),
            _ => bail!(
                "--out {}: the extension picks the picture: .gif (an animation of time bins) or .png \
                 (count images and the event-rate histogram)",
                out.display()
            ),
        }
    }

    /// About how many pixels a side the sensor is drawn.
    fn target(self) -> u32 {
        match self {
            Kind::Gif => 480,
            Kind::Png => 320,
        }
    }
}

/// The default GIF bin, ms.
const DEFAULT_BIN_MS: f64 = 10.0;
/// The default cap on GIF frames.
const DEFAULT_MAX_FRAMES: u64 = 1000;
/// The rate histogram's bin, µs (10 ms), widened to keep at most [`MAX_BARS`] bars.
const RATE_BIN_US: u64 = 10_000;
/// Most bars in the rate histogram.
const MAX_BARS: u64 = 2000;
/// N-MNIST's saccades: three of 100 ms.
const SACCADE_US: u64 = 100_000;

/// `ms` as whole microseconds, at least 1; `what` names the option in the error.
fn micros(ms: f64, what: &str) -> Result<u64> {
    ensure!(
        ms.is_finite() && ms > 0.0,
        "{what} must be a positive number of ms, got {ms}"
    );
    let us = (ms * 1000.0).round();
    ensure!(
        us >= 1.0,
        "{what} {ms} ms is shorter than the 1 µs the timestamps resolve"
    );
    ensure!(us < 1e15, "{what} {ms} ms is longer than any recording");
    Ok(us as u64)
}

/// Refuses the options of the other kind of picture.
fn check_options(a: &RenderArgs, kind: Kind) -> Result<()> {
    let gif_only = [
        ("--bin-ms", a.bin_ms.is_some()),
        ("--max-frames", a.max_frames.is_some()),
        ("--delay-ms", a.delay_ms.is_some()),
    ];
    let png_only = [("--panels", a.panels.is_some()), ("--panel-ms", a.panel_ms.is_some())];
    let (wrong, name) = match kind {
        Kind::Gif => (&png_only[..], ".gif"),
        Kind::Png => (&gif_only[..], ".png"),
    };
    if let Some((opt, _)) = wrong.iter().find(|(_, given)| *given) {
        bail!("{opt} does not apply to a {name} (the .gif takes --bin-ms, --max-frames, --delay-ms; the .png --panels, --panel-ms)");
    }
    if let Some(s) = a.scale {
        ensure!(s >= 1, "--scale must be at least 1");
    }
    if let Some(d) = a.downsample {
        ensure!(d >= 1, "--downsample must be at least 1");
    }
    if let Some(n) = a.panels {
        ensure!(
            (1..=MAX_PANELS).contains(&n),
            "--panels must be 1 to {MAX_PANELS}, got {n}"
        );
    }
    if let Some(m) = a.max_frames {
        ensure!(m >= 1, "--max-frames must be at least 1");
    }
    if let Some(d) = a.delay_ms {
        ensure!(
            (10..=655_350).contains(&d),
            "--delay-ms must be 10 to 655,350 (a GIF counts in steps of 10 ms), got {d}"
        );
    }
    Ok(())
}

/// Runs `events render`.
pub fn render(a: RenderArgs) -> Result<()> {
    let kind = Kind::of(&a.out)?;
    check_options(&a, kind)?;
    let summary = summarise(Reader::open(&a.file)?, |_| {})?;
    ensure!(summary.stats.events > 0, "{}: no events to draw", a.file.display());
    let sensor = summary.sensor;

    // The transforms every chunk goes through: the filters asked for, then
    // the downsampling that fits a large sensor.
    let mut pipeline = Compose::new();
    if let Some(us) = a.denoise_us {
        pipeline = pipeline.then(Denoise::new(sensor, us)?);
    }
    if let Some(us) = a.refractory_us {
        pipeline = pipeline.then(RefractoryPeriod::new(sensor, us)?);
    }
    let factor = a
        .downsample
        .unwrap_or_else(|| draw::fit(sensor.width, sensor.height, kind.target()).0);
    let shown = if factor > 1 {
        let d = Downsample::by(sensor, factor, factor)?;
        pipeline = pipeline.then(d);
        d.sensor()
    } else {
        sensor
    };
    let scale = a
        .scale
        .unwrap_or_else(|| draw::fit(shown.width, shown.height, kind.target()).1);
    let view = View {
        summary: &summary,
        sensor,
        shown,
        factor,
        scale,
    };
    match kind {
        Kind::Gif => gif(&a, &view, pipeline),
        Kind::Png => png(&a, &view, pipeline),
    }
}

/// What is drawn: the recording's summary, its sensor and the sensor as shown.
struct View<'a> {
    summary: &'a Summary,
    sensor: Sensor,
    shown: Sensor,
    factor: u16,
    scale: u32,
}

impl View<'_> {
    /// "34 x 34 pixels" (and the downsampling).
    fn sensor_text(&self) -> String {
        let s = self.sensor;
        let mut d = format!("{} x {} pixels", s.width, s.height);
        if self.factor > 1 {
            d += &format!(
                " drawn as {} x {} (downsampled by {})",
                self.shown.width, self.shown.height, self.factor
            );
        }
        d
    }

    /// "N-MNIST .bin (40-bit events), 34 x 34 pixels" (and the downsampling).
    fn describe(&self) -> String {
        format!("{}, {}", self.summary.format.describe(), self.sensor_text())
    }
}

/// Reads `file` again, each chunk through `pipeline`, into `f`.
fn stream(file: &Path, pipeline: &mut Compose, mut f: impl FnMut(&[Event]) -> Result<()>) -> Result<()> {
    let mut reader = Reader::open(file)?;
    let mut buf = Vec::new();
    while let Some(chunk) = reader.next_chunk()? {
        buf.clear();
        buf.extend_from_slice(chunk);
        pipeline.apply(&mut buf);
        f(&buf)?;
    }
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

/// µs after `origin` as ms.
fn ms_after(t: u64, origin: u64) -> f64 {
    (t as f64 - origin as f64) / 1000.0
}

fn gif(a: &RenderArgs, v: &View<'_>, mut pipeline: Compose) -> Result<()> {
    let bin_ms = a.bin_ms.unwrap_or(DEFAULT_BIN_MS);
    let bin = micros(bin_ms, "--bin-ms")?;
    let max_frames = a.max_frames.unwrap_or(DEFAULT_MAX_FRAMES);
    let st = &v.summary.stats;
    // Bins from a multiple of the bin (0 for N-MNIST, whose clock starts at 0).
    let origin = st.t_first_us / bin * bin;
    let span = st.t_last_us - origin;
    let frames = span / bin + 1;
    if frames > max_frames {
        let need_ms = (span + 1).div_ceil(max_frames).div_ceil(1000);
        bail!(
            "{}: {frames} frames of {bin_ms} ms would be needed for its {:.3} s, more than --max-frames {max_frames}: \
             pass --bin-ms {need_ms} (or more), or a larger --max-frames",
            a.file.display(),
            (span + 1) as f64 / 1e6
        );
    }
    let delay = a
        .delay_ms
        .unwrap_or_else(|| (bin_ms * 10.0).round().clamp(20.0, 1000.0) as u32);
    let title = format!("{}: {}", file_name(&a.file), v.summary.format.describe());
    let mut subtitle = v.sensor_text();
    if origin > 0 {
        subtitle += &format!("; times from {} µs", group(origin));
    }
    let mut out = EventGif::create(
        &a.out,
        (v.shown.width, v.shown.height),
        v.scale,
        delay,
        (&title, &subtitle),
        frames as usize,
    )?;
    let mut acc = FrameAccumulator::new(v.shown, bin, origin)?.end_time(origin + frames * bin)?;
    let failed = RefCell::new(None);
    let mut drawn = 0u64;
    let mut emit = |f: &Frame| {
        if failed.borrow().is_none() {
            let t = (ms_after(f.t_start, origin), ms_after(f.t_end, origin));
            if let Err(e) = out.frame(&f.on, &f.off, t) {
                *failed.borrow_mut() = Some(e);
            }
        }
    };
    stream(&a.file, &mut pipeline, |chunk| {
        drawn += chunk.len() as u64;
        acc.push(chunk, &mut emit);
        failed.borrow_mut().take().map_or(Ok(()), Err)
    })?;
    acc.finish(&mut emit);
    if let Some(e) = failed.into_inner() {
        return Err(e);
    }
    let written = out.finish()?;
    ensure!(
        written as u64 == frames,
        "drew {written} frames where {frames} were due"
    );
    eprintln!(
        "{}: {frames} frames of {bin_ms} ms, {} x {} pixels at scale {}, {} events -> {}",
        a.file.display(),
        v.shown.width,
        v.shown.height,
        v.scale,
        group(drawn),
        a.out.display()
    );
    Ok(())
}

fn png(a: &RenderArgs, v: &View<'_>, mut pipeline: Compose) -> Result<()> {
    let st = &v.summary.stats;
    let nmnist = v.summary.format == Format::Nmnist;
    // The panels: `n` slices of `width` µs from `origin`.
    let (origin, width, n) = match (a.panel_ms, a.panels) {
        (Some(ms), n) => {
            let w = micros(ms, "--panel-ms")?;
            (st.t_first_us / w * w, w, n.unwrap_or(3))
        }
        (None, None) if nmnist => (st.t_first_us / SACCADE_US * SACCADE_US, SACCADE_US, 3),
        (None, n) => {
            let n = n.unwrap_or(3);
            // Equal slices of the span, in whole ms when it is that long.
            let span = st.t_last_us - st.t_first_us + 1;
            let w = span.div_ceil(n as u64);
            let w = if w >= 1000 { w.div_ceil(1000) * 1000 } else { w };
            (st.t_first_us, w, n)
        }
    };
    let end = origin.saturating_add(width.saturating_mul(n as u64));
    let mut acc = FrameAccumulator::new(v.shown, width, origin)?.end_time(end)?;
    // The rate histogram: 10 ms bins (wider for long recordings) from a multiple of 10 ms.
    let rate_origin = st.t_first_us / RATE_BIN_US * RATE_BIN_US;
    let rate_span = st.t_last_us - rate_origin + 1;
    let rate_bin = RATE_BIN_US * rate_span.div_ceil(RATE_BIN_US * MAX_BARS).max(1);
    let bins = rate_span.div_ceil(rate_bin) as usize;
    let (mut on, mut off) = (vec![0u64; bins], vec![0u64; bins]);
    let mut panels = Vec::with_capacity(n);
    let label = |f: &Frame| {
        let (t0, t1) = (ms_after(f.t_start, origin), ms_after(f.t_end, origin));
        format!("{} to {} ms", fmt_ms(t0), fmt_ms(t1))
    };
    let mut keep = |f: &Frame| {
        panels.push(CountPanel {
            on: f.on.clone(),
            off: f.off.clone(),
            label: label(f),
        });
    };
    let mut drawn = 0u64;
    stream(&a.file, &mut pipeline, |chunk| {
        drawn += chunk.len() as u64;
        for e in chunk {
            let k = ((e.t.saturating_sub(rate_origin)) / rate_bin).min(bins as u64 - 1) as usize;
            if e.on {
                on[k] += 1;
            } else {
                off[k] += 1;
            }
        }
        acc.push(chunk, &mut keep);
        Ok(())
    })?;
    let outside = acc.before() + acc.after();
    acc.finish(&mut keep);
    ensure!(panels.len() == n, "counted {} panels where {n} were due", panels.len());

    let rate = RateHistogram {
        t0_ms: ms_after(rate_origin, origin),
        bin_ms: rate_bin as f64 / 1000.0,
        on,
        off,
        marks_ms: (0..=n as u64).map(|k| ms_after(origin + k * width, origin)).collect(),
    };
    let (n_on, n_off) = (rate.on.iter().sum::<u64>(), rate.off.iter().sum::<u64>());
    let mut subtitle = format!(
        "{}; {} events ({} ON, {} OFF) over {} ms",
        v.describe(),
        group(drawn),
        group(n_on),
        group(n_off),
        fmt_ms((st.t_last_us - st.t_first_us) as f64 / 1000.0)
    );
    if drawn != st.events {
        subtitle += &format!(" (of {} before the filters)", group(st.events));
    }
    if origin > 0 {
        subtitle += &format!("; times from {} µs", group(origin));
    }
    if outside > 0 {
        subtitle += &format!("; {} outside the panels' time", group(outside));
    }
    let title = if nmnist && a.panel_ms.is_none() && a.panels.is_none() {
        format!("{}: count images of the three saccades, event rate", file_name(&a.file))
    } else {
        format!("{}: count images of {n} time slices, event rate", file_name(&a.file))
    };
    draw::event_panels(
        &title,
        &subtitle,
        (v.shown.width, v.shown.height),
        v.scale,
        &panels,
        &rate,
        &a.out,
    )?;
    eprintln!(
        "{}: {n} count images of {} ms and the event rate, {} events -> {} (and .svg)",
        a.file.display(),
        fmt_ms(width as f64 / 1000.0),
        group(drawn),
        a.out.display()
    );
    Ok(())
}

/// ms with at most three decimals, trailing zeros dropped.
fn fmt_ms(ms: f64) -> String {
    let s = format!("{ms:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_extension_picks_the_picture() {
        assert_eq!(Kind::of(Path::new("a/x.GIF")).unwrap(), Kind::Gif);
        assert_eq!(Kind::of(Path::new("x.png")).unwrap(), Kind::Png);
        assert!(Kind::of(Path::new("x.jpg")).is_err());
        assert!(Kind::of(Path::new("x")).is_err());
    }

    #[test]
    fn milliseconds_become_whole_microseconds() {
        assert_eq!(micros(10.0, "x").unwrap(), 10_000);
        assert_eq!(micros(0.0015, "x").unwrap(), 2);
        assert!(micros(0.0, "x").is_err());
        assert!(micros(0.0001, "x").is_err());
        assert!(micros(f64::NAN, "x").is_err());
        assert_eq!(fmt_ms(100.0), "100");
        assert_eq!(fmt_ms(3.25), "3.25");
    }
}
