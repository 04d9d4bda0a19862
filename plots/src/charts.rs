//! The single charts of training and evaluation.

use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::axes::{along, emptiest_corner, padded_range, tick, UPPER_RIGHT_FIRST};
use super::render::{anchored, font, save, Figure};
use super::style::*;

// ---------------------------------------------------------------------------
// 1. Receptive fields

/// How one neuron's weights are drawn: `panels` panels of `width` x
/// `height` inputs side by side. Input `i = (row * width + col) * panels +
/// channel`: a digit's pixels (`panels` 1), or a sensor's cells with an
/// OFF (channel 0) and an ON (channel 1) input each (`panels` 2, drawn ON
/// left, OFF right).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldShape {
    /// Inputs per row of a panel.
    pub width: u32,
    /// Rows of a panel.
    pub height: u32,
    /// 1, or 2 for ON/OFF pairs.
    pub panels: u32,
}

impl FieldShape {
    /// A square image of `n_inputs` pixels (784 = 28 x 28 for MNIST).
    pub fn square(n_inputs: usize) -> Result<Self> {
        let side = (n_inputs as f64).sqrt().round() as usize;
        ensure!(
            side > 0 && side * side == n_inputs,
            "receptive fields need a square input, got {n_inputs} inputs"
        );
        Ok(FieldShape {
            width: side as u32,
            height: side as u32,
            panels: 1,
        })
    }

    /// The inputs it draws.
    pub fn inputs(&self) -> usize {
        (self.width * self.height * self.panels) as usize
    }

    /// Where input `i` is drawn: its panel (0 left), row and column.
    pub fn place(&self, i: usize) -> (u32, u32, u32) {
        let i = i as u32;
        let (cell, channel) = (i / self.panels, i % self.panels);
        (self.panels - 1 - channel, cell / self.width, cell % self.width)
    }

    /// Width of a tile in inputs: the panels and one input's gap between them.
    fn tile_inputs(&self) -> u32 {
        self.panels * self.width + (self.panels - 1)
    }
}

/// Where each receptive-field tile lands in the image written by
/// [`receptive_fields`] (pixel coordinates, origin top left).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileGrid {
    /// What one tile shows.
    pub shape: FieldShape,
    /// Tiles per row: `ceil(sqrt(n_neurons))`.
    pub cols: u32,
    /// Rows of tiles.
    pub rows: u32,
    /// Image pixels per input.
    pub scale: u32,
    /// Image pixels between neighbouring tiles.
    pub gap: u32,
    /// Top-left corner of tile 0.
    pub origin: (u32, u32),
}

/// Image pixels left of the grid.
const RF_LEFT: u32 = 20;
/// Image pixels above the grid (title).
const RF_TOP: u32 = 56;
/// Image pixels below the grid.
const RF_BOTTOM: u32 = 20;
/// Image pixels right of the grid (colour bar and its tick labels).
const RF_RIGHT: u32 = 110;
/// The grid is scaled up to about this many pixels across.
const RF_TARGET_PX: u32 = 1200;

impl TileGrid {
    /// The layout [`receptive_fields`] uses for `n_neurons` tiles of
    /// `n_inputs` (a perfect square) pixels.
    pub fn new(n_inputs: usize, n_neurons: usize) -> Result<Self> {
        Self::shaped(FieldShape::square(n_inputs)?, n_neurons)
    }

    /// The layout for `n_neurons` tiles of `shape`.
    pub fn shaped(shape: FieldShape, n_neurons: usize) -> Result<Self> {
        ensure!(n_neurons > 0, "no neurons to plot");
        ensure!(
            shape.width > 0 && shape.height > 0 && (1..=2).contains(&shape.panels),
            "receptive fields need 1 or 2 panels of at least 1 x 1 inputs"
        );
        let cols = (n_neurons as f64).sqrt().ceil() as usize;
        let rows = n_neurons.div_ceil(cols);
        let across = cols * (shape.tile_inputs() as usize + 1);
        let scale = (RF_TARGET_PX as usize / across).clamp(1, 12) as u32;
        let gap = scale.div_ceil(2);
        Ok(Self {
            shape,
            cols: cols as u32,
            rows: rows as u32,
            scale,
            gap,
            origin: (RF_LEFT, RF_TOP),
        })
    }

