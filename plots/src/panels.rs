//! Multi-panel figures for the experiments (PNG + SVG from one path stem,
//! like the rest of [`crate`]): a grid of panels, each either line series (solid,
//! dashed, markers) or a spike raster with coloured rows.
//!
//! Text is drawn with the same embedded DejaVu Sans and the same glyph
//! placement fix as the other charts (`crate`'s helpers), so the
//! figures render identically on a machine without system fonts.

use std::path::Path;

use super::axes::{padded_range, tick_significant as tick};
use super::render::font;
use anyhow::{ensure, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// matplotlib's `tab10`: the colours of series by index.
pub const PALETTE: [RGBColor; 10] = super::style::TAB10;

/// Colour of the `k`-th series.
pub fn color(k: usize) -> RGBColor {
    PALETTE[k % PALETTE.len()]
}

/// A lighter version of `c` (`f` = 0: unchanged, 1: white).
pub fn lighter(c: RGBColor, f: f64) -> RGBColor {
    let m = |x: u8| (f64::from(x) + (255.0 - f64::from(x)) * f).round() as u8;
    RGBColor(m(c.0), m(c.1), m(c.2))
}

/// How a series is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A solid line.
    Line,
    /// A thin solid line (many overlapping series).
    Thin,
    /// A dashed line.
    Dashed,
    /// A thin dashed line (over a line of the same data).
    ThinDashed,
    /// Filled circles, no line.
    Markers,
    /// Open circles, no line (for overlaying on a line of the same colour).
    Rings,
    /// A solid line with filled circles.
    LineMarkers,
    /// A step function (held until the next point), e.g. a rate pattern.
    Steps,
}

/// One named series of points.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text (empty: not in the legend).
    pub name: String,
    /// (x, y) points; non-finite ones are skipped.
    pub points: Vec<(f64, f64)>,
    /// Colour.
    pub color: RGBColor,
    /// Drawing style.
    pub style: Style,
}

impl Series {
    /// A series.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>, color: RGBColor, style: Style) -> Self {
        Series {
            name: name.into(),
            points: points
                .into_iter()
                .filter(|p| p.0.is_finite() && p.1.is_finite())
                .collect(),
            color,
            style,
        }
    }
}

/// What a panel shows.
#[derive(Debug, Clone)]
pub enum Content {
    /// Line series.
    Lines(Vec<Series>),
    /// A raster: spikes as (t, row, colour), rows `0..rows` from bottom to top.
    Raster {
        /// The spikes.
        spikes: Vec<(f64, u32, RGBColor)>,
        /// Number of rows.
        rows: u32,
    },
}

/// Where a panel's legend goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Legend {
    /// No legend.
    None,
    /// Upper left corner.
    UpperLeft,
    /// Upper right corner.
    UpperRight,
    /// Lower left corner.
    LowerLeft,
    /// Lower right corner.
    LowerRight,
}

/// One panel of a figure.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Title above the panel.
    pub title: String,
    /// x axis label.
    pub x_label: String,
    /// y axis label.
    pub y_label: String,
    /// The data.
    pub content: Content,
    /// x range (default: the data's).
    pub x_range: Option<(f64, f64)>,
    /// y range (default: the data's, padded).
    pub y_range: Option<(f64, f64)>,
    /// Legend position.
    pub legend: Legend,
    /// Relative height within its column (1 = the default).
    pub height: f64,
}

impl Panel {
    /// A panel of line series with automatic ranges and the legend upper right.
    pub fn lines(title: &str, x_label: &str, y_label: &str, series: Vec<Series>) -> Self {
        Panel {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            content: Content::Lines(series),
            x_range: None,
            y_range: None,
            legend: Legend::UpperRight,
            height: 1.0,
        }
    }

    /// A raster panel.
    pub fn raster(title: &str, y_label: &str, spikes: Vec<(f64, u32, RGBColor)>, rows: u32) -> Self {
        Panel {
            title: title.into(),
            x_label: "time (ms)".into(),
            y_label: y_label.into(),
            content: Content::Raster { spikes, rows },
            x_range: None,
            y_range: None,
            legend: Legend::None,
            height: 1.0,
        }
    }

