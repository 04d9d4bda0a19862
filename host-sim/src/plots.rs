//! Figures (PNG, SVG, GIF) with plotters.
//!
//! Every figure except the GIF is written twice from one path stem: `out/rf`
//! gives `out/rf.png` and `out/rf.svg` (a trailing `.png` / `.svg` on the stem
//! is dropped). Missing parent directories are created.
//!
//! Text is drawn with DejaVu Sans embedded in the binary (plotters'
//! `ab_glyph` feature for layout, glyphs rasterised by `Bitmap`), so
//! figures render the same on a machine without fontconfig or any system
//! font. SVG text names the `sans-serif` family and is rendered by the
//! viewer's own font.
//!
//! The API takes plain data only (slices, counts), so it depends on no other
//! module of this crate.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use anyhow::{bail, ensure, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};
// BackendStyle is named by path: imported, its `stroke_width` would clash with `Color::stroke_width`.
use plotters_backend::{BackendColor, BackendCoord, BackendTextStyle, DrawingErrorKind};

/// DejaVu Sans (Bitstream Vera licence, see `assets/DejaVuSans-LICENSE.txt`).
static FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Font family used for all text (registered from [`FONT_BYTES`]).
const FAMILY: &str = "sans-serif";

/// Registers the embedded font once per process. plotters' `ab_glyph`
/// backend knows no font until one is registered, and then fails on any text.
pub(crate) fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        // Register the generic families too, in case a plotters default asks for them.
        ["sans-serif", "serif", "monospace"]
            .iter()
            .all(|family| register_font(family, FontStyle::Normal, FONT_BYTES).is_ok())
    });
    ensure!(ok, "the embedded DejaVu Sans font could not be parsed");
    Ok(())
}

pub(crate) fn font<'a>(size: f64) -> TextStyle<'a> {
    TextStyle::from((FAMILY, size).into_font()).color(&BLACK)
}

fn anchored(style: TextStyle<'_>, h: HPos, v: VPos) -> TextStyle<'_> {
    style.pos(Pos::new(h, v))
}

// ---------------------------------------------------------------------------
// Bitmap text

/// The embedded font for laying out bitmap text.
fn glyph_font() -> Result<&'static FontRef<'static>, ab_glyph::InvalidFont> {
    static FONT: OnceLock<Result<FontRef<'static>, ab_glyph::InvalidFont>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_BYTES))
        .as_ref()
        .map_err(|e| *e)
}

/// plotters' bitmap backend with its own text rendering. plotters 0.3.7's
/// `ab_glyph` path places each glyph at the pen position without its left
/// side bearing, so letters bunch up and drift ("tim e"); this draws the
/// glyphs where the font says, with kerning and anti-aliasing. Everything
/// else is passed through.
pub(crate) struct Bitmap<'a>(pub(crate) BitMapBackend<'a>);

pub(crate) type BitmapError = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

