//! Scatter plots of a study (PNG + SVG), in the style of the other charts.
//!
//! Uses the embedded font and the bitmap backend of [`crate`].

use std::path::Path;

use super::axes::{emptiest_corner, padded_range, LOWER_RIGHT_FIRST};
use super::render::font;
use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use stdp_host::text::short;

/// A dot of a scatter plot.
#[derive(Debug, Clone, Copy)]
pub struct Dot {
    /// x (already log10 if the axis is logarithmic).
    pub x: f64,
    /// y.
    pub y: f64,
    /// Fill.
    pub color: RGBColor,
}

/// A group of dots with one legend entry.
#[derive(Debug, Clone)]
pub struct Group {
    /// Legend text.
    pub label: String,
    /// Legend colour.
    pub color: RGBColor,
    /// Radius in pixels.
    pub radius: u32,
    /// The dots.
    pub dots: Vec<Dot>,
}

/// A line with one legend entry.
#[derive(Debug, Clone)]
pub struct Line {
    /// Legend text.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// Points in drawing order.
    pub points: Vec<(f64, f64)>,
}

/// How the x axis is labelled.
#[derive(Debug, Clone)]
pub enum XAxis {
    /// Plain numbers.
    Linear,
    /// Positions are log10 of the value; ticks show the value.
    Log10,
    /// Positions `i + 0.5` are the categories' names.
    Categories(Vec<String>),
}

/// A scatter plot with an optional line (e.g. best so far).
#[derive(Debug, Clone)]
pub struct Scatter {
    /// Title.
    pub title: String,
    /// x axis name.
    pub x_label: String,
    /// y axis name.
    pub y_label: String,
    /// x axis kind.
    pub x_axis: XAxis,
    /// Dot groups, drawn in order.
    pub groups: Vec<Group>,
    /// A line drawn under the dots.
    pub line: Option<Line>,
    /// x range (default: the data's, padded).
    pub x_range: Option<(f64, f64)>,
}

impl super::render::Figure for Scatter {
    fn size(&self) -> (u32, u32) {
        (900, 560)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let all_x = self.groups.iter().flat_map(|g| g.dots.iter().map(|d| d.x));
        let line_x = self.line.iter().flat_map(|l| l.points.iter().map(|p| p.0));
        let xr = match (&self.x_axis, self.x_range) {
            (XAxis::Categories(c), _) => (0.0, c.len() as f64),
            (_, Some((lo, hi))) => {
                let m = 0.02 * (hi - lo);
                (lo - m, hi + m)
            }
            _ => padded_range(all_x.chain(line_x), 0.04),
        };
        let all_y = self.groups.iter().flat_map(|g| g.dots.iter().map(|d| d.y));
        let yr = padded_range(all_y, 0.08);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, font(22.0))
            .margin(18)
            .x_label_area_size(50)
            .y_label_area_size(75)
            .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)?;
        let x_fmt = |v: &f64| match &self.x_axis {
            XAxis::Linear => short(*v),
            XAxis::Log10 => short(10f64.powf(*v)),
            XAxis::Categories(c) => {
                let i = v.floor();
                if (v - i - 0.5).abs() < 1e-6 && i >= 0.0 && (i as usize) < c.len() {
                    c[i as usize].clone()
                } else {
                    String::new()
                }
            }
        };
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .axis_desc_style(font(17.0))
            .label_style(font(14.0))
            .y_labels(8)
            .max_light_lines(4)
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(215, 215, 215))
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&|v: &f64| short(*v));
        match &self.x_axis {
            XAxis::Categories(c) => {
                mesh.x_labels(2 * c.len() + 1);
            }
            _ => {
                mesh.x_labels(8);
            }
        }
        mesh.draw()?;
        if let Some(line) = &self.line {
            let color = line.color;
            chart
                .draw_series(LineSeries::new(line.points.iter().copied(), color.stroke_width(2)))?
                .label(line.label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3)));
        }
        for g in &self.groups {
            let (color, r) = (g.color, g.radius);
            chart
                .draw_series(g.dots.iter().map(|d| Circle::new((d.x, d.y), r, d.color.filled())))?
                .label(g.label.as_str())
                .legend(move |(x, y)| Circle::new((x + 11, y), r.max(4), color.filled()));
        }
        let corner = emptiest_corner(
            self.groups.iter().flat_map(|g| g.dots.iter().map(|d| (d.x, d.y))),
            xr,
            yr,
            (0.42, 0.25),
            LOWER_RIGHT_FIRST,
        );
        chart
            .configure_series_labels()
            .position(corner)
            .margin(14)
            .label_font(font(15.0))
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(160, 160, 160))
            .draw()?;
        Ok(())
    }
}

impl Scatter {
    /// Writes `stem.png` and `stem.svg` (900 x 560).
    pub fn save(&self, stem: &Path) -> Result<()> {
        super::render::save(self, stem)
    }
}
