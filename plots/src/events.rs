//! Pictures of event-camera recordings (`host-sim events render`): an
//! animated GIF of time bins, ON and OFF in two colours on a dark
//! background, written frame by frame as the bins are counted
//! ([`EventGif`]); and a figure of count images, one per time slice, beside
//! the event-rate histogram ([`event_panels`], PNG + SVG like every figure).
//!
//! The API takes plain data (per-pixel counts in row-major order, counts
//! per bin), so it depends on no event type; the layouts ([`GifLayout`],
//! [`PanelsLayout`]) tell where each sensor pixel lands in the picture.

use std::path::Path;

use anyhow::{ensure, Context, Result};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::axes::tick;
use super::render::{anchored, create_parent, ensure_font, font, save, Bitmap, Figure};

/// Background of the sensor images (and of the whole GIF): near black.
pub const EVENT_BG_COLOR: RGBColor = RGBColor(16, 16, 16);
/// ON events (brighter): amber.
pub const EVENT_ON_COLOR: RGBColor = RGBColor(255, 176, 32);
/// OFF events (darker): blue.
pub const EVENT_OFF_COLOR: RGBColor = RGBColor(48, 148, 255);
/// A GIF pixel with both ON and OFF events in its bin: the two colours
/// added onto the background, white.
pub const EVENT_BOTH_COLOR: RGBColor = RGBColor(255, 255, 255);
/// Text on the GIF's dark background. Text is anti-aliased between this
/// grey and the background's grey, so a frame holds only greys besides the
/// event colours: fewer than 256 colours, and the GIF's palette is exact.
const GIF_TEXT_COLOR: RGBColor = RGBColor(205, 205, 205);
/// Outline of the sensor's area.
const SENSOR_EDGE_COLOR: RGBColor = RGBColor(90, 90, 90);

/// The largest picture side either output accepts, pixels.
const MAX_SIDE: u32 = 8192;

/// The colour of a GIF pixel by which polarities it had in the bin:
/// background, ON, OFF, or both ([`EVENT_BOTH_COLOR`]).
pub fn polarity_color(on: u32, off: u32) -> RGBColor {
    match (on > 0, off > 0) {
        (false, false) => EVENT_BG_COLOR,
        (true, false) => EVENT_ON_COLOR,
        (false, true) => EVENT_OFF_COLOR,
        (true, true) => EVENT_BOTH_COLOR,
    }
}

/// Brightness of `count` events in [0, 1]: 0 for none, from 0.3 for one up
/// to 1 at `full` and above, along a square root (so single events show).
fn level(count: u32, full: u32) -> f64 {
    if count == 0 {
        return 0.0;
    }
    let x = (f64::from(count) / f64::from(full.max(1))).min(1.0);
    0.3 + 0.7 * x.sqrt()
}

/// The colour of a pixel of a count image: ON's and OFF's colours, each at
/// the brightness of its count (full at `full`), added onto the
/// background. A pixel with only ON events is a shade of amber (red >
/// blue), only OFF a shade of blue (blue > red).
pub fn count_color(on: u32, off: u32, full: u32) -> RGBColor {
    let (a, b) = (level(on, full), level(off, full));
    let mix = |bg: u8, on_c: u8, off_c: u8| {
        let bg = f64::from(bg);
        (bg + a * (f64::from(on_c) - bg) + b * (f64::from(off_c) - bg))
            .round()
            .clamp(0.0, 255.0) as u8
    };
    RGBColor(
        mix(EVENT_BG_COLOR.0, EVENT_ON_COLOR.0, EVENT_OFF_COLOR.0),
        mix(EVENT_BG_COLOR.1, EVENT_ON_COLOR.1, EVENT_OFF_COLOR.1),
        mix(EVENT_BG_COLOR.2, EVENT_ON_COLOR.2, EVENT_OFF_COLOR.2),
    )
}

/// The count drawn at full brightness in count images: the 99th percentile
/// of the non-zero counts (so one busy pixel does not darken the rest), at least 1.
pub fn full_count(counts: impl Iterator<Item = u32>) -> u32 {
    let mut v: Vec<u32> = counts.filter(|&c| c > 0).collect();
    if v.is_empty() {
        return 1;
    }
    let k = ((v.len() - 1) as f64 * 0.99).round() as usize;
    let (_, p, _) = v.select_nth_unstable(k);
    (*p).max(1)
}

