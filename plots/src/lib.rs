//! Figures (PNG, SVG, GIF) with plotters, a model's figures
//! ([`figures`]: `host-sim plot`) and the STDP playground's experiments
//! ([`experiments`]: `host-sim experiment`), built on `stdp-host`. It knows
//! nothing of the search, which draws its study's scatter plots with
//! [`scatter`].
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
//! The charts take plain data only (slices, counts). The parts:
//!
//! - `render`: the embedded font, the bitmap backend with correct glyph
//!   placement, the `Figure` trait and `save` (PNG + SVG);
//! - `style`: colour maps and palettes; `axes`: tick labels, padded data
//!   ranges, the legend corner (the helpers every chart shares);
//! - `charts`: the single charts of training and evaluation (receptive
//!   fields, confusion matrix, curves, histogram, raster); `gif`: the
//!   animated encoding of a digit;
//! - [`events`]: event-camera recordings (an animated GIF of time bins,
//!   count images beside the event-rate histogram);
//! - [`panels`]: the multi-panel figures of the experiments;
//!   [`scatter`]: the scatter plots of a hyperparameter study.

// `!(x > 0.0)` is how parameters are checked on purpose: it also rejects NaN.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

mod axes;
mod charts;
pub mod events;
pub mod experiments;
pub mod figures;
mod gif;
pub mod panels;
mod render;
pub mod scatter;
mod style;

pub use charts::{
    confusion_matrix, curves, histogram, raster, receptive_fields, receptive_fields_shaped, FieldShape, TileGrid,
};
pub use gif::{encoding_gif, GIF_SPIKE_COLOR};
/// The colour type of the figures' constants (plotters').
pub use plotters::style::RGBColor;
pub use style::{HISTOGRAM_BAR_COLOR, RASTER_SPIKE_COLOR, TAB10, TILE_GAP_COLOR};