    /// Sets the x range.
    pub fn x(mut self, lo: f64, hi: f64) -> Self {
        self.x_range = Some((lo, hi));
        self
    }

    /// Sets the y range.
    pub fn y(mut self, lo: f64, hi: f64) -> Self {
        self.y_range = Some((lo, hi));
        self
    }

    /// Sets the legend position.
    pub fn legend(mut self, l: Legend) -> Self {
        self.legend = l;
        self
    }

    /// Sets the relative height.
    pub fn height(mut self, h: f64) -> Self {
        self.height = h;
        self
    }
}

/// A figure: a title and panels in `cols` columns (filled row by row).
#[derive(Debug, Clone)]
pub struct Figure {
    /// Title on top.
    pub title: String,
    /// The panels.
    pub panels: Vec<Panel>,
    /// Columns.
    pub cols: usize,
    /// Canvas size in pixels.
    pub size: (u32, u32),
}

const TITLE_PX: u32 = 44;

impl super::render::Figure for Figure {
    fn size(&self) -> (u32, u32) {
        self.size
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let (w, h) = self.size;
        root.draw(&Text::new(
            self.title.clone(),
            (w as i32 / 2, (TITLE_PX / 2) as i32 + 2),
            font(22.0).pos(Pos::new(HPos::Center, VPos::Center)),
        ))?;
        let cols = self.cols.max(1);
        let rows = self.panels.len().div_ceil(cols);
        // Row heights: the largest relative height of the row's panels.
        let weights: Vec<f64> = (0..rows)
            .map(|r| {
                self.panels[r * cols..((r + 1) * cols).min(self.panels.len())]
                    .iter()
                    .map(|p| p.height)
                    .fold(0.0, f64::max)
            })
            .collect();
        let total: f64 = weights.iter().sum();
        let avail = f64::from(h - TITLE_PX);
        let col_w = w / cols as u32;
        let mut y = TITLE_PX as f64;
        for (r, weight) in weights.iter().enumerate() {
            let row_h = avail * weight / total;
            for c in 0..cols {
                let Some(panel) = self.panels.get(r * cols + c) else {
                    break;
                };
                let area = root
                    .clone()
                    .shrink((c as u32 * col_w, y.round() as u32), (col_w, row_h.round() as u32));
                draw_panel(&area, panel)?;
            }
            y += row_h;
        }
        Ok(())
    }
}