/// How to fit a `width` x `height` sensor to about `target` pixels a side:
/// (sensor pixels per drawn pixel, the integer factor a large sensor is
/// downsampled by; drawn pixels per image pixel, the integer factor a
/// small one is scaled up by). A sensor up to 1.5 `target` is kept whole.
pub fn fit(width: u16, height: u16, target: u32) -> (u16, u32) {
    let side = u32::from(width.max(height)).max(1);
    let limit = target + target / 2;
    let factor = side.div_ceil(limit).max(1);
    let shown = side.div_ceil(factor);
    (factor.min(u32::from(u16::MAX)) as u16, (target / shown).max(1))
}

/// `width` x `height` pixels scaled by `scale` as an RGB buffer, pixel
/// (x, y) coloured `color(y * width + x)`.
fn sensor_rgb(width: u16, height: u16, scale: u32, color: impl Fn(usize) -> RGBColor) -> Vec<u8> {
    let (w, h) = (u32::from(width), u32::from(height));
    let (pw, ph) = (w * scale, h * scale);
    let mut buf = vec![0u8; (pw * ph * 3) as usize];
    let mut row = vec![0u8; (pw * 3) as usize];
    for y in 0..h {
        for x in 0..w {
            let RGBColor(r, g, b) = color((y * w + x) as usize);
            for dx in 0..scale {
                let k = ((x * scale + dx) * 3) as usize;
                row[k..k + 3].copy_from_slice(&[r, g, b]);
            }
        }
        for dy in 0..scale {
            let k = (((y * scale + dy) * pw) * 3) as usize;
            buf[k..k + row.len()].copy_from_slice(&row);
        }
    }
    buf
}

/// `1234567` as `1,234,567`: the counts in captions.
pub fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn check_counts(width: u16, height: u16, on: &[u32], off: &[u32]) -> Result<()> {
    let pixels = usize::from(width) * usize::from(height);
    ensure!(
        on.len() == pixels && off.len() == pixels,
        "expected {pixels} counts per polarity for {width} x {height} pixels, got {} ON and {} OFF",
        on.len(),
        off.len()
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// The GIF

/// Pixels of the GIF above the sensor image (two lines of title).
const GIF_TOP: u32 = 52;
/// Pixels below it (the caption and the legend).
const GIF_BOTTOM: u32 = 52;
/// Narrowest GIF, so the text fits.
const GIF_MIN_WIDTH: u32 = 480;

/// Where the sensor lands in the GIF: `size` of the whole frame, the
/// sensor image's top-left corner `origin`, `scale` image pixels per sensor pixel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GifLayout {
    /// The frame's width and height, pixels.
    pub size: (u32, u32),
    /// Top-left corner of the sensor image.
    pub origin: (u32, u32),
    /// Image pixels per sensor pixel (each way).
    pub scale: u32,
}

impl GifLayout {
    /// The layout for a `width` x `height` sensor drawn `scale` times.
    pub fn new(width: u16, height: u16, scale: u32) -> Result<Self> {
        ensure!(
            width > 0 && height > 0,
            "a sensor of {width} x {height} pixels has none to draw"
        );
        ensure!(scale > 0, "--scale must be at least 1");
        let (iw, ih) = (u32::from(width) * scale, u32::from(height) * scale);
        let size = ((iw + 32).max(GIF_MIN_WIDTH), ih + GIF_TOP + GIF_BOTTOM);
        ensure!(
            size.0 <= MAX_SIDE && size.1 <= MAX_SIDE,
            "a {width} x {height} sensor at scale {scale} makes a {} x {} GIF, larger than {MAX_SIDE} pixels a side: \
             pass a smaller --scale or a --downsample",
            size.0,
            size.1
        );
        Ok(GifLayout {
            size,
            origin: ((size.0 - iw) / 2, GIF_TOP),
            scale,
        })
    }
}

/// An animated GIF of event counts written frame by frame, one frame per
/// time bin: memory is one frame, whatever the recording's length. Each
/// pixel is the background, ON, OFF or both colours by the events it had in
/// the bin ([`polarity_color`]); two lines of title name the recording, the
/// caption gives the bin's time and counts. Loops forever.
pub struct EventGif<'a> {
    root: DrawingArea<Bitmap<'a>, Shift>,
    path: &'a Path,
    layout: GifLayout,
    width: u16,
    height: u16,
    /// The title's lines and their font sizes (shrunk to fit the width).
    title: Vec<(String, f64)>,
    frames: usize,
    written: usize,
}