    /// Size of one tile in image pixels (width, height).
    pub fn tile_px(&self) -> (u32, u32) {
        (self.shape.tile_inputs() * self.scale, self.shape.height * self.scale)
    }

    /// Top-left corner of panel `p` of a tile at `(x0, y0)`.
    pub fn panel_origin(&self, (x0, y0): (u32, u32), p: u32) -> (u32, u32) {
        (x0 + p * (self.shape.width + 1) * self.scale, y0)
    }

    /// Tile of neuron `j` as `(x0, y0, x1, y1)`, end-exclusive.
    pub fn tile_rect(&self, j: usize) -> (u32, u32, u32, u32) {
        let (col, row) = ((j as u32) % self.cols, (j as u32) / self.cols);
        let (w, h) = self.tile_px();
        let x0 = self.origin.0 + col * (w + self.gap);
        let y0 = self.origin.1 + row * (h + self.gap);
        (x0, y0, x0 + w, y0 + h)
    }

    /// Size of the tile grid (with gaps, without margins).
    pub fn grid_px(&self) -> (u32, u32) {
        let (w, h) = self.tile_px();
        (
            self.cols * (w + self.gap) - self.gap,
            self.rows * (h + self.gap) - self.gap,
        )
    }

    /// Size of the whole image.
    pub fn image_px(&self) -> (u32, u32) {
        let (w, h) = self.grid_px();
        (RF_LEFT + w + RF_RIGHT, RF_TOP + h + RF_BOTTOM)
    }
}

struct ReceptiveFields<'a> {
    weights: &'a [f32],
    n_neurons: usize,
    labels: Option<&'a [u8]>,
    grid: TileGrid,
    w_max: f32,
}

impl ReceptiveFields<'_> {
    /// The tile grid as an RGB buffer of [`TileGrid::grid_px`].
    fn grid_rgb(&self) -> Vec<u8> {
        let g = &self.grid;
        let (w, h) = g.grid_px();
        let mut buf = vec![0u8; (w * h * 3) as usize];
        for px in buf.chunks_exact_mut(3) {
            px.copy_from_slice(&[TILE_GAP_COLOR.0, TILE_GAP_COLOR.1, TILE_GAP_COLOR.2]);
        }
        let n = self.n_neurons;
        for j in 0..n {
            let (x0, y0, _, _) = g.tile_rect(j);
            let (x0, y0) = (x0 - g.origin.0, y0 - g.origin.1);
            for i in 0..g.shape.inputs() {
                let (p, r, c) = g.shape.place(i);
                let (px, py) = g.panel_origin((x0, y0), p);
                let v = f64::from(self.weights[i * n + j]) / f64::from(self.w_max);
                let RGBColor(cr, cg, cb) = hot_r(v);
                for dy in 0..g.scale {
                    let y = py + r * g.scale + dy;
                    let row = ((y * w + px + c * g.scale) * 3) as usize;
                    for dx in 0..g.scale as usize {
                        buf[row + 3 * dx..row + 3 * dx + 3].copy_from_slice(&[cr, cg, cb]);
                    }
                }
            }
        }
        // Unused cells of the last row stay blank.
        for j in n..(g.cols * g.rows) as usize {
            let (x0, y0, x1, y1) = g.tile_rect(j);
            for y in (y0 - g.origin.1)..(y1 - g.origin.1) {
                for x in (x0 - g.origin.0)..(x1 - g.origin.0) {
                    let k = ((y * w + x) * 3) as usize;
                    buf[k..k + 3].copy_from_slice(&[255, 255, 255]);
                }
            }
        }
        buf
    }
}