fn draw_panel<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &Panel) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (xr, yr) = match &p.content {
        Content::Lines(series) => {
            let pts = || series.iter().flat_map(|s| s.points.iter());
            (
                p.x_range.unwrap_or_else(|| padded_range(pts().map(|q| q.0), 0.0)),
                p.y_range.unwrap_or_else(|| padded_range(pts().map(|q| q.1), 0.06)),
            )
        }
        Content::Raster { spikes, rows } => (
            p.x_range
                .unwrap_or_else(|| (0.0, spikes.iter().map(|s| s.0).fold(1.0, f64::max))),
            p.y_range.unwrap_or((-0.5, f64::from(*rows) - 0.5)),
        ),
    };
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, font(17.0))
        .margin_left(10)
        .margin_right(22)
        .margin_top(4)
        .margin_bottom(6)
        .x_label_area_size(if p.x_label.is_empty() { 26 } else { 44 })
        .y_label_area_size(78)
        .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)?;
    {
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(p.x_label.as_str())
            .y_desc(p.y_label.as_str())
            .axis_desc_style(font(15.0))
            .label_style(font(13.0))
            .x_labels(9)
            .y_labels(6)
            .max_light_lines(3)
            .light_line_style(RGBColor(242, 242, 242))
            .bold_line_style(RGBColor(218, 218, 218))
            .x_label_formatter(&tick)
            .y_label_formatter(&tick);
        if matches!(p.content, Content::Raster { .. }) {
            mesh.disable_mesh();
        }
        mesh.draw()?;
    }
    match &p.content {
        Content::Lines(series) => {
            for s in series {
                let color = s.color;
                let pts = s.points.iter().copied();
                let anno = match s.style {
                    Style::Line => chart.draw_series(LineSeries::new(pts, color.stroke_width(2)))?,
                    Style::Thin => chart.draw_series(LineSeries::new(pts, color.stroke_width(1)))?,
                    Style::Dashed => chart.draw_series(DashedLineSeries::new(pts, 7, 5, color.stroke_width(2)))?,
                    Style::ThinDashed => chart.draw_series(DashedLineSeries::new(pts, 5, 5, color.stroke_width(1)))?,
                    Style::Markers => chart.draw_series(pts.map(|q| Circle::new(q, 3, color.filled())))?,
                    Style::Rings => chart.draw_series(pts.map(|q| Circle::new(q, 4, color.stroke_width(1))))?,
                    Style::LineMarkers => {
                        chart.draw_series(pts.clone().map(|q| Circle::new(q, 3, color.filled())))?;
                        chart.draw_series(LineSeries::new(pts, color.stroke_width(2)))?
                    }
                    Style::Steps => {
                        let mut v = Vec::with_capacity(2 * s.points.len());
                        for (k, q) in s.points.iter().enumerate() {
                            if k > 0 {
                                v.push((q.0, s.points[k - 1].1));
                            }
                            v.push(*q);
                        }
                        chart.draw_series(LineSeries::new(v, color.stroke_width(2)))?
                    }
                };
                if !s.name.is_empty() {
                    let style = s.style;
                    anno.label(s.name.as_str())
                        .legend(move |(x, y)| -> DynElement<'static, DB, (i32, i32)> {
                            match style {
                                Style::Markers => Circle::new((x + 11, y), 4, color.filled()).into_dyn(),
                                Style::Rings => Circle::new((x + 11, y), 4, color.stroke_width(1)).into_dyn(),
                                Style::Dashed | Style::ThinDashed => {
                                    PathElement::new(vec![(x, y), (x + 8, y)], color.stroke_width(3)).into_dyn()
                                }
                                _ => PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3)).into_dyn(),
                            }
                        });
                }
            }
            let pos = match p.legend {
                Legend::None => None,
                Legend::UpperLeft => Some(SeriesLabelPosition::UpperLeft),
                Legend::UpperRight => Some(SeriesLabelPosition::UpperRight),
                Legend::LowerLeft => Some(SeriesLabelPosition::LowerLeft),
                Legend::LowerRight => Some(SeriesLabelPosition::LowerRight),
            };
            if let Some(pos) = pos.filter(|_| series.iter().any(|s| !s.name.is_empty())) {
                chart
                    .configure_series_labels()
                    .position(pos)
                    .margin(10)
                    .label_font(font(13.0))
                    .background_style(WHITE.mix(0.88))
                    .border_style(RGBColor(170, 170, 170))
                    .draw()?;
            }
        }
        Content::Raster { spikes, rows } => {
            let (_, plot_h) = chart.plotting_area().dim_in_pixel();
            let row_px = f64::from(plot_h) / f64::from((*rows).max(1));
            let half = if row_px >= 3.0 { 0.42 } else { 0.5 };
            chart.draw_series(spikes.iter().filter(|s| s.0 >= xr.0 && s.0 <= xr.1).map(|&(t, i, c)| {
                let y = f64::from(i);
                PathElement::new(vec![(t, y - half), (t, y + half)], c.stroke_width(1))
            }))?;
        }
    }
    Ok(())
}

/// Draws `fig` to `stem.png` and `stem.svg` (parent directories created).
pub fn save(fig: &Figure, stem: &Path) -> Result<()> {
    ensure!(!fig.panels.is_empty(), "a figure needs at least one panel");
    ensure!(fig.size.1 > TITLE_PX + 50, "figure too small");
    super::render::save(fig, stem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_two_by_two_figure_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let s = |k| Series::new("s", vec![(0.0, 0.0), (1.0, k as f64)], color(k), Style::Dashed);
        let fig = Figure {
            title: "t".into(),
            panels: vec![
                Panel::lines("a", "x", "y", vec![s(0)]),
                Panel::lines("b", "x", "y", vec![s(1)]),
                Panel::raster("c", "input", vec![(1.0, 0, BLACK)], 2),
            ],
            cols: 2,
            size: (600, 400),
        };
        save(&fig, &dir.path().join("f")).unwrap();
        assert!(dir.path().join("f.png").exists() && dir.path().join("f.svg").exists());
    }
}