impl<'a> EventGif<'a> {
    /// Creates `path` for a `width` x `height` sensor drawn `scale` times,
    /// each frame shown for `delay_ms` (GIF delays are in steps of 10 ms),
    /// `frames` frames in all (for the caption's "frame k of n"), with a
    /// title of two lines (`title`, and `subtitle` in a smaller font; each
    /// shrunk to fit the frame's width).
    pub fn create(
        path: &'a Path,
        (width, height): (u16, u16),
        scale: u32,
        delay_ms: u32,
        (title, subtitle): (&str, &str),
        frames: usize,
    ) -> Result<Self> {
        let layout = GifLayout::new(width, height, scale)?;
        ensure_font()?;
        create_parent(path)?;
        let gif = BitMapBackend::gif(path, layout.size, delay_ms.max(10))
            .with_context(|| format!("creating {}", path.display()))?;
        let root = Bitmap(gif).into_drawing_area();
        let room = layout.size.0.saturating_sub(16);
        let mut lines = Vec::new();
        for (text, mut size) in [(title, 15.0), (subtitle, 12.0)] {
            while size > 8.0 && root.estimate_text_size(text, &font(size))?.0 > room {
                size -= 0.5;
            }
            lines.push((text.to_string(), size));
        }
        Ok(EventGif {
            root,
            path,
            layout,
            width,
            height,
            title: lines,
            frames,
            written: 0,
        })
    }

    /// Where the sensor lands in each frame.
    pub fn layout(&self) -> GifLayout {
        self.layout
    }

    /// Adds the frame of one bin: `on` and `off` counts per pixel
    /// (row-major), the bin's time `t_ms` (start, end) for the caption.
    pub fn frame(&mut self, on: &[u32], off: &[u32], t_ms: (f64, f64)) -> Result<()> {
        check_counts(self.width, self.height, on, off)?;
        let root = &self.root;
        let l = self.layout;
        root.fill(&EVENT_BG_COLOR)?;
        let text = |size: f64, h: HPos| anchored(font(size).color(&GIF_TEXT_COLOR), h, VPos::Center);
        for ((line, size), y) in self.title.iter().zip([16, 36]) {
            root.draw(&Text::new(
                line.as_str(),
                (l.size.0 as i32 / 2, y),
                text(*size, HPos::Center),
            ))?;
        }
        let (iw, ih) = (u32::from(self.width) * l.scale, u32::from(self.height) * l.scale);
        let (x0, y0) = (l.origin.0 as i32, l.origin.1 as i32);
        root.draw(&Rectangle::new(
            [(x0 - 1, y0 - 1), (x0 + iw as i32, y0 + ih as i32)],
            SENSOR_EDGE_COLOR.stroke_width(1),
        ))?;
        let image = sensor_rgb(self.width, self.height, l.scale, |i| polarity_color(on[i], off[i]));
        root.draw(
            &BitMapElement::with_owned_buffer((x0, y0), (iw, ih), image).context("frame buffer has the wrong size")?,
        )?;
        let n_on = on.iter().map(|&c| u64::from(c)).sum::<u64>();
        let n_off = off.iter().map(|&c| u64::from(c)).sum::<u64>();
        let cx = l.size.0 as i32 / 2;
        let y = (GIF_TOP + ih + 18) as i32;
        let caption = format!(
            "{} to {} ms: {} ON, {} OFF (frame {} of {})",
            tick(&t_ms.0),
            tick(&t_ms.1),
            group(n_on),
            group(n_off),
            self.written + 1,
            self.frames
        );
        root.draw(&Text::new(caption, (cx, y), text(14.0, HPos::Center)))?;
        // Legend: two swatches, centred under the caption.
        let y = y + 22;
        for (x, name, color) in [(cx - 52, "ON", EVENT_ON_COLOR), (cx + 8, "OFF", EVENT_OFF_COLOR)] {
            root.draw(&Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()))?;
            root.draw(&Text::new(name, (x + 15, y), text(13.0, HPos::Left)))?;
        }
        root.present()
            .with_context(|| format!("writing frame {} of {}", self.written + 1, self.path.display()))?;
        self.written += 1;
        Ok(())
    }

    /// Ends the GIF; the number of frames written.
    pub fn finish(self) -> Result<usize> {
        ensure!(self.written > 0, "{}: no frames were drawn", self.path.display());
        Ok(self.written)
    }
}