impl Figure for ReceptiveFields<'_> {
    fn size(&self) -> (u32, u32) {
        self.grid.image_px()
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let g = &self.grid;
        let (gw, gh) = g.grid_px();
        let (iw, _) = self.size();
        let title = format!(
            "Receptive fields of {} excitatory neurons (input weights, 0 to {:.3}){}",
            self.n_neurons,
            self.w_max,
            if g.shape.panels == 2 {
                "; each tile: ON | OFF"
            } else {
                ""
            }
        );
        // As large as fits the width (about 0.55 em per character).
        let fit = f64::from(iw.saturating_sub(20)) / (0.55 * title.chars().count() as f64);
        let title_size = if iw < 500 { 15.0f64 } else { 22.0 }.min(fit).max(9.0);
        root.draw(&Text::new(
            title,
            ((RF_LEFT + gw / 2) as i32, (RF_TOP / 2) as i32),
            anchored(font(title_size), HPos::Center, VPos::Center),
        ))?;
        let origin = (g.origin.0 as i32, g.origin.1 as i32);
        let tiles = BitMapElement::with_owned_buffer(origin, (gw, gh), self.grid_rgb())
            .context("tile buffer has the wrong size")?;
        root.draw(&tiles)?;

        if let Some(labels) = self.labels {
            let size = (f64::from(g.tile_px().1) * 0.38).clamp(9.0, 18.0);
            let style = anchored(font(size).color(&TILE_LABEL_COLOR), HPos::Left, VPos::Top);
            let pad = (g.tile_px().1 / 28).max(1) as i32;
            for (j, &label) in labels.iter().enumerate() {
                let (x0, y0, _, _) = g.tile_rect(j);
                let text = if label < 10 { label.to_string() } else { "?".to_string() };
                root.draw(&Text::new(text, (x0 as i32 + pad, y0 as i32 + pad), style.clone()))?;
            }
        }

        // Colour bar: hot_r from 0 (bottom) to w_max (top).
        let bar_x = (RF_LEFT + gw + 16) as i32;
        let bar_w = 18u32;
        let bar_h = gh;
        let bar_y = g.origin.1 as i32;
        let mut bar = vec![0u8; (bar_w * bar_h * 3) as usize];
        for y in 0..bar_h {
            let v = 1.0 - f64::from(y) / f64::from((bar_h - 1).max(1));
            let RGBColor(r, gg, b) = hot_r(v);
            for x in 0..bar_w {
                let k = ((y * bar_w + x) * 3) as usize;
                bar[k..k + 3].copy_from_slice(&[r, gg, b]);
            }
        }
        let bar = BitMapElement::with_owned_buffer((bar_x, bar_y), (bar_w, bar_h), bar)
            .context("colour bar buffer has the wrong size")?;
        root.draw(&bar)?;
        root.draw(&Rectangle::new(
            [(bar_x, bar_y), (bar_x + bar_w as i32, bar_y + bar_h as i32)],
            BLACK.stroke_width(1),
        ))?;
        let tick_style = anchored(font(13.0), HPos::Left, VPos::Center);
        for k in 0..=4 {
            let frac = f64::from(k) / 4.0;
            let y = bar_y + ((1.0 - frac) * f64::from(bar_h - 1)).round() as i32;
            let x = bar_x + bar_w as i32;
            root.draw(&PathElement::new(vec![(x, y), (x + 4, y)], BLACK))?;
            let value = format!("{:.2}", frac * f64::from(self.w_max));
            root.draw(&Text::new(value, (x + 7, y), tick_style.clone()))?;
        }
        root.draw(&Text::new(
            "weight",
            (bar_x + bar_w as i32 / 2, bar_y + bar_h as i32 + 6),
            anchored(font(13.0), HPos::Center, VPos::Top),
        ))?;
        Ok(())
    }
}

/// The learned receptive fields as a grid of tiles, `ceil(sqrt(N))` per row.
///
/// `weights[i * n_neurons + j]` is the weight from input pixel `i` onto
/// neuron `j`; each neuron's `n_inputs` weights (a square image, 784 = 28x28
/// for MNIST) become one tile, coloured with `hot_r` from 0 (white) to the
/// largest weight (black). `labels`, one per neuron, writes the neuron's
/// assigned class in the tile's corner (a value above 9 shows as `?`).
/// [`TileGrid::new`] tells where each tile lands in the PNG.
pub fn receptive_fields(
    weights: &[f32],
    n_inputs: usize,
    n_neurons: usize,
    labels: Option<&[u8]>,
    stem: &Path,
) -> Result<()> {
    receptive_fields_shaped(weights, FieldShape::square(n_inputs)?, n_neurons, labels, stem)
}