impl DrawingBackend for Bitmap<'_> {
    type ErrorType = BitmapError;

    fn get_size(&self) -> (u32, u32) {
        self.0.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.0.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.0.present()
    }

    fn draw_pixel(&mut self, point: BackendCoord, color: BackendColor) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.0.draw_pixel(point, color)
    }

    fn draw_line<S: plotters_backend::BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.0.draw_line(from, to, style)
    }

    fn draw_rect<S: plotters_backend::BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.0.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: plotters_backend::BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.0.draw_path(path, style)
    }

    fn draw_circle<S: plotters_backend::BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.0.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: plotters_backend::BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.0.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        self.0.blit_bitmap(pos, size, src)
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<BitmapError>> {
        let color = style.color();
        if color.alpha == 0.0 || text.is_empty() {
            return Ok(());
        }
        let font = glyph_font().map_err(|e| DrawingErrorKind::FontError(Box::new(e)))?;
        // Same pixel scale as plotters' own layout estimate, so charts reserve the right room.
        let font = font.as_scaled(PxScale::from(style.size() as f32));
        let width = {
            let mut pen = 0.0f32;
            let mut prev = None;
            for c in text.chars() {
                let id = font.glyph_id(c);
                if let Some(p) = prev {
                    pen += font.kern(p, id);
                }
                pen += font.h_advance(id);
                prev = Some(id);
            }
            pen
        };
        let height = font.ascent() - font.descent();
        let anchor = style.anchor();
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -width / 2.0,
            HPos::Right => -width,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0.0,
            VPos::Center => -height / 2.0,
            VPos::Bottom => -height,
        };
        let transform = style.transform();
        let (w, h) = self.get_size();
        let mut pen = dx;
        let mut prev = None;
        let mut coverage = Vec::new();
        for c in text.chars() {
            let id = font.glyph_id(c);
            if let Some(p) = prev {
                pen += font.kern(p, id);
            }
            prev = Some(id);
            let glyph = id.with_scale_and_position(font.scale(), ab_glyph::point(pen, dy + font.ascent()));
            pen += font.h_advance(id);
            let Some(outline) = font.outline_glyph(glyph) else {
                continue; // a space
            };
            let bounds = outline.px_bounds();
            coverage.clear();
            outline.draw(|x, y, a| coverage.push((x, y, a)));
            for &(x, y, a) in &coverage {
                if a < 1.0 / 255.0 {
                    continue;
                }
                let (x, y) = transform.transform(bounds.min.x as i32 + x as i32, bounds.min.y as i32 + y as i32);
                let (x, y) = (pos.0 + x, pos.1 + y);
                if x >= 0 && y >= 0 && (x as u32) < w && (y as u32) < h {
                    let alpha = color.alpha * f64::from(a.min(1.0));
                    self.draw_pixel((x, y), BackendColor { alpha, rgb: color.rgb })?;
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Output plumbing

/// A figure that can be drawn on any plotters backend (bitmap and SVG).
pub(crate) trait Figure {
    /// Canvas size in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws on a white canvas of [`Figure::size`].
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static;
}

/// `stem` + `.png` and `stem` + `.svg` (a `.png`/`.svg` already on the stem is dropped).
pub(crate) fn output_paths(stem: &Path) -> (PathBuf, PathBuf) {
    let base = match stem.extension().and_then(|e| e.to_str()) {
        Some("png" | "svg") => stem.with_extension(""),
        _ => stem.to_path_buf(),
    };
    let with = |ext: &str| {
        let mut s = base.clone().into_os_string();
        s.push(".");
        s.push(ext);
        PathBuf::from(s)
    };
    (with("png"), with("svg"))
}

pub(crate) fn create_parent(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(())
}

pub(crate) fn save(fig: &impl Figure, stem: &Path) -> Result<()> {
    ensure_font()?;
    let (png, svg) = output_paths(stem);
    create_parent(&png)?;
    {
        let root = Bitmap(BitMapBackend::new(&png, fig.size())).into_drawing_area();
        root.fill(&WHITE)?;
        fig.draw(&root)?;
        root.present().with_context(|| format!("writing {}", png.display()))?;
    }
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, fig.size()).into_drawing_area();
        root.fill(&WHITE)?;
        fig.draw(&root)?;
        root.present()?;
    }
    // plotters-svg labels embedded bitmaps `data:png`, which is not a MIME
    // type; and a raster of weights must stay blocky when the viewer zooms.
    let text = text.replace(
        "href=\"data:png;base64,",
        "style=\"image-rendering:pixelated\" href=\"data:image/png;base64,",
    );
    std::fs::write(&svg, text).with_context(|| format!("writing {}", svg.display()))?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Colours

/// matplotlib's `hot_r`: 0 is white, then yellow, red, and 1 is black.
fn hot_r(x: f64) -> RGBColor {
    let t = 1.0 - x.clamp(0.0, 1.0);
    let r = (t * 8.0 / 3.0).clamp(0.0, 1.0);
    let g = (t * 8.0 / 3.0 - 1.0).clamp(0.0, 1.0);
    let b = (t * 4.0 - 3.0).clamp(0.0, 1.0);
    RGBColor(to_u8(r), to_u8(g), to_u8(b))
}

/// matplotlib's `Blues`, coarsely: white, mid blue, dark blue.
fn blues(x: f64) -> RGBColor {
    const STOPS: [(f64, f64, f64); 3] = [(247.0, 251.0, 255.0), (107.0, 174.0, 214.0), (8.0, 48.0, 107.0)];
    let x = x.clamp(0.0, 1.0) * 2.0;
    let (lo, hi, f) = if x <= 1.0 {
        (STOPS[0], STOPS[1], x)
    } else {
        (STOPS[1], STOPS[2], x - 1.0)
    };
    let mix = |a: f64, b: f64| (a + (b - a) * f).round() as u8;
    RGBColor(mix(lo.0, hi.0), mix(lo.1, hi.1), mix(lo.2, hi.2))
}

/// Axis tick text: up to four decimals, trailing zeros dropped (`10000`, `0.25`).
fn tick(v: &f64) -> String {
    let a = v.abs();
    if a < 1e-9 {
        "0".to_string()
    } else if !(1e-3..1e7).contains(&a) {
        format!("{v:.2e}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn to_u8(x: f64) -> u8 {
    (x * 255.0).round().clamp(0.0, 255.0) as u8
}

/// matplotlib's `tab10` qualitative palette, for line series.
pub const TAB10: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Colour between receptive-field tiles.
pub const TILE_GAP_COLOR: RGBColor = RGBColor(150, 150, 150);
/// Colour of the class label written on each receptive-field tile.
const TILE_LABEL_COLOR: RGBColor = RGBColor(20, 90, 200);
/// Fill of histogram bars.
pub const HISTOGRAM_BAR_COLOR: RGBColor = RGBColor(70, 130, 180);
/// Colour of spike ticks in a raster.
pub const RASTER_SPIKE_COLOR: RGBColor = RGBColor(25, 25, 112);

// ---------------------------------------------------------------------------
// 1. Receptive fields

/// Where each receptive-field tile lands in the image written by
/// [`receptive_fields`] (pixel coordinates, origin top left).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileGrid {
    /// Side of the square input image in input pixels (28 for MNIST).
    pub side: u32,
    /// Tiles per row: `ceil(sqrt(n_neurons))`.
    pub cols: u32,
    /// Rows of tiles.
    pub rows: u32,
    /// Image pixels per input pixel.
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
        ensure!(n_neurons > 0, "no neurons to plot");
        let side = (n_inputs as f64).sqrt().round() as usize;
        ensure!(
            side > 0 && side * side == n_inputs,
            "receptive fields need a square input, got {n_inputs} inputs"
        );
        let cols = (n_neurons as f64).sqrt().ceil() as usize;
        let rows = n_neurons.div_ceil(cols);
        let scale = (RF_TARGET_PX as usize / (cols * (side + 1))).clamp(1, 12) as u32;
        let gap = scale.div_ceil(2);
        Ok(Self {
            side: side as u32,
            cols: cols as u32,
            rows: rows as u32,
            scale,
            gap,
            origin: (RF_LEFT, RF_TOP),
        })
    }

    /// Side of one tile in image pixels.
    pub fn tile_px(&self) -> u32 {
        self.side * self.scale
    }

    /// Tile of neuron `j` as `(x0, y0, x1, y1)`, end-exclusive.
    pub fn tile_rect(&self, j: usize) -> (u32, u32, u32, u32) {
        let (col, row) = ((j as u32) % self.cols, (j as u32) / self.cols);
        let step = self.tile_px() + self.gap;
        let x0 = self.origin.0 + col * step;
        let y0 = self.origin.1 + row * step;
        (x0, y0, x0 + self.tile_px(), y0 + self.tile_px())
    }

    /// Size of the tile grid (with gaps, without margins).
    pub fn grid_px(&self) -> (u32, u32) {
        let step = self.tile_px() + self.gap;
        (self.cols * step - self.gap, self.rows * step - self.gap)
    }

    /// Size of the whole image.
    pub fn image_px(&self) -> (u32, u32) {
        let (w, h) = self.grid_px();
        (RF_LEFT + w + RF_RIGHT, RF_TOP + h + RF_BOTTOM)
    }
}

struct ReceptiveFields<'a> {
    weights: &'a [f32],
    n_inputs: usize,
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
            for i in 0..self.n_inputs {
                let (r, c) = ((i as u32) / g.side, (i as u32) % g.side);
                let v = f64::from(self.weights[i * n + j]) / f64::from(self.w_max);
                let RGBColor(cr, cg, cb) = hot_r(v);
                for dy in 0..g.scale {
                    let y = y0 + r * g.scale + dy;
                    let row = ((y * w + x0 + c * g.scale) * 3) as usize;
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
            "Receptive fields of {} excitatory neurons (input weights, 0 to {:.3})",
            self.n_neurons, self.w_max
        );
        let title_size = if iw < 500 { 15.0 } else { 22.0 };
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
            let size = (f64::from(g.tile_px()) * 0.38).clamp(9.0, 18.0);
            let style = anchored(font(size).color(&TILE_LABEL_COLOR), HPos::Left, VPos::Top);
            let pad = (g.tile_px() / 28).max(1) as i32;
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
    let grid = TileGrid::new(n_inputs, n_neurons)?;
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
            n_inputs,
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

/// `[lo, hi]` of `values` widened by `pad` of the span (or by 0.5 if flat).
fn padded_range(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo <= f64::EPSILON * lo.abs().max(1.0) {
        return (lo - 0.5, hi + 0.5);
    }
    let margin = (hi - lo) * pad;
    (lo - margin, hi + margin)
}

/// The plot corner (as a legend position) whose legend-sized box holds the
/// least of the curves, sampled along each segment.
fn emptiest_corner(points: &[Vec<(f64, f64)>], x: (f64, f64), y: (f64, f64)) -> SeriesLabelPosition {
    // A legend covers roughly this share of the plot's width and height.
    const BOX_W: f64 = 0.32;
    const BOX_H: f64 = 0.06;
    let box_h = (BOX_H * (points.len() as f64 + 1.0)).min(0.5);
    let mut counts = [0usize; 4]; // upper right, lower right, upper left, lower left
    let mut count = |px: f64, py: f64| {
        let u = (px - x.0) / (x.1 - x.0);
        let v = (py - y.0) / (y.1 - y.0);
        let (left, right) = (u < BOX_W, u > 1.0 - BOX_W);
        let (lower, upper) = (v < box_h, v > 1.0 - box_h);
        for (k, hit) in [upper && right, lower && right, upper && left, lower && left]
            .into_iter()
            .enumerate()
        {
            counts[k] += usize::from(hit);
        }
    };
    for series in points {
        for pair in series.windows(2) {
            for s in 0..16 {
                let f = f64::from(s) / 16.0;
                count(
                    pair[0].0 + f * (pair[1].0 - pair[0].0),
                    pair[0].1 + f * (pair[1].1 - pair[0].1),
                );
            }
        }
        if let Some(&(px, py)) = series.last() {
            count(px, py);
        }
    }
    let best = (0..4).min_by_key(|&k| counts[k]).unwrap_or(0);
    [
        SeriesLabelPosition::UpperRight,
        SeriesLabelPosition::LowerRight,
        SeriesLabelPosition::UpperLeft,
        SeriesLabelPosition::LowerLeft,
    ][best]
        .clone()
}

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
            .position(emptiest_corner(&self.points, xr, yr))
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
/// `image` is the 28x28 digit (0 = background). `frames[f]` lists the input
/// indices that spiked in the window `[f * frame_ms, (f + 1) * frame_ms)`.
/// Left panel: the digit. Right panel: the 28x28 inputs, lit where they
/// spiked in the current window, with an afterglow of the previous four
/// frames (halving each frame) over a faint copy of the digit. One GIF frame
/// per window, shown for ten times its simulated duration (clamped to
/// 40 ms..1 s), looping forever; the window's time is in the title.
pub fn encoding_gif(image: &[u8], frames: &[Vec<u16>], frame_ms: f64, path: &Path) -> Result<()> {
    const SIDE: u32 = 28;
    let n_inputs = (SIDE * SIDE) as usize;
    ensure!(
        image.len() == n_inputs,
        "expected a 28x28 image, got {} pixels",
        image.len()
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
        let v = image[i];
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
            let base = 18.0 + f64::from(image[i]) * 50.0 / 255.0;
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
mod tests {
    use super::*;

    #[test]
    fn hot_r_runs_from_white_through_red_to_black() {
        assert_eq!(hot_r(0.0), RGBColor(255, 255, 255));
        assert_eq!(hot_r(1.0), RGBColor(0, 0, 0));
        assert_eq!(hot_r(0.5), RGBColor(255, 85, 0));
    }

    #[test]
    fn output_paths_append_extensions_to_the_stem() {
        let (png, svg) = output_paths(Path::new("out/run.v2/rf"));
        assert_eq!(png, Path::new("out/run.v2/rf.png"));
        assert_eq!(svg, Path::new("out/run.v2/rf.svg"));
        let (png, _) = output_paths(Path::new("out/rf.n400"));
        assert_eq!(png, Path::new("out/rf.n400.png"));
        let (png, svg) = output_paths(Path::new("out/rf.png"));
        assert_eq!(
            (png.as_path(), svg.as_path()),
            (Path::new("out/rf.png"), Path::new("out/rf.svg"))
        );
    }

    #[test]
    fn ticks_drop_trailing_zeros() {
        let t = |v: f64| tick(&v);
        assert_eq!(
            (t(10000.0), t(0.25), t(20.6000001), t(-3.0), t(0.0)),
            ("10000".into(), "0.25".into(), "20.6".into(), "-3".into(), "0".into())
        );
        assert_eq!(t(2.5e-5), "2.50e-5");
    }

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

    #[test]
    fn glow_halves_per_frame_and_a_new_spike_wins() {
        let frames = vec![vec![0, 1], vec![1], vec![], vec![], vec![], vec![]];
        let l = glow(&frames, 1, 784);
        assert_eq!((l[0], l[1], l[2]), (0.5, 1.0, 0.0));
        assert_eq!(glow(&frames, 5, 784)[1], 0.0625);
        assert_eq!(glow(&frames, 5, 784)[0], 0.0);
    }
}