// ---------------------------------------------------------------------------
// Count images beside the event-rate histogram

/// One count image: ON and OFF events per pixel (row-major) over a time
/// slice, and its caption.
#[derive(Debug, Clone)]
pub struct CountPanel {
    /// ON counts.
    pub on: Vec<u32>,
    /// OFF counts.
    pub off: Vec<u32>,
    /// Caption under the image (the slice's time).
    pub label: String,
}

/// Events per time bin, ON and OFF, from `t0_ms` in bins of `bin_ms`.
#[derive(Debug, Clone)]
pub struct RateHistogram {
    /// The first bin's start, ms.
    pub t0_ms: f64,
    /// Bin width, ms.
    pub bin_ms: f64,
    /// ON events per bin.
    pub on: Vec<u64>,
    /// OFF events per bin (as many bins as `on`).
    pub off: Vec<u64>,
    /// Times drawn as vertical lines (the panels' edges), ms.
    pub marks_ms: Vec<f64>,
}

/// Pixels above the panels (title and subtitle).
const PANELS_TOP: u32 = 68;
/// Pixels left of the first panel.
const PANELS_LEFT: u32 = 20;
/// Pixels between panels.
const PANEL_GAP: u32 = 16;
/// Pixels under each panel for its caption.
const PANEL_CAPTION: u32 = 46;
/// The histogram's width, pixels.
const RATE_WIDTH: u32 = 600;
/// The histogram's smallest height, pixels.
const RATE_MIN_HEIGHT: u32 = 320;
/// Most panels in one figure.
pub const MAX_PANELS: usize = 12;

/// Where everything lands in [`event_panels`]' PNG.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelsLayout {
    /// The figure's width and height, pixels.
    pub size: (u32, u32),
    /// Image pixels per sensor pixel.
    pub scale: u32,
    /// One panel's width and height, pixels.
    pub panel_px: (u32, u32),
    /// Each panel's top-left corner.
    pub panels: Vec<(u32, u32)>,
    /// The histogram's area: (x0, y0, x1, y1), end-exclusive.
    pub histogram: (u32, u32, u32, u32),
}

impl PanelsLayout {
    /// The layout of `n` panels of a `width` x `height` sensor drawn `scale` times.
    pub fn new(width: u16, height: u16, n: usize, scale: u32) -> Result<Self> {
        ensure!(
            width > 0 && height > 0,
            "a sensor of {width} x {height} pixels has none to draw"
        );
        ensure!(scale > 0, "--scale must be at least 1");
        ensure!(
            (1..=MAX_PANELS).contains(&n),
            "--panels must be 1 to {MAX_PANELS}, got {n}"
        );
        let (pw, ph) = (u32::from(width) * scale, u32::from(height) * scale);
        let panels: Vec<(u32, u32)> = (0..n as u32)
            .map(|k| (PANELS_LEFT + k * (pw + PANEL_GAP), PANELS_TOP))
            .collect();
        let hx = PANELS_LEFT + n as u32 * (pw + PANEL_GAP) + 8;
        let hh = (ph + PANEL_CAPTION).max(RATE_MIN_HEIGHT);
        let size = (hx + RATE_WIDTH + 16, PANELS_TOP + hh + 16);
        ensure!(
            size.0 <= MAX_SIDE && size.1 <= MAX_SIDE,
            "{n} panels of a {width} x {height} sensor at scale {scale} make a {} x {} figure, larger than \
             {MAX_SIDE} pixels a side: pass a smaller --scale, a --downsample or fewer --panels",
            size.0,
            size.1
        );
        Ok(PanelsLayout {
            size,
            scale,
            panel_px: (pw, ph),
            panels,
            histogram: (hx, PANELS_TOP - 28, hx + RATE_WIDTH, PANELS_TOP + hh),
        })
    }
}

struct EventPanels<'a> {
    title: &'a str,
    subtitle: &'a str,
    width: u16,
    height: u16,
    layout: PanelsLayout,
    panels: &'a [CountPanel],
    rate: &'a RateHistogram,
    full: u32,
}