/// [`receptive_fields`] of any [`FieldShape`]: an event sensor's ON/OFF
/// pairs drawn as two panels per tile ([`TileGrid::shaped`] tells where).
pub fn receptive_fields_shaped(
    weights: &[f32],
    shape: FieldShape,
    n_neurons: usize,
    labels: Option<&[u8]>,
    stem: &Path,
) -> Result<()> {
    let grid = TileGrid::shaped(shape, n_neurons)?;
    let n_inputs = shape.inputs();
    ensure!(
        weights.len() == n_inputs * n_neurons,
        "expected {n_inputs} x {n_neurons} = {} weights, got {}",
        n_inputs * n_neurons,
        weights.len()
    );
    if let Some(labels) = labels {
        ensure!(
            labels.len() == n_neurons,
            "expected {n_neurons} labels, got {}",
            labels.len()
        );
    }
    let w_max = weights.iter().copied().filter(|w| w.is_finite()).fold(0.0f32, f32::max);
    let w_max = if w_max > 0.0 { w_max } else { 1.0 };
    save(
        &ReceptiveFields {
            weights,
            n_neurons,
            labels,
            grid,
            w_max,
        },
        stem,
    )
}

// ---------------------------------------------------------------------------
// 2. Confusion matrix

struct Confusion<'a> {
    counts: &'a [[u32; 10]; 10],
}

impl Figure for Confusion<'_> {
    fn size(&self) -> (u32, u32) {
        (760, 760)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let total: u64 = self.counts.iter().flatten().map(|&c| u64::from(c)).sum();
        let correct: u64 = (0..10).map(|k| u64::from(self.counts[k][k])).sum();
        let accuracy = if total > 0 {
            100.0 * correct as f64 / total as f64
        } else {
            0.0
        };
        let caption = format!("Confusion matrix: accuracy {accuracy:.2} % ({correct} / {total})");
        let mut chart = ChartBuilder::on(root)
            .caption(caption, font(22.0))
            .margin(20)
            .x_label_area_size(55)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5f64..9.5f64, -0.5f64..9.5f64)?;
        // Row `t` is drawn at y = 9 - t so that class 0 is at the top.
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels(10)
            .y_labels(10)
            .x_desc("predicted")
            .y_desc("true")
            .axis_desc_style(font(18.0))
            .label_style(font(15.0))
            .x_label_formatter(&|v| format!("{}", v.round() as i64))
            .y_label_formatter(&|v| format!("{}", 9 - v.round() as i64))
            .draw()?;
        for (t, row) in self.counts.iter().enumerate() {
            let row_total: u64 = row.iter().map(|&c| u64::from(c)).sum();
            for (p, &count) in row.iter().enumerate() {
                // Shade by the share of the true class, so rare classes still show;
                // the square root makes a few percent of confusion visible.
                let share = if row_total > 0 {
                    f64::from(count) / row_total as f64
                } else {
                    0.0
                };
                let shade = share.sqrt();
                let (x, y) = (p as f64, 9.0 - t as f64);
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                    blues(shade).filled(),
                )))?;
                let color = if shade > 0.6 {
                    WHITE.to_rgba()
                } else if count == 0 {
                    RGBColor(170, 170, 170).to_rgba()
                } else {
                    BLACK.to_rgba()
                };
                let style = anchored(font(14.0).color(&color), HPos::Center, VPos::Center);
                chart.draw_series(std::iter::once(Text::new(count.to_string(), (x, y), style)))?;
            }
        }
        // Frame the matrix.
        chart.draw_series(std::iter::once(Rectangle::new([(-0.5, -0.5), (9.5, 9.5)], BLACK)))?;
        Ok(())
    }
}

/// A 10x10 confusion-matrix heatmap: `counts[true][predicted]`, the counts
/// written in the cells, cells shaded by the square root of their share of
/// the true class (white 0 to dark blue 1), the overall accuracy in the title.
pub fn confusion_matrix(counts: &[[u32; 10]; 10], stem: &Path) -> Result<()> {
    save(&Confusion { counts }, stem)
}

// ---------------------------------------------------------------------------
// 3. Curves

struct Curves<'a> {
    title: &'a str,
    x_label: &'a str,
    y_label: &'a str,
    names: Vec<&'a str>,
    points: Vec<Vec<(f64, f64)>>,
}

impl Figure for Curves<'_> {
    fn size(&self) -> (u32, u32) {
        (900, 560)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let xr = padded_range(self.points.iter().flatten().map(|p| p.0), 0.02);
        let yr = padded_range(self.points.iter().flatten().map(|p| p.1), 0.05);
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, font(22.0))
            .margin(18)
            .x_label_area_size(50)
            .y_label_area_size(75)
            .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)?;
        chart
            .configure_mesh()
            .x_desc(self.x_label)
            .y_desc(self.y_label)
            .axis_desc_style(font(17.0))
            .label_style(font(14.0))
            .x_labels(10)
            .y_labels(8)
            .max_light_lines(4)
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(215, 215, 215))
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .draw()?;
        for (k, (name, pts)) in self.names.iter().zip(&self.points).enumerate() {
            let color = TAB10[k % TAB10.len()];
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3)));
            // Sparse series also get markers, so a single point is visible.
            if pts.len() <= 40 {
                chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
            }
        }
        chart
            .configure_series_labels()
            .position(emptiest_corner(
                along(&self.points),
                xr,
                yr,
                (0.32, (0.06 * (self.points.len() as f64 + 1.0)).min(0.5)),
                UPPER_RIGHT_FIRST,
            ))
            .margin(14)
            .label_font(font(15.0))
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(160, 160, 160))
            .draw()?;
        Ok(())
    }
}

/// A line plot of one or more named series of `(x, y)` points, with a
/// legend (placed in the emptiest corner). Non-finite points are skipped.
pub fn curves(title: &str, x_label: &str, series: &[(&str, &[(f64, f64)])], y_label: &str, stem: &Path) -> Result<()> {
    let names = series.iter().map(|s| s.0).collect();
    let points = series
        .iter()
        .map(|s| {
            s.1.iter()
                .copied()
                .filter(|p| p.0.is_finite() && p.1.is_finite())
                .collect()
        })
        .collect();
    save(
        &Curves {
            title,
            x_label,
            y_label,
            names,
            points,
        },
        stem,
    )
}

// ---------------------------------------------------------------------------
// 4. Histogram

/// Counts of `values` in `bins` equal bins over `[lo, hi]` (the last bin is closed).
fn bin_counts(values: &[f64], bins: usize, lo: f64, hi: f64) -> Vec<u32> {
    let mut counts = vec![0u32; bins];
    let width = (hi - lo) / bins as f64;
    for &v in values {
        let k = (((v - lo) / width).floor() as usize).min(bins - 1);
        counts[k] += 1;
    }
    counts
}

struct Histogram<'a> {
    title: &'a str,
    x_label: &'a str,
    values: Vec<f64>,
    bins: usize,
}

impl Figure for Histogram<'_> {
    fn size(&self) -> (u32, u32) {
        (800, 520)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let (lo, hi) = padded_range(self.values.iter().copied(), 0.0);
        let counts = bin_counts(&self.values, self.bins, lo, hi);
        let top = f64::from(counts.iter().copied().max().unwrap_or(0).max(1)) * 1.12;
        let width = (hi - lo) / self.bins as f64;
        let mut chart = ChartBuilder::on(root)
            .caption(self.title, font(22.0))
            .margin(18)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(lo..hi, 0.0..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc(self.x_label)
            .y_desc("count")
            .axis_desc_style(font(17.0))
            .label_style(font(14.0))
            .y_labels(8)
            .max_light_lines(4)
            .light_line_style(RGBColor(243, 243, 243))
            .bold_line_style(RGBColor(220, 220, 220))
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .draw()?;
        let bars = counts.iter().enumerate().filter(|(_, &c)| c > 0).map(|(k, &c)| {
            let x0 = lo + width * k as f64;
            Rectangle::new([(x0, 0.0), (x0 + width, f64::from(c))], HISTOGRAM_BAR_COLOR.filled())
        });
        chart.draw_series(bars)?;
        let n = self.values.len();
        let stats = if n > 0 {
            let mean = self.values.iter().sum::<f64>() / n as f64;
            let var = self.values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
            format!("n = {n}, mean = {mean:.4}, sd = {:.4}", var.sqrt())
        } else {
            "no values".to_string()
        };
        let style = anchored(font(14.0), HPos::Right, VPos::Top);
        chart.draw_series(std::iter::once(Text::new(
            stats,
            (hi - 0.01 * (hi - lo), top * 0.985),
            style,
        )))?;
        Ok(())
    }
}