impl Figure for EventPanels<'_> {
    fn size(&self) -> (u32, u32) {
        self.layout.size
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let l = &self.layout;
        root.draw(&Text::new(
            self.title,
            (PANELS_LEFT as i32, 18),
            anchored(font(20.0), HPos::Left, VPos::Center),
        ))?;
        root.draw(&Text::new(
            self.subtitle,
            (PANELS_LEFT as i32, 42),
            anchored(font(14.0), HPos::Left, VPos::Center),
        ))?;
        let (pw, ph) = l.panel_px;
        for (p, &(x, y)) in self.panels.iter().zip(&l.panels) {
            let image = sensor_rgb(self.width, self.height, l.scale, |i| {
                count_color(p.on[i], p.off[i], self.full)
            });
            root.draw(
                &BitMapElement::with_owned_buffer((x as i32, y as i32), (pw, ph), image)
                    .context("panel buffer has the wrong size")?,
            )?;
            let cx = (x + pw / 2) as i32;
            let below = (y + ph) as i32;
            root.draw(&Text::new(
                p.label.as_str(),
                (cx, below + 14),
                anchored(font(14.0), HPos::Center, VPos::Center),
            ))?;
            let (n_on, n_off) = (
                p.on.iter().map(|&c| u64::from(c)).sum::<u64>(),
                p.off.iter().map(|&c| u64::from(c)).sum::<u64>(),
            );
            root.draw(&Text::new(
                format!("{} ON, {} OFF", group(n_on), group(n_off)),
                (cx, below + 33),
                anchored(font(13.0), HPos::Center, VPos::Center),
            ))?;
        }
        let (hx0, hy0, hx1, hy1) = l.histogram;
        let area = root.clone().shrink((hx0, hy0), (hx1 - hx0, hy1 - hy0));
        self.draw_rate(&area)
    }
}

impl EventPanels<'_> {
    fn draw_rate<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let r = self.rate;
        let n = r.on.len();
        let x0 = r.t0_ms;
        let x1 = r.t0_ms + r.bin_ms * n.max(1) as f64;
        let top = r.on.iter().zip(&r.off).map(|(a, b)| a + b).max().unwrap_or(0).max(1) as f64 * 1.15;
        let mut chart = ChartBuilder::on(area)
            .caption(format!("events per {} ms bin", tick(&r.bin_ms)), font(16.0))
            .margin(8)
            .margin_right(16)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1, 0.0..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("time (ms)")
            .y_desc("events")
            .axis_desc_style(font(15.0))
            .label_style(font(13.0))
            .x_labels(8)
            .y_labels(6)
            .max_light_lines(3)
            .light_line_style(RGBColor(243, 243, 243))
            .bold_line_style(RGBColor(220, 220, 220))
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .draw()?;
        let bar = |k: usize, lo: u64, hi: u64, c: RGBColor| {
            let x = r.t0_ms + r.bin_ms * k as f64;
            Rectangle::new([(x, lo as f64), (x + r.bin_ms, hi as f64)], c.filled())
        };
        // OFF at the bottom, ON stacked on it.
        chart
            .draw_series(
                (0..n)
                    .filter(|&k| r.off[k] > 0)
                    .map(|k| bar(k, 0, r.off[k], EVENT_OFF_COLOR)),
            )?
            .label("OFF")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], EVENT_OFF_COLOR.filled()));
        chart
            .draw_series(
                (0..n)
                    .filter(|&k| r.on[k] > 0)
                    .map(|k| bar(k, r.off[k], r.off[k] + r.on[k], EVENT_ON_COLOR)),
            )?
            .label("ON")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], EVENT_ON_COLOR.filled()));
        let marks = r.marks_ms.iter().filter(|&&m| m > x0 && m < x1);
        chart.draw_series(
            marks.map(|&m| DashedPathElement::new(vec![(m, 0.0), (m, top)], 5, 4, RGBColor(120, 120, 120))),
        )?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .margin(8)
            .label_font(font(13.0))
            .background_style(WHITE.mix(0.88))
            .border_style(RGBColor(170, 170, 170))
            .draw()?;
        Ok(())
    }
}