/// A histogram of `values` in `bins` equal bins between their minimum and
/// maximum, with n, mean and standard deviation written in the corner.
/// Non-finite values are skipped.
pub fn histogram(values: &[f32], bins: usize, title: &str, x_label: &str, stem: &Path) -> Result<()> {
    ensure!(bins > 0, "a histogram needs at least one bin");
    let values = values.iter().map(|&v| f64::from(v)).filter(|v| v.is_finite()).collect();
    save(
        &Histogram {
            title,
            x_label,
            values,
            bins,
        },
        stem,
    )
}

// ---------------------------------------------------------------------------
// 5. Raster

struct Raster<'a> {
    spikes: &'a [(f64, u32)],
    n: u32,
    t_max_ms: f64,
    title: &'a str,
}

impl Figure for Raster<'_> {
    fn size(&self) -> (u32, u32) {
        (900, 560)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let n = f64::from(self.n);
        let caption = format!("{} ({} spikes)", self.title, self.spikes.len());
        let mut chart = ChartBuilder::on(root)
            .caption(caption, font(22.0))
            .margin(18)
            .x_label_area_size(50)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..self.t_max_ms, -0.5..n - 0.5)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("time (ms)")
            .y_desc("index")
            .axis_desc_style(font(17.0))
            .label_style(font(14.0))
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .draw()?;
        let (_, plot_h) = chart.plotting_area().dim_in_pixel();
        let row_px = f64::from(plot_h) / n;
        if row_px >= 3.0 {
            // Rows tall enough for classic vertical ticks.
            chart.draw_series(self.spikes.iter().map(|&(t, i)| {
                let y = f64::from(i);
                PathElement::new(vec![(t, y - 0.4), (t, y + 0.4)], RASTER_SPIKE_COLOR.stroke_width(1))
            }))?;
        } else {
            chart.draw_series(
                self.spikes
                    .iter()
                    .map(|&(t, i)| Circle::new((t, f64::from(i)), 1, RASTER_SPIKE_COLOR.filled())),
            )?;
        }
        Ok(())
    }
}

/// A spike raster: one row per index in `0..n`, time on x from 0 to `t_max_ms`.
pub fn raster(spikes: &[(f64, u32)], n: u32, t_max_ms: f64, title: &str, stem: &Path) -> Result<()> {
    ensure!(n > 0, "a raster needs at least one row");
    ensure!(
        t_max_ms > 0.0 && t_max_ms.is_finite(),
        "t_max_ms must be positive, got {t_max_ms}"
    );
    if let Some(&(t, i)) = spikes.iter().find(|&&(_, i)| i >= n) {
        bail!("spike at {t} ms has index {i}, beyond the {n} rows");
    }
    save(
        &Raster {
            spikes,
            n,
            t_max_ms,
            title,
        },
        stem,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_counts_put_the_maximum_in_the_last_bin() {
        assert_eq!(bin_counts(&[0.0, 0.1, 0.5, 0.99, 1.0], 2, 0.0, 1.0), vec![2, 3]);
    }

    #[test]
    fn tile_grid_is_square_and_roughly_the_target_width() {
        for (n, cols, scale) in [(100, 10, 4), (400, 20, 2), (1600, 40, 1)] {
            let g = TileGrid::new(784, n).unwrap();
            assert_eq!((g.cols, g.rows), (cols, cols), "n = {n}");
            assert_eq!(g.scale, scale, "n = {n}");
        }
        let g = TileGrid::new(784, 10).unwrap();
        assert_eq!((g.cols, g.rows), (4, 3));
        assert!(TileGrid::new(783, 10).is_err());
    }
}