/// Count images of a `width` x `height` sensor drawn `scale` times, one per
/// panel in a row, beside the event-rate histogram (OFF and ON stacked per
/// bin, the `marks_ms` as dashed lines); `title` and `subtitle` above. The
/// images share one brightness scale ([`count_color`], full at
/// [`full_count`] of all panels' counts). Written as PNG and SVG from the
/// stem (`out/x.png` gives `out/x.png` and `out/x.svg`).
pub fn event_panels(
    title: &str,
    subtitle: &str,
    (width, height): (u16, u16),
    scale: u32,
    panels: &[CountPanel],
    rate: &RateHistogram,
    stem: &Path,
) -> Result<()> {
    let layout = PanelsLayout::new(width, height, panels.len(), scale)?;
    for p in panels {
        check_counts(width, height, &p.on, &p.off)?;
    }
    ensure!(
        rate.on.len() == rate.off.len(),
        "the rate histogram needs as many ON bins as OFF bins"
    );
    ensure!(
        rate.bin_ms > 0.0 && rate.bin_ms.is_finite(),
        "the rate histogram's bin must be positive"
    );
    let full = full_count(panels.iter().flat_map(|p| p.on.iter().chain(&p.off).copied()));
    save(
        &EventPanels {
            title,
            subtitle,
            width,
            height,
            layout,
            panels,
            rate,
            full,
        },
        stem,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(
            (group(0), group(999), group(1000), group(1_234_567)),
            ("0".into(), "999".into(), "1,000".into(), "1,234,567".into())
        );
    }

    #[test]
    fn polarity_colors_are_distinct_and_both_is_white() {
        assert_eq!(polarity_color(0, 0), EVENT_BG_COLOR);
        assert_eq!(polarity_color(3, 0), EVENT_ON_COLOR);
        assert_eq!(polarity_color(0, 1), EVENT_OFF_COLOR);
        assert_eq!(polarity_color(1, 1), EVENT_BOTH_COLOR);
    }

    #[test]
    fn count_colors_brighten_with_the_count_and_keep_the_hue() {
        assert_eq!(count_color(0, 0, 5), EVENT_BG_COLOR);
        assert_eq!(count_color(5, 0, 5), EVENT_ON_COLOR);
        assert_eq!(count_color(9, 0, 5), EVENT_ON_COLOR);
        assert_eq!(count_color(0, 5, 5), EVENT_OFF_COLOR);
        let (one, two) = (count_color(1, 0, 5), count_color(2, 0, 5));
        assert!(one.0 > one.2 && one.0 > EVENT_BG_COLOR.0 && two.0 > one.0);
        let off = count_color(0, 1, 5);
        assert!(off.2 > off.0);
    }

    #[test]
    fn full_count_is_the_99th_percentile_of_nonzero_counts() {
        let counts = (1..=100u32).chain([0, 0, 10_000]);
        assert_eq!(full_count(counts), 100);
        assert_eq!(full_count([0, 0].into_iter()), 1);
    }

    #[test]
    fn fit_scales_small_sensors_up_and_large_ones_down() {
        assert_eq!(fit(34, 34, 480), (1, 14));
        assert_eq!(fit(128, 128, 480), (1, 3));
        assert_eq!(fit(346, 260, 480), (1, 1));
        assert_eq!(fit(1280, 720, 480), (2, 1));
        assert_eq!(fit(1280, 720, 320), (3, 1));
    }

    #[test]
    fn sensor_rgb_repeats_each_pixel_scale_times() {
        let buf = sensor_rgb(2, 1, 2, |i| if i == 0 { RGBColor(1, 2, 3) } else { RGBColor(4, 5, 6) });
        assert_eq!(buf.len(), 4 * 2 * 3);
        assert_eq!(&buf[..12], &[1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
        assert_eq!(&buf[12..], &buf[..12]);
    }

    #[test]
    fn layouts_refuse_empty_sensors_and_huge_pictures() {
        assert!(GifLayout::new(0, 5, 1).is_err());
        assert!(GifLayout::new(34, 34, 0).is_err());
        assert!(GifLayout::new(1280, 720, 10).is_err());
        let g = GifLayout::new(34, 34, 14).unwrap();
        assert_eq!(g.size, (508, 476 + GIF_TOP + GIF_BOTTOM));
        assert_eq!(g.origin, (16, GIF_TOP));
        assert!(PanelsLayout::new(34, 34, 0, 1).is_err());
        assert!(PanelsLayout::new(34, 34, MAX_PANELS + 1, 1).is_err());
        let p = PanelsLayout::new(34, 34, 3, 9).unwrap();
        assert_eq!(p.panels[1], (PANELS_LEFT + 306 + PANEL_GAP, PANELS_TOP));
        assert!(p.histogram.0 > p.panels[2].0 + 306);
    }
}
